"""Image quality scores as in the super-resolution and denoising literature.

The numpy functions take images (H, W) or (H, W, C): floats in [0, 1] or integers over their
dtype's range (255 for uint8, 65535 for uint16) unless ``data_range`` says otherwise. Each image
is scaled to [0, 1] by its own range first, so a float result can be scored against a uint8
reference. ``psnr_tensor`` scores (B, C, H, W) tensors inside training loops.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

from .errors import InputError

_SSIM_WINDOW = 11  # side of the Gaussian window of σ = 1.5 that skimage uses


def _data_range(dtype: np.dtype) -> float:
    if np.issubdtype(dtype, np.integer):
        return float(np.iinfo(dtype).max)
    if np.issubdtype(dtype, np.floating):
        return 1.0
    raise InputError(f"images must hold integers or floats, got {dtype}")


def _unit(image: np.ndarray, data_range: float | None) -> np.ndarray:
    """The (H, W) or (H, W, C) ``image`` as float64 in [0, 1]."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(f"an image must be (H, W) or (H, W, C), got shape {image.shape}")
    if data_range is not None and not data_range > 0:
        raise InputError(f"the data range must be positive, got {data_range!r}")
    return image.astype(np.float64) / (data_range or _data_range(image.dtype))


def _size(image: np.ndarray) -> str:
    return "×".join(map(str, (image.shape[1], image.shape[0], *image.shape[2:])))


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """Luma Y of MATLAB's rgb2ycbcr (BT.601, studio range), float64 in [16/255, 235/255].

    image: (H, W, 3) RGB; grey (H, W) or (H, W, 1) images are returned as they are (as float).
    """
    rgb = _unit(image, None)
    if rgb.ndim == 2:
        return rgb
    if rgb.shape[2] == 1:
        return rgb[..., 0]
    if rgb.shape[2] != 3:
        raise InputError(f"rgb_to_y needs 3 channels (RGB), got {rgb.shape[2]}")
    return (16 + rgb @ np.array([65.481, 128.553, 24.966])) / 255


def shave(image: np.ndarray, border: int) -> np.ndarray:
    """``image`` without ``border`` pixels on every side (the SR convention of ignoring edges)."""
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
        raise InputError(f"the border must be an integer ≥ 0, got {border!r}")
    if 2 * border >= min(image.shape[:2]):
        raise InputError(f"a border of {border} leaves nothing of a {_size(image)} image")
    return image[border : image.shape[0] - border, border : image.shape[1] - border]


def _prepare(
    image: np.ndarray, reference: np.ndarray, data_range: float | None, border: int, y_channel: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Both images in [0, 1] (as luma if ``y_channel``), checked to match, borders shaved."""
    a, b = _unit(image, data_range), _unit(reference, data_range)
    if a.shape != b.shape:
        raise InputError(f"the image is {_size(a)} but the reference is {_size(b)}")
    if y_channel:
        a, b = rgb_to_y(a), rgb_to_y(b)
    return shave(a, border), shave(b, border)


def psnr(
    image: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float | None = None,
    border: int = 0,
    y_channel: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB; inf for identical images.

    border: pixels ignored on every side; y_channel: compare the luma (``rgb_to_y``) only.
    """
    a, b = _prepare(image, reference, data_range, border, y_channel)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(1 / mse))


def ssim(
    image: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float | None = None,
    border: int = 0,
    y_channel: bool = False,
) -> float:
    """Structural similarity in [-1, 1] (Wang et al.: Gaussian window σ = 1.5, population
    covariances), averaged over the channels of colour images. Options as in ``psnr``."""
    a, b = _prepare(image, reference, data_range, border, y_channel)
    if min(a.shape[:2]) < _SSIM_WINDOW:
        raise InputError(f"SSIM needs at least {_SSIM_WINDOW}×{_SSIM_WINDOW} pixels, got {_size(a)}")
    return float(
        structural_similarity(
            a,
            b,
            data_range=1.0,
            channel_axis=-1 if a.ndim == 3 else None,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def image_scores(image: np.ndarray, reference: np.ndarray | None) -> dict[str, float]:
    """``{"psnr", "ssim"}`` of a result against its reference, colour channels only (an alpha
    channel, the last of 2 or 4, is left out); ``{}`` without a reference. Raises InputError
    for images of different sizes.

    >>> image_scores(np.zeros((16, 16, 4)), np.zeros((16, 16, 3)))["psnr"]
    inf
    """
    if reference is None:
        return {}
    from .imageio import split_alpha

    image, reference = split_alpha(image)[0], split_alpha(reference)[0]
    if reference.shape != image.shape:
        raise InputError(
            f"the reference is {reference.shape[1]}×{reference.shape[0]} "
            f"({reference.ndim} dims) but the result is {image.shape[1]}×{image.shape[0]} "
            f"({image.ndim} dims)"
        )
    return {"psnr": psnr(image, reference), "ssim": ssim(image, reference)}


def psnr_tensor(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of (B, C, H, W) ``x`` against ``reference``, both in [0, 1], over the whole
    batch, as a 0-d tensor on their device (no host synchronisation); inf when they are equal."""
    if x.shape != reference.shape:
        raise InputError(f"the image is {tuple(x.shape)} but the reference is {tuple(reference.shape)}")
    return -10 * torch.log10(torch.mean((x - reference) ** 2))
