"""Noise models that corrupt clean images: for demos, benchmarks and Noise2Noise training pairs."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .imageio import from_float, to_float


def add_gaussian(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add N(0, sigma²) noise in float (sigma in [0, 1] units), clip to [0, 1].

    The result keeps the input's dtype (an 8-bit image is quantised back to 8 bits; pass a float
    image for the unquantised protocol of the benchmarks).
    """
    x, encoding = to_float(image)
    noisy = x + np.random.default_rng(seed).normal(0.0, sigma, x.shape).astype(np.float32)
    return from_float(np.clip(noisy, 0.0, 1.0), encoding)


def estimate_std(image: np.ndarray) -> float:
    """The white Gaussian noise std of an (H, W) or (H, W, C) float image in [0, 1] units, from its
    finest wavelet coefficients (skimage's robust median estimate, averaged over channels).

    >>> clean = np.full((128, 128), 0.5, dtype=np.float32)
    >>> round(estimate_std(add_gaussian(clean, 0.1, seed=1)), 2)
    0.1
    """
    from skimage.restoration import estimate_sigma

    image = np.asarray(image, dtype=np.float32)
    axis = -1 if image.ndim == 3 else None
    return float(estimate_sigma(image, channel_axis=axis, average_sigmas=True))


# --- Noise models for Noise2Noise training and evaluation -------------------------------------
# Each model corrupts a batch (N, C, H, W) float32 in [0, 1] at one level per image and names the
# loss whose minimiser is the clean image under that noise (Lehtinen et al., ICML 2018).


