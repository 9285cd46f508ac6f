"""The tasks: what each takes besides the image, and how it becomes a ``Problem`` for a method.

A task turns the caller's image and its inputs (a mask, a factor, a guide…) into a ``Job``: the
observation as (1, C, h, w) float in [0, 1], the degradation operator, the key of the preset
tables and the caller's image to give the result back in. Methods (``deepprior.registry``) only
ever see a Job.

>>> import numpy as np
>>> job = prepare("super-resolve", np.zeros((8, 8, 3)), factor=2)
>>> job.problem.size, job.preset_task, job.factor
((16, 16), 'super-resolve', 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .crops import MAX_FRACTION, Box, plan
from .errors import InputError
from .image import CallerImage, ImageLike, known_pixels
from .operators import Downsample, Mask, Operator, as_operator
from .problem import Problem

KERNELS = ("lanczos2", "bicubic", "box")
INPAINT_KINDS = ("auto", "text", "holes", "pixels")
# The preset table's key of each inpainting kind.
KIND_PRESETS = {"text": "inpaint", "holes": "inpaint-holes", "pixels": "restore"}
# kind="auto" (``mask_kind``): pixels (restoration from a fraction of the pixels) when at least
# this share of the mask's 8×8 blocks hold both known and unknown pixels (on images of 16 blocks
# or more; on smaller ones any stroke crosses every block). Set between the development masks
# and random keep-masks (examples/mask_kinds.py): library's holes 0.11, a watermark 0.00;
# Bernoulli keep-masks keeping 5 % to 95 % of the pixels 0.95–1.00 (99 %: 0.47, left to the
# text setting).
SPREAD_BLOCKS = 0.5
# Else holes (the deeper net without skips) when some unknown pixel lies at least this many
# pixels from every known one, else text (thin strokes).
HOLE_DISTANCE = 8


@dataclass
class Job:
    """A task made ready for a method.

    task:        the public task name (``denoise``, ``super-resolve``…).
    preset_task: the key of the preset tables (``inpaint-holes`` for large holes, ``operator``
                 for ``restore`` with an operator…).
    problem:     observation, operator, guide and reference as tensors.
    observed:    the caller's image, to give the result back in its layout and dtype.
    sigma:       the noise std in [0, 1] (``denoise``; None: not given, estimated where used).
    noise:       the kind of noise (``denoise``): ``white``, ``camera`` or ``auto`` (``noise_kind``).
    factor:      the super-resolution factor (``super-resolve``).
    crops:       the boxes to fit instead of the whole image (``inpaint``; ``crops.plan``), or None.
    """

    task: str
    preset_task: str
    problem: Problem
    observed: CallerImage
    sigma: float | None = None
    noise: str | None = None
    factor: int | None = None
    crops: list[Box] | None = None

    @property
    def pixels(self) -> int:
        """Pixels of the restored image."""
        height, width = self.problem.size
        return height * width

    def estimate_sigma(self) -> float:
        """The noise std of the observation in [0, 1] (``noise.estimate_std``)."""
        from .noise import estimate_std

        return estimate_std(self._observation_hwc())

    def noise_kind(self) -> str:
        """``white`` or ``camera``: as given, else told from the observation the first time a
        method asks (``noise.noise_type``, about 1 s on a 768×512 photo; DIP does not ask)."""
        if self.noise in (None, "auto"):
            from .noise import noise_type

            self.noise = noise_type(self._observation_hwc())
        return self.noise

    def _observation_hwc(self) -> np.ndarray:
        """The observation as the noise estimators take it: (H, W, C) float in [0, 1]."""
        return self.problem.y[0].permute(1, 2, 0).numpy()


@dataclass(frozen=True)
class Task:
    """A task: its inputs (keyword names besides the image) and how they make a Job."""

    name: str
    summary: str
    inputs: tuple[str, ...]
    make: Callable[..., tuple[CallerImage, Operator, str, dict[str, Any]]]


def _denoise(y: CallerImage, sigma: float | None = None, noise: str = "auto"):
    from .noise import NOISE_TYPES

    if sigma is not None and not 0 <= sigma < 1:
        raise InputError(f"sigma is the noise std on the image's [0, 1] scale (e.g. 25/255), got {sigma}")
    if noise not in ("auto", *NOISE_TYPES):
        raise InputError(f"unknown noise {noise!r}; choose auto, {', '.join(NOISE_TYPES)}")
    return y, as_operator(None), "denoise", {"sigma": sigma, "noise": noise}


def _super_resolve(y: CallerImage, factor: int = 4, kernel: str = "lanczos2"):
    operator = Downsample(factor, kernel)  # checks the factor and the kernel
    return y, operator, "super-resolve", {"factor": operator.factor}


def _masked(y: CallerImage, mask: ImageLike) -> tuple[CallerImage, Mask, np.ndarray]:
    known = known_pixels(mask, y.size)
    y.tensor = y.tensor * torch.from_numpy(known)
    return y, Mask(known), known


def _inpaint(y: CallerImage, mask: ImageLike | None = None, kind: str = "auto", crop: bool | None = None):
    if mask is None:
        raise InputError("inpaint needs a mask (white = known pixel)")
    if kind not in INPAINT_KINDS:
        raise InputError(f"unknown inpainting kind {kind!r} ({', '.join(INPAINT_KINDS)})")
    if crop not in (None, True, False):
        raise InputError(f"crop is True, False or None (decided from the mask), got {crop!r}")
    y, operator, known = _masked(y, mask)
    kind = mask_kind(known) if kind == "auto" else kind
    crops = None if crop is False else plan(known, max_fraction=1.0 if crop else MAX_FRACTION)
    return y, operator, KIND_PRESETS[kind], {"crops": crops}


def mask_kind(known: np.ndarray) -> str:
    """What a mask asks for, from where its known pixels lie: ``pixels`` (a fraction of the pixels
    kept all over the image), ``holes`` (regions far from any known pixel) or ``text`` (thin
    strokes, scratches).

    known: (H, W) {0, 1}, 1 = known pixel.

    >>> rng = np.random.default_rng(0)
    >>> mask_kind(rng.random((64, 64)) < 0.5)
    'pixels'
    >>> text, hole = np.ones((64, 64)), np.ones((64, 64))
    >>> text[30:33], hole[10:40, 10:40] = 0, 0
    >>> mask_kind(text), mask_kind(hole)
    ('text', 'holes')
    """
    from scipy.ndimage import distance_transform_edt

    known = np.asarray(known) > 0
    if mixed_blocks(known) >= SPREAD_BLOCKS:
        return "pixels"
    return "holes" if distance_transform_edt(~known).max() >= HOLE_DISTANCE else "text"


def mixed_blocks(known: np.ndarray) -> float:
    """The share of the mask's whole 8×8 blocks that hold both known and unknown pixels; 0 on an
    image of fewer than 16 blocks. known: (H, W) bool, True = known pixel."""
    rows, cols = known.shape[0] // 8 * 8, known.shape[1] // 8 * 8
    if rows * cols < 16 * 64:
        return 0.0
    blocks = known[:rows, :cols].reshape(rows // 8, 8, cols // 8, 8)
    return float((blocks.any(axis=(1, 3)) & ~blocks.all(axis=(1, 3))).mean())


def _restore(y: CallerImage, mask: ImageLike | None = None, operator: Operator | Callable | None = None):
    if mask is not None and operator is not None:
        raise InputError("give either a mask or an operator, not both (compose them instead)")
    if mask is not None:  # the setting inpaint would pick for this mask, on the whole image
        y, op, known = _masked(y, mask)
        return y, op, KIND_PRESETS[mask_kind(known)], {}
    return y, as_operator(operator), "operator", {}


def _dejpeg(y: CallerImage):
    return y, as_operator(None), "dejpeg", {}


def _flash_no_flash(y: CallerImage, guide: ImageLike | None = None):
    if guide is None:
        raise InputError("flash-no-flash needs the flash photo as the guide")
    return y, as_operator(None), "flash-no-flash", {}


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("denoise", "remove noise from an image", ("sigma", "noise"), _denoise),
        Task("super-resolve", "upscale an image by an integer factor", ("factor", "kernel"), _super_resolve),
        Task(
            "inpaint",
            "fill in masked pixels: text, scratches, watermarks, holes",
            ("mask", "kind", "crop"),
            _inpaint,
        ),
        Task(
            "restore",
            "restore an image from a fraction of its pixels, or through any operator",
            ("mask", "operator"),
            _restore,
        ),
        Task("dejpeg", "remove JPEG compression artefacts", (), _dejpeg),
        Task(
            "flash-no-flash", "combine a flash and a no-flash photo of one scene", ("guide",), _flash_no_flash
        ),
    )
}


def prepare(task: str, image: ImageLike, *, reference: ImageLike | None = None, **inputs: Any) -> Job:
    """The Job of ``task`` on ``image``; ``inputs`` are the task's own (``TASKS[task].inputs``),
    None meaning not given. Raises InputError for an unknown task or input, or a bad one."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    spec = TASKS[task]
    given = {k: v for k, v in inputs.items() if v is not None}
    unknown = sorted(set(given) - set(spec.inputs))
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} does not apply to {task} (it takes: {', '.join(spec.inputs) or 'none'})"
        )
    name = "no-flash image" if task == "flash-no-flash" else "image"
    observed, operator, preset_task, extra = spec.make(CallerImage.of(image, name), **given)
    guide = None
    if "guide" in given:
        guide = CallerImage.of(given["guide"], "flash image").tensor
        if guide.shape[-2:] != observed.tensor.shape[-2:]:
            raise InputError(
                f"the flash image is {guide.shape[-1]}×{guide.shape[-2]} but the no-flash "
                f"image is {observed.tensor.shape[-1]}×{observed.tensor.shape[-2]}"
            )
    problem = Problem(
        y=observed.tensor,
        operator=operator,
        guide=guide,
        reference=None if reference is None else observed.companion(reference, "reference"),
    )
    if observed.spectrum and problem.channels != observed.tensor.shape[1] // 2:
        raise InputError(
            "a complex image is taken as a spectrum: restore it through its sampling, "
            "dp.restore(spectrum, operator=deepprior.kspace.KSpace(mask))"
        )
    return Job(task, preset_task, problem, observed, **extra)


def preset_task(task: str, image: ImageLike, **inputs: Any) -> str:
    """The key of the preset tables the job of ``task`` on ``image`` gets (``Job.preset_task``,
    which ``method="auto"`` follows too), for an interface that picks the method first.

    >>> preset_task("restore", np.zeros((64, 64)), mask=np.indices((64, 64)).sum(0) % 2)
    'restore'
    """
    return prepare(task, image, **inputs).preset_task
