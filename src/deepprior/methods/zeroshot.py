"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): denoise one image in seconds.

A fixed pair-downsampler splits the noisy image into two half-resolution views whose noise is
independent; a tiny residual network (``nets.tiny``) learns to map one view to the other
(residual loss), and its half-resolution outputs must agree with the downsampled full-resolution
output (consistency loss). Nothing but the noisy image is needed.

Training on the whole image costs about 78 GFLOP per step at 768×512; ``crop``/``batch`` train on
random crops instead, ``augment`` flips and rotates them, and ``ensemble`` averages the 8
flips/rotations at inference. Inference runs in tiles (exact: the net sees 2 pixels around each
output pixel), so any image size fits in memory.

``shuffle`` > 1 is pixel-shuffle downsampling (Zhou et al., ECCV-W 2020) in front of it, for a
camera's correlated noise: the image's ``shuffle``² sub-images (``pixelshuffle``) are trained on
and denoised as one batch, then put back in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import nets
from ..errors import InputError
from ..operators import Identity
from ..problem import Problem
from ..runtime import flops
from .ensemble import dihedral, dihedral_mean
from .netfit import NetFit
from .pixelshuffle import shuffle_down, shuffle_up, sub_image_size
from .tiles import tiled


@dataclass
class ZSN2NConfig:
    """Everything that defines a Zero-Shot Noise2Noise run (JSON-serialisable).

    lr:        Adam's learning rate; halved after each third of ``iters`` (the paper's step decay).
    crop:      train on random ``crop``×``crop`` crops (even side), 0 for the whole image.
    batch:     crops per step (ignored when ``crop`` is 0).
    augment:   give each crop a random flip / 90° rotation.
    ensemble:  average the outputs of the 8 flips/rotations at inference (8× its cost).
    tile:      inference tile side (memory and cache use only; the result does not depend on it).
    shuffle:   pixel-shuffle downsampling stride (1: none); see the module's docstring.
    """

    width: int = 48
    iters: int = 3000
    lr: float = 1e-3
    crop: int = 0
    batch: int = 1
    augment: bool = False
    ensemble: bool = False
    tile: int = 256
    shuffle: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iters < 1 or self.batch < 1 or self.width < 1 or self.tile < 8 or self.shuffle < 1:
            raise InputError("iters, batch, width and shuffle must be positive and tile at least 8")
        if self.crop < 0 or self.crop % 2:
            raise InputError(f"crop must be 0 or an even number of pixels, got {self.crop}")