@dataclass(frozen=True)
class NoiseModel:
    """A noise family at a training range of levels ``low..high`` and a test level.

    Levels are in the family's own units: σ on the 0–255 scale (gaussian), λ photons per unit
    intensity (poisson), or a probability / coverage in [0, 1] (bernoulli, text, impulse).
    """

    kind: str
    low: float
    high: float
    test: float

    @property
    def loss(self) -> str:
        """The training loss that recovers the clean image: l2 (mean), masked_l2, l1 (median) or
        l0 (annealed, mode)."""
        return _FAMILIES[self.kind][2]

    def levels(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` training levels drawn uniformly from ``low..high``."""
        return rng.uniform(self.low, self.high, n)

    def corrupt(
        self, x: np.ndarray, levels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Corrupt each image of ``x`` (N, C, H, W) float32 at its level; returns the noisy batch
        and a (N, 1, H, W) float32 map of the pixels that carry information (all ones except for
        bernoulli, whose dropped pixels hold ``fill_dropped``'s guess from the known ones)."""
        noisy, known = _FAMILIES[self.kind][0](x, np.asarray(levels, np.float64), rng)
        if known is None:
            known = np.ones((x.shape[0], 1) + x.shape[2:], np.float32)
        return noisy.astype(np.float32, copy=False), known

    def at(self, level: float) -> NoiseModel:
        """This family fixed at one level (for evaluation)."""
        return NoiseModel(self.kind, level, level, level)

    def describe(self) -> str:
        unit = _FAMILIES[self.kind][3]
        levels = f"{self.low:g}" if self.low == self.high else f"U[{self.low:g}, {self.high:g}]"
        return f"{self.kind} noise, {unit} {levels} (test {self.test:g}), loss {self.loss}"

    def spec(self) -> str:
        return f"{self.kind}:{self.low:g}" + ("" if self.low == self.high else f"-{self.high:g}")


def _gaussian(x, levels, rng):
    sigma = (levels / 255.0).reshape(-1, 1, 1, 1)
    return x + rng.standard_normal(x.shape, np.float32) * sigma.astype(np.float32), None


def _poisson(x, levels, rng):
    lam = np.maximum(levels, 1e-3).reshape(-1, 1, 1, 1)
    return rng.poisson(lam * np.clip(x, 0, None)) / lam, None


def _bernoulli(x, levels, rng):
    p = levels.reshape(-1, 1, 1, 1)
    known = (rng.random((x.shape[0], 1) + x.shape[2:]) >= p).astype(np.float32)
    return fill_dropped(x, known), known


# The scales (Gaussian σ in pixels) of ``fill_dropped``, up to gaps of about a hundred pixels; the
# finest, 0.7, with half a known pixel's weight as the bar, scored best of the few tried (0.5, 0.6,
# 0.7, 1 px first; bars of 0.5, 1, 2 pixels) in an ad-hoc comparison of the guess alone on the
# development images (Set12 04–07) at 50 % kept, not in any table.
FILL_SCALES = (0.7, 1, 2, 4, 8, 16, 32)


def fill_dropped(x: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each unknown pixel replaced by the Gaussian-weighted mean of the known pixels around it
    (normalised convolution) at the finest scale of ``FILL_SCALES`` whose window holds the weight
    of at least half a known pixel; the known pixels unchanged. A cheap, smooth first guess that
    carries no information beyond the known pixels: what the Bernoulli model sees in place of the
    dropped pixels, in training and in use.

    x: (N, C, H, W) float; known: (N, 1, H, W) {0, 1}. Returns (N, C, H, W) float32.

    >>> x = np.full((1, 1, 8, 8), 0.25, np.float32)
    >>> known = np.zeros((1, 1, 8, 8), np.float32)
    >>> known[..., ::3, ::3] = 1
    >>> round(float(fill_dropped(x, known).max()), 6)
    0.25
    """
    from scipy.ndimage import gaussian_filter

    x, known = np.asarray(x, np.float32), np.asarray(known, np.float32)
    seen = x * known
    out = seen.copy()
    todo = known < 0.5
    for scale in FILL_SCALES:
        images = np.flatnonzero(todo.any((1, 2, 3)))  # the images with pixels still to fill
        if not len(images):
            break
        sigma = (0, 0, scale, scale)
        weight = gaussian_filter(known[images], sigma, mode="reflect", truncate=3.0)
        total = gaussian_filter(seen[images], sigma, mode="reflect", truncate=3.0)
        ready = todo[images] & (weight * 2 * math.pi * scale**2 >= 0.5)
        out[images] = np.where(ready, total / np.maximum(weight, 1e-12), out[images])
        todo[images] &= ~ready
    if todo.any():  # a gap wider than the coarsest scale: the mean of the image's known pixels
        mean = seen.sum((2, 3), keepdims=True) / np.maximum(known.sum((2, 3), keepdims=True), 1)
        out = np.where(todo, mean, out)
    return out.astype(np.float32, copy=False)


def _impulse(x, levels, rng):
    p = levels.reshape(-1, 1, 1, 1)
    hit = rng.random((x.shape[0], 1) + x.shape[2:]) < p
    return np.where(hit, rng.random(x.shape, np.float32), x), None


def _text(x, levels, rng):
    out = x.copy()
    for image, coverage in zip(out, levels):
        overlay, ink = text_overlay(image.shape[1:], image.shape[0], coverage, rng)
        image[:] = np.where(ink, overlay, image)
    return out, None


def text_overlay(
    size: tuple[int, int],
    channels: int,
    coverage: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Random strings in random sizes, colours and positions until ``coverage`` of the pixels is
    covered: returns (C, H, W) float32 colours and a (1, H, W) boolean ink map (C = 1 or 3)."""
    from PIL import Image, ImageDraw

    height, width = size
    canvas = Image.new("RGBA", (width, height))  # alpha marks the ink: one render per string
    paint = ImageDraw.Draw(canvas)
    for count in range(1000):
        if count % 4 == 0 and np.asarray(canvas)[..., 3].mean() >= 255 * coverage:
            break
        text = "".join(map(chr, rng.integers(33, 127, rng.integers(3, 12))))
        font = _font(int(rng.integers(max(6, height // 24), max(7, height // 6))))
        where = (int(rng.integers(-width // 4, width)), int(rng.integers(-height // 8, height)))
        colour = rng.integers(0, 256, 3) if channels > 1 else np.repeat(rng.integers(0, 256), 3)
        paint.text(where, text, fill=(*map(int, colour), 255), font=font)
    pixels = np.asarray(canvas)
    colours = pixels[..., :channels].astype(np.float32).transpose(2, 0, 1) / 255
    return colours, (pixels[..., 3] > 127)[None]


@functools.lru_cache(maxsize=64)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


# kind → (corrupt, (train low, train high, test) of the Noise2Noise paper, loss, unit)
_FAMILIES = {
    "gaussian": (_gaussian, (0.0, 50.0, 25.0), "l2", "σ (0–255)"),
    "poisson": (_poisson, (0.001, 50.0, 30.0), "l2", "λ"),
    "bernoulli": (_bernoulli, (0.0, 0.95, 0.5), "masked_l2", "drop probability"),
    "text": (_text, (0.0, 0.5, 0.25), "l1", "coverage"),
    "impulse": (_impulse, (0.0, 0.95, 0.7), "l0", "replace probability"),
}
NOISE_KINDS = tuple(_FAMILIES)


def parse_noise(spec: str) -> NoiseModel:
    """``kind`` (the paper's training range), ``kind:level`` or ``kind:low-high``.

    >>> parse_noise("gaussian:0-50").describe()
    'gaussian noise, σ (0–255) U[0, 50] (test 25), loss l2'
    """
    kind, _, levels = spec.strip().partition(":")
    if kind not in _FAMILIES:
        raise InputError(
            f"unknown noise {kind!r} in {spec!r}; known: {', '.join(NOISE_KINDS)} "
            f"(e.g. gaussian:0-50, poisson:30, bernoulli:0.5, text:0-0.5, impulse:0.7)"
        )
    low, high, test = _FAMILIES[kind][1]
    if levels:
        try:
            parts = [float(v) for v in levels.split("-")] if not levels.startswith("-") else [math.nan]
        except ValueError:
            parts = [math.nan]
        if len(parts) not in (1, 2) or not all(math.isfinite(v) and v >= 0 for v in parts):
            raise InputError(
                f"bad noise levels {levels!r} in {spec!r}: give one level or low-high, "
                f"e.g. {kind}:{low:g}-{high:g}"
            )
        low, high = parts[0], parts[-1]
        test = low if len(parts) == 1 else test
        if high < low:
            raise InputError(f"bad noise range in {spec!r}: {low:g} is above {high:g}")
    if kind in ("bernoulli", "text", "impulse") and high > 1:
        raise InputError(f"{kind} levels are probabilities in [0, 1], got {spec!r}")
    return NoiseModel(kind, low, high, test)
