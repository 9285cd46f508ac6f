"""The one DIP fitting loop: moving average, backtracking, resume, determinism, odd sizes."""

import os
import signal

import pytest
import torch

from deepprior import runtime
from deepprior.errors import ImageTooLargeError, InputError
from deepprior.methods.dip import DIPConfig, DIPFit
from deepprior.operators import Downsample, Mask
from deepprior.problem import Problem
from deepprior.registry import solve

TINY = {"channels_down": [4, 4, 4], "channels_up": [4, 4, 4], "channels_skip": [2, 2, 2]}


def tiny_config(**changes) -> DIPConfig:
    return DIPConfig(**{"net_params": TINY, "input_channels": 4, "iters": 20, "check_every": 5, **changes})


def noisy_problem(size=(16, 16), **changes) -> Problem:
    g = torch.Generator().manual_seed(1)
    return Problem(y=torch.rand(1, 3, *size, generator=g), **changes)


class Record:
    """A callback that keeps what the loop shows at every step."""

    def __init__(self, stop_at=None):
        self.outputs, self.states, self.stop_at = [], {}, stop_at

    def on_step(self, run):
        self.outputs.append(run.output.clone())
        self.states[run.iteration] = {k: v.clone() for k, v in run.net.state_dict().items()}
        if run.iteration == self.stop_at:
            run.stop = True


def test_the_estimate_is_the_moving_average_of_the_outputs():
    record = Record()
    run = DIPFit(noisy_problem(), tiny_config(iters=6, ema=0.9))
    run.run([record])
    expected = record.outputs[0]
    for out in record.outputs[1:]:
        expected = 0.9 * expected + 0.1 * out
    torch.testing.assert_close(run.image, expected)


def test_fitting_lowers_the_loss_and_keeps_the_image_size():
    result = solve(noisy_problem(size=(13, 21)), tiny_config(iters=30, lr=0.05))
    assert result.image.shape == (13, 21, 3)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert len(result.history["loss"]) == len(result.history["seconds"]) == 30


def test_super_resolution_fits_through_the_downsampler_at_high_resolution():
    problem = noisy_problem(size=(9, 7), operator=Downsample(2))
    assert problem.size == (18, 14)
    assert solve(problem, tiny_config(iters=3)).image.shape == (18, 14, 3)


def spiking_loss(at: int, value: float):
    """An l2 loss whose ``at``-th call is multiplied by ``value``: an injected divergence."""
    calls = [0]

    def loss(prediction, target):
        calls[0] += 1
        base = torch.mean((prediction - target) ** 2)
        return base * value if calls[0] == at else base

    return loss


@pytest.mark.parametrize("spike", [1e6, float("nan")])
def test_a_loss_spike_restores_the_last_good_weights_and_optimizer_state(spike):
    cfg = tiny_config(iters=11, reg_noise_std=0.0)  # no jitter: steps are reproducible
    record = Record()
    run = DIPFit(noisy_problem(loss=spiking_loss(at=7, value=spike)), cfg)
    run.run([record])
    assert run.history["backtracks"] == [10]  # found at the check after step 7

    # Step 11 started from the weights and Adam state of step 5, with no stale gradient:
    # it equals one step taken from an undisturbed run stopped at step 5.
    clean = DIPFit(noisy_problem(), cfg)
    clean.run([Record(stop_at=5)])
    assert all(torch.equal(record.states[5][k], v) for k, v in clean.net.state_dict().items())
    clean.stop = False
    clean.config = tiny_config(iters=6, reg_noise_std=0.0)
    clean.run()
    for key, value in run.net.state_dict().items():
        assert torch.equal(value, clean.net.state_dict()[key]), key


