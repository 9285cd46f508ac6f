"""The public task functions: numpy or torch images in, restored images out.

Images are numpy arrays (H, W) or (H, W, C) in any integer dtype or float (C = 2 or 4: the last
channel is alpha, carried through untouched), or torch tensors (H, W), (C, H, W) or
(1, C, H, W) float in [0, 1]. Results come back in the caller's shape, dtype and range.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

import numpy as np
import torch

from .errors import InputError
from .imageio import Encoding, from_float, merge_alpha, split_alpha, to_float
from .losses import Loss, get_loss
from .methods import solve
from .methods.dip import DIPConfig
from .methods.stopping import EarlyStopping
from .methods.zeroshot import ZSN2NConfig
from .methods.zssr import ZSSRConfig
from .operators import Downsample, Mask, Operator, as_operator
from .presets import get_preset
from .problem import Problem, Result
from .runtime import choose_device

ImageLike = np.ndarray | torch.Tensor

# What ``denoise(method="auto")`` runs, on every image size and device: the shipped Noise2Noise
# model, which beats ZS-N2N by about 3 dB on the σ25 colour suite in seconds per photo where DIP's
# paper preset takes hours on a CPU (README, "Which denoiser by default"). Its limit is the noise
# it was trained on (Gaussian, σ ≤ N2N_MAX_SIGMA).
AUTO_DENOISER = "n2n"
N2N_MAX_SIGMA = 50
# The n2n model averages its 8 flips/rotations by default on images of up to this many pixels:
# about 0.1 dB better on the colour suite at 8× the time, which on two CPU cores keeps a 768×512
# photo within a minute (README); larger images run once unless ``ensemble=True``.
N2N_ENSEMBLE_MAX_PIXELS = 2**19
# What ``super_resolve(method="auto")`` runs: ZSSR. On Set5 ×4 it scored 30.08 dB (Y) in about a
# minute per image, against 29.90 published for DIP's paper preset (hours on a CPU) and 28.63
# for DIP's fast preset cut to a tenth of the paper's time (README, "Super-resolution by default").
# DIP runs instead when a preset of DIP or an early stop (a DIP rule) is asked for.
AUTO_SR = "zssr"


@dataclass
class _Image:
    """A caller's image as (1, C, H, W) float in [0, 1], and how to give a result back."""

    tensor: torch.Tensor
    encoding: Encoding | None      # None: the caller passed a torch tensor
    layout: tuple[int, ...]        # the caller's shape, to rebuild it
    alpha: np.ndarray | None

    @classmethod
    def of(cls, image: ImageLike, name: str = "image") -> "_Image":
        if isinstance(image, torch.Tensor):
            if image.dim() not in (2, 3, 4) or (image.dim() == 4 and image.shape[0] != 1):
                raise InputError(f"the {name} tensor must be (H, W), (C, H, W) or (1, C, H, W), "
                                 f"got {tuple(image.shape)}")
            t = image.detach().float().reshape(1, -1, *image.shape[-2:])
            if not torch.isfinite(t).all():
                raise InputError(f"the {name} contains NaN or infinite values")
            return cls(t.clamp(0, 1), None, tuple(image.shape), None)
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
            raise InputError(f"the {name} must be (H, W) or (H, W, C) with C ≤ 4, got {image.shape}")
        colour, alpha = split_alpha(image)
        x, encoding = to_float(colour)
        t = torch.from_numpy(np.ascontiguousarray(x.reshape(*x.shape[:2], -1).transpose(2, 0, 1)))[None]
        return cls(t, encoding, colour.shape, alpha)

    def give_back(self, x: np.ndarray) -> ImageLike:
        """(H', W', C) float [0, 1] → the caller's layout and dtype (alpha resized if needed)."""
        if self.encoding is None:
            t = torch.from_numpy(x).permute(2, 0, 1)
            return t.reshape(*self.layout[:-2], *t.shape[-2:]) if len(self.layout) > 2 else t[0]
        out = from_float(x[..., 0] if len(self.layout) == 2 else x, self.encoding)
        alpha = self.alpha
        if alpha is not None and alpha.shape != out.shape[:2]:
            alpha = _resize(alpha, out.shape[:2])
        return merge_alpha(out, alpha)


