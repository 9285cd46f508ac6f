"""Deep Image Prior: the one fitting loop that serves every task.

``min_θ loss(A(f_θ(z)), y)`` with Adam, a fixed input code ``z`` jittered each step, an
exponential moving average of the output as the estimate, and divergence backtracking.

Host–device synchronisation happens only every ``check_every`` steps (loss history, PSNR,
backtracking decision) or when a callback asks for a value; weights are never copied to the host
during a run (the good-weights snapshot stays on the device).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import nets
from ..errors import InputError
from ..losses import masked_l2
from ..metrics import psnr_tensor
from ..problem import Problem, Result
from ..runtime import Cost, flops, training_bytes
from .loop import StepLoop, host_image

INPUTS = ("noise", "meshgrid", "guide", "fill")


@dataclass
class DIPConfig:
    """Everything that defines a DIP run; JSON-serialisable with ``dataclasses.asdict``.

    input:          ``noise`` (U(0, input_scale), ``input_channels`` channels), ``meshgrid``
                    (2 channels of x, y coordinates), ``guide`` (the problem's guide image) or
                    ``fill`` (the observation with its unknown pixels filled by a classical
                    method, ``Mask.fill``: inpainting only; the net refines it).
    reg_noise_std:  std of the N(0, σ²) jitter added to the input code at every step.
    ema:            weight of the exponential moving average of the output (0 = last output).
    backtrack_db:   undo the steps since the last good state when the loss rises by more than
                    this many dB (10·log10 of the loss ratio); non-finite losses always undo.
                    0 disables the dB rule.
    check_every:    steps between host synchronisations (loss history, backtracking check).
    holdout:        fraction of the observation's pixels left out of the loss (0: none); their
                    error, ``history["holdout"]`` at every check, validates the fit without a
                    clean reference (``EarlyStopping(signal="holdout")``).
    """

    net: str = "skip"
    net_params: dict[str, Any] = field(default_factory=dict)
    input: str = "noise"
    input_channels: int = 32
    input_scale: float = 0.1
    lr: float = 0.01
    iters: int = 3000
    reg_noise_std: float = 1 / 30
    ema: float = 0.99
    backtrack_db: float = 5.0
    check_every: int = 10
    seed: int = 0
    holdout: float = 0.0

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise InputError(f"unknown input {self.input!r}; choose one of {', '.join(INPUTS)}")
        if self.iters < 1 or self.check_every < 1:
            raise InputError("iters and check_every must be positive")
        if not 0 <= self.ema < 1:
            raise InputError(f"ema must lie in [0, 1), got {self.ema}")
        if not 0 <= self.holdout < 1:
            raise InputError(f"holdout must lie in [0, 1), got {self.holdout}")


class DIPFit(StepLoop):
    """One DIP run, step by step; ``run()`` drives it with callbacks and returns a Result.

    Callbacks see this object: ``iteration`` (steps done), ``config``, ``problem``, ``image``
    (the current estimate, (1, C, H, W)), ``output`` (last raw output), ``last_loss`` and
    ``last_psnr`` (from the latest check), ``history``; they may set ``stop = True``.
    """

    method = "dip"

    def __init__(self, problem: Problem, config: DIPConfig, device: str | torch.device = "cpu"):
        self.problem = problem
        height, width = problem.size
        super().__init__(
            config, device, dip_cost(problem, config).bytes, f"a {width}×{height} fit of the {config.net} net"
        )
        net, in_channels, code, self._crop = _generator(problem, config)
        self.adopt(net)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.z = self._input_code(in_channels, code)
        self.y = problem.y.to(self.device)
        self.reference = problem.reference.to(self.device) if problem.reference is not None else None
        self.operator = problem.operator.to(self.device)
        self.held = self._held_out_pixels()
        self.ema: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        self.history.update(psnr_output=[], backtracks=[])
        self.last_holdout = math.nan
        self.chosen: tuple[int, torch.Tensor] | None = None
        self._good = self._snapshot()
        self._good_loss = math.inf

    def _held_out_pixels(self) -> torch.Tensor | None:
        """(1, 1, h, w) float {0, 1}: the observation's pixels kept out of the loss (1), drawn
        from their own generator so that the rest of the run's randomness is unchanged."""
        if not self.config.holdout:
            return None
        generator = torch.Generator().manual_seed(self.config.seed)
        held = torch.rand(1, 1, *self.y.shape[-2:], generator=generator) < self.config.holdout
        return held.float().to(self.device)

    # ----------------------------------------------------------------------------- the input
    def _input_code(self, channels: int, size: tuple[int, int]) -> torch.Tensor:
        cfg = self.config
        if cfg.input == "noise":
            return (
                torch.rand(1, channels, *size, generator=self.generator, device=self.device) * cfg.input_scale
            )
        if cfg.input == "fill":
            return pad_to(self.problem.operator.fill(self.problem.y).to(self.device), size)
        if cfg.input == "meshgrid":
            ys = torch.linspace(0, 1, size[0], device=self.device)
            xs = torch.linspace(0, 1, size[1], device=self.device)
            grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
            return torch.stack([grid_x, grid_y])[None]
        return pad_to(self.problem.guide.to(self.device), size)

    # ----------------------------------------------------------------------------- one step
    @property
    def image(self) -> torch.Tensor:
        """The current estimate: the output's moving average, (1, C, H, W) in [0, 1]."""
        return self.ema if self.ema is not None and self.config.ema > 0 else self.output

    def step(self) -> None:
        """One Adam step on the data loss, then the moving average and the periodic check."""
        cfg = self.config
        z = self.z
        if cfg.reg_noise_std > 0:
            z = z + torch.randn(z.shape, generator=self.generator, device=self.device) * cfg.reg_noise_std
        top, left, height, width = self._crop
        out = self.net(z)[..., top : top + height, left : left + width]
        if self.held is None:
            loss = self.problem.loss(self.operator(out), self.y)
        else:
            fitted = 1 - self.held
            loss = self.problem.loss(self.operator(out) * fitted, self.y * fitted)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.output = out.detach()
        if self.ema is None:
            self.ema = self.output.clone()
        else:
            self.ema.lerp_(self.output, 1 - cfg.ema)
        self.record(loss)
        self.iteration += 1
        if self.iteration % cfg.check_every == 0 or self.iteration == cfg.iters:
            self._check()

    def _check(self) -> None:
        """Synchronise once: record losses and PSNR, then keep or undo the last window of steps."""
        extra = []
        if self.reference is not None:
            extra = [psnr_tensor(self.image, self.reference), psnr_tensor(self.output, self.reference)]
        if self.held is not None:
            with torch.no_grad():
                extra.append(masked_l2(self.operator(self.image), self.y, self.held))
        window = len(self._pending)
        values = self.flush_losses(extra)
        losses = self.history["loss"][-window:]
        if self.held is not None:
            self.last_holdout = values.pop()
            self.history.setdefault("holdout", []).append([self.iteration, self.last_holdout])
        if self.reference is not None:
            self.history["psnr"].append([self.iteration, values[-2]])
            self.history["psnr_output"].append([self.iteration, values[-1]])
            self.last_psnr = values[-2]
        worst = max(losses) if all(map(math.isfinite, losses)) else math.inf
        limit = (
            self._good_loss * 10 ** (self.config.backtrack_db / 10)
            if self.config.backtrack_db > 0
            else math.inf
        )
        if worst > limit or not math.isfinite(worst):
            self._restore(self._good)
            self.history["backtracks"].append(self.iteration)
        else:
            self._good = self._snapshot()
            self._good_loss = losses[-1]

    def _snapshot(self) -> dict[str, Any]:
        """Weights, optimizer state and average, copied on the device."""
        return {
            "net": copy.deepcopy(self.net.state_dict()),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "ema": None if self.ema is None else self.ema.clone(),
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        # Copies, so that later steps never write into the snapshot (load_state_dict may alias).
        self.net.load_state_dict(snapshot["net"])
        self.optimizer.load_state_dict(copy.deepcopy(snapshot["optimizer"]))
        self.ema = None if snapshot["ema"] is None else snapshot["ema"].clone()
        self.optimizer.zero_grad(set_to_none=True)

    # ----------------------------------------------------------------------------- checkpoints
    def extra_state(self) -> dict[str, Any]:
        return {
            "ema": self.ema,
            "output": self.output,
            "z": self.z,
            "generator": self.generator.get_state(),
            "good": self._good,
            "good_loss": self._good_loss,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if state["z"].shape != self.z.shape:
            raise InputError("the checkpoint was made for an image of another size")
        to = self.device
        self.ema = None if state["ema"] is None else state["ema"].to(to)
        self.output = None if state["output"] is None else state["output"].to(to)
        self.z = state["z"].to(to)
        self.generator.set_state(state["generator"])
        good_ema = state["good"]["ema"]
        self._good = {**state["good"], "ema": None if good_ema is None else good_ema.to(to)}
        self._good_loss = state["good_loss"]

    # ----------------------------------------------------------------------------- the run
    def flush(self) -> None:
        if self._pending:  # stopped early: record (and judge) the last partial window
            self._check()

    def estimate(self) -> np.ndarray:
        """The current estimate on the host: (H, W, C) float32 in [0, 1] (synchronises)."""
        return host_image(self.image)

    def choose(self, iteration: int, image: torch.Tensor) -> None:
        """Return ``image``, the estimate at step ``iteration``, instead of the last one (early
        stopping picks its best iterate this way)."""
        self.chosen = (iteration, image)

    @staticmethod
    def cost(problem: Problem, config: DIPConfig) -> Cost:
        """FLOPs and peak memory of this run (``dip_cost``)."""
        return dip_cost(problem, config)

    def result(self) -> Result:
        chosen = {} if self.chosen is None else {"returned_iteration": self.chosen[0]}
        return self.fit_result(self.image if self.chosen is None else self.chosen[1], **chosen)


def _generator(problem: Problem, config: DIPConfig) -> tuple[torch.nn.Module, int, tuple[int, int], tuple]:
    """The generator of ``config`` for ``problem``: the net, its input channels, the input code's
    (h, w) and the crop (top, left, height, width) from the net's padded output to the image."""
    height, width = problem.size
    in_channels = {
        "noise": config.input_channels,
        "meshgrid": 2,
        "guide": problem.guide.shape[1] if problem.guide is not None else 0,
        "fill": problem.channels,
    }[config.input]
    if config.input == "guide" and problem.guide is None:
        raise InputError("input 'guide' needs a guide image in the problem")
    if config.input == "fill" and not hasattr(problem.operator, "fill"):
        raise InputError("input 'fill' needs a mask: it starts from a classical fill of the unknown pixels")
    net = nets.build(config.net, in_channels, problem.channels, config.net_params)
    m, low = net.multiple, net.min_size
    padded = (max(math.ceil(height / m) * m, low), max(math.ceil(width / m) * m, low))
    crop = ((padded[0] - height) // 2, (padded[1] - width) // 2, height, width)
    stride = getattr(net, "code_stride", 1)  # the Deep Decoder's code is coarser than the image
    if stride > 1 and config.input != "noise":
        raise InputError(f"the {config.net} net starts from a random code: its input must be 'noise'")
    return net, in_channels, (padded[0] // stride, padded[1] // stride), crop


# The share of the machine's matmul peak a DIP step reaches on the CPU, for the cost model: it grows
# with the net's FLOPs per pixel. Measured with examples/cost_model_check.py on a 128² crop of kodim05
# (not in the suites): the fast net (about 140 kFLOP per pixel-step) 0.19, the paper's (1.75 M) 0.52;
# interpolated in log FLOPs between them, constant outside.
DIP_EFFICIENCY = {1.4e5: 0.19, 1.75e6: 0.52}


def dip_efficiency(flops_per_pixel: float) -> float:
    """The cost model's share of the matmul peak for a DIP net of ``flops_per_pixel`` per step."""
    (low, slow), (high, shigh) = DIP_EFFICIENCY.items()
    where = min(max(math.log(flops_per_pixel / low) / math.log(high / low), 0.0), 1.0)
    return slow + where * (shigh - slow)


def dip_cost(problem: Problem, config: DIPConfig) -> Cost:
    """The cost of a DIP run: FLOPs of ``config.iters`` steps and the peak memory of one step
    (activations saved for the backward pass, plus weights, gradients and Adam's moments)."""
    net, in_channels, code, _crop = _generator(problem, config)
    stride = getattr(net, "code_stride", 1)
    probe = max(net.min_size, 64) // stride
    shape = (1, in_channels, *code)
    n_params = sum(p.numel() for p in net.parameters())
    step = flops(net, shape, probe)
    return Cost(
        flops=config.iters * step,
        bytes=training_bytes(net, shape, probe=probe) + 16 * n_params,
        efficiency=dip_efficiency(step / (problem.size[0] * problem.size[1])),
    )


def pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pad (1, C, h, w) to ``size`` centred, by reflection (replication where too small)."""
    dh, dw = size[0] - x.shape[-2], size[1] - x.shape[-1]
    pads = (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)
    mode = "reflect" if dh < x.shape[-2] and dw < x.shape[-1] else "replicate"
    return F.pad(x, pads, mode=mode) if dh or dw else x
