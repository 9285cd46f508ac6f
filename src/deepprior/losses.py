"""Data losses ``loss(prediction, target) -> 0-d tensor`` on (B, C, H, W) tensors."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .errors import InputError

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the estimate it seeks is the mean (zero-mean noise)."""
    return torch.mean((prediction - target) ** 2)


def l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: the estimate it seeks is the median (outliers, text overlays)."""
    return torch.mean(torch.abs(prediction - target))


def masked_l2(prediction: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """L2 over the pixels where ``known`` (B, 1, H, W) is 1: targets with dropped pixels."""
    return torch.sum(known * (prediction - target) ** 2) / (known.sum() * prediction.shape[1]).clamp(min=1)


def annealed_l0(prediction: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """``mean((|prediction − target| + 1e-8) ** gamma)``: L2 at γ = 2, L1 at 1, and towards the
    mode as γ → 0 (Noise2Noise anneals γ from 2 to 0 for random-valued impulse noise)."""
    return torch.mean((torch.abs(prediction - target) + 1e-8) ** gamma)


def poisson(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The Poisson deviance ``mean(p − t − t·log(p / t))``, ≥ 0 and 0 at p = t: the negative
    log-likelihood of photon counts (up to a constant), for photon-limited images whose values
    are proportional to counts. It seeks the mean, like L2, but weighs each pixel's error by
    the inverse of its brightness, as the counts' variance asks.

    >>> t = torch.tensor([0.0, 0.25, 1.0])
    >>> float(poisson(t, t)), round(float(poisson(t + 0.1, t)), 4)
    (0.0, 0.0402)
    """
    t = target.clamp(min=0)
    log_ratio = torch.log(prediction.clamp(min=1e-6)) - torch.log(t.clamp(min=1e-6))
    return torch.mean(prediction - t - t * log_ratio)


def relative_l2(prediction: torch.Tensor, target: torch.Tensor, eps: float = 0.01) -> torch.Tensor:
    """``mean((p − t)² / (p + eps)²)`` with no gradient through the denominator: the Noise2Noise
    paper's loss for linear HDR renders (Monte Carlo noise). Each pixel's error counts relative
    to its brightness, so a few very bright outliers (fireflies) do not drown the rest; with the
    denominator held fixed its minimiser is still the mean of the targets.

    >>> p = torch.tensor([1.0, 10.0])
    >>> round(float(relative_l2(p, torch.tensor([1.1, 11.0]))), 4)  # both 10 % off: equal terms
    0.0099
    """
    return torch.mean((prediction - target) ** 2 / (prediction.detach().clamp(min=0) + eps) ** 2)


LOSSES: dict[str, Loss] = {"l2": l2, "l1": l1, "poisson": poisson}


def get_loss(name: str) -> Loss:
    """The loss registered under ``name`` (``l2``, ``l1`` or ``poisson``)."""
    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    return LOSSES[name]
