"""An opponent colour space that keeps white noise white: RGB denoising with a grey model; and
the tone map that shows and scores linear HDR images.

The three rows of ``OPPONENT`` (mean; red − blue; red − 2 green + blue, scaled) are orthogonal,
so i.i.d. Gaussian noise of std σ on R, G and B becomes independent Gaussian noise on each
opponent channel (std σ/√3, σ/√2 and σ·√6/4), and each channel maps [0, 1]³ into [0, 1]
(offsets ``OFFSET``): a grey denoiser sees what it was trained on. Nearly all of a photo's
detail is in the first channel; the other two are smooth and denoise well (as in CBM3D).
"""

from __future__ import annotations

import numpy as np
import torch

OPPONENT = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0.0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])
OFFSET = torch.tensor([0.0, 0.5, 0.5])


def to_opponent(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] → (B, 3, H, W) opponent channels in [0, 1]."""
    matrix, offset = OPPONENT.to(rgb), OFFSET.to(rgb)
    return torch.einsum("ij,bjhw->bihw", matrix, rgb) + offset.view(1, 3, 1, 1)


def from_opponent(opponent: torch.Tensor) -> torch.Tensor:
    """The inverse of ``to_opponent`` (not clipped)."""
    matrix, offset = OPPONENT.to(opponent), OFFSET.to(opponent)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(matrix), opponent - offset.view(1, 3, 1, 1))


def opponent_channels(rgb: np.ndarray, pick) -> np.ndarray:
    """Channel ``pick[i]`` of the opponent image of each (3, H, W) of ``rgb`` (N, 3, H, W): (N, 1, H, W).

    >>> grey = np.full((2, 3, 4, 4), 0.5, np.float32)
    >>> opponent_channels(grey, [0, 1])[:, 0, 0, 0].tolist()
    [0.5, 0.5]
    """
    rows = OPPONENT.numpy()[np.asarray(pick)]  # (N, 3)
    out = np.einsum("nj,njhw->nhw", rows, rgb) + OFFSET.numpy()[np.asarray(pick)][:, None, None]
    return out[:, None].astype(np.float32)


def tone_map(x: np.ndarray | torch.Tensor, gamma: float = 2.2) -> np.ndarray | torch.Tensor:
    """Linear HDR radiance (≥ 0, any range) → display values in [0, 1]: Reinhard's global
    operator ``x / (1 + x)``, then the gamma 1/``gamma``. Monotonic: fireflies stay below 1.

    >>> tone_map(np.array([0.0, 1.0, 1e6])).round(3).tolist()
    [0.0, 0.73, 1.0]
    """
    if isinstance(x, torch.Tensor):
        x = x.clamp(min=0)
    else:
        x = np.maximum(x, 0)
    return (x / (1 + x)) ** (1 / gamma)
