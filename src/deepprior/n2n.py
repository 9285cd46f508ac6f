"""Noise2Noise from Python: ``train`` a denoiser on noisy data, ``load`` it, ``evaluate`` it.

    import deepprior as dp
    model = dp.n2n.train(images="photos/", noise="gaussian:0-50", out="model/", iters=2000)
    clean = dp.n2n.load("model/").denoise(noisy)            # numpy or torch, any size
    dp.n2n.pretrained().denoise(noisy_grey)                  # the model shipped with deepprior
    dp.n2n.pretrained("bernoulli").denoise(image, known=mask)   # fill in the unknown pixels

>>> import numpy as np
>>> pretrained().denoise(np.full((32, 32), 0.5, np.float32)).shape
(32, 32)

Training writes into ``out``: ``best.pt`` (best validation score), ``last.pt``, ``checkpoint.pt``
(to ``resume``), ``training.json`` (configuration and history) and ``curve.png``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist

from .callbacks import Callback, Checkpoint, ProgressBar, plot_history
from .colour import from_opponent, to_opponent
from .crops import fit_each
from .errors import InputError, OutputExistsError
from .image import CallerImage, ImageLike, known_pixels
from .imageio import atomic_path, list_images
from .methods.ensemble import dihedral_mean
from .methods.loop import host_image
from .methods.noise2noise import (
    N2NConfig,
    N2NModel,
    N2NTraining,
    Validation,
    file_sha256,
    window_batch,
    window_spacing,
)
from .metrics import psnr, psnr_tensor, ssim
from .noise import fill_dropped, parse_noise
from .operators import Mask
from .outputs import check_folder
from .problem import Problem, Result
from .runtime import Cost, check_memory, choose_device, flops, keep_freed_memory, training_bytes
from .trainingdata import TrainingSet, load_chw, load_folder, load_pairs

if TYPE_CHECKING:
    from .registry import Method, RunOptions
    from .tasks import Job

PRETRAINED = Path(__file__).parent / "data" / "n2n_gaussian_grey.pt"
# The models shipped with deepprior, by the noise they were trained on (how: data/SOURCES.md):
# Gaussian noise (the default denoiser for white noise), a camera pipeline's noise (the default
# for camera photos, ``noise.noise_type``) and Bernoulli pixel dropout (the default for
# restoration from a fraction of the pixels).
SHIPPED = {
    "gaussian": PRETRAINED,
    "camera": PRETRAINED.with_name("n2n_camera_grey.pt"),
    "bernoulli": PRETRAINED.with_name("n2n_bernoulli_grey.pt"),
}


# With ``known``, the model runs again on its own output (the known pixels put back each time).
# Mean PSNR over the development images (Set12 04–07, 256², in no table) for 1…6 passes:
# ``python examples/inpaint_dev.py --only model --model MODEL --passes 1 2 3 4 5 6 [--keep 0.2 |
# --keep 0.8 | --text 0.05]``: 20 % kept 24.63 → 24.90, 50 % 30.75 → 31.26, 80 % 37.12 → 37.63
# (37.66 at 5), 5 % text 35.74 → 36.37. Six, the best mean of the counts tried (three settings
# still rose at 6; more not tried), at about 5× the time of one pass.
KNOWN_PASSES = 6
# The camera model runs twice, the second pass on its own output, when that pass changes the image
# by less than CAMERA_SECOND_PASS_BELOW times the first pass's change (RMS): one pass leaves some
# of PolyU's high-ISO noise (perhaps milder noise in training), while on milder noise, or on noise
# like the training pipeline's, the second pass changes relatively more and wipes out detail.
# Always twice on PolyU development crops, ad-hoc (every 20th from the 11th chose it): 38.68 dB
# for one pass, 38.95 for two, 38.77 for three; every 20th from the 1st (checked it) 40.36 / 40.59
# / 40.44. The ratio: ``python examples/camera_passes_dev.py`` (every fifth PolyU crop from the
# 3rd, 20, and simulated camera noise on four held-out Sun80 photos, 28): one pass always gives
# 38.68 / 38.77 dB (PolyU / simulated), two always 38.82 / 38.04, the rule 38.82 / 38.90 (a
# plateau of 38.85–38.87 for both together from 0.32 to 0.44; 0.4 its middle).
CAMERA_PASSES = 2
CAMERA_SECOND_PASS_BELOW = 0.4


class Denoiser:
    """A trained model, ready to denoise numpy or torch images of any size. ``passes``: how many
    times ``denoise`` runs the model on an image without ``known``, each pass on the previous
    one's output; with ``keep_below``, a later pass is kept only while it changes the image by
    less than ``keep_below`` times the first pass's change (RMS), else the output before it is
    returned (the shipped camera model: ``CAMERA_PASSES``, ``CAMERA_SECOND_PASS_BELOW``).
    ``kept``: the passes the last image without ``known`` kept.

    >>> model = pretrained("cpu", "camera")
    >>> model.passes, model.keep_below
    (2, 0.4)
    """

    def __init__(
        self,
        model: N2NModel,
        device: str | torch.device = "auto",
        passes: int = 1,
        keep_below: float | None = None,
    ):
        if passes < 1:
            raise InputError(f"passes must be at least 1, got {passes}")
        self.device = choose_device(device) if isinstance(device, str) else device
        self.model, self.passes, self.keep_below = model, passes, keep_below
        self.kept: int | None = None
        # Channels-last weights: the U-Net's forward pass took 29 % less time on the CPU (64
        # windows of 64², two threads, ad-hoc timing); outputs equal to float rounding.
        model.net.to(self.device, memory_format=torch.channels_last)
        keep_freed_memory(self.device)  # the windows' buffers are reused instead of page-faulted in again

    @property
    def info(self) -> dict[str, Any]:
        return self.model.info

    def denoise(
        self,
        image: ImageLike,
        *,
        known: ImageLike | None = None,
        fill: str = "biharmonic",
        window: int | None = None,
        tile: int = 512,
        ensemble: bool = False,
        passes: int | None = None,
    ) -> ImageLike:
        """Denoise ``image`` (see ``deepprior.api`` for the accepted layouts); the result has the
        caller's shape and dtype (an HDR model's, ``N2NConfig.hdr``: linear values as they are in,
        float32 out).

        known: for a model trained on Bernoulli noise, the (H, W) map of the known pixels
        (nonzero = known): the others are filled in, the known ones kept exactly. The model
        refines a first guess of the unknown pixels: ``fill="biharmonic"`` (default; the
        classical fill, ``operators.Mask.fill``) or ``"local"`` (``noise.fill_dropped``, the
        cheap guess it was trained on; 0.15 dB worse at 50 % kept on the development images,
        0.2 dB better at 20 %: README, "Restoration from a fraction of the pixels, and text"), then
        refines its own output ``passes`` times in all (default ``KNOWN_PASSES``).
        passes: how many times the model runs, each pass on the previous one's output (default:
        ``KNOWN_PASSES`` with ``known``, else the Denoiser's ``passes``).
        window/tile: see ``N2NModel.denoise_tensor`` (default: overlapping windows of the
        training crop's size). ensemble: average the 8 flips/rotations (8× the time, about
        0.1 dB better). A grey model denoises an RGB image in the opponent colour space
        (``deepprior.colour``; about 1 dB better than channel by channel on Kodak photos) and
        any other channel count channel by channel; a colour model sees a grey image as three
        equal channels and returns their mean.

        >>> image = np.full((32, 32), 0.5, np.float32)
        >>> known = np.indices((32, 32)).sum(0) % 2
        >>> out = pretrained("cpu", "bernoulli").denoise(image * known, known=known)
        >>> bool(abs(out - 0.5).max() < 0.05)
        True
        """
        y = CallerImage.of_linear(image) if self.model.hdr else CallerImage.of(image)
        keep = None if known is None else torch.from_numpy(known_pixels(known, y.size))[None, None]
        return y.give_back(
            host_image(
                self.denoise_tensor(
                    y.tensor,
                    known=keep,
                    fill=fill,
                    window=window,
                    tile=tile,
                    ensemble=ensemble,
                    passes=passes,
                )
            )
        )

    def reconstruct(self, spectrum: ImageLike, mask: ImageLike) -> ImageLike:
        """For a model trained on ``kspace`` noise (MRI): the real image from an undersampled
        spectrum (``deepprior.kspace``: centred, orthonormal), as the Noise2Noise paper does it:
        the zero-filled image, one pass of the model, then the measured frequencies put back
        (``kspace.consistent``). spectrum: (H, W) complex, zeros where not sampled; mask: (H, W)
        bool. Returns (H, W) float32 on the spectrum's scale (numpy or torch, as given).

        >>> from deepprior import kspace
        >>> mask = kspace.sampling_mask("random", (32, 32), 4)
        >>> spectrum = kspace.fft2c(np.random.default_rng(0).random((32, 32))) * mask
        >>> out = pretrained("cpu").reconstruct(spectrum, mask)  # any model shows the shapes
        >>> out.shape, bool(np.allclose(kspace.fft2c(out) * mask, spectrum, atol=1e-4))
        ((32, 32), True)
        """
        from .kspace import consistent, zero_filled

        y = CallerImage.of_spectrum(spectrum)
        if len(y.layout) != 2:
            raise InputError(f"reconstruct takes one (H, W) spectrum, got {y.layout}")
        m = torch.as_tensor(np.asarray(known_pixels(mask, y.size), bool))
        k = torch.complex(y.tensor[:, :1], y.tensor[:, 1:]).to(torch.complex128)
        out = self._pass(zero_filled(k, m).float(), None, 512, False)
        return y.give_back(host_image(consistent(out.double().cpu(), k, m).float()))

    def denoise_tensor(
        self,
        x: torch.Tensor,
        *,
        known: torch.Tensor | None = None,
        fill: str = "biharmonic",
        window: int | None = None,
        tile: int = 512,
        ensemble: bool = False,
        passes: int | None = None,
    ) -> torch.Tensor:
        """(1, C, H, W) float in [0, 1] (an HDR model: linear, ≥ 0) on any device → the denoised
        image on ``self.device``, clipped to [0, 1] (HDR: to ≥ 0); ``known``: (1, 1, H, W) {0, 1}
        (other options as ``denoise``)."""
        height, width = x.shape[-2:]
        check_memory(
            inference_bytes(self.model, height, width, x.shape[1], window),
            self.device,
            f"the Noise2Noise model on a {width}×{height} image",
        )
        passes = passes if passes is not None else KNOWN_PASSES if known is not None else self.passes
        if passes < 1:
            raise InputError(f"passes must be at least 1, got {passes}")
        x = x.to(self.device)
        if known is None:
            return self._refine(x, passes, window, tile, ensemble)
        known = known.to(self.device, torch.float32)
        out = guess_dropped(x, known, fill)  # the model refines a first guess of the dropped pixels
        for _ in range(passes):
            out = (known * x + (1 - known) * self._pass(out, window, tile, ensemble)).clamp(0, 1)
        return out

    def _refine(
        self, x: torch.Tensor, passes: int, window: int | None, tile: int, ensemble: bool
    ) -> torch.Tensor:
        """Up to ``passes`` runs of the model, each on the last one's output, stopping before a
        pass that changes the image by ``keep_below`` times the first's change or more."""
        out, first = x, None
        for count in range(passes):
            new = self._pass(out, window, tile, ensemble).clamp(0, None if self.model.hdr else 1)
            change = float(torch.sqrt(torch.mean((new - out) ** 2)))
            if first is not None and self.keep_below is not None and change >= self.keep_below * first:
                self.kept = count
                return out
            out, first = new, change if first is None else first
        self.kept = passes
        return out

    def _pass(self, x: torch.Tensor, window: int | None, tile: int, ensemble: bool) -> torch.Tensor:
        """One run of the model over (1, C, H, W): a grey model on each channel (of the opponent
        colour space for RGB), a colour model on the mean of its outputs for grey."""

        def run(t: torch.Tensor) -> torch.Tensor:
            def once(view: torch.Tensor) -> torch.Tensor:
                return self.model.denoise_tensor(view, window, tile)

            return dihedral_mean(once, t) if ensemble else once(t)

        def per_channel(t: torch.Tensor) -> torch.Tensor:
            return torch.cat([run(t[:, c : c + 1]) for c in range(t.shape[1])], 1)

        channels = self.model.channels
        if channels == 1 and x.shape[1] == 3:
            return from_opponent(per_channel(to_opponent(x)))
        if channels == 1:
            return per_channel(x)
        if channels == 3 and x.shape[1] == 1:
            return run(x.expand(-1, 3, -1, -1)).mean(1, keepdim=True)
        return run(x)


