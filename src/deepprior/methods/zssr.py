"""Zero-Shot Super-Resolution (Shocher, Cohen & Irani, CVPR 2018): upscale one image in minutes.

The low-resolution image ``y`` is its own training set. Each step takes a "father" (a random crop of
``y``, or of ``y`` shrunk by up to half, flipped or rotated), makes its "son" with the problem's own
downsampler ``A`` (``operators.Downsample``), and trains a small residual network
(``nets.residual``) to restore the father from the son's bicubic enlargement (L1 loss). Applied to
the bicubic enlargement of ``y`` itself, the network adds back the detail one more level of
downsampling removed. At the end the 8 flips/rotations are combined (their median) and iterative
back-projection makes the result agree with ``y`` exactly: ``x ← x + up(y − A(x))``.

Differences from the paper: the learning rate follows a cosine schedule instead of the paper's
adaptive one, and ×4 is learnt in one go instead of in gradual steps. Nothing but ``y`` is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import nets
from ..errors import InputError
from ..operators import Downsample
from ..problem import Problem, Result
from ..runtime import flops
from .ensemble import dihedral, undo_dihedral
from .netfit import NetFit
from .tiles import tiled


@dataclass
class ZSSRConfig:
    """Everything that defines a ZSSR run (JSON-serialisable).

    width, depth:     the residual net (ZSSR's: 64 channels, 8 layers).
    lr:               Adam's learning rate at step 0, brought to 0 by a cosine schedule.
    crop:             side of the fathers (high-resolution training crops), rounded down to a
                      multiple of the factor and to the image's size.
    min_scale:        half of the fathers come from ``y`` shrunk by a random factor in
                      [min_scale, 1] (more examples of the same structures at other scales).
    back_projection:  iterations of back-projection onto ``y`` at the end (0: none).
    tile:             inference tile side (memory and cache use only; the result does not depend on it).
    """

    width: int = 64
    depth: int = 8
    iters: int = 500
    lr: float = 1e-3
    crop: int = 96
    min_scale: float = 0.5
    back_projection: int = 8
    tile: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iters < 1 or self.width < 1 or self.depth < 2 or self.tile < 8 or self.back_projection < 0:
            raise InputError(
                "iters and width must be positive, depth at least 2, tile at least 8 and "
                "back_projection not negative"
            )
        if not 0 < self.min_scale <= 1:
            raise InputError(f"min_scale must be in (0, 1], got {self.min_scale}")


def enlarge(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, h, w) → (B, C, *size), bicubic interpolation."""
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False)


class ZSSRFit(NetFit):
    """One ZSSR run on ``problem`` (its operator a ``Downsample``; ``y`` (1, C, h, w)); ``image`` is
    the current estimate at full size, 8 passes of the net (see ``NetFit`` for what callbacks see)."""

    method = "zssr"
    efficiency = 0.45  # of the matmul peak, for the cost model (examples/cost_model_check.py, kodim05)
    free = ("iters", "tile", "back_projection")

    def __init__(self, problem: Problem, config: ZSSRConfig, device: str | torch.device = "cpu"):
        self.factor = self._factor(problem, config)
        crop = config.crop // self.factor * self.factor
        super().__init__(problem, config, device, f"a ZSSR fit with {crop}² crops")
        self.operator = problem.operator.to(self.device)

    @staticmethod
    def _factor(problem: Problem, config: ZSSRConfig) -> int:
        """The problem's factor; refuses what ZSSR cannot upscale."""
        if not isinstance(problem.operator, Downsample):
            raise InputError("ZSSR super-resolves: the operator must be a Downsample")
        factor = problem.operator.factor
        height, width = problem.y.shape[-2:]
        if min(height, width) < 2 * factor:
            raise InputError(
                f"ZSSR needs an image of at least {2 * factor}×{2 * factor} pixels "
                f"at ×{factor}, got {width}×{height}"
            )
        if config.crop < 2 * factor:
            raise InputError(
                f"ZSSR's crop must be at least {2 * factor} pixels at ×{factor}, got {config.crop}"
            )
        return factor

    @classmethod
    def training_shape(cls, problem: Problem, config: ZSSRConfig) -> tuple[int, int, int, int]:
        factor = cls._factor(problem, config)
        crop = min(config.crop, *problem.y.shape[-2:]) // factor * factor  # the fathers are crops of y
        return (1, problem.channels, crop, crop)

    @staticmethod
    def make_net(problem: Problem, config: ZSSRConfig) -> torch.nn.Module:
        return nets.build(
            "residual", problem.channels, problem.channels, {"width": config.width, "depth": config.depth}
        )

    @staticmethod
    def inference_flops(problem: Problem, config: ZSSRConfig, net: torch.nn.Module) -> float:
        return 8 * flops(
            net, (1, problem.channels, *problem.size), probe=32, backward=False
        )  # 8 flips/rotations

    @staticmethod
    def inference_bytes(problem: Problem, config: ZSSRConfig, net: torch.nn.Module) -> int:
        """The enlarged image and its copies (back-projection), and for one tile with its margin
        the 8 flipped views, their median and the net's widest activations."""
        height, width = problem.size
        side = min(config.tile + 2 * net.radius, max(height, width))
        per_tile = side * side * (2 * 8 * problem.channels + 2 * config.width)
        return 4 * (4 * problem.channels * height * width + per_tile)

    def learning_rate(self) -> float:
        return self.config.lr * 0.5 * (1 + math.cos(math.pi * self.iteration / self.config.iters))

    def _father(self) -> torch.Tensor:
        """A random (1, C, c, c') training crop: of ``y`` or of ``y`` shrunk, flipped or rotated,
        its sides multiples of the factor."""
        rescale, scale, top, left, k = torch.rand(5, generator=self.generator).tolist()
        image = self.y
        if rescale < 0.5 and self.config.min_scale < 1:
            scale = self.config.min_scale + (1 - self.config.min_scale) * scale
            size = [max(2 * self.factor, round(side * scale)) for side in image.shape[-2:]]
            image = F.interpolate(image, size=size, mode="bicubic", antialias=True, align_corners=False)
        height, width = image.shape[-2:]
        ch, cw = (min(self.config.crop, side) // self.factor * self.factor for side in (height, width))
        top, left = int(top * (height - ch + 1)), int(left * (width - cw + 1))
        return dihedral(image[..., top : top + ch, left : left + cw], int(k * 8))

    def loss(self) -> torch.Tensor:
        father = self._father()
        son = self.operator(father)
        return F.l1_loss(self.net(enlarge(son, tuple(father.shape[-2:]))), father)

    @torch.no_grad()
    def upscale(self, y: torch.Tensor) -> torch.Tensor:
        """(1, C, h, w) → (1, C, factor·h, factor·w) in [0, 1]: the median of the net's outputs on
        the 8 flips/rotations of the bicubic enlargement, back-projected onto ``y``."""

        def ensemble(piece: torch.Tensor) -> torch.Tensor:
            views = [undo_dihedral(self.net(dihedral(piece, k)), k) for k in range(8)]
            return torch.stack(views).median(0).values

        size = (y.shape[-2] * self.factor, y.shape[-1] * self.factor)
        self.net.eval()
        x = tiled(ensemble, enlarge(y, size), self.config.tile, self.net.radius)
        self.net.train()
        for _ in range(self.config.back_projection):
            x += enlarge(y - self.operator(x), size)
        return x.clamp_(0, 1)

    def compute_image(self) -> torch.Tensor:
        return self.upscale(self.y)

    def result(self) -> Result:
        result = super().result()
        result.config["factor"] = self.factor
        return result
