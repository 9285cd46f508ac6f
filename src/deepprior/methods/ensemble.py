"""The 8 flips/rotations of an image, and a network's output averaged over them."""

from __future__ import annotations

from collections.abc import Callable

import torch


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 flips/rotations (k in 0..7) of (…, H, W)."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return x.flip(-1) if k >= 4 else x


def undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of ``dihedral(·, k)``."""
    x = x.flip(-1) if k >= 4 else x
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def dihedral_mean(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn`` (image → image of the same size) averaged over the 8 flips/rotations of (…, H, W):
    the self-ensemble of denoisers, at 8× the cost."""
    total = torch.zeros_like(x)
    for k in range(8):
        total += undo_dihedral(fn(dihedral(x, k)), k)
    return total / 8
