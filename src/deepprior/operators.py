"""Differentiable degradation operators ``y = A(x)`` on (B, C, H, W) float tensors in [0, 1].

Sizes are (H, W) tuples; error messages write them as width×height, like the rest of deepprior.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InputError

Size = tuple[int, int]
ArrayLike = np.ndarray | torch.Tensor


class Operator(torch.nn.Module):
    """A differentiable degradation y = A(x) on (B, C, H, W) tensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def output_size(self, size: Size) -> Size:
        """(H, W) of A(x) for an x of ``size``."""
        return size

    def input_size(self, size: Size) -> Size:
        """(H, W) of the x that gives an observation of ``size``."""
        return size

    def input_channels(self, channels: int) -> int:
        """Channels of the x that gives an observation of ``channels`` channels."""
        return channels

    def adjoint(self, y: torch.Tensor, input_size: Size) -> torch.Tensor:
        """Aᵀy, (B, C, *input_size): the vector-Jacobian product of A at zero (exact when A is linear)."""
        zeros = y.new_zeros(y.shape[0], self.input_channels(y.shape[1]), *input_size)
        _, vjp = torch.func.vjp(self, zeros)
        return vjp(y)[0]


class Identity(Operator):
    """A(x) = x: denoising and the other tasks that observe the image itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def adjoint(self, y: torch.Tensor, input_size: Size) -> torch.Tensor:
        return y


class Mask(Operator):
    """A(x) = x ⊙ m: keeps the known pixels (m = 1), zeroes the others (inpainting).

    mask: (H, W), (C, H, W) or (B, C, H, W), bool or float with values in {0, 1}.
    """

    def __init__(self, mask: ArrayLike) -> None:
        super().__init__()
        m = torch.as_tensor(mask).float()
        if not 2 <= m.dim() <= 4:
            raise InputError(f"the mask must be (H, W), (C, H, W) or (B, C, H, W), got {tuple(m.shape)}")
        if not ((m == 0) | (m == 1)).all():
            raise InputError("the mask must hold only 0 (unknown) and 1 (known) values")
        self.register_buffer("mask", m.reshape((1,) * (4 - m.dim()) + tuple(m.shape)))

    @property
    def known_fraction(self) -> float:
        """Fraction of the mask's pixels that are known, in [0, 1]."""
        return self.mask.mean().item()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (mh, mw), (h, w) = self.mask.shape[-2:], x.shape[-2:]
        if (mh, mw) != (h, w):
            raise InputError(f"the mask is {mw}×{mh} but the image is {w}×{h}")
        if self.mask.shape[1] not in (1, x.shape[1]):
            raise InputError(f"the mask has {self.mask.shape[1]} channels but the image has {x.shape[1]}")
        return x * self.mask

    def adjoint(self, y: torch.Tensor, input_size: Size) -> torch.Tensor:
        return self(y)  # self-adjoint

    def fill(self, y: torch.Tensor) -> torch.Tensor:
        """The observation with its unknown pixels filled by biharmonic interpolation
        (``skimage.restoration.inpaint_biharmonic``), the classical fill; (1, C, H, W) in [0, 1].
        Images of more than ``FILL_TILE``² pixels are filled in overlapping tiles (the solve
        grows faster than the pixels: 2.4 s at 512², 20 s at 1024² on one core).

        >>> y = torch.ones(1, 1, 8, 8)
        >>> mask = torch.ones(8, 8)
        >>> mask[3:5, 3:5] = 0
        >>> Mask(mask).fill(y * mask).min().item()
        1.0
        """
        if y.shape[0] != 1 or self.mask.shape[1] != 1:
            raise InputError("the classical fill takes one image and a mask shared by its channels")
        image = y[0].permute(1, 2, 0).detach().cpu().double().numpy()
        unknown = self.mask[0, 0].cpu().numpy() == 0
        filled = (
            _biharmonic_tiles(image, unknown)
            if image[..., 0].size > FILL_TILE**2
            else _biharmonic(image, unknown)
        )
        return torch.from_numpy(filled).float().clamp(0, 1).permute(2, 0, 1)[None].to(y.device)