def test_resuming_a_checkpoint_equals_an_uninterrupted_run_bit_for_bit(tmp_path):
    cfg = tiny_config(iters=23)  # with jitter, so the random generator state must be restored
    whole = DIPFit(noisy_problem(), cfg)
    whole.run()

    first = DIPFit(noisy_problem(), cfg)
    first.run([Record(stop_at=8)])  # stops mid-window, before a check
    first.save(tmp_path / "run.ckpt")
    resumed = solve(noisy_problem(), cfg, resume=str(tmp_path / "run.ckpt"))

    assert torch.equal(torch.from_numpy(resumed.image), whole.image[0].permute(1, 2, 0))
    assert resumed.history["loss"] == whole.history["loss"]
    assert resumed.iterations == 23


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    run = DIPFit(noisy_problem(), tiny_config(iters=2))
    run.run()
    run.save(tmp_path / "run.ckpt")
    with pytest.raises(InputError, match="different configuration.*lr"):
        solve(noisy_problem(), tiny_config(lr=0.5), resume=str(tmp_path / "run.ckpt"))


def test_a_seed_fixes_the_result_on_cpu():
    a = solve(noisy_problem(), tiny_config(iters=5, seed=3)).image
    b = solve(noisy_problem(), tiny_config(iters=5, seed=3)).image
    c = solve(noisy_problem(), tiny_config(iters=5, seed=4)).image
    assert (a == b).all() and not (a == c).all()


def test_ctrl_c_stops_after_the_current_step_and_returns_the_estimate():
    class Interrupt:
        def on_step(self, run):
            if run.iteration == 3:
                os.kill(os.getpid(), signal.SIGINT)

    result = solve(noisy_problem(), tiny_config(iters=50), callbacks=[Interrupt()])
    assert result.interrupted and result.iterations == 3
    assert result.image.shape == (16, 16, 3)


def test_a_run_too_large_for_memory_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setattr(runtime, "available_memory", lambda device: 1_000_000)
    with pytest.raises(ImageTooLargeError, match=r"needs about .* GiB .*the fast preset"):
        DIPFit(noisy_problem(size=(64, 64)), tiny_config())


def test_a_guide_image_is_the_input_code():
    guide = torch.rand(1, 3, 12, 10)
    problem = noisy_problem(size=(12, 10), guide=guide)
    run = DIPFit(problem, tiny_config(input="guide", iters=2))
    top, left, h, w = run._crop
    torch.testing.assert_close(run.z[..., top : top + h, left : left + w], guide)
    assert run.run().image.shape == (12, 10, 3)


def test_a_classical_fill_of_the_masked_observation_is_the_input_code():
    known = torch.ones(12, 10)
    known[4:8, 3:6] = 0
    problem = noisy_problem(size=(12, 10), operator=Mask(known))
    run = DIPFit(problem, tiny_config(input="fill", iters=2))
    top, left, h, w = run._crop
    code = run.z[..., top : top + h, left : left + w]
    torch.testing.assert_close(code * known, problem.y * known)  # the known pixels as they are
    assert 0 < code[..., 4:8, 3:6].min() and code.max() <= 1  # the hole filled in
    assert run.run().image.shape == (12, 10, 3)
    with pytest.raises(InputError, match="needs a mask"):
        DIPFit(noisy_problem(), tiny_config(input="fill"))


def test_the_deep_decoder_preset_denoises_any_image_size_from_a_coarse_code():
    from deepprior.registry import get_preset

    y = torch.rand(1, 3, 70, 45)
    fit = DIPFit(Problem(y=y), get_preset("denoise", "decoder", iters=3))
    assert fit.z.shape == (1, 128, 3, 2)  # the 96×64 padded image, 32 times smaller
    assert solve(Problem(y=y), get_preset("denoise", "decoder", iters=3)).image.shape == (70, 45, 3)
    with pytest.raises(InputError, match="denoising only"):
        get_preset("inpaint", "decoder")
    with pytest.raises(InputError, match="random code"):
        DIPFit(Problem(y=y), get_preset("denoise", "decoder", input="meshgrid"))
