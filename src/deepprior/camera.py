"""A digital camera's image pipeline, run backwards then forwards: realistic real-photo noise.

``noisy_copies`` turns clean sRGB crops into independently noised copies of the same shot as a
camera would have written them: each crop is *unprocessed* to linear raw (inverse sRGB gamma,
inverse colour correction, inverse white balance, an RGGB Bayer mosaic; after Brooks et al.,
"Unprocessing images for learned raw denoising", CVPR 2019), given Poisson–Gaussian sensor
noise (shot variance ``a·x`` and read variance ``b``), then processed again: bilinear
demosaicing, white balance, colour correction, sRGB gamma, an optional S-shaped tone curve, the
in-camera smoothing of luma and chroma that makes real noise blotchy, and JPEG at a random
quality. The copies of one crop share everything but the sensor noise, so their mean is what a
photographer gets by averaging many shots of a static scene (the reference of real-noise data
sets such as PolyU): Noise2Noise on such pairs learns that mean, never seeing a clean target.

>>> rng = np.random.default_rng(0)
>>> clean = np.full((2, 3, 32, 32), 0.5, np.float32)
>>> first, second = noisy_copies(clean, np.array([3e-3, 3e-3]), rng, copies=2)
>>> first.shape, bool(np.abs(first - second).mean() > 0)
((2, 3, 32, 32), True)
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# The shot-noise variance per unit of linear raw signal: Brooks et al.'s range (ISO ~100–6400).
SHOT_RANGE = (1e-4, 1.2e-2)
_BILINEAR = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 4


@dataclass
class Shot:
    """What one camera did to one crop (shared by its noisy copies).

    wb: (3,) white-balance gains; ccm: (3, 3) camera-RGB → linear sRGB, rows sum to 1; shot, read:
    the variances ``a`` and ``b`` of the sensor noise; tone: apply the S-curve; luma, chroma:
    Gaussian smoothing (pixels) of the noisy image's Y and CbCr; quality: JPEG quality (0 = none).
    """

    wb: np.ndarray
    ccm: np.ndarray
    shot: float
    read: float
    tone: bool
    luma: float
    chroma: float
    quality: int

    @classmethod
    def draw(cls, shot: float, rng: np.random.Generator) -> Shot:
        """Camera settings at a shot-noise variance ``shot``, the rest at random."""
        off = rng.uniform(0.0, 0.25, (3, 3)) * (1 - np.eye(3))
        ccm = np.eye(3) * (1 + off.sum(1, keepdims=True)) - off
        read = read_variance(shot, rng)
        return cls(
            wb=np.array([rng.uniform(1.9, 2.4), 1.0, rng.uniform(1.5, 1.9)]),
            ccm=ccm,
            shot=float(shot),
            read=read,
            tone=bool(rng.random() < 0.5),
            luma=float(rng.uniform(0.0, 0.8)),
            chroma=float(rng.uniform(0.5, 4.0)),
            quality=int(rng.integers(60, 99)) if rng.random() < 0.9 else 0,
        )


def read_variance(shot: float, rng: np.random.Generator) -> float:
    """A sensor's read-noise variance at shot-noise variance ``shot``: Brooks et al.'s log-linear
    relation with its scatter (log b = 2.18 · log a + 1.2 + N(0, 0.26²))."""
    return float(np.exp(2.18 * np.log(shot) + 1.2 + rng.normal(0, 0.26)))


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """The sRGB transfer curve undone: display values in [0, 1] → linear light."""
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Linear light in [0, 1] → sRGB display values."""
    x = x.clamp(min=1e-8)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


def bayer_mask(height: int, width: int) -> torch.Tensor:
    """(1, 3, H, W) {0, 1}: which colour each pixel of an RGGB mosaic samples."""
    mask = torch.zeros(1, 3, height, width)
    mask[:, 0, 0::2, 0::2] = 1
    mask[:, 1, 0::2, 1::2] = 1
    mask[:, 1, 1::2, 0::2] = 1
    mask[:, 2, 1::2, 1::2] = 1
    return mask