# ``Mask.fill`` solves images of up to FILL_TILE² pixels whole, larger ones in tiles of that side
# whose outer FILL_OVERLAP pixels give context only.
FILL_TILE, FILL_OVERLAP = 512, 32


def _biharmonic(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """(H, W, C) float with its ``unknown`` (H, W) pixels filled (zeros if none is known)."""
    from skimage.restoration import inpaint_biharmonic

    if unknown.all():
        return np.zeros_like(image)
    return inpaint_biharmonic(image, unknown, channel_axis=-1) if unknown.any() else image


def _biharmonic_tiles(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """``_biharmonic`` tile by tile: each core of (FILL_TILE − 2·FILL_OVERLAP)² pixels is solved
    with FILL_OVERLAP pixels of context around it."""
    out = image.copy()
    core, pad = FILL_TILE - 2 * FILL_OVERLAP, FILL_OVERLAP
    height, width = unknown.shape
    for top in range(0, height, core):
        for left in range(0, width, core):
            rows, cols = slice(top, min(top + core, height)), slice(left, min(left + core, width))
            if not unknown[rows, cols].any():
                continue
            r0, c0 = max(top - pad, 0), max(left - pad, 0)
            window = (slice(r0, min(top + core + pad, height)), slice(c0, min(left + core + pad, width)))
            solved = _biharmonic(image[window], unknown[window])
            if unknown[window].all():  # no known pixel in reach: the image's known mean
                solved[:] = image[~unknown].mean(0) if (~unknown).any() else 0.0
            out[rows, cols] = solved[
                top - r0 : top - r0 + rows.stop - top, left - c0 : left - c0 + cols.stop - left
            ]
    return out


def _check_factor(factor: int) -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
        raise InputError(f"the factor must be an integer ≥ 2, got {factor!r}")
    return int(factor)


def _phase_half_distances(factor: int) -> np.ndarray:
    """|offset| / factor of the 4·factor taps of a phase-0.5 kernel (DIP's kernel width 4·factor + 1)."""
    factor = _check_factor(factor)
    i = np.arange(1, 4 * factor + 1)
    return np.abs(i + 0.5 - (4 * factor + 2) / 2) / factor


def lanczos2_taps(factor: int) -> np.ndarray:
    """The 4·factor taps of DIP's Lanczos-2 downsampling filter, summing to 1."""
    d = _phase_half_distances(factor)  # < 2, inside the support
    taps = np.sinc(d) * np.sinc(d / 2)  # = 2 sin(πd) sin(πd/2) / (π²d²)
    return taps / taps.sum()


def bicubic_taps(factor: int) -> np.ndarray:
    """The 4·factor taps of the Keys cubic (a = −0.5) downsampling filter, summing to 1."""
    d, a = _phase_half_distances(factor), -0.5
    near = (a + 2) * d**3 - (a + 3) * d**2 + 1
    far = a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a
    taps = np.where(d <= 1, near, np.where(d < 2, far, 0.0))
    return taps / taps.sum()


def _box_taps(factor: int) -> np.ndarray:
    return np.full(_check_factor(factor), 1.0 / factor)


_TAPS: dict[str, Callable[[int], np.ndarray]] = {
    "lanczos2": lanczos2_taps,
    "bicubic": bicubic_taps,
    "box": _box_taps,
}


def _depthwise(
    x: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int, int, int], mode: str, stride: int = 1
) -> torch.Tensor:
    """Correlate every channel of (B, C, H, W) ``x`` with the (1, 1, kh, kw) ``weight`` after padding
    (left, right, top, bottom) in ``mode`` (a torch.nn.functional.pad mode)."""
    b, c, h, w = x.shape
    x = F.pad(x.reshape(b * c, 1, h, w), padding, mode=mode)
    y = F.conv2d(x, weight.to(x.dtype), stride=stride)
    return y.reshape(b, c, *y.shape[-2:])


class Downsample(Operator):
    """Deep Image Prior's downsampler: a separable anti-aliasing filter, then stride ``factor``.

    An H×W image (multiples of ``factor``) gives (H/factor)×(W/factor); replicate padding at the
    borders. kernel: 'lanczos2' (DIP's default), 'bicubic' (Keys, a = −0.5) or 'box' (block means).
    """

    def __init__(self, factor: int, kernel: str = "lanczos2") -> None:
        super().__init__()
        if kernel not in _TAPS:
            raise InputError(f"unknown downsampling kernel {kernel!r}; known: {', '.join(_TAPS)}")
        self.factor, self.kernel = _check_factor(factor), kernel
        taps = torch.from_numpy(_TAPS[kernel](self.factor)).float()
        self.register_buffer("weight", torch.outer(taps, taps)[None, None])
        total = len(taps) - self.factor  # output = input / factor exactly
        self.padding = (total // 2, total - total // 2) * 2

    def extra_repr(self) -> str:
        return f"factor={self.factor}, kernel={self.kernel!r}"

    def output_size(self, size: Size) -> Size:
        return size[0] // self.factor, size[1] // self.factor

    def input_size(self, size: Size) -> Size:
        return size[0] * self.factor, size[1] * self.factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.factor or w % self.factor:
            raise InputError(f"the image is {w}×{h}, not a multiple of the factor {self.factor} on each side")
        return _depthwise(x, self.weight, self.padding, "replicate", stride=self.factor)


_PAD_MODES = {"reflect": "reflect", "replicate": "replicate", "circular": "circular", "zeros": "constant"}


class Blur(Operator):
    """Convolution of every channel with a 2-D ``kernel`` (odd sizes, used as given), 'same' size.

    padding: how the borders are extended: 'reflect', 'replicate', 'circular' or 'zeros'.
    """

    def __init__(self, kernel: ArrayLike, padding: str = "reflect") -> None:
        super().__init__()
        k = torch.as_tensor(kernel).float()
        if k.dim() != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise InputError(f"the blur kernel must be 2-D with odd sizes, got {tuple(k.shape)}")
        if padding not in _PAD_MODES:
            raise InputError(f"unknown padding {padding!r}; known: {', '.join(_PAD_MODES)}")
        self.padding = padding
        # conv2d correlates: flipping the kernel makes it a true convolution.
        self.register_buffer("weight", torch.flip(k, (0, 1))[None, None])

    def extra_repr(self) -> str:
        return f"kernel={tuple(self.weight.shape[-2:])}, padding={self.padding!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ph, pw = self.weight.shape[-2] // 2, self.weight.shape[-1] // 2
        return _depthwise(x, self.weight, (pw, pw, ph, ph), _PAD_MODES[self.padding])


class Compose(Operator):
    """The operators applied in the order given: ``Compose(a, b)(x) == b(a(x))``."""

    def __init__(self, *operators: Operator) -> None:
        super().__init__()
        self.operators = torch.nn.ModuleList(as_operator(op) for op in operators)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.operators:
            x = op(x)
        return x

    def output_size(self, size: Size) -> Size:
        for op in self.operators:
            size = op.output_size(size)
        return size

    def input_size(self, size: Size) -> Size:
        for op in reversed(self.operators):
            size = op.input_size(size)
        return size

    def input_channels(self, channels: int) -> int:
        for op in reversed(self.operators):
            channels = op.input_channels(channels)
        return channels


class Lambda(Operator):
    """A user's differentiable function on (B, C, H, W) tensors as an Operator.

    Its output size is found by running it once on zeros of ``channels`` channels; the input size
    is taken to equal the observation's.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], channels: int = 3) -> None:
        super().__init__()
        self.fn, self.channels = fn, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def output_size(self, size: Size) -> Size:
        with torch.no_grad():
            return tuple(self.fn(torch.zeros(1, self.channels, *size)).shape[-2:])


def as_operator(op: Operator | Callable[[torch.Tensor], torch.Tensor] | None) -> Operator:
    """``op`` as an Operator: Operators as they are, None as Identity, other callables as Lambda."""
    if op is None:
        return Identity()
    if isinstance(op, Operator):
        return op
    if not callable(op):
        raise InputError(f"an operator must be callable on (B, C, H, W) tensors, got {type(op).__name__}")
    return Lambda(op)
