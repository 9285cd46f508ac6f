"""Data losses ``loss(prediction, target) -> 0-d tensor`` on (B, C, H, W) tensors."""
from __future__ import annotations

from typing import Callable

import torch

from .errors import InputError

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the estimate it seeks is the mean (zero-mean noise)."""
    return torch.mean((prediction - target) ** 2)


def l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: the estimate it seeks is the median (outliers, text overlays)."""
    return torch.mean(torch.abs(prediction - target))


LOSSES: dict[str, Loss] = {"l2": l2, "l1": l1}


def get_loss(name: str) -> Loss:
    """The loss registered under ``name`` (``l2`` or ``l1``)."""
    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]
