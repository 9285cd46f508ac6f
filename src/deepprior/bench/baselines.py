"""Classical baselines a user would pick instead of a deep prior, on a benchmark Case.

Each takes a Case and returns the restored (H, W[, C]) float image. Parameters follow the
libraries' documented recommendations, with the case's noise level where one is needed
(``Case.noise_std``: estimated from the image, or the true one in an oracle run, as ours get it).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import torch

from ..operators import Mask
from .protocols import Case, bicubic_resize


def _channel_axis(case: Case) -> int | None:
    return -1 if case.observed.ndim == 3 else None


def bicubic(case: Case) -> np.ndarray:
    """Bicubic upscaling (Pillow, Keys a = −0.5), the SR tables' first column."""
    return bicubic_resize(case.observed, case.clean.shape[:2])


def tv(case: Case) -> np.ndarray:
    """Total-variation denoising (Chambolle), weight = σ (in [0, 1] units)."""
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(case.observed, weight=case.noise_std(), channel_axis=_channel_axis(case))


def nlm(case: Case) -> np.ndarray:
    """Non-local means with skimage's recommended h = 0.8 σ, 5×5 patches, 13×13 search."""
    from skimage.restoration import denoise_nl_means

    sigma = case.noise_std()
    return denoise_nl_means(
        case.observed,
        h=0.8 * sigma,
        sigma=sigma,
        patch_size=5,
        patch_distance=6,
        fast_mode=True,
        channel_axis=_channel_axis(case),
    )


def wavelet(case: Case) -> np.ndarray:
    """BayesShrink soft wavelet thresholding in YCbCr with the case's σ."""
    from skimage.restoration import denoise_wavelet

    colour = case.observed.ndim == 3
    return denoise_wavelet(
        case.observed,
        sigma=case.noise_std(),
        method="BayesShrink",
        mode="soft",
        channel_axis=_channel_axis(case),
        convert2ycbcr=colour,
        rescale_sigma=True,
    )


def biharmonic(case: Case) -> np.ndarray:
    """Biharmonic inpainting of the unknown pixels (``operators.Mask.fill``)."""
    observed = torch.from_numpy(case.observed).float()
    observed = observed.permute(2, 0, 1)[None] if observed.ndim == 3 else observed[None, None]
    filled = Mask(case.mask).fill(observed)[0].permute(1, 2, 0).numpy()
    return filled if case.observed.ndim == 3 else filled[..., 0]


def bm3d(case: Case) -> np.ndarray:
    """BM3D / CBM3D (the optional ``bm3d`` package; its licence is non-commercial)."""
    import bm3d as _bm3d

    sigma = case.noise_std()
    if case.observed.ndim == 3:
        return _bm3d.bm3d_rgb(case.observed, sigma)
    return _bm3d.bm3d(case.observed, sigma)


def bm3d_available() -> bool:
    return importlib.util.find_spec("bm3d") is not None


BASELINES: dict[str, tuple[tuple[str, ...], Callable[[Case], np.ndarray]]] = {
    "bicubic": (("sr",), bicubic),
    "tv": (("denoise",), tv),
    "nlm": (("denoise",), nlm),
    "wavelet": (("denoise",), wavelet),
    "biharmonic": (("inpaint",), biharmonic),
    "bm3d": (("denoise",), bm3d),
}
