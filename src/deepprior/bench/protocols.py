"""The benchmark suites' exact protocols: which images, how they are degraded, how they are scored.

These match the published figures of ``shared/REFERENCE_RESULTS.md``:

- ``sr``: Set5 ×4 / ×8. The ground truth is centre-cropped to a multiple of the factor; the
  low-resolution input is its bicubic, antialiased downscale (Pillow's, as the paper's code),
  stored in 8 bits. Score: PSNR/SSIM on the Y channel of YCbCr (BT.601, as MATLAB's rgb2ycbcr)
  with a 4-pixel border shaved.
- ``denoise``: F16 and kodim01/02/03/12, σ ∈ {15, 25, 50} (0–255 scale). Noise N(0, σ/255) is
  added in float, clipped to [0, 1] and not quantised, with a fixed seed per image so that every
  method sees the same noisy input. Score: RGB PSNR/SSIM on the whole image.
- ``real``: real camera noise: PolyU's 100 crops of 512² (five cameras), each noisy shot
  (``*_real``) against the mean of many shots of the static scene (``*_mean``), or any folder of
  such pairs (``*_noisy``/``*_clean`` too). Score: RGB PSNR/SSIM on the whole image; the setting
  is the camera (the file name's first part).
- ``inpaint``: the 8 Set12 images of the paper's 11-image table, 50 % of the pixels kept by a
  Bernoulli(0.5) mask with a fixed seed per image; and ``kate`` with its text mask. Score: PSNR/SSIM
  on the whole image.

Every case runs **blind** by default, as a user gets it: σ is estimated from the noisy image, the
super-resolution kernel is the CLI's default and the inpainting kind is decided from the mask.
With ``oracle=True`` the methods get the protocol's true values instead (σ, the bicubic kernel
that made the low-resolution input, the text kind of kate's mask).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError
from ..imageio import list_images, read_image, to_float
from ..metrics import psnr, ssim
from ..noise import estimate_std, subsampled_std
from . import published

SR_BORDER = 4
SR_KERNEL = "bicubic"  # the downsampler that made the protocol's low-resolution inputs
# The tasks each suite's cases run (``Case.task``).
SUITE_TASKS = {
    "sr": ("super-resolve",),
    "denoise": ("denoise",),
    "real": ("denoise",),
    "inpaint": ("restore", "inpaint"),
}
# Real noisy/reference pairs are told apart by the end of the file name (PolyU's first).
PAIR_SUFFIXES = (("_real", "_mean"), ("_noisy", "_clean"), ("_noisy", "_gt"))
SET12_NAMES = {
    "01": "C.man",
    "02": "House",
    "03": "Peppers",
    "08": "Lena",
    "09": "Barbara",
    "10": "Boat",
    "11": "Man",
    "12": "Couple",
}


@dataclass
class Case:
    """One benchmark input: the clean image, what a method sees, and how its output is scored.

    clean, observed: (H, W) or (H, W, 3) float32 in [0, 1]; for ``sr`` the observation is smaller.
    mask: (H, W) bool, True = known pixel (inpaint). published: figures to print beside ours.
    oracle: give the methods the protocol's true σ, kernel and mask kind (default: blind).
    """

    suite: str
    name: str
    setting: str
    clean: np.ndarray
    observed: np.ndarray
    mask: np.ndarray | None = None
    factor: int | None = None
    sigma: float | None = None
    text_mask: bool = False
    published: dict[str, float] = field(default_factory=dict)
    oracle: bool = False

    @property
    def task(self) -> str:
        """The deepprior task that restores this case."""
        if self.suite == "inpaint":
            return "inpaint" if self.text_mask else "restore"
        return SUITE_TASKS[self.suite][0]

    @property
    def inputs(self) -> dict[str, Any]:
        """The task inputs a method gets: what a user has (the factor, the mask), and with
        ``oracle`` the protocol's true values (σ on the [0, 1] scale, the kernel, the mask kind)."""
        if self.suite == "sr":
            return {"factor": self.factor, **({"kernel": SR_KERNEL} if self.oracle else {})}
        if self.suite == "denoise":
            return {"sigma": self.sigma / 255} if self.oracle else {}
        if self.suite == "real":
            return {}
        return {"mask": self.mask, **({"kind": "text"} if self.text_mask and self.oracle else {})}

    def skip_reason(self) -> str | None:
        """Why this case cannot be run (e.g. a crop that leaves no pixel to fill), or None."""
        if self.mask is not None and self.mask.all():
            return "the crop leaves no missing pixel"
        return None

    def noise_std(self) -> float:
        """σ in [0, 1] units for a method that needs one: the true σ with ``oracle``, else estimated
        from the noisy image as a user's run would (real noise, correlated between neighbouring
        pixels, on its 2×2-subsampled images: ``noise.subsampled_std``)."""
        if self.suite == "real":
            return subsampled_std(self.observed)
        return self.sigma / 255 if self.oracle else estimate_std(self.observed)

    @property
    def _rule(self) -> dict:
        return {"border": SR_BORDER, "y_channel": self.clean.ndim == 3} if self.suite == "sr" else {}

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """A method's (H, W[, C]) float output clipped to [0, 1], grey as (H, W) like ``clean``."""
        image = np.clip(image, 0, 1)
        return image[..., 0] if self.clean.ndim == 2 and image.ndim == 3 else image

    def psnr(self, image: np.ndarray) -> float:
        """PSNR (dB) of a restored (H, W[, C]) float image under this suite's rule."""
        return psnr(self._fit(image), self.clean, data_range=1.0, **self._rule)

    def score(self, image: np.ndarray) -> tuple[float, float]:
        """(PSNR dB, SSIM) of a restored (H, W[, C]) float image under this suite's rule."""
        return self.psnr(image), ssim(self._fit(image), self.clean, data_range=1.0, **self._rule)


