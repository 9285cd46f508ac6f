"""MRI from undersampled k-space: sampling masks, the ``KSpace`` operator and the zero-filled
reconstruction (total variation is ``dp.restore(spectrum, KSpace(mask), method="tv")``).

k-space here is the centred, orthonormal 2-D FFT of the image (``fft2c``: zero frequency at
(H // 2, W // 2), Parseval holds), the convention of fastMRI. A sampling mask is an (H, W) bool
array in that layout. Images are real (magnitude images, like ``../data/mri``): the spectrum of a
real image is Hermitian, so a frequency sampled at k is known at −k too, and the zero-filled
image is the real image whose spectrum is the measured one where known (at k or −k) and zero
elsewhere (``zero_filled``).

>>> import numpy as np
>>> mask = sampling_mask("cartesian", (64, 64), acceleration=4, seed=0)
>>> round(acceleration(mask), 1)
4.0
>>> x = np.random.default_rng(0).random((64, 64))
>>> y = fft2c(x) * mask
>>> bool(np.allclose(fft2c(zero_filled(y, mask)) * mask, y))  # consistent with the data
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .errors import InputError
from .operators import Operator, Size

Array = np.ndarray | torch.Tensor


def _centred(x: Array, inverse: bool) -> Array:
    """The orthonormal 2-D (inverse) FFT over the last two axes with the zero frequency centred."""
    if isinstance(x, torch.Tensor):
        fft, shift, unshift, axes = torch.fft, torch.fft.fftshift, torch.fft.ifftshift, {"dim": (-2, -1)}
    else:
        fft, shift, unshift, axes = np.fft, np.fft.fftshift, np.fft.ifftshift, {"axes": (-2, -1)}
    transform = fft.ifft2 if inverse else fft.fft2
    return shift(transform(unshift(x, **axes), norm="ortho", **axes), **axes)


def fft2c(x: Array) -> Array:
    """The centred orthonormal 2-D FFT over the last two axes (numpy or torch, complex out)."""
    return _centred(x, inverse=False)


def ifft2c(k: Array) -> Array:
    """The inverse of ``fft2c`` (complex out)."""
    return _centred(k, inverse=True)


def mirrored(mask: Array) -> Array:
    """The mask at −k in the centred layout (the frequencies a real image's Hermitian symmetry
    adds): element (i, j) of the result is the mask at ((H − i) mod H, (W − j) mod W) for even
    sides."""
    if isinstance(mask, torch.Tensor):
        return torch.roll(torch.flip(mask, (-2, -1)), (1, 1), (-2, -1))
    return np.roll(np.flip(mask, (-2, -1)), (1, 1), (-2, -1))


def symmetric_weight(mask: Array) -> Array:
    """(mask(k) + mask(−k)) / 2 as floats, from a bool or {0, 1} mask: how a real image's spectrum
    is seen at k (1 where both k and −k are sampled, ½ where one is, 0 where neither)."""
    m = mask.float() if isinstance(mask, torch.Tensor) else np.asarray(mask, np.float64)
    return (m + mirrored(m)) / 2


# --- Sampling masks ------------------------------------------------------------------------------


def acceleration(mask: np.ndarray) -> float:
    """The acceleration of a sampling mask: all frequencies over the sampled ones."""
    return mask.size / max(int(np.count_nonzero(mask)), 1)


def centre_fraction(mask: np.ndarray) -> float:
    """The fraction of the columns around the centre that are sampled in full (Cartesian masks;
    0 for a mask whose central column is not full)."""
    full = mask.all(0)
    centre = mask.shape[1] // 2
    left = right = centre
    while left > 0 and full[left - 1]:
        left -= 1
    while right < mask.shape[1] and full[right]:
        right += 1
    return (right - left) / mask.shape[1]


def _cartesian(size: Size, target: float, centre: float, rng: np.random.Generator, equispaced: bool):
    height, width = size
    lines = max(1, round(width / target))
    core = min(lines, max(1, round(width * centre)))
    middle = np.arange(width // 2 - core // 2, width // 2 - core // 2 + core)
    columns = np.zeros(width, bool)
    columns[middle] = True
    rest = lines - core
    outside = np.flatnonzero(~columns)
    if rest > 0:
        if equispaced:
            step = len(outside) / rest
            picked = outside[(rng.uniform(0, step) + np.arange(rest) * step).astype(int)]
        else:
            picked = rng.choice(outside, rest, replace=False)
        columns[picked] = True
    return np.broadcast_to(columns, (height, width)).copy()


def _radius(size: Size) -> np.ndarray:
    """Each frequency's distance from the centre, 1 at the middle of the nearest edge."""
    yy, xx = np.mgrid[: size[0], : size[1]]
    return np.hypot((yy - size[0] // 2) / (size[0] / 2), (xx - size[1] // 2) / (size[1] / 2))


def _variable_density(size: Size, target: float, centre: float, rng: np.random.Generator):
    """Independent points, the probability falling off as (1 − r / √2)^p (p found so the mean is
    1 / acceleration), the disc of radius ``centre`` sampled in full."""
    radius = _radius(size)
    core = radius <= centre
    low, high = 0.0, 64.0
    for _ in range(60):  # bisection on the exponent: the sampled share falls as it grows
        power = (low + high) / 2
        density = np.where(core, 1.0, np.clip(1 - radius / np.sqrt(2), 0, 1) ** power)
        low, high = (power, high) if density.mean() > 1 / target else (low, power)
    return rng.random(size) < density


def _radial(size: Size, target: float, centre: float, rng: np.random.Generator):
    """Spokes through the centre at golden-angle steps from a random start, as many as give the
    acceleration (rasterised to the nearest frequency)."""
    height, width = size
    steps = np.linspace(-1, 1, 4 * max(size))
    angle = rng.uniform(0, np.pi)
    mask = np.zeros(size, bool)
    for _ in range(4 * max(size)):  # more spokes than that cover every frequency
        if acceleration(mask) <= target:
            break
        rows = np.round(height // 2 + steps * np.sin(angle) * height / 2).astype(int)
        cols = np.round(width // 2 + steps * np.cos(angle) * width / 2).astype(int)
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        mask[rows[inside], cols[inside]] = True
        angle += np.pi * (np.sqrt(5) - 1) / 2  # the golden angle of lines, 111.25°
    return mask


# kind → (maker(size, acceleration, centre, rng), default centre, what it is)
MASKS: dict[str, tuple[Callable[..., np.ndarray], float, str]] = {
    "cartesian": (
        lambda size, a, c, rng: _cartesian(size, a, c, rng, equispaced=False),
        0.08,
        "full columns (phase-encoding lines) at random, a fully sampled centre band",
    ),
    "equispaced": (
        lambda size, a, c, rng: _cartesian(size, a, c, rng, equispaced=True),
        0.08,
        "full columns evenly spaced, a fully sampled centre band",
    ),
    "random": (
        _variable_density,
        0.04,
        "independent points, denser towards the centre (the Noise2Noise paper's sampling)",
    ),
    "radial": (_radial, 0.0, "spokes through the centre at golden-angle steps"),
}


def sampling_mask(
    kind: str,
    size: Size,
    acceleration: float = 4.0,
    centre: float | None = None,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """An (H, W) bool sampling mask in the centred layout.

    kind:         ``cartesian``, ``equispaced``, ``random`` or ``radial`` (``MASKS``).
    acceleration: all frequencies over the sampled ones (≥ 1; radial masks reach it to within a
                  spoke).
    centre:       the fully sampled centre: a fraction of the columns (Cartesian, default 0.08)
                  or a radius (random, 1 = the edge; default 0.04); ignored by radial masks.
    seed:         an integer or a numpy Generator (drawn from).

    >>> m = sampling_mask("random", (128, 128), acceleration=8, seed=1)
    >>> m.shape, 7 < acceleration(m) < 9
    ((128, 128), True)
    """
    if kind not in MASKS:
        raise InputError(f"unknown sampling mask {kind!r}; known: {', '.join(MASKS)}")
    if not acceleration >= 1:
        raise InputError(f"the acceleration must be at least 1, got {acceleration}")
    if min(size) < 8 or size[0] % 2 or size[1] % 2:
        raise InputError(f"k-space needs even sides of at least 8 pixels, got {size[1]}×{size[0]}")
    make, default, _ = MASKS[kind]
    centre = default if centre is None else centre
    if not 0 <= centre < 1:
        raise InputError(f"the fully sampled centre must be a fraction in [0, 1), got {centre}")
    return make(tuple(size), float(acceleration), centre, np.random.default_rng(seed))


# --- Reconstructions -----------------------------------------------------------------------------


def zero_filled(kspace: Array, mask: Array) -> Array:
    """The real image whose spectrum is the measured one where sampled (at k or −k) and zero
    elsewhere: (…, H, W) complex ``kspace`` and its (H, W) mask → (…, H, W) real."""
    weight = symmetric_weight(mask)
    seen = (kspace * mask + mirrored(kspace * mask).conj()) / 2  # each measured value at k and −k
    scale = 1 / weight.clamp(min=0.5) if isinstance(weight, torch.Tensor) else 1 / np.maximum(weight, 0.5)
    return ifft2c(seen * scale * (weight > 0)).real


def consistent(image: Array, kspace: Array, mask: Array) -> Array:
    """``image`` (…, H, W) real with its spectrum replaced by the measured one where sampled
    (at k or −k): data consistency, as Noise2Noise puts the known frequencies back."""
    unseen = symmetric_weight(mask) == 0
    return ifft2c(fft2c(image) * unseen).real + zero_filled(kspace, mask)


def kspace_l2(prediction: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """The squared error in k-space on the target's sampled frequencies, for real images:
    ``Σ_k m(k) |F p − F x|² / (H·W·C·B)`` where ``target`` is the zero-filled image of x's
    spectrum sampled by ``known`` (B, 1, H, W), the mask m. Noise2Noise for MRI trains with it:
    the prediction is compared with the *other* undersampled spectrum, never a full one.
    """
    weight = symmetric_weight(known)
    error = fft2c(prediction) * (weight > 0) - fft2c(target)
    return torch.sum(weight * error.abs() ** 2) / prediction.numel()


class KSpace(Operator):
    """A(x) = M ⊙ F x: the undersampled spectrum of a real image, for ``dp.restore``.

    x is (B, C, H, W) real; A(x) is (B, 2C, H, W), the real then the imaginary parts of the
    sampled spectrum (zeros off the mask), which is how ``dp.restore`` holds a complex observation.
    mask: (H, W) bool or {0, 1} in the centred layout (``sampling_mask``).

    >>> op = KSpace(sampling_mask("cartesian", (32, 32), 4))
    >>> tuple(op(torch.rand(1, 1, 32, 32)).shape), op.input_channels(2)
    ((1, 2, 32, 32), 1)
    """

    def __init__(self, mask: Array) -> None:
        super().__init__()
        m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).float()
        if m.dim() != 2 or not ((m == 0) | (m == 1)).all():
            raise InputError(f"the k-space mask must be (H, W) with 0/1 values, got shape {tuple(m.shape)}")
        if not m.any():
            raise InputError("the k-space mask samples no frequency")
        self.register_buffer("mask", m)

    @property
    def acceleration(self) -> float:
        return acceleration(self.mask.numpy())

    def input_channels(self, channels: int) -> int:
        return channels // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != tuple(self.mask.shape):
            (h, w), (mh, mw) = x.shape[-2:], self.mask.shape
            raise InputError(f"the k-space mask is {mw}×{mh} but the image is {w}×{h}")
        k = fft2c(x.to(torch.float32)) * self.mask
        return torch.cat([k.real, k.imag], 1)

    def adjoint(self, y: torch.Tensor, input_size: Size) -> torch.Tensor:
        c = y.shape[1] // 2
        return ifft2c(torch.complex(y[:, :c], y[:, c:]) * self.mask).real