FILLS = ("biharmonic", "local")


def guess_dropped(x: torch.Tensor, known: torch.Tensor, fill: str = "biharmonic") -> torch.Tensor:
    """(1, C, H, W) with its unknown pixels (``known`` (1, 1, H, W) = 0) guessed by ``fill``:
    ``biharmonic`` (``operators.Mask.fill``) or ``local`` (``noise.fill_dropped``)."""
    if fill == "biharmonic":
        return Mask(known).fill(x)
    if fill == "local":
        return torch.from_numpy(fill_dropped(x.cpu().numpy(), known.cpu().numpy())).to(x.device)
    raise InputError(f"unknown fill {fill!r}; choose one of {', '.join(FILLS)}")


def load(path: str | os.PathLike, device: str | torch.device = "auto") -> Denoiser:
    """A model file, or a training folder (its ``best.pt``, else ``last.pt``)."""
    path = Path(path)
    return Denoiser(N2NModel.load(_model_file(path) if path.is_dir() else path), device)


def _model_file(folder: Path) -> Path:
    """A training folder's model: ``best.pt``, else ``last.pt``."""
    found = [folder / name for name in ("best.pt", "last.pt") if (folder / name).exists()]
    if not found:
        raise InputError(f"no best.pt or last.pt in '{folder}'")
    return found[0]