def _resize(channel: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from skimage.transform import resize
    return resize(channel, size, order=3, preserve_range=True, anti_aliasing=False).astype(channel.dtype)


def _mask_array(mask: ImageLike, size: tuple[int, int]) -> np.ndarray:
    """A (H, W) float {0, 1} mask from any image: colour averaged, thresholded at 0.5."""
    m = _Image.of(mask, "mask").tensor[0].mean(0).numpy()
    if m.shape != size:
        raise InputError(f"the mask is {m.shape[1]}×{m.shape[0]} but the image is {size[1]}×{size[0]}")
    if not np.isin(m, (0.0, 1.0)).all():
        warnings.warn("the mask is not binary: thresholded at 0.5 (white = known pixel)", stacklevel=3)
    known = (m >= 0.5).astype(np.float32)
    if known.all():
        raise InputError("the mask marks every pixel as known (white): there is nothing to fill in")
    if not known.any():
        raise InputError("the mask marks every pixel as unknown (black): there is nothing to fit")
    return known


def _solve(task: str, y: _Image, operator: Operator, *, method: str = "dip",
          preset: str | DIPConfig | ZSN2NConfig | ZSSRConfig = "fast", guide: ImageLike | None = None,
          reference: ImageLike | None = None, loss: str | Loss = "l2", sigma: float = 25.0,
          factor: int = 4, device: str = "auto", seed: int | None = None, iters: int | None = None,
          callbacks: Iterable = (), resume: str | None = None, **overrides: Any) -> Result:
    """Build the Problem and the configuration of ``task``, run the method, return the caller's image."""
    if isinstance(preset, (DIPConfig, ZSN2NConfig, ZSSRConfig)):
        config = replace(preset, **{k: v for k, v in dict(seed=seed, iters=iters, **overrides).items()
                                    if v is not None})
    else:
        config = get_preset(task, preset, method=method, sigma=sigma, factor=factor, seed=seed, iters=iters,
                            **overrides)
    problem = Problem(
        y=y.tensor, operator=operator, loss=get_loss(loss) if isinstance(loss, str) else loss,
        guide=None if guide is None else _Image.of(guide, "guide").tensor,
        reference=None if reference is None else _Image.of(reference, "reference").tensor)
    result = solve(problem, config, device=choose_device(device), callbacks=callbacks, resume=resume)
    result.config.update(task=task, preset=preset if isinstance(preset, str) else "custom")
    return replace(result, image=y.give_back(result.image))


def _finish(result: Result, return_result: bool) -> ImageLike | Result:
    return result if return_result else result.image


def denoise(image: ImageLike, *, method: str = "auto", sigma: float | None = None, ensemble: bool | None = None,
            return_result: bool = False, **options: Any) -> ImageLike | Result:
    """Remove noise.

    method: 'n2n' (the Noise2Noise model shipped with deepprior, trained on noisy grey photos
    with Gaussian noise σ ≤ 50/255: seconds; colour in an opponent colour space), 'dip' (Deep
    Image Prior: minutes to hours on a CPU, for noise the model was not trained on), 'zs-n2n'
    (Zero-Shot Noise2Noise: about a minute, lower quality), or 'auto' (``AUTO_DENOISER``, or DIP
    when options of a fitting run are given: preset, iters, callbacks, resume; why: the README's
    Results).
    sigma: noise std in the image's [0, 1] scale (e.g. 25/255); estimated when None. DIP uses it
    to pick the preset's jitter (the paper jitters more at σ ≥ 50/255); n2n warns above 50/255.
    ensemble: average the 8 flips/rotations (n2n: by default on images of up to
    ``N2N_ENSEMBLE_MAX_PIXELS``; zs-n2n: on in its fast preset).
    options: preset ('fast' | 'paper' | 'decoder' (DIP only) | a DIPConfig or ZSN2NConfig), iters, seed, device,
    reference, callbacks, resume, and any field of the method's configuration.
    """
    y = _Image.of(image)
    preset = options.get("preset")
    if isinstance(preset, (DIPConfig, ZSN2NConfig)):
        method = "dip" if isinstance(preset, DIPConfig) else "zs-n2n"
    elif method == "auto":  # options of a fitting run (a preset, steps, callbacks) mean DIP
        method = "dip" if any(options.get(k) for k in ("preset", "iters", "callbacks", "resume")) else AUTO_DENOISER
    if method not in ("n2n", "dip", "zs-n2n"):
        raise InputError(f"unknown denoising method {method!r}; choose auto, n2n, dip or zs-n2n")
    if ensemble and method == "dip":
        raise InputError("ensemble applies to the n2n and zs-n2n methods, not to DIP")
    if method != "zs-n2n" and sigma is None:
        from skimage.restoration import estimate_sigma
        sigma = float(estimate_sigma(y.tensor[0].permute(1, 2, 0).numpy(), channel_axis=-1, average_sigmas=True))
    if method == "n2n":
        if sigma > N2N_MAX_SIGMA / 255:
            warnings.warn(f"the noise std looks like {255 * sigma:.0f}/255, above the {N2N_MAX_SIGMA}/255 the "
                          f"shipped model was trained for: try method='dip'", stacklevel=2)
        if ensemble is None:
            ensemble = y.tensor.shape[-2] * y.tensor.shape[-1] <= N2N_ENSEMBLE_MAX_PIXELS
        return _finish(_pretrained_n2n(image, options.get("device", "auto"), ensemble), return_result)
    if ensemble is not None:  # zs-n2n: overrides its preset's setting
        options["ensemble"] = ensemble
    result = _solve("denoise", y, as_operator(None), method=method, sigma=25.0 if sigma is None else sigma * 255,
                    **options)
    return _finish(result, return_result)


def _pretrained_n2n(image: ImageLike, device: str, ensemble: bool) -> Result:
    from . import n2n

    start = time.perf_counter()
    model = n2n.pretrained(device)
    restored = model.denoise(image, ensemble=ensemble)
    seconds = time.perf_counter() - start
    config = {"method": "n2n", "task": "denoise", "model": n2n.PRETRAINED.name, "device": str(model.device),
              "ensemble": ensemble, "trained": model.info}
    return Result(image=restored, config=config, seconds=seconds)


def dejpeg(image: ImageLike, *, return_result: bool = False, **options: Any) -> ImageLike | Result:
    """Remove JPEG blocking and ringing (the fit is stopped before it reproduces them)."""
    return _finish(_solve("dejpeg", _Image.of(image), as_operator(None), **options), return_result)


def super_resolve(image: ImageLike, factor: int = 4, *, kernel: str = "lanczos2", method: str = "auto",
                  return_result: bool = False, **options: Any) -> ImageLike | Result:
    """Upscale by an integer ``factor`` ≥ 2: the output is ``factor`` times larger on each side.

    kernel: the downsampler assumed to have made the image (lanczos2, bicubic or box).
    method: 'zssr' (Zero-Shot Super-Resolution: a small network trained on the image's own
    downscaled copies, about a minute on a CPU), 'dip' (Deep Image Prior: many minutes to hours),
    or 'auto' (``AUTO_SR``, or DIP for a DIPConfig preset or an ``EarlyStopping`` callback).
    options: preset ('fast' | 'paper' | a DIPConfig or ZSSRConfig), iters, seed, device,
    reference, callbacks, resume, and any field of the method's configuration.
    """
    operator = Downsample(factor, kernel)  # checks the factor
    preset = options.get("preset")
    if isinstance(preset, (DIPConfig, ZSSRConfig)):
        method = "dip" if isinstance(preset, DIPConfig) else "zssr"
    elif method == "auto":
        stops = any(isinstance(cb, EarlyStopping) for cb in options.get("callbacks") or ())
        method = "dip" if stops else AUTO_SR
    result = _solve("super-resolve", _Image.of(image), operator, method=method, factor=operator.factor, **options)
    return _finish(result, return_result)


def inpaint(image: ImageLike, mask: ImageLike, *, kind: str = "auto", return_result: bool = False,
            **options: Any) -> ImageLike | Result:
    """Fill the pixels where ``mask`` is black (0); white (1) marks the known pixels.

    kind: 'text' (thin strokes: the paper's text-inpainting net), 'holes' (large regions: the
    deeper net without skips), or 'auto' (holes when some pixel lies ≥ 8 px from any known one).
    """
    y = _Image.of(image)
    known = _mask_array(mask, tuple(y.tensor.shape[-2:]))
    if kind == "auto":
        from scipy.ndimage import distance_transform_edt
        kind = "holes" if distance_transform_edt(known == 0).max() >= 8 else "text"
    if kind not in ("text", "holes"):
        raise InputError(f"unknown inpainting kind {kind!r} (auto, text or holes)")
    y.tensor = y.tensor * torch.from_numpy(known)
    task = "inpaint" if kind == "text" else "inpaint-holes"
    return _finish(_solve(task, y, Mask(known), **options), return_result)


def restore(y: ImageLike, operator: Operator | Callable | None = None, *, mask: ImageLike | None = None,
            **options: Any) -> Result:
    """Restore ``y = A(x)`` for any operator A: a deepprior operator or a differentiable callable
    on (B, C, H, W) tensors; with ``mask`` (white = known) and no operator, restoration from a
    fraction of the pixels. Returns a Result (``.image``, ``.history``, ``.config``).
    """
    observed = _Image.of(y)
    if mask is not None:
        if operator is not None:
            raise InputError("give either a mask or an operator, not both (compose them instead)")
        known = _mask_array(mask, tuple(observed.tensor.shape[-2:]))
        observed.tensor = observed.tensor * torch.from_numpy(known)
        return _solve("restore", observed, Mask(known), **options)
    return _solve("operator", observed, as_operator(operator), **options)


def flash_no_flash(flash: ImageLike, no_flash: ImageLike, *, return_result: bool = False,
                   **options: Any) -> ImageLike | Result:
    """Combine a flash shot (detail, used as the generator's input) with a no-flash shot of the
    same scene (ambient light, the fitted target): the no-flash look with less noise."""
    target = _Image.of(no_flash, "no-flash image")
    guide = _Image.of(flash, "flash image").tensor
    if guide.shape[-2:] != target.tensor.shape[-2:]:
        raise InputError(f"the flash image is {guide.shape[-1]}×{guide.shape[-2]} but the no-flash "
                         f"image is {target.tensor.shape[-1]}×{target.tensor.shape[-2]}")
    result = _solve("flash-no-flash", target, as_operator(None), guide=guide, **options)
    return _finish(result, return_result)