def data_root(given: str | os.PathLike | None = None) -> Path:
    """The shared benchmark data: ``given``, $DEEPPRIOR_DATA, or ``shared/data`` here or one level up."""
    candidates = [given] if given else [os.environ.get("DEEPPRIOR_DATA"), "shared/data", "../shared/data"]
    for candidate in filter(None, candidates):
        if Path(candidate).is_dir():
            return Path(candidate)
    raise InputError(
        f"benchmark data not found (looked in {', '.join(map(str, filter(None, candidates)))}); "
        f"pass --data DIR or set DEEPPRIOR_DATA"
    )


def _load(path: Path, crop: int | None, multiple: int = 1) -> np.ndarray:
    """Read as float [0, 1] (alpha dropped), centre-crop to ``crop``² if larger, then to a multiple."""
    image = to_float(read_image(path))[0]
    if image.ndim == 3:
        image = image[..., :3] if image.shape[2] >= 3 else image[..., 0]
    h, w = image.shape[:2]
    th, tw = min(h, crop or h), min(w, crop or w)
    th, tw = th - th % multiple, tw - tw % multiple
    top, left = (h - th) // 2, (w - tw) // 2
    return np.ascontiguousarray(image[top : top + th, left : left + tw])


def _seed(name: str, salt: int = 0) -> int:
    """A fixed seed per image (and setting), the same for every method and every run."""
    return zlib.crc32(name.encode()) + salt


def bicubic_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pillow's bicubic (Keys, a = −0.5; antialiased when shrinking) on float (H, W[, C]); size (H, W)."""
    channels = image[..., None] if image.ndim == 2 else image
    out = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(channels[..., c]), mode="F").resize(
                (size[1], size[0]), Image.BICUBIC
            )
        )
        for c in range(channels.shape[2])
    ]
    stacked = np.stack(out, axis=-1).astype(np.float32)
    return stacked[..., 0] if image.ndim == 2 else stacked


def sr_cases(
    root: Path, scales: list[int], crop: int | None = None, images: Path | None = None
) -> list[Case]:
    cases = []
    for factor in scales:
        for path in list_images(images or root / "Set5"):
            clean = _load(path, crop, factor)
            small = bicubic_resize(clean, (clean.shape[0] // factor, clean.shape[1] // factor))
            small = np.round(np.clip(small, 0, 1) * 255) / 255  # stored in 8 bits, as the paper's
            figures = {} if images else {**published.SR_IMAGE.get((factor, path.stem), {})}
            cases.append(
                Case(
                    "sr",
                    path.stem,
                    f"x{factor}",
                    clean,
                    small.astype(np.float32),
                    factor=factor,
                    published=figures,
                )
            )
    return cases


def denoise_cases(
    root: Path, sigmas: list[float], crop: int | None = None, images: Path | None = None
) -> list[Case]:
    paths = (
        list_images(images)
        if images
        else [root / "dip/denoising/F16_GT.png"] + [root / f"Kodak24/kodim{n:02d}.png" for n in (1, 2, 3, 12)]
    )
    cases = []
    for sigma in sigmas:
        for path in paths:
            name = "F16" if path.stem == "F16_GT" else path.stem
            clean = _load(path, crop)
            rng = np.random.default_rng(_seed(name, int(sigma * 100)))
            noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)
            figures = {} if images else published.DENOISE_IMAGE.get((int(sigma), name), {})
            cases.append(
                Case("denoise", name, f"σ{sigma:g}", clean, noisy, sigma=sigma, published=dict(figures))
            )
    return cases


def real_cases(root: Path | None, crop: int | None = None, images: Path | None = None) -> list[Case]:
    """The noisy/reference pairs of ``images`` (default: ``root``/PolyU), by ``PAIR_SUFFIXES``."""
    folder = images or root / "PolyU"
    files = {p.stem.lower(): p for p in list_images(folder)}
    cases = []
    for stem, path in sorted(files.items()):
        for noisy, reference in PAIR_SUFFIXES:
            if stem.endswith(noisy) and stem[: -len(noisy)] + reference in files:
                name = path.stem[: -len(noisy)]
                clean = _load(files[stem[: -len(noisy)] + reference], crop)
                observed = _load(path, crop)
                if clean.shape != observed.shape:
                    raise InputError(f"'{path.name}' and its reference differ in size or channels")
                cases.append(Case("real", name, name.split("_")[0], clean, observed))
                break
    if not cases:
        raise InputError(
            f"no noisy/reference pairs in '{folder}' (names ending in "
            f"{', '.join(f'{a}/{b}' for a, b in PAIR_SUFFIXES)})"
        )
    return cases


def inpaint_cases(root: Path, crop: int | None = None, images: Path | None = None) -> list[Case]:
    if images:
        named = [(p, p.stem) for p in list_images(images)]
    else:
        named = [(root / f"Set12/{k}.png", v) for k, v in SET12_NAMES.items()]
    cases = []
    for path, name in named:
        clean = _load(path, crop)
        keep = np.random.default_rng(_seed(name)).random(clean.shape[:2]) < 0.5
        figures = {} if images else published.INPAINT_IMAGE.get(name, {})
        cases.append(
            Case("inpaint", name, "50%", clean, _masked(clean, keep), mask=keep, published=dict(figures))
        )
    if not images:
        clean = _load(root / "dip/inpainting/kate.png", crop)
        mask = _load(root / "dip/inpainting/kate_mask.png", crop) >= 0.5
        cases.append(Case("inpaint", "kate", "text", clean, _masked(clean, mask), mask=mask, text_mask=True))
    return cases


def _masked(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return (image * (keep[..., None] if image.ndim == 3 else keep)).astype(np.float32)
