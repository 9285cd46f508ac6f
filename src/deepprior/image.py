"""A caller's image at the edge of the API: numpy or torch in, (1, C, H, W) float in [0, 1]
inside, the caller's layout, dtype and range back out.

Numpy images are (H, W) or (H, W, C) in any integer dtype or float (C = 2 or 4: the last channel
is alpha, carried through untouched); torch tensors are (H, W), (C, H, W) or (1, C, H, W) and
come back as tensors of the same shape on the device they came from.

>>> import numpy as np
>>> image = CallerImage.of(np.zeros((4, 6, 3), np.uint8))
>>> tuple(image.tensor.shape)
(1, 3, 4, 6)
>>> image.give_back(np.ones((4, 6, 3), np.float32)).dtype
dtype('uint8')
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .imageio import Encoding, from_float, merge_alpha, split_alpha, to_float

ImageLike = np.ndarray | torch.Tensor
# ``CallerImage.of_spectrum`` scales a spectrum so that its zero-filled image peaks at
# 1 / SPECTRUM_HEADROOM: the image restored from it may be brighter than the zero-filled one. On
# every sixth slice of the MRI training subject, at ×4 and ×8 with each mask kind, the true peak
# reached up to 1.67× the zero-filled one's (``python examples/mri_table.py --dev``, first lines).
SPECTRUM_HEADROOM = 2.0


@dataclass
class CallerImage:
    """A caller's image as (1, C, H, W) float in [0, 1], and how to give a result back.

    tensor:   (1, C, H, W) float32 in [0, 1] on the CPU.
    encoding: how the caller's values map to [0, 1] (None: a tensor already in [0, 1]).
    layout:   the caller's shape, to rebuild it.
    alpha:    the caller's alpha channel, (H, W), or None.
    device:   the device of the caller's tensor (None for numpy).
    spectrum: the caller gave a spectrum (``of_spectrum``), and gets a real image back.
    linear:   the values are linear HDR, kept as they are (``of_linear``).
    """

    tensor: torch.Tensor
    encoding: Encoding | None
    layout: tuple[int, ...]
    alpha: np.ndarray | None
    device: torch.device | None = None
    spectrum: bool = False
    linear: bool = False

    @classmethod
    def of(cls, image: ImageLike, name: str = "image") -> CallerImage:
        """Read ``image``; ``name`` is what error messages call it. Tensors and arrays out of
        [0, 1] are treated alike: floats by their minimum and maximum (``imageio.to_float``).
        A complex array or tensor is a spectrum (``of_spectrum``)."""
        if image.is_complex() if isinstance(image, torch.Tensor) else np.iscomplexobj(image):
            return cls.of_spectrum(image, name)
        if isinstance(image, torch.Tensor):
            if image.dim() not in (2, 3, 4) or (image.dim() == 4 and image.shape[0] != 1):
                raise InputError(
                    f"the {name} tensor must be (H, W), (C, H, W) or (1, C, H, W), got {tuple(image.shape)}"
                )
            t = image.detach().float().cpu().reshape(1, -1, *image.shape[-2:])
            if not torch.isfinite(t).all():
                raise InputError(f"the {name} contains NaN or infinite values")
            x, encoding = to_float(t[0].permute(1, 2, 0).numpy())
            tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
            scaled = None if (encoding.low, encoding.high) == (0.0, 1.0) else encoding
            return cls(tensor, scaled, tuple(image.shape), None, image.device)
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
            raise InputError(f"the {name} must be (H, W) or (H, W, C) with C ≤ 4, got {image.shape}")
        colour, alpha = split_alpha(image)
        x, encoding = to_float(colour)
        t = torch.from_numpy(np.ascontiguousarray(x.reshape(*x.shape[:2], -1).transpose(2, 0, 1)))[None]
        return cls(t, encoding, colour.shape, alpha)

    @classmethod
    def of_spectrum(cls, spectrum: ImageLike, name: str = "k-space") -> CallerImage:
        """A measured spectrum (``deepprior.kspace``: centred, orthonormal; zeros where not
        sampled), (H, W) or (H, W, C) complex, as (1, 2C, H, W) real: the real parts, then the
        imaginary ones, divided by ``SPECTRUM_HEADROOM`` times the largest magnitude of its
        inverse FFT, so that the real image it gives back (H, W) or (H, W, C), float32 on the
        spectrum's scale, fits in [0, 1] inside."""
        from .kspace import ifft2c

        device = spectrum.device if isinstance(spectrum, torch.Tensor) else None
        k = spectrum.detach().cpu().numpy() if device is not None else np.asarray(spectrum)
        if k.ndim not in (2, 3):
            raise InputError(f"the {name} must be (H, W) or (H, W, C), got {k.shape}")
        if not np.isfinite(k).all():
            raise InputError(f"the {name} contains NaN or infinite values")
        planes = k.reshape(*k.shape[:2], -1).transpose(2, 0, 1)  # (C, H, W)
        scale = SPECTRUM_HEADROOM * float(np.abs(ifft2c(planes)).max()) or 1.0
        t = torch.from_numpy(np.concatenate([planes.real, planes.imag]) / scale).float()[None]
        return cls(t, Encoding(np.dtype(np.float32), 0.0, scale), k.shape, None, device, spectrum=True)

    @classmethod
    def of_linear(cls, image: ImageLike, name: str = "image") -> CallerImage:
        """Linear HDR values (a render's radiance: float, any range) kept as they are; given back
        as float32, not clipped (alpha carried through as float32)."""
        if isinstance(image, torch.Tensor):
            x = image.detach().float().cpu().reshape(1, -1, *image.shape[-2:])
            layout, alpha, device = tuple(image.shape), None, image.device
        else:
            image = np.asarray(image)
            if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
                raise InputError(f"the {name} must be (H, W) or (H, W, C) with C ≤ 4, got {image.shape}")
            colour, alpha = split_alpha(image.astype(np.float32))
            x = torch.from_numpy(
                np.ascontiguousarray(colour.reshape(*colour.shape[:2], -1).transpose(2, 0, 1))
            )
            layout, device = colour.shape, None
        if not torch.isfinite(x).all():
            raise InputError(f"the {name} contains NaN or infinite values")
        return cls(x.reshape(1, -1, *x.shape[-2:]), None, layout, alpha, device, linear=True)

    def companion(self, image: ImageLike, name: str) -> torch.Tensor:
        """Another image of the caller's (a reference) as (1, C, H, W) float: in [0, 1] by its own
        range like any image, or, beside a spectrum, on the scale of the image it gives back."""
        if not self.spectrum:
            return CallerImage.of(image, name).tensor
        if isinstance(image, torch.Tensor):
            x = image.detach().float().cpu().reshape(1, -1, *image.shape[-2:])
        else:
            a = np.asarray(image, np.float32)
            x = torch.from_numpy(np.ascontiguousarray(a.reshape(*a.shape[:2], -1).transpose(2, 0, 1)))[None]
        return x / self.encoding.high

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return tuple(self.tensor.shape[-2:])

    def give_back(self, x: np.ndarray) -> ImageLike:
        """(H', W', C) float [0, 1] → the caller's layout and dtype (alpha resized if needed);
        beside a spectrum, (H', W'[, C]) float32 on its scale, not clipped, numpy or torch; linear
        values (``of_linear``) as float32, not clipped."""
        if self.linear and self.device is not None:
            t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(2, 0, 1).to(self.device)
            return t.reshape(*self.layout[:-2], *t.shape[-2:]) if len(self.layout) > 2 else t[0]
        if self.linear:
            return merge_alpha((x[..., 0] if len(self.layout) == 2 else x).astype(np.float32), self.alpha)
        if self.spectrum:
            out = (x[..., 0] if len(self.layout) == 2 else x).astype(np.float32) * self.encoding.high
            return out if self.device is None else torch.from_numpy(out).to(self.device)
        if self.device is not None:
            if self.encoding is not None:  # a tensor out of [0, 1]: back to its range
                x = from_float(x, self.encoding)
            t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).to(self.device)
            return t.reshape(*self.layout[:-2], *t.shape[-2:]) if len(self.layout) > 2 else t[0]
        out = from_float(x[..., 0] if len(self.layout) == 2 else x, self.encoding)
        alpha = self.alpha
        if alpha is not None and alpha.shape != out.shape[:2]:
            alpha = _resize(alpha, out.shape[:2])
        return merge_alpha(out, alpha)


