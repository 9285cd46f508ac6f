"""Total variation: the pixels themselves fitted through the operator, with a TV penalty.

The classical prior the Deep Image Prior paper compares against: ``min_x loss(A(x), y) + weight ·
TV(x)``, x the image's pixels (from the operator's adjoint of ``y``, clipped to [0, 1]), by Adam.
Any operator of ``dp.restore`` works (k-space for MRI, a feature map for feature inversion).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import InputError
from ..problem import Problem
from .netfit import NetFit


@dataclass
class TVConfig:
    """Everything that defines a TV fit (JSON-serialisable).

    weight: the TV penalty per pixel against the data loss (a mean over the observation).
    iters, lr: Adam's steps and learning rate (constant).
    """

    weight: float = 1e-3
    iters: int = 1000
    lr: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iters < 1 or not self.lr > 0 or self.weight < 0:
            raise InputError("iters and lr must be positive and the TV weight not negative")


def total_variation(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The isotropic total variation of (B, C, H, W) ``x``, a mean over pixels (smoothed by eps).

    >>> round(float(total_variation(torch.zeros(1, 1, 4, 4))), 6)
    0.0001
    """
    dy = torch.diff(x, dim=-2)[..., :, :-1]
    dx = torch.diff(x, dim=-1)[..., :-1, :]
    return torch.sqrt(dy**2 + dx**2 + eps).mean()


class Pixels(torch.nn.Module):
    """The image as the only parameter: (1, C, H, W)."""

    def __init__(self, start: torch.Tensor):
        super().__init__()
        self.x = torch.nn.Parameter(start.clone())

    def forward(self) -> torch.Tensor:
        return self.x


class TVFit(NetFit):
    """One TV fit of ``problem`` (see ``NetFit`` for what callbacks see)."""

    method = "tv"
    free = ("iters",)

    def __init__(self, problem: Problem, config: TVConfig, device: str | torch.device = "cpu"):
        super().__init__(problem, config, device, "the TV fit")
        self.operator = problem.operator.to(self.device)

    @staticmethod
    def make_net(problem: Problem, config: Any) -> torch.nn.Module:
        with torch.no_grad():
            start = problem.operator.adjoint(problem.y, problem.size).clamp(0, 1)
        return Pixels(start)

    @staticmethod
    def training_shape(problem: Problem, config: Any) -> tuple[int, int, int, int]:
        return (1, problem.channels, *problem.size)

    @staticmethod
    def inference_flops(problem: Problem, config: Any, net: torch.nn.Module) -> float:
        return 0.0

    @staticmethod
    def memory_probe(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return total_variation(x)

    def learning_rate(self) -> float:
        return self.config.lr

    def loss(self) -> torch.Tensor:
        x = self.net()
        data = self.problem.loss(self.operator(x), self.y)
        return data + self.config.weight * total_variation(x)

    def compute_image(self) -> torch.Tensor:
        with torch.no_grad():
            return self.net().clamp(0, 1)