def export(model: str | os.PathLike, out: str | os.PathLike, *, half: bool = True) -> Path:
    """Write a trained model (a file, or a training folder's ``best.pt``) as a model file to ship:
    weights in float16 with ``half`` (half the size; inference is in float32 either way), and its
    origin recorded (``info["exported_from"]``: the source file's name and SHA-256). The shipped
    model was made this way (README, "How the shipped model was made").
    """
    source = Path(model)
    if source.is_dir():
        source = _model_file(source)
    exported = N2NModel.load(source)
    exported.info = {**exported.info, "exported_from": {"file": source.name, "sha256": file_sha256(source)}}
    exported.save(out, half=half)
    return Path(out)


def pretrained(device: str | torch.device = "auto", noise: str = "gaussian") -> Denoiser:
    """A grey model shipped with deepprior (how each was trained: README): ``gaussian``, the
    default denoiser for white noise, ``camera``, for a camera's photos, or ``bernoulli``, which
    fills in dropped pixels (``Denoiser.denoise(known=)``)."""
    if noise not in SHIPPED:
        raise InputError(f"no shipped model for {noise!r} noise; shipped: {', '.join(SHIPPED)}")
    return _denoiser(N2NModel.load(SHIPPED[noise]), noise, device)


def _denoiser(model: N2NModel, noise: str, device: str | torch.device) -> Denoiser:
    """A Denoiser over a shipped model, with the passes it makes over an image without a mask."""
    if noise == "camera":
        return Denoiser(model, device, CAMERA_PASSES, CAMERA_SECOND_PASS_BELOW)
    return Denoiser(model, device)


