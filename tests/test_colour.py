"""The opponent colour space: invertible, in [0, 1], and white noise stays white."""

import torch

from deepprior.colour import OPPONENT, from_opponent, to_opponent
from deepprior.methods.ensemble import dihedral_mean


def test_the_opponent_space_is_invertible_and_maps_rgb_into_the_unit_cube():
    corners = torch.tensor([[r, g, b] for r in (0.0, 1.0) for g in (0.0, 1.0) for b in (0.0, 1.0)])
    x = corners.T.reshape(1, 3, 2, 4)
    z = to_opponent(x)
    assert z.min() >= 0 and z.max() <= 1
    torch.testing.assert_close(from_opponent(z), x)


def test_independent_noise_on_rgb_stays_independent_in_the_opponent_space():
    covariance = OPPONENT @ OPPONENT.T  # of the opponent channels, for unit white noise on R, G, B
    torch.testing.assert_close(covariance, torch.diag(torch.diagonal(covariance)))


def test_the_ensemble_of_a_position_independent_map_is_the_map_itself():
    x = torch.rand(1, 2, 5, 7)
    torch.testing.assert_close(dihedral_mean(lambda t: 2 * t + 1, x), 2 * x + 1)
    shifted = dihedral_mean(lambda t: torch.roll(t, 1, dims=-1), x)  # averages the 8 directions
    assert not torch.allclose(shifted, torch.roll(x, 1, dims=-1))
