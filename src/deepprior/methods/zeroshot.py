"""Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023): denoise one image in seconds.

A fixed pair-downsampler splits the noisy image into two half-resolution views whose noise is
independent; a tiny residual network (``nets.tiny``) learns to map one view to the other
(residual loss), and its half-resolution outputs must agree with the downsampled full-resolution
output (consistency loss). Nothing but the noisy image is needed.

Training on the whole image costs about 78 GFLOP per step at 768×512; ``crop``/``batch`` train on
random crops instead, ``augment`` flips and rotates them, and ``ensemble`` averages the 8
flips/rotations at inference. Inference runs in tiles (exact: the net sees 2 pixels around each
output pixel), so any image size fits in memory.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .. import nets
from ..errors import InputError
from ..metrics import psnr_tensor
from ..operators import Identity
from ..problem import Problem, Result
from ..runtime import check_memory, keep_freed_memory, seed_everything, training_bytes
from .loop import StepLoop, host_image
from .ensemble import dihedral, dihedral_mean
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
    """

    width: int = 48
    iters: int = 3000
    lr: float = 1e-3
    crop: int = 0
    batch: int = 1
    augment: bool = False
    ensemble: bool = False
    tile: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iters < 1 or self.batch < 1 or self.width < 1 or self.tile < 8:
            raise InputError("iters, batch and width must be positive and tile at least 8")
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


class ZSN2NFit(StepLoop):
    """One ZS-N2N run on ``problem`` (a denoising problem: identity operator, (1, C, H, W) ``y``).

    Callbacks see ``iteration``, ``config``, ``image`` (the current denoised estimate, computed
    on demand), ``last_loss``, ``last_psnr``, ``reference`` and ``history``.
    """

    def __init__(self, problem: Problem, config: ZSN2NConfig, device: str | torch.device = "cpu"):
        super().__init__()
        if not isinstance(problem.operator, Identity):
            raise InputError("zero-shot Noise2Noise only denoises (the operator must be the identity)")
        height, width = problem.size
        if min(height, width) < 4:
            raise InputError(f"zero-shot Noise2Noise needs an image of at least 4×4 pixels, got {width}×{height}")
        self.problem, self.config = problem, config
        self.device = torch.device(device)
        seed_everything(config.seed)
        net = nets.build("tiny", problem.channels, problem.channels, {"width": config.width})
        self.crop = min(config.crop, height // 2 * 2, width // 2 * 2)
        batch = (config.batch, problem.channels, self.crop, self.crop) if self.crop else problem.y.shape
        needed = training_bytes(lambda x: zs_n2n_loss(net, x), tuple(batch), probe=32)
        check_memory(needed, self.device, f"a {width}×{height} zero-shot Noise2Noise fit")
        if self.device.type == "cpu":
            keep_freed_memory()  # no page faults for the same buffers every step
        self.net = net.to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.y = problem.y.to(self.device)
        self.reference = problem.reference.to(self.device) if problem.reference is not None else None
        self.iteration = 0
        self.history: dict[str, list] = {"loss": [], "seconds": [], "psnr": []}
        self.last_loss = math.nan
        self.last_psnr = math.nan
        self._pending: list[torch.Tensor] = []
        self._estimate: tuple[int, torch.Tensor] | None = None
        self._psnr_every = max(1, config.iters // 20)

    def _batch(self) -> torch.Tensor:
        """The step's training images: the whole image, or random crops at even offsets."""
        if not self.crop:
            return self.y
        c, (height, width) = self.crop, self.y.shape[-2:]
        draws = torch.randint(0, 1 << 30, (self.config.batch, 3), generator=self.generator).tolist()
        crops = []
        for top, left, k in draws:
            top, left = top % ((height - c) // 2 + 1) * 2, left % ((width - c) // 2 + 1) * 2
            piece = self.y[..., top:top + c, left:left + c]
            crops.append(dihedral(piece, k % 8) if self.config.augment else piece)
        return torch.cat(crops)

    def step(self) -> None:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 ** (3 * self.iteration // cfg.iters)
        loss = zs_n2n_loss(self.net, self._batch())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self._pending.append(loss.detach())
        self.iteration += 1
        if self.iteration % 50 == 0 or self.iteration == cfg.iters:
            self.flush()
        if self.reference is not None and (self.iteration % self._psnr_every == 0 or self.iteration == cfg.iters):
            self.last_psnr = float(psnr_tensor(self.image, self.reference))
            self.history["psnr"].append([self.iteration, self.last_psnr])

    def flush(self) -> None:
        """Move the pending losses to the history (one synchronisation)."""
        if self._pending:
            self.history["loss"] += torch.stack(self._pending).tolist()
            self._pending.clear()
            self.last_loss = self.history["loss"][-1]

    @torch.no_grad()
    def denoise(self, y: torch.Tensor) -> torch.Tensor:
        """(1, C, H, W) noisy → denoised, clipped to [0, 1] (with the flip/rotation ensemble if set)."""
        def one(piece: torch.Tensor) -> torch.Tensor:
            def residual(view: torch.Tensor) -> torch.Tensor:
                return view - self.net(view)
            return dihedral_mean(residual, piece) if self.config.ensemble else residual(piece)
        self.net.eval()
        out = tiled(one, y, self.config.tile, self.net.radius)
        self.net.train()
        return out.clamp_(0, 1)

    @property
    def image(self) -> torch.Tensor:
        """The current estimate, (1, C, H, W) in [0, 1] (computed once per iteration)."""
        if self._estimate is None or self._estimate[0] != self.iteration:
            self._estimate = (self.iteration, self.denoise(self.y))
        return self._estimate[1]

    def estimate(self) -> np.ndarray:
        """The current estimate on the host: (H, W, C) float32 in [0, 1]."""
        return host_image(self.image)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit for bit (CPU)."""
        self.flush()
        return {"iteration": self.iteration, "net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "history": self.history, "elapsed": self._elapsed,
                "config": dataclasses.asdict(self.config), "size": list(self.problem.size), "method": "zs-n2n"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("method") != "zs-n2n":
            raise InputError("the checkpoint was not written by a zero-shot Noise2Noise run")
        self.check_same_config(state, free=("iters", "tile"))
        if state["size"] != list(self.problem.size):
            raise InputError("the checkpoint was made for an image of another size")
        self.iteration = state["iteration"]
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.history, self._elapsed = state["history"], state["elapsed"]
        self.last_loss = self.history["loss"][-1] if self.history["loss"] else math.nan

    def result(self) -> Result:
        config = dataclasses.asdict(self.config)
        config.update(method="zs-n2n", device=str(self.device), size=list(self.problem.size))
        return Result(image=self.estimate(), history=self.history, config=config,
                      iterations=self.iteration, seconds=self._elapsed, interrupted=self.interrupted)