# The shipped model was trained on Gaussian noise of σ ≤ N2N_MAX_SIGMA (0–255 scale): above it, a
# warning. It averages its 8 flips/rotations by default on images of up to N2N_ENSEMBLE_MAX_PIXELS
# pixels: 0.09 dB better on the development split (Sun80 crops, examples/dev_selection.py) at
# 8× the time, which on two CPU cores keeps a 768×512 photo within a minute (README); larger
# images run once unless ``ensemble=True``.
N2N_MAX_SIGMA = 50
N2N_ENSEMBLE_MAX_PIXELS = 2**19
# The share of the matmul peak the U-Net's windows reach on the CPU, for the cost model (measured with
# examples/cost_model_check.py on a 128² crop of kodim05, not in the suites).
N2N_EFFICIENCY = 0.43


@functools.cache
def _shipped(noise: str = "gaussian") -> N2NModel:
    """A shipped model, read once per process (a batch worker keeps it between images)."""
    return N2NModel.load(SHIPPED[noise])


def _passes(noise: str) -> int:
    """How many passes the shipped model for ``noise`` makes over an image at most: ``KNOWN_PASSES``
    to fill in a mask's pixels (bernoulli), ``CAMERA_PASSES`` for a camera's noise, else one."""
    return {"bernoulli": KNOWN_PASSES, "camera": CAMERA_PASSES}.get(noise, 1)


def _sizes(job: Job) -> list[tuple[int, int]]:
    """The (H, W) of what the model runs on: the job's boxes (``job.crops``), else its image."""
    return [(b.height, b.width) for b in job.crops] if job.crops is not None else [job.problem.size]