def pair_downsample(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) → two (B, C, H//2, W//2) views: the means of the two diagonals of each 2×2
    block ([[0, .5], [.5, 0]] and [[.5, 0], [0, .5]] with stride 2; an odd last row/column is
    dropped)."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    anti = (x[..., 0::2, 1::2] + x[..., 1::2, 0::2]) * 0.5
    main = (x[..., 0::2, 0::2] + x[..., 1::2, 1::2]) * 0.5
    return anti, main


def zs_n2n_loss(net: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor) -> torch.Tensor:
    """Residual + consistency loss of ZS-N2N for a batch of noisy images ``y`` (B, C, H, W);
    ``net`` predicts the noise."""
    y1, y2 = pair_downsample(y)
    both = torch.cat([y1, y2])
    d1, d2 = (both - net(both)).chunk(2)
    residual = 0.5 * (F.mse_loss(d1, y2) + F.mse_loss(d2, y1))
    full1, full2 = pair_downsample(y - net(y))
    consistency = 0.5 * (F.mse_loss(d1, full1) + F.mse_loss(d2, full2))
    return residual + consistency


class ZSN2NFit(NetFit):
    """One ZS-N2N run on ``problem`` (a denoising problem: identity operator, (1, C, H, W) ``y``);
    ``image`` is the current denoised estimate (see ``NetFit`` for what callbacks see)."""

    method = "zs-n2n"
    efficiency = 0.62  # of the matmul peak, for the cost model (examples/cost_model_check.py, kodim05)

    def __init__(self, problem: Problem, config: ZSN2NConfig, device: str | torch.device = "cpu"):
        self.crop = self._crop(problem, config)
        height, width = problem.size
        super().__init__(problem, config, device, f"a {width}×{height} zero-shot Noise2Noise fit")
        self.views = shuffle_down(self.y, config.shuffle) if config.shuffle > 1 else self.y

    @staticmethod
    def _crop(problem: Problem, config: ZSN2NConfig) -> int:
        """The side of the training crops (0: the whole image); refuses what it cannot denoise."""
        if not isinstance(problem.operator, Identity):
            raise InputError("zero-shot Noise2Noise only denoises (the operator must be the identity)")
        height, width = sub_image_size(problem.size, config.shuffle)
        if min(height, width) < 4:
            raise InputError(
                f"zero-shot Noise2Noise needs an image (or, with shuffle {config.shuffle}, sub-images) "
                f"of at least 4×4 pixels, got {problem.size[1]}×{problem.size[0]}"
            )
        return min(config.crop, height // 2 * 2, width // 2 * 2)

    @classmethod
    def training_shape(cls, problem: Problem, config: ZSN2NConfig) -> tuple[int, int, int, int]:
        crop = cls._crop(problem, config)
        if crop:
            return (config.batch, problem.channels, crop, crop)
        return (config.shuffle**2, problem.channels, *sub_image_size(problem.size, config.shuffle))

    @staticmethod
    def make_net(problem: Problem, config: ZSN2NConfig) -> torch.nn.Module:
        return nets.build("tiny", problem.channels, problem.channels, {"width": config.width})

    @staticmethod
    def memory_probe(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        return zs_n2n_loss(net, x)

    @staticmethod
    def inference_flops(problem: Problem, config: ZSN2NConfig, net: torch.nn.Module) -> float:
        once = flops(net, (1, problem.channels, *problem.size), probe=32, backward=False)
        return once * (8 if config.ensemble else 1)

    def learning_rate(self) -> float:
        return self.config.lr * 0.5 ** (3 * self.iteration // self.config.iters)  # the paper's step decay

    def _batch(self) -> torch.Tensor:
        """The step's training images: the whole image (or all its sub-images), or random crops
        at even offsets (each of a random sub-image)."""
        if not self.crop:
            return self.views
        c, (height, width) = self.crop, self.views.shape[-2:]
        draws = torch.randint(0, 1 << 30, (self.config.batch, 3), generator=self.generator).tolist()
        crops = []
        for top, left, k in draws:
            view = self.views[k // 8 % len(self.views)][None] if self.config.shuffle > 1 else self.views
            top, left = top % ((height - c) // 2 + 1) * 2, left % ((width - c) // 2 + 1) * 2
            piece = view[..., top : top + c, left : left + c]
            crops.append(dihedral(piece, k % 8) if self.config.augment else piece)
        return torch.cat(crops)

    def loss(self) -> torch.Tensor:
        return zs_n2n_loss(self.net, self._batch())

    @torch.no_grad()
    def denoise(self, y: torch.Tensor) -> torch.Tensor:
        """(1, C, H, W) noisy → denoised, clipped to [0, 1] (with the flip/rotation ensemble if set;
        sub-image by sub-image with ``shuffle``)."""
        stride = self.config.shuffle
        if stride > 1:
            return shuffle_up(self._denoise(shuffle_down(y, stride)), stride, y.shape[-2:])
        return self._denoise(y)

    def _denoise(self, y: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → the net's denoised images, clipped to [0, 1]."""

        def one(piece: torch.Tensor) -> torch.Tensor:
            def residual(view: torch.Tensor) -> torch.Tensor:
                return view - self.net(view)

            return dihedral_mean(residual, piece) if self.config.ensemble else residual(piece)

        self.net.eval()
        out = tiled(one, y, self.config.tile, self.net.radius)
        self.net.train()
        return out.clamp_(0, 1)

    def compute_image(self) -> torch.Tensor:
        return self.denoise(self.y)