def _resize(channel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize

    return resize(channel, size, order=3, preserve_range=True, anti_aliasing=False).astype(channel.dtype)


def known_pixels(mask: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """A (H, W) float32 {0, 1} map of the known pixels from any mask image (white / True = known):
    colour averaged, thresholded at 0.5 (with a warning when the mask is not binary); an opaque
    alpha channel is ignored, a mask with transparency refused.

    >>> known_pixels(np.array([[0, 255], [255, 255]], np.uint8), (2, 2))
    array([[0., 1.],
           [1., 1.]], dtype=float32)
    """
    given = CallerImage.of(mask, "mask")
    if given.alpha is not None and given.alpha.min() != given.alpha.max():
        raise InputError(
            "the mask has transparency, which could mean either known or unknown pixels: save it "
            "as black and white without alpha (white = known pixel)"
        )
    m = given.tensor[0].mean(0).numpy()
    if m.shape != size:
        raise InputError(f"the mask is {m.shape[1]}×{m.shape[0]} but the image is {size[1]}×{size[0]}")
    if not np.isin(m, (0.0, 1.0)).all():
        warnings.warn("the mask is not binary: thresholded at 0.5 (white = known pixel)", stacklevel=4)
    known = (m >= 0.5).astype(np.float32)
    if known.all():
        raise InputError("the mask marks every pixel as known (white): there is nothing to fill in")
    if not known.any():
        raise InputError("the mask marks every pixel as unknown (black): there is nothing to fit")
    return known