def _ensemble(job: Job, options: RunOptions) -> bool:
    """As asked, else on up to ``N2N_ENSEMBLE_MAX_PIXELS`` except for camera noise, whose target
    is a 512² crop in 30 s on two cores (the ensemble takes 8× the model's time)."""
    if options.ensemble is not None:
        return options.ensemble
    pixels = sum(h * w for h, w in _sizes(job))
    return pixels <= N2N_ENSEMBLE_MAX_PIXELS and _noise_of(job) != "camera"


def _noise_of(job: Job) -> str:
    """The shipped model a job needs: Gaussian or camera to denoise (by ``job.noise_kind``), Bernoulli
    to fill in masked pixels."""
    if job.task != "denoise":
        return "bernoulli"
    return "camera" if job.noise_kind() == "camera" else "gaussian"


def run_method(method: Method, job: Job, options: RunOptions) -> Result:
    """The registry's ``n2n`` method: a shipped model on the job's image (``deepprior.registry``):
    denoising, or filling in a mask's unknown pixels (restoration from a fraction of the pixels,
    text); with ``job.crops``, on the boxes around the unknown pixels only (``crops.fit_each``)."""
    noise = _noise_of(job)
    if noise == "gaussian" and job.sigma is not None and job.sigma > N2N_MAX_SIGMA / 255:
        warnings.warn(
            f"the noise std looks like {255 * job.sigma:.0f}/255, above the {N2N_MAX_SIGMA}/255 the "
            f"shipped model was trained for: try method='dip'",
            stacklevel=4,
        )
    # The Denoiser checks the memory first.
    model = _denoiser(_shipped(noise), noise, options.device)
    ensemble = _ensemble(job, options)
    config = {
        "method": method.name,
        "model": SHIPPED[noise].name,
        **({"noise": job.noise_kind()} if job.task == "denoise" else {}),
        "device": str(model.device),
        "ensemble": ensemble,
        "passes": _passes(noise),
        "trained": model.info,
    }

    def infer(problem: Problem, _callbacks: Iterable = (), _resume: str | None = None) -> Result:
        start = time.perf_counter()
        known = None if noise != "bernoulli" else problem.operator.mask[:, :1]
        out = model.denoise_tensor(problem.y, known=known, ensemble=ensemble)
        kept = {"passes_kept": model.kept} if known is None else {}
        history: dict[str, list] = {}
        if problem.reference is not None:
            history["psnr"] = [[0, float(psnr_tensor(out, problem.reference.to(out.device)))]]
        seconds = time.perf_counter() - start
        return Result(image=host_image(out), history=history, config={**config, **kept}, seconds=seconds)

    if job.crops is not None:
        return fit_each(job.problem, job.crops, infer)
    return infer(job.problem)


def method_cost(method: Method, job: Job, options: RunOptions) -> Cost:
    """FLOPs of the shipped model's windows over the job's image (or boxes), and the memory of
    the largest."""
    model = _shipped(_noise_of(job))
    passes = (job.problem.channels if model.channels == 1 else 1) * (8 if _ensemble(job, options) else 1)
    passes *= _passes(_noise_of(job))
    shape = (1, model.channels, model.window, model.window)
    per_window = flops(model.net, shape, probe=model.window, backward=False)
    spacing = window_spacing(model.window, model.spacing)
    windows = sum(
        math.ceil(max(h - model.window, 0) / spacing + 1) * math.ceil(max(w - model.window, 0) / spacing + 1)
        for h, w in _sizes(job)
    )
    return Cost(
        flops=per_window * windows * passes,
        bytes=max(inference_bytes(model, h, w, job.problem.channels) for h, w in _sizes(job)),
        efficiency=N2N_EFFICIENCY,
    )


def inference_bytes(
    model: N2NModel, height: int, width: int, channels: int, window: int | None = None
) -> int:
    """Peak memory of denoising an image: one batch of windows through the network (without
    gradients: about half a training step's activations) and four float copies of the image."""
    window = model.window if window is None else window
    shape = (
        (window_batch(window), model.channels, window, window) if window else (1, model.channels, 512, 512)
    )
    return training_bytes(model.net, shape, probe=min(shape[-1], 64)) // 2 + 4 * height * width * channels * 4


# What a training writes into its folder.
TRAINING_FILES = ("best.pt", "last.pt", "checkpoint.pt", "training.json", "curve.png")


