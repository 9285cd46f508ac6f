"""A restoration problem (observation, operator, loss) and the result of solving it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import InputError
from .losses import Loss, l2
from .operators import Identity, Operator


@dataclass
class Problem:
    """Find x with ``loss(operator(x), y)`` small.

    y:         (1, C, h, w) float in [0, 1], the degraded observation.
    operator:  A, mapping an image of ``size`` to the observation's size.
    guide:     optional (1, C', H, W) image used as the generator's input (flash / no-flash).
    reference: optional clean (1, C, H, W) image, only to report PSNR while fitting.
    """

    y: torch.Tensor
    operator: Operator = field(default_factory=Identity)
    loss: Loss = l2
    guide: torch.Tensor | None = None
    reference: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.y.dim() != 4 or self.y.shape[0] != 1:
            raise InputError(f"the observation must be a (1, C, H, W) tensor, got {tuple(self.y.shape)}")
        if not torch.isfinite(self.y).all():
            raise InputError("the observation contains NaN or infinite values")
        for name in ("guide", "reference"):
            t = getattr(self, name)
            if t is not None and tuple(t.shape[-2:]) != self.size:
                raise InputError(
                    f"the {name} is {t.shape[-1]}×{t.shape[-2]} but the restored image "
                    f"will be {self.size[1]}×{self.size[0]}"
                )
        with torch.no_grad():
            seen = tuple(self.operator(torch.zeros(1, self.channels, *self.size)).shape)
        if seen != tuple(self.y.shape):
            raise InputError(
                f"the operator maps a (1, {self.channels}, {self.size[0]}, {self.size[1]}) image to "
                f"{seen}, but the observation is {tuple(self.y.shape)}"
            )
        if self.reference is not None and self.reference.shape[1] != self.channels:
            raise InputError(
                f"the reference has {self.reference.shape[1]} channels but the image has {self.channels}"
            )

    @property
    def channels(self) -> int:
        """Channels of the restored image."""
        return self.operator.input_channels(self.y.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the restored image."""
        return tuple(self.operator.input_size(tuple(self.y.shape[-2:])))


@dataclass
class Result:
    """What a method returns: enough to use the image and to reproduce it.

    image:   the restored image, (H, W) or (H, W, C); float32 in [0, 1] from the methods, the
             caller's dtype and range from the public API.
    history: per iteration ``loss`` and ``seconds``; ``psnr`` as [iteration, dB] pairs when a
             reference was given; ``backtracks`` lists the iterations where divergence was undone.
    config:  the exact configuration (JSON-serialisable), including the seed.
    """

    image: np.ndarray
    history: dict[str, list] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    iterations: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def seed(self) -> int | None:
        return self.config.get("seed")
