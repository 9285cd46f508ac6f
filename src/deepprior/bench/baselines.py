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

from ..colour import from_opponent, to_opponent
from ..noise import estimate_psd
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


def bm3d_psd(case: Case) -> np.ndarray:
    """BM3D for correlated noise: on the opponent channels (``deepprior.colour``; block matching
    on the first), with each channel's noise power spectrum estimated from the image
    (``noise.estimate_psd``)."""
    import bm3d as _bm3d

    if not hasattr(np, "trapz"):  # bm4d 4.2.5 calls np.trapz (removed in NumPy 2.4) for a PSD
        np.trapz = np.trapezoid
    x = torch.from_numpy(case.observed).float()
    colour = x.ndim == 3
    if colour:
        x = to_opponent(x.permute(2, 0, 1)[None])[0].permute(1, 2, 0)
    x = x.double().numpy()
    usable = ((case.observed > 0) & (case.observed < 1)).reshape(*x.shape[:2], -1).all(-1)
    out = _bm3d.bm3d(x, estimate_psd(x, usable))
    if not colour:
        return out
    return (
        from_opponent(torch.from_numpy(np.atleast_3d(out)).float().permute(2, 0, 1)[None])[0]
        .permute(1, 2, 0)
        .numpy()
    )


def noisy_input(case: Case) -> np.ndarray:
    """The observation itself: the noisy input's score, for the table's first column."""
    return case.observed


def bm3d_available() -> bool:
    return importlib.util.find_spec("bm3d") is not None


BASELINES: dict[str, tuple[tuple[str, ...], Callable[[Case], np.ndarray]]] = {
    "bicubic": (("sr",), bicubic),
    "tv": (("denoise",), tv),
    "nlm": (("denoise", "real"), nlm),
    "wavelet": (("denoise",), wavelet),
    "biharmonic": (("inpaint",), biharmonic),
    "bm3d": (("denoise", "real"), bm3d),
    "bm3d-psd": (("denoise", "real"), bm3d_psd),
    "input": (("denoise", "real"), noisy_input),
}