class _ModelFiles(Callback):
    """Rank 0 writes ``last.pt`` and ``best.pt`` after each validation, and at the end the
    training record and curve."""

    def __init__(self, out: Path):
        self.out = out

    def on_step(self, run: N2NTraining) -> None:
        if run.validated:
            run.export().save(self.out / "last.pt")
            if run.improved:
                run.export().save(self.out / "best.pt")

    def on_end(self, run: N2NTraining) -> None:
        run.export().save(self.out / "last.pt")
        if not (self.out / "best.pt").exists():
            run.export().save(self.out / "best.pt")
        with atomic_path(self.out / "training.json") as tmp:
            tmp.write_text(
                json.dumps(
                    {
                        "info": run.describe(),
                        "history": run.history,
                        "seconds": run.history["seconds"][-1] if run.history["seconds"] else 0.0,
                    },
                    indent=1,
                )
            )
        plot_history({"loss": run.history["loss"], "psnr": run.history["psnr"]}, self.out / "curve.png")


def train(
    images: str | os.PathLike | None = None,
    pairs: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    *,
    val: str | os.PathLike | None = None,
    holdout: int = 0,
    resume: bool = False,
    force: bool = False,
    device: str = "auto",
    progress: bool | None = None,
    callbacks: Iterable = (),
    **config: Any,
) -> Denoiser:
    """Train a Noise2Noise denoiser and return it.

    images:  a folder of clean images, corrupted on the fly by ``noise`` (two independent
             corruptions per crop, or the clean crop as target with ``targets="clean"``);
    pairs:   or a folder of real noisy pairs (``a_*``/``b_*``) and burst sub-folders (each may
             hold its clean ``reference.*``: the target with ``targets="clean"``, and the
             validation's score), e.g. renders (``deepprior.render``) with ``hdr=True``;
    out:     the folder for models, checkpoint and curve (nothing is written without it); one
             that holds files is refused unless ``resume`` continues its training or ``force``
             starts afresh (the earlier run's files are deleted first, so that no stale
             ``best.pt`` is left for ``load`` to prefer);
    val:     a folder of held-out images (clean, or pairs like ``pairs``); or ``holdout`` takes the
             last N training images out for validation;
    config:  fields of ``N2NConfig`` (noise, targets, loss, width, depth, crop, batch, iters, lr…);
             with ``init``, width and depth default to that model's.
    Under ``torchrun`` each process trains on its own crops (DistributedDataParallel; gloo on the
    CPU, nccl on GPUs) and rank 0 writes the files.
    """
    unknown = sorted(set(config) - set(N2NConfig.__dataclass_fields__))
    if unknown:
        raise InputError(f"unknown training options: {', '.join(unknown)} (see deepprior.n2n.N2NConfig)")
    if config.get("init"):
        shape = N2NModel.load(config["init"]).info["net"]
        config = {**{k: shape[k] for k in ("width", "depth") if k in shape}, **config}
    cfg = N2NConfig(**config)
    if resume and out is None:
        raise InputError("resume needs the training folder (out=) that holds checkpoint.pt")
    if resume and not (Path(out) / "checkpoint.pt").exists():
        raise InputError(f"nothing to resume: no checkpoint.pt in '{out}'")
    if out is not None and not resume:
        try:
            check_folder(out, force=force)
        except OutputExistsError:
            raise OutputExistsError(
                f"'{out}' is not empty: resume the training it holds (--resume, resume=True) or "
                f"train afresh (--force, force=True: its model files are replaced)"
            ) from None
    if (images is None) == (pairs is None):
        raise InputError("give a folder of clean images (images=) or of noisy pairs (pairs=), not both")
    real_pairs = pairs is not None
    data = _training_set(pairs if real_pairs else images, real_pairs, cfg.hdr)
    validation = None
    if val is not None:
        validation = Validation.build(_training_set(val, real_pairs, cfg.hdr), cfg)
    elif holdout:
        validation = Validation.build(data.hold_out(holdout), cfg)
    started_here = _start_distributed()
    try:
        run = N2NTraining(data, cfg, validation, _device(device))
        out = Path(out) if out is not None else None
        cbs = list(callbacks)
        if run.is_main:
            cbs.insert(0, ProgressBar("training", disable=progress if progress is None else not progress))
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                if not resume:
                    for name in TRAINING_FILES:
                        (out / name).unlink(missing_ok=True)
                if resume:
                    run.load(out / "checkpoint.pt")
                cbs += [_ModelFiles(out), Checkpoint(out / "checkpoint.pt", cfg.val_every)]
        elif resume and out is not None:
            run.load(Path(out) / "checkpoint.pt")
        model = run.run(cbs)
        if started_here:  # every rank waits until rank 0 has written its files, then all leave together
            dist.barrier()
        return Denoiser(model, run.device)
    finally:
        if started_here:
            dist.destroy_process_group()


