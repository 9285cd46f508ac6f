"""Noise2Noise (Lehtinen et al., ICML 2018): train a denoiser from noisy pairs, never a clean image.

The network (``nets.unet``) maps one noisy view of a scene to another, independently corrupted
one. The loss decides which statistic of the target it learns: L2 the mean (zero-mean noise),
L2 masked to the target's known pixels (Bernoulli dropout), L1 the median (text overlays), and
an annealed ``(|d| + 1e-8)^γ``, γ from 2 to 0, the mode (random-valued impulses); for MRI,
L2 in k-space on the frequencies the target's spectrum sampled (``kspace.kspace_l2``); for
linear HDR renders (``hdr``), the relative L2 (``losses.relative_l2``) on linear values, the
network seeing its input tone-mapped. With ``targets="clean"`` the same training runs against
the clean image (or a real pair's reference): the baseline it matches.

``N2NTraining`` is one training run (a ``StepLoop``: progress, checkpoints and Ctrl-C come from
callbacks); ``N2NModel`` is a trained network with its description, saved as one file. A model
denoises in overlapping windows of its training crop size: trained on 64² crops, the U-Net's
five poolings leave 2×2 at the bottom, and on whole images its deepest features leave the regime
they learned (the README's Noise2Noise results compare the two on Set12).
Under ``torchrun`` the training is data-parallel (``DistributedDataParallel``; each process
draws its own crops, rank 0 validates and writes files).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .. import nets
from ..colour import opponent_channels, tone_map
from ..errors import InputError
from ..imageio import atomic_path
from ..kspace import kspace_l2
from ..losses import annealed_l0, l1, l2, masked_l2, relative_l2
from ..metrics import psnr_tensor
from ..nets.unet import widen
from ..noise import NoiseModel, parse_noise
from ..runtime import training_bytes
from ..trainingdata import TrainingSet
from .loop import StepLoop
from .tiles import tiled, windowed

MODEL_FORMAT = "deepprior.n2n"
TRAINING_LOSSES = ("auto", "l2", "masked_l2", "l1", "l0", "kspace", "hdr")


@dataclass
class N2NConfig:
    """Everything that defines a Noise2Noise training run (JSON-serialisable).

    noise:     the synthetic noise (``noise.parse_noise``: ``gaussian:0-50``, ``text``, …); with
               real pairs it only names the default loss and the validation noise.
    targets:   ``noisy`` (Noise2Noise) or ``clean`` (the supervised baseline: synthetic noise, or
               real pairs whose scenes have a reference).
    loss:      ``auto`` (the one the noise calls for; ``hdr`` with ``hdr``), ``l2``,
               ``masked_l2``, ``l1``, ``l0``, ``kspace`` or ``hdr`` (``losses.relative_l2``).
    hdr:       linear HDR data (Monte Carlo renders): float files read as they are, the network
               sees its input through ``colour.tone_map`` and outputs linear values (≥ 0, not
               clipped to 1), validation scores PSNR on tone-mapped values.
    width, depth: the U-Net's encoder channels and number of 2× poolings (paper: 48, 5; the
               default 32 steps 3× faster on a CPU: see ``deepprior bench n2n`` in the README).
    crop, batch:  random crops per step and their side.
    zoom:      enlarge each clean crop by a factor drawn log-uniformly from [1, zoom] before it
               is noised (``TrainingSet.crops``): a camera's full-resolution photos hold softer
               detail per pixel than downscaled web photos; 1 = as they are.
    lr, rampdown: Adam's learning rate (β2 = 0.99; paper 3e-4, here 1e-3 for short CPU budgets),
               cosine ramp-down over the last fraction.
    val_every: steps between validations (and checkpoints).
    init:      a model file to start from (fine-tuning; same channels and depth; a narrower
               U-Net is widened to ``width`` by ``nets.unet.widen``), or "".
    opponent:  train a grey model on the opponent channels (``deepprior.colour``) of colour
               images noised in RGB, as the grey models denoise colour photos.
    """

    noise: str = "gaussian:0-50"
    targets: str = "noisy"
    loss: str = "auto"
    width: int = 32
    depth: int = 5
    crop: int = 64
    batch: int = 16
    zoom: float = 1.0
    iters: int = 6000
    lr: float = 1e-3
    rampdown: float = 0.3
    val_every: int = 250
    seed: int = 0
    init: str = ""
    opponent: bool = False
    hdr: bool = False

    def __post_init__(self) -> None:
        parse_noise(self.noise)
        if self.targets not in ("noisy", "clean"):
            raise InputError(f"targets must be 'noisy' or 'clean', got {self.targets!r}")
        if self.loss not in TRAINING_LOSSES:
            raise InputError(f"unknown loss {self.loss!r}; choose one of {', '.join(TRAINING_LOSSES)}")
        if min(self.iters, self.batch, self.val_every) < 1 or not 0 <= self.rampdown <= 1:
            raise InputError("iters, batch and val_every must be positive and rampdown in [0, 1]")
        if self.width < 3 or not 1 <= self.depth <= 8:
            raise InputError(
                f"the U-Net's width must be ≥ 3 and its depth 1–8, got {self.width} and {self.depth}"
            )
        if not self.lr > 0:
            raise InputError(f"the learning rate must be positive, got {self.lr:g}")
        if self.seed < 0:
            raise InputError(f"the seed must be ≥ 0, got {self.seed}")
        if not self.zoom >= 1:
            raise InputError(f"zoom must be at least 1, got {self.zoom:g}")
        if self.crop < 2**self.depth:
            raise InputError(f"crop must be at least 2**depth = {2**self.depth} pixels, got {self.crop}")

    @property
    def noise_model(self) -> NoiseModel:
        return parse_noise(self.noise)

    @property
    def loss_name(self) -> str:
        if self.loss == "auto":
            return "hdr" if self.hdr else self.noise_model.loss
        return self.loss


def learning_rate(config: N2NConfig, iteration: int) -> float:
    """Constant, then a cosine ramp-down to 0 over the last ``rampdown`` of the run."""
    start = 1 - config.rampdown
    progress = iteration / config.iters
    if progress <= start:
        return config.lr
    return config.lr * 0.5 * (1 + math.cos(math.pi * (progress - start) / config.rampdown))


def training_loss(
    name: str, prediction: torch.Tensor, target: torch.Tensor, known: torch.Tensor, progress: float
) -> torch.Tensor:
    """The loss ``name`` at ``progress`` in [0, 1] of the run (γ of l0 goes linearly 2 → 0)."""
    if name == "l2":
        return l2(prediction, target)
    if name == "masked_l2":
        return masked_l2(prediction, target, known)
    if name == "l1":
        return l1(prediction, target)
    if name == "kspace":
        return kspace_l2(prediction, target, known)
    if name == "hdr":
        return relative_l2(prediction, target)
    return annealed_l0(prediction, target, 2.0 * (1.0 - progress))


@dataclass
class Validation:
    """Fixed held-out examples: noisy inputs, their targets (noisy or clean) and known-pixel maps,
    and the clean images when known (then validation reports PSNR)."""

    inputs: list[torch.Tensor]
    targets: list[torch.Tensor]
    known: list[torch.Tensor]
    clean: list[torch.Tensor] | None

    @classmethod
    def build(cls, data: TrainingSet, config: N2NConfig) -> Validation:
        """Each image corrupted at the noise's test level (seeded), or the first two frames of
        each burst (clean: the bursts' references, if every one has one); each (1, C, H, W), or
        with ``opponent`` each of its channels as (1, 1, H, W)."""
        noise = config.noise_model.at(config.noise_model.test)
        inputs, targets, known, clean = [], [], [], []
        for i, (frames, reference) in enumerate(zip(data.bursts, data.references)):
            sharp = None if data.real_pairs else frames[0][None]
            if data.has_references:
                sharp = reference[None]
            if data.real_pairs:
                noisy, target = frames[0][None], frames[1][None]
                mask = np.ones_like(noisy[:, :1])
            else:
                rng = np.random.default_rng([config.seed, 10_000 + i])
                (noisy, _), (target, mask) = noise.pair(sharp, np.array([noise.test]), rng)
                if config.targets == "clean":
                    target, mask = sharp, np.ones_like(mask)
            for c in range(3) if config.opponent else [None]:
                inputs.append(_channel(noisy, c))
                targets.append(_channel(target, c))
                known.append(torch.from_numpy(mask))
                if sharp is not None:
                    clean.append(_channel(sharp, c))
        return cls(inputs, targets, known, clean or None)


def _channel(image: np.ndarray, channel: int | None) -> torch.Tensor:
    """(1, C, H, W) as a tensor, or its opponent ``channel`` alone (1, 1, H, W)."""
    return torch.from_numpy(image if channel is None else opponent_channels(image, [channel]))


class N2NTraining(StepLoop):
    """One Noise2Noise training run on ``data``, validated on ``validation`` if given.

    Callbacks see ``iteration``, ``config``, ``last_loss``, ``last_psnr`` (validation PSNR),
    ``validated`` (true on a step that validated), ``improved`` (that validation was the best so
    far), ``history`` and ``is_main`` (rank 0).
    """

    method = "n2n-training"
    free = ("iters", "val_every")

    def __init__(
        self,
        data: TrainingSet,
        config: N2NConfig,
        validation: Validation | None = None,
        device: str | torch.device = "cpu",
    ):
        if data.real_pairs and config.targets == "clean" and not data.has_references:
            raise InputError(
                "clean targets need clean images (--images), or pairs whose every scene folder "
                "holds its reference.* image"
            )
        if config.opponent and data.channels != 3:
            raise InputError("training on opponent channels needs RGB images")
        data.check_crop(config.crop)
        self.channels = 1 if config.opponent else data.channels
        shape = (config.batch, self.channels, config.crop, config.crop)
        super().__init__(
            config, device, training_bytes(_unet(self.channels, config), shape), "Noise2Noise training"
        )
        self.data, self.validation = data, validation
        self.noise = config.noise_model
        self.loss_name = config.loss_name
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.distributed else 0
        self.is_main = self.rank == 0
        net = _unet(self.channels, config)
        self._init_sha256 = file_sha256(config.init) if config.init else None  # which weights it started from
        if config.init:
            self._start_from(net, N2NModel.load(config.init), self.channels)
        self.adopt(net, betas=(0.9, 0.99), eps=1e-8)
        self.model = self.net
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.net, device_ids=ids)
        self.history["val_loss"] = []
        self.best = -math.inf
        self.validated = self.improved = False

    def _start_from(self, net: torch.nn.Module, model: N2NModel, channels: int) -> None:
        """Copy ``model``'s weights into the fresh network ``net`` (fine-tuning); a narrower
        U-Net of the same depth is widened into it (``nets.unet.widen``: the same function)."""
        cfg = self.config
        width, depth = model.info["net"].get("width"), model.info["net"].get("depth")
        same_shape = (model.channels, depth) == (channels, cfg.depth)
        if model.info.get("arch") != "unet" or not same_shape or width > cfg.width:
            raise InputError(
                f"cannot start from '{cfg.init}': it is a {model.channels}-channel U-Net of width "
                f"{width} and depth {depth}, this run trains a {channels}-channel one of "
                f"width {cfg.width} (at least as wide) and depth {cfg.depth}"
            )
        if width < cfg.width:
            widen(model.net, net)
        else:
            net.load_state_dict(model.net.state_dict())

    def batch(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The crops of step ``iteration`` (inputs, targets, known-pixel map of the targets),
        drawn from a generator seeded by (seed, rank, iteration): a resumed run sees the same."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, self.rank, iteration])
        references = self.data.real_pairs and cfg.targets == "clean"
        first, second = self.data.crops(cfg.batch, cfg.crop, rng, reference=references, zoom=cfg.zoom)
        known = np.ones((cfg.batch, 1, cfg.crop, cfg.crop), np.float32)
        if not self.data.real_pairs:
            levels = self.noise.levels(cfg.batch, rng)
            clean = first
            if cfg.targets == "noisy":
                (first, _), (second, known) = self.noise.pair(clean, levels, rng)
            else:
                first, _ = self.noise.corrupt(clean, levels, rng)
                second = clean
        if cfg.opponent:  # one opponent channel of each crop, the same for input and target
            pick = rng.integers(3, size=cfg.batch)
            first, second = (opponent_channels(a, pick) for a in (first, second))
        return tuple(torch.from_numpy(a).to(self.device) for a in (first, second, known))

    def step(self) -> None:
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(cfg, self.iteration)
        inputs, targets, known = self.batch(self.iteration)
        loss = training_loss(self.loss_name, self.model(inputs), targets, known, self.iteration / cfg.iters)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.record(loss)
        self.iteration += 1
        self.validated = self.improved = False
        if self.iteration % cfg.val_every == 0 or self.iteration == cfg.iters:
            self.flush_losses()
            if self.validation is not None and self.is_main:
                self.validate()

    @torch.no_grad()
    def validate(self) -> None:
        """Loss (and PSNR when the clean images are known) on the validation set; the best so far
        is by PSNR, else by loss."""
        val = self.validation
        name = "l1" if self.loss_name == "l0" else self.loss_name
        model = self.export()
        losses, scores = [], []
        for i, (x, target, known) in enumerate(zip(val.inputs, val.targets, val.known)):
            out = model.denoise_tensor(x.to(self.device))
            losses.append(float(training_loss(name, out, target.to(self.device), known.to(self.device), 1.0)))
            if val.clean is not None:
                scores.append(
                    float(psnr_tensor(*displayed(self.config.hdr, out, val.clean[i].to(self.device))))
                )
        loss = float(np.mean(losses))
        self.history["val_loss"].append([self.iteration, loss])
        if scores:
            self.last_psnr = float(np.mean(scores))
            self.history["psnr"].append([self.iteration, self.last_psnr])
        score = self.last_psnr if scores else -loss
        self.validated, self.improved = True, score > self.best
        self.best = max(self.best, score)

    def describe(self) -> dict[str, Any]:
        """What a model file records about how its network was made and trained."""
        return {
            "arch": "unet",
            "channels": self.channels,
            "net": {"width": self.config.width, "depth": self.config.depth},
            "config": dataclasses.asdict(self.config),
            "loss": self.loss_name,
            "noise": self.noise.describe(),
            "real_pairs": self.data.real_pairs,
            "iterations": self.iteration,
            "val_psnr": self.last_psnr,
            "init_sha256": self._init_sha256,
        }

    def export(self) -> N2NModel:
        """The network as it is now, as a model (shares the weights)."""
        return N2NModel(self.net, self.describe())

    def extra_state(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.best = state["best"]

    def result(self) -> N2NModel:
        """What ``run()`` returns: the network as trained so far."""
        return self.export()


def displayed(hdr: bool, *images: torch.Tensor) -> list[torch.Tensor]:
    """Images as they are shown and scored: clipped to [0, 1], or tone-mapped if ``hdr``."""
    return [tone_map(x) if hdr else x.clamp(0, 1) for x in images]


class ToneMappedInput(torch.nn.Module):
    """``net`` seeing linear HDR input through ``colour.tone_map`` (bounded, so that fireflies do
    not saturate its first layers); its output stays linear."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net, self.multiple = net, net.multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(tone_map(x))


def network(info: dict[str, Any]) -> torch.nn.Module:
    """The untrained network a model's ``info`` (``N2NTraining.describe``) describes."""
    net = nets.build(info["arch"], info["channels"], info["channels"], info["net"])
    return ToneMappedInput(net) if info.get("config", {}).get("hdr") else net


def _unet(channels: int, config: N2NConfig) -> torch.nn.Module:
    net = {"width": config.width, "depth": config.depth}
    return network({"arch": "unet", "channels": channels, "net": net, "config": dataclasses.asdict(config)})


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex (a model file's identity in provenance records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# How far apart, as a fraction of a window, a model's overlapping windows are: the widest spacing
# within 0.01 dB of the best on the development split (``examples/dev_selection.py``: 1/2 and
# 2/3 30.93 dB, 3/4 30.90 on Sun80 crops; README, "How the defaults were chosen").
WINDOW_SPACING = 2 / 3


def window_spacing(window: int, fraction: float = WINDOW_SPACING) -> int:
    """The step in pixels between overlapping windows of side ``window``."""
    return max(1, round(window * fraction))


def window_batch(window: int) -> int:
    """How many windows go through the network at once (about 2^18 pixels)."""
    return max(1, 2**18 // window**2)


class N2NModel:
    """A trained Noise2Noise denoiser: ``net`` (a U-Net) and ``info`` (architecture, channels,
    training configuration). ``save``/``load`` use one ``torch.save`` file."""

    def __init__(self, net: torch.nn.Module, info: dict[str, Any]):
        self.net, self.info = net, info
        self.spacing = WINDOW_SPACING  # of the windows at inference, as a fraction of a window

    @property
    def channels(self) -> int:
        return int(self.info["channels"])

    @property
    def hdr(self) -> bool:
        """Whether the model denoises linear HDR images (``N2NConfig.hdr``)."""
        return bool(self.info.get("config", {}).get("hdr"))

    def save(self, path: str | os.PathLike, half: bool = False) -> None:
        """Write atomically; ``half`` stores the weights as float16 (half the size)."""
        weights = {
            k: v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()
            for k, v in self.net.state_dict().items()
        }
        with atomic_path(path) as tmp:
            torch.save({"format": MODEL_FORMAT, "version": 1, "info": self.info, "weights": weights}, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> N2NModel:
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise InputError(f"no model file at '{path}'") from None
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our file"
            raise InputError(
                f"'{path}' is not a deepprior Noise2Noise model ({exc.__class__.__name__})"
            ) from None
        if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
            raise InputError(f"'{path}' is not a deepprior Noise2Noise model file")
        info = blob["info"]
        net = network(info)
        try:
            net.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in blob["weights"].items()}
            )
        except RuntimeError as exc:
            raise InputError(
                f"the weights in '{path}' do not fit its architecture: {str(exc).splitlines()[0]}"
            ) from None
        return cls(net.to(device).eval(), info)

    @property
    def window(self) -> int:
        """The crop side the network was trained on (0 if unknown)."""
        return int(self.info.get("config", {}).get("crop", 0))

    @torch.no_grad()
    def denoise_tensor(
        self, x: torch.Tensor, window: int | None = None, tile: int = 512, margin: int = 48
    ) -> torch.Tensor:
        """(1, C, H, W) noisy → denoised (not clipped).

        window: the side of the overlapping windows the network sees (two thirds of a window
                apart, blended): by default the training crop, the size the network learned on; 0 runs
                it on the whole image instead, in ``tile``² tiles with ``margin`` pixels of context
                (seamless: see the tests). On Set12, a model trained on 64² crops scored higher in
                64² windows than on whole images (README, Noise2Noise results).
        """
        if x.shape[1] != self.channels:
            raise InputError(f"this model denoises {self.channels}-channel images, got {x.shape[1]} channels")
        window = self.window if window is None else window
        was_training = self.net.training
        self.net.eval()
        if window:
            out = windowed(self.net, x, window, window_spacing(window, self.spacing), window_batch(window))
        else:
            out = tiled(self.net, x, tile, margin, self.net.multiple)
        self.net.train(was_training)
        return out