def demosaic(raw: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) RGGB mosaic → (N, 3, H, W) by bilinear interpolation (normalised convolution)."""
    mask = bayer_mask(*raw.shape[-2:]).to(raw)
    kernel = _BILINEAR.to(raw).view(1, 1, 3, 3).repeat(3, 1, 1, 1)

    def spread(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), kernel, groups=3)

    return spread(raw * mask) / spread(mask.expand(raw.shape[0], -1, -1, -1))


def _tone(x: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """The smoothstep tone curve 3x² − 2x³ and its inverse, on [0, 1]."""
    x = x.clamp(0, 1)
    if inverse:
        return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * x) / 3.0)
    return 3 * x**2 - 2 * x**3


_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def _smooth(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (1, C, H, W) with std ``sigma`` pixels (none below 0.3)."""
    if sigma < 0.3:
        return x
    radius = max(1, int(3 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=x.dtype) / sigma) ** 2)
    taps = (taps / taps.sum()).to(x)
    channels = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(x, taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def _in_camera_smoothing(rgb: torch.Tensor, shot: Shot) -> torch.Tensor:
    matrix = _YCBCR.to(rgb)
    ycc = torch.einsum("ij,bjhw->bihw", matrix, rgb)
    ycc = torch.cat([_smooth(ycc[:, :1], shot.luma), _smooth(ycc[:, 1:], shot.chroma)], 1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(matrix), ycc)


def _jpeg(rgb: torch.Tensor, quality: int) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1] through an 8-bit JPEG (4:2:0) at ``quality``, or 8 bits without."""
    pixels = (rgb[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    if quality:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
        pixels = np.asarray(Image.open(buffer).convert("RGB"))
    return torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1)[None]


def unprocess(rgb: torch.Tensor, shot: Shot) -> torch.Tensor:
    """(1, 3, H, W) sRGB in [0, 1] → (1, 1, H, W) linear RGGB raw as ``shot``'s camera saw it."""
    x = _tone(rgb, inverse=True) if shot.tone else rgb.clamp(0, 1)
    x = srgb_to_linear(x)
    x = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(torch.as_tensor(shot.ccm, dtype=x.dtype)), x)
    x = x / torch.as_tensor(shot.wb, dtype=x.dtype).view(1, 3, 1, 1)
    return (x.clamp(0, 1) * bayer_mask(*x.shape[-2:])).sum(1, keepdim=True)


def process(raw: torch.Tensor, shot: Shot) -> torch.Tensor:
    """(1, 1, H, W) noisy linear raw → (1, 3, H, W) sRGB in [0, 1], as the camera writes it."""
    x = demosaic(raw.clamp(0, 1)) * torch.as_tensor(shot.wb, dtype=raw.dtype).view(1, 3, 1, 1)
    x = torch.einsum("ij,bjhw->bihw", torch.as_tensor(shot.ccm, dtype=x.dtype), x.clamp(0, 1))
    x = linear_to_srgb(x.clamp(0, 1))
    x = _tone(x) if shot.tone else x
    return _jpeg(_in_camera_smoothing(x, shot), shot.quality)


def noisy_copies(
    clean: np.ndarray, shots: np.ndarray, rng: np.random.Generator, copies: int = 2
) -> list[np.ndarray]:
    """``copies`` independently noised versions of each clean crop, through one camera per crop.

    clean: (N, 3, H, W) float32 sRGB in [0, 1]; shots: (N,) shot-noise variance per unit of raw
    signal (``SHOT_RANGE``: Brooks et al.'s ISO range). Returns ``copies`` arrays (N, 3, H, W)
    float32 in [0, 1].
    """
    outs = [np.empty_like(clean, dtype=np.float32) for _ in range(copies)]
    for i, (image, level) in enumerate(zip(clean, shots)):
        shot = Shot.draw(float(level), rng)
        raw = unprocess(torch.from_numpy(np.ascontiguousarray(image, np.float32))[None], shot)
        std = torch.sqrt(shot.shot * raw + shot.read)
        for out in outs:
            noise = torch.from_numpy(rng.standard_normal(raw.shape, np.float32))
            out[i] = process(raw + std * noise, shot)[0].numpy()
    return outs