def _training_set(folder: str | os.PathLike, real_pairs: bool, linear: bool) -> TrainingSet:
    """A folder of clean images, or of noisy pairs and bursts (float files as they are if
    ``linear``)."""
    return load_pairs(folder, linear) if real_pairs else TrainingSet(images=load_folder(folder, linear))


def launched_by_torchrun() -> bool:
    """Whether this process is one of several that torchrun started (it sets LOCAL_RANK; a
    WORLD_SIZE alone may leak in from a scheduler's environment and starts nothing)."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def _start_distributed() -> bool:
    """Join the process group when launched by torchrun; True if we started it."""
    if not launched_by_torchrun() or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def _device(name: str) -> torch.device:
    device = choose_device(name)
    if device.type == "cuda" and dist.is_initialized():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


@dataclass
class TestImage:
    """A clean test image and its corruption, both (C, H, W) float32 (the noisy one not clipped);
    for ``kspace`` noise, ``sampled`` is the (H, W) bool mask of the frequencies measured."""

    name: str
    clean: np.ndarray
    noisy: np.ndarray
    sampled: np.ndarray | None = None


def noisy_test_set(images: str | os.PathLike, noise: str = "gaussian:25", seed: int = 0) -> list[TestImage]:
    """The clean images of a folder, each corrupted at the test level of ``noise`` with a
    generator seeded by (seed, index): the same noisy images for every method scored on them."""
    model = parse_noise(noise)
    model = model.at(model.test)
    test = []
    for i, path in enumerate(list_images(images)):
        clean = load_chw(path)
        noisy, known = model.corrupt(clean[None], [model.test], np.random.default_rng([seed, i]))
        sampled = known[0, 0] > 0 if model.kind == "kspace" else None
        test.append(TestImage(path.stem, clean, noisy[0], sampled))
    return test


def evaluate(
    model: Denoiser,
    images: str | os.PathLike | list[TestImage],
    noise: str = "gaussian:25",
    *,
    seed: int = 0,
    window: int | None = None,
    tile: int = 512,
) -> dict[str, Any]:
    """PSNR/SSIM of ``model`` on a folder of clean ``images`` corrupted by ``noise`` at its test
    level (``noisy_test_set``; Gaussian noise is not clipped, the usual protocol for grey sets), or
    on a prepared test set; with ``kspace`` noise the measured frequencies are put back after the
    model (data consistency, as ``Denoiser.reconstruct``). Returns {"images": [{"name", "psnr",
    "ssim", "noisy_psnr"}…], "psnr", "ssim"}."""
    test = images if isinstance(images, list) else noisy_test_set(images, noise, seed)
    rows = []
    for item in test:
        if model.model.channels != item.clean.shape[0]:
            raise InputError(
                f"the model is for {model.model.channels}-channel images, "
                f"'{item.name}' has {item.clean.shape[0]}"
            )
        noisy = torch.from_numpy(item.noisy[None]).to(model.device)
        out = model.model.denoise_tensor(noisy, window, tile)
        if item.sampled is not None:  # the zero-filled input holds the measured spectrum exactly
            from .kspace import consistent, fft2c

            k = fft2c(item.noisy.astype(np.float64)) * item.sampled
            out = torch.from_numpy(consistent(out.double().cpu().numpy(), k, item.sampled)).float()
        restored, reference = host_image(out.clamp(0, 1)), item.clean.transpose(1, 2, 0)
        rows.append(
            {
                "name": item.name,
                "psnr": psnr(restored, reference, data_range=1.0),
                "ssim": ssim(restored, reference, data_range=1.0),
                "noisy_psnr": psnr(np.clip(item.noisy, 0, 1).transpose(1, 2, 0), reference, data_range=1.0),
            }
        )
    return {
        "images": rows,
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
    }


__all__ = [
    "Denoiser",
    "N2NConfig",
    "PRETRAINED",
    "TestImage",
    "evaluate",
    "export",
    "load",
    "noisy_test_set",
    "pretrained",
    "train",
]
