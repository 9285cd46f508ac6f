"""Noise models that corrupt clean images: for demos, benchmarks and Noise2Noise training pairs."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .camera import SHOT_RANGE, noisy_copies, read_variance
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


def _blocks(a: np.ndarray, block: int) -> np.ndarray:
    """(H, W, C) → (rows·cols, C, block²): the whole ``block``² blocks, row by row."""
    rows, cols = a.shape[0] // block, a.shape[1] // block
    a = a[: rows * block, : cols * block].reshape(rows, block, cols, block, a.shape[-1])
    return a.transpose(0, 2, 4, 1, 3).reshape(rows * cols, a.shape[-1], block * block)


def estimate_psd(
    image: np.ndarray, usable: np.ndarray | None = None, block: int = 16, share: float = 0.2
) -> np.ndarray:
    """The power spectrum of the noise of (H, W[, C]) float ``image``, per channel, for BM3D.

    The flattest ``share`` of the ``block``² blocks (a plane fitted and removed from each; judged
    after a blur; blocks with a pixel outside ``usable``, default: not clipped at 0 or 1, are
    skipped) give the noise's
    autocovariance up to ``block // 2`` pixels apart, tapered and transformed to an (H, W[, C])
    spectrum in the ``bm3d`` package's convention (white noise of std σ: σ²·H·W everywhere).

    >>> rng = np.random.default_rng(0)
    >>> psd = estimate_psd(0.5 + rng.normal(0, 0.1, (64, 64)))
    >>> round(float(np.sqrt(psd.mean() / 64**2)), 2)
    0.1
    """
    from scipy.ndimage import gaussian_filter

    x = image if image.ndim == 3 else image[..., None]
    height, width, channels = x.shape
    if usable is None:
        usable = ((x > 0) & (x < 1)).all(-1)
    yy, xx = np.mgrid[:block, :block]
    plane = np.stack([np.ones(block * block), yy.ravel(), xx.ravel()], 1)

    def detrended(a: np.ndarray) -> np.ndarray:  # each block minus its least-squares plane
        values = _blocks(a, block)
        return values - values @ np.linalg.pinv(plane).T @ plane.T

    residual = detrended(x.astype(np.float64))
    # Flat blocks are chosen by the structure left after a blur, which the noise hardly moves:
    # choosing by the noisy variance itself would pick the blocks whose noise happened to be low.
    structure = detrended(gaussian_filter(x.astype(np.float64), (2, 2, 0))).var(2).sum(1)
    spread = np.where(_blocks(usable[..., None], block).all((1, 2)), structure, np.inf)
    chosen = np.argsort(spread)[: max(1, int(share * np.isfinite(spread).sum()))]
    flat = residual[chosen].reshape(-1, channels, block, block)
    covariance = np.real(np.fft.ifft2((np.abs(np.fft.fft2(flat)) ** 2).mean(0))) / block**2
    half = block // 2
    lags = np.arange(-half + 1, half)
    taper = np.outer(np.hanning(2 * half + 1)[1:-1], np.hanning(2 * half + 1)[1:-1])
    full = np.zeros((channels, height, width))
    full[:, lags[:, None] % height, lags[None] % width] = (
        covariance[:, lags[:, None] % block, lags[None] % block] * taper
    )
    psd = np.maximum(np.real(np.fft.fft2(full)), 0).transpose(1, 2, 0) * height * width
    return psd if image.ndim == 3 else psd[..., 0]


def estimate_poisson_gaussian(image: np.ndarray, bins: int = 16, block: int = 8) -> tuple[float, float]:
    """The gain ``a`` and read variance ``b`` of Poisson–Gaussian noise, Var[y | x] = a·x + b, from
    one (H, W[, C]) float image on its own scale (e.g. [0, 1]; channels pooled).

    A fit on the image's flattest blocks: the second differences of the image (a unit-energy 3×3
    kernel, blind to planes) give each ``block``² block's noise variance, its mean its level;
    the blocks are binned by level (equal counts), the third of each bin with the least structure
    (the same differences after a blur, which the noise hardly reaches) gives the bin's variance
    (a median), and ``a``, ``b`` are the least-squares line through the bins. Blocks with a
    clipped pixel (at the image's minimum or maximum) are left out.

    >>> rng = np.random.default_rng(0)
    >>> x = np.tile(np.linspace(0.05, 0.95, 256), (256, 1))
    >>> y = rng.poisson(x / 1e-3) * 1e-3 + rng.normal(0, 0.01, x.shape)
    >>> a, b = estimate_poisson_gaussian(y)
    >>> round(a * 1e3, 1), round(float(np.sqrt(b)), 3)
    (1.0, 0.01)
    """
    from scipy.ndimage import convolve, gaussian_filter

    x = np.asarray(image, np.float64)
    x = x[..., None] if x.ndim == 2 else x
    second = np.array([1.0, -2.0, 1.0])
    kernel = np.outer(second, second) / 6  # unit energy: white noise keeps its variance
    low, high = x.min(), x.max()

    def blocks(a: np.ndarray) -> np.ndarray:  # the interior (H-2, W-2) → (blocks, block²)
        return _blocks(a[1:-1, 1:-1, None], block)[:, 0]

    levels, noise, structure = [], [], []
    for plane in np.moveaxis(x, -1, 0):
        values = blocks(plane)
        usable = ((values > low) & (values < high)).all(1)
        levels.append(values.mean(1)[usable])
        noise.append((blocks(convolve(plane, kernel, mode="reflect")) ** 2).mean(1)[usable])
        smooth = convolve(gaussian_filter(plane, 1.5), kernel, mode="reflect")
        structure.append((blocks(smooth) ** 2).mean(1)[usable])
    level, noise_var, detail = map(np.concatenate, (levels, noise, structure))
    if level.size < bins * 6:
        raise InputError("too few unclipped pixels to fit the noise (need a larger image)")
    means, variances = [], []
    for part in np.array_split(np.argsort(level), bins):
        flattest = part[np.argsort(detail[part])[: max(1, len(part) // 3)]]
        means.append(level[flattest].mean())
        variances.append(np.median(noise_var[flattest]))
    a, b = np.polyfit(means, variances, 1)
    return float(max(a, 0.0)), float(b)


# The kinds of noise the denoiser tells apart (``noise_type``) and what each assumes.
NOISE_TYPES = {
    "white": "independent from pixel to pixel (synthetic Gaussian, a raw sensor's read noise)",
    "camera": "a camera's processed output: correlated over a few pixels and between channels, "
    "blotchy in colour (demosaicing, in-camera smoothing, JPEG)",
}
# ``noise_type`` says camera when the noise std estimated on the four 2×2-subsampled images is at
# least this many times the one estimated on the whole image: white noise keeps its std under
# subsampling, noise correlated over neighbouring pixels shows more of it. Ratios measured with
# examples/noise_type_dev.py: white Gaussian σ 5–50 on Sun80 crops 1.00–1.40, PolyU's real noisy
# photos 1.90–4.00 (every fifth); noise-free photos 2.3–4.1 (either model leaves them nearly as
# they are).
CORRELATION_RATIO = 1.6


def subsampled_std(image: np.ndarray) -> float:
    """``estimate_std`` averaged over the four 2×2-subsampled images of (H, W[, C]) ``image``:
    nearly the per-pixel std of noise correlated over neighbouring pixels, which the whole
    image's finest wavelets underestimate (by 2–4× on camera JPEGs)."""
    return float(np.mean([estimate_std(image[i::2, j::2]) for i in (0, 1) for j in (0, 1)]))


def subsampled_std_ratio(image: np.ndarray) -> float:
    """``subsampled_std`` over ``estimate_std`` of (H, W[, C]) float ``image``: about 1 for white
    noise, more for correlated noise.

    >>> rng = np.random.default_rng(0)
    >>> white = 0.5 + rng.normal(0, 0.05, (128, 128))
    >>> round(subsampled_std_ratio(white), 1)
    1.0
    """
    return subsampled_std(image) / max(estimate_std(image), 1e-6)


def noise_type(image: np.ndarray) -> str:
    """``white`` or ``camera`` (``NOISE_TYPES``) for the noise of an (H, W[, C]) float image in [0, 1].

    Measured on the central 1024² at most (a statistic of the noise, not of the scene's
    layout); an image under 32 pixels a side is taken as white (too small to tell).

    >>> rng = np.random.default_rng(0)
    >>> noise_type(0.5 + rng.normal(0, 0.05, (128, 128)))
    'white'
    """
    height, width = image.shape[:2]
    if min(height, width) < 32:
        return "white"
    top, left = max(0, (height - 1024) // 2), max(0, (width - 1024) // 2)
    centre = image[top : top + 1024, left : left + 1024]
    return "camera" if subsampled_std_ratio(centre) >= CORRELATION_RATIO else "white"


# --- Noise models for Noise2Noise training and evaluation -------------------------------------
# Each model corrupts a batch (N, C, H, W) float32 in [0, 1] at one level per image and names the
# loss whose minimiser is the clean image under that noise (Lehtinen et al., ICML 2018).


@dataclass(frozen=True)
class NoiseModel:
    """A noise family at a training range of levels ``low..high`` and a test level.

    Levels are in the family's own units: σ on the 0–255 scale (gaussian), λ photons per unit
    intensity (poisson), a probability / coverage in [0, 1] (bernoulli, text, impulse), or the
    shot-noise variance per unit of raw signal in thousandths (camera: ``deepprior.camera``;
    poisson-gaussian: photon counts of that gain on the linear image itself, plus read noise of
    the variance ``camera.read_variance`` draws),
    or the acceleration of a random k-space sampling (kspace: the zero-filled image of the
    sampled spectrum, ``deepprior.kspace``; the loss compares spectra on the target's mask).
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
        """``n`` training levels drawn uniformly from ``low..high`` (log-uniformly for camera and
        poisson-gaussian)."""
        if self.kind in ("camera", "poisson-gaussian"):
            return np.exp(rng.uniform(np.log(max(self.low, 1e-3)), np.log(max(self.high, 1e-3)), n))
        return rng.uniform(self.low, self.high, n)

    def corrupt(
        self, x: np.ndarray, levels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Corrupt each image of ``x`` (N, C, H, W) float32 at its level; returns the noisy batch
        and a (N, 1, H, W) float32 map of the pixels that carry information (all ones except for
        bernoulli, whose dropped pixels hold ``fill_dropped``'s guess from the known ones, and
        kspace, whose map is the sampling mask of the spectrum, ``deepprior.kspace``)."""
        noisy, known = _FAMILIES[self.kind][0](x, np.asarray(levels, np.float64), rng)
        if known is None:
            known = np.ones((x.shape[0], 1) + x.shape[2:], np.float32)
        return noisy.astype(np.float32, copy=False), known

    def pair(
        self, x: np.ndarray, levels: np.ndarray, rng: np.random.Generator
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Two independently corrupted copies of each image of ``x`` (a Noise2Noise pair), each as
        ``corrupt`` returns it. The copies of camera noise share the camera (white balance,
        colour matrix, tone curve, JPEG quality) and differ in the sensor noise only."""
        if self.kind == "camera":
            ones = np.ones((x.shape[0], 1) + x.shape[2:], np.float32)
            first, second = noisy_copies(_colour(x), levels / 1000, rng, copies=2)
            return (first, ones), (second, ones)
        return self.corrupt(x, levels, rng), self.corrupt(x, levels, rng)

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


def _colour(x: np.ndarray) -> np.ndarray:
    if x.shape[1] != 3:
        raise InputError(f"camera noise needs RGB images, got {x.shape[1]} channel(s)")
    return x


def _camera(x, levels, rng):
    return noisy_copies(_colour(x), levels / 1000, rng, copies=1)[0], None


def _poisson_gaussian(x, levels, rng):
    out = np.empty_like(x)
    for i, level in enumerate(levels):  # photon counts of gain a, then read noise of variance b
        a = level / 1000
        counts = rng.poisson(np.clip(x[i], 0, None) / a) * a
        out[i] = counts + rng.standard_normal(x[i].shape) * np.sqrt(read_variance(a, rng))
    return out, None


def _kspace(x, levels, rng):
    from .kspace import fft2c, sampling_mask, zero_filled

    masks = np.stack([sampling_mask("random", x.shape[2:], level, seed=rng)[None] for level in levels])
    return zero_filled(fft2c(x) * masks, masks), masks.astype(np.float32)


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
    "camera": (_camera, (1000 * SHOT_RANGE[0], 1000 * SHOT_RANGE[1], 3.0), "l2", "shot variance ×1e-3"),
    "poisson-gaussian": (
        _poisson_gaussian,
        (1000 * SHOT_RANGE[0], 1000 * SHOT_RANGE[1], 3.0),
        "l2",
        "gain (shot variance per unit signal) ×1e-3",
    ),
    "kspace": (_kspace, (4.0, 8.0, 4.0), "kspace", "acceleration"),
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
            f"(e.g. gaussian:0-50, poisson:30, bernoulli:0.5, text:0-0.5, impulse:0.7, camera:0.1-12, "
            f"poisson-gaussian:0.1-12, kspace:4-8)"
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
    if kind == "kspace" and low < 1:
        raise InputError(f"kspace levels are accelerations of at least 1, got {spec!r}")
    return NoiseModel(kind, low, high, test)
