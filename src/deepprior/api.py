"""The public task functions, and ``run``, the one entry point that they, the command line and
the benchmark call.

Images are numpy arrays (H, W) or (H, W, C) in any integer dtype or float (C = 2 or 4: the last
channel is alpha, carried through untouched), or torch tensors (H, W), (C, H, W) or
(1, C, H, W). Results come back in the caller's shape, dtype and range (a tensor on the device it
came from). Every option is a keyword; one that does not apply to the method that runs raises
``InputError`` naming both. Noise levels (``sigma``) are on the image's [0, 1] scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from . import registry
from .errors import InputError
from .image import ImageLike
from .losses import Loss
from .methods.stopping import EarlyStopping
from .operators import Operator
from .problem import Result
from .runtime import choose_device
from .tasks import TASKS, Job, prepare

Preset = Any  # a preset name ('fast', 'paper', 'decoder') or a method's configuration object


@dataclass
class Plan:
    """What a run will do, decided before it starts.

    method:  the method that runs; reason: why, in one line (``method='auto'``'s rule).
    seconds: estimated wall time on ``device``; bytes: estimated peak memory.
    """

    task: str
    method: str
    reason: str
    device: str
    seconds: float
    bytes: int


def _plan(
    task: str, image: ImageLike, method: str, inputs: dict[str, Any], options: dict[str, Any]
) -> tuple[registry.Method, str, Job, registry.RunOptions]:
    """Check everything and choose the method; nothing runs yet."""
    callbacks = tuple(options.pop("callbacks") or ())
    run_options = registry.RunOptions(
        callbacks=callbacks, device=choose_device(options.pop("device")), **options
    )
    given = run_options.given()
    if any(isinstance(cb, EarlyStopping) for cb in callbacks):
        given.setdefault("early_stop", True)  # a method that can stop early is asked for
    if inputs.get("sigma") is not None:
        given["sigma"] = inputs["sigma"]
    job = prepare(task, image, reference=options.get("reference"), **inputs)
    chosen, reason = registry.choose(task, method, given, job.preset_task)
    spec = registry.method(chosen)
    if spec.needs_sigma and "sigma" in TASKS[task].inputs and job.sigma is None:
        job.sigma = job.estimate_sigma()
    return spec, reason, job, run_options


def run(
    task: str,
    image: ImageLike,
    *,
    method: str = "auto",
    sigma: float | None = None,
    noise: str | None = None,
    factor: int | None = None,
    kernel: str | None = None,
    mask: ImageLike | None = None,
    kind: str | None = None,
    crop: bool | None = None,
    operator: Operator | Callable | None = None,
    guide: ImageLike | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    early_stop: bool | str | None = None,
    ensemble: bool | None = None,
    config: Mapping[str, Any] | None = None,
    loss: str | Loss | None = None,
    device: str = "auto",
    reference: ImageLike | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
) -> Result:
    """Run ``task`` on ``image`` with a registered method and return the full Result.

    The task functions (``denoise``, ``super_resolve``…) document each option; this is the
    generic form that the command line and the benchmark use. Task inputs: ``sigma`` and
    ``noise`` (denoise), ``factor`` and ``kernel`` (super-resolve), ``mask``, ``kind`` and
    ``crop`` (inpaint), ``mask`` or ``operator`` (restore), ``guide`` (flash-no-flash: the flash
    photo). None means not given.

    Returns
    -------
    Result
        ``.image`` in the caller's layout and dtype, ``.history``, ``.config`` (with ``method``,
        ``task`` (the preset table's: ``inpaint-holes`` for large holes, ``operator`` for restore
        through an operator), ``preset`` and ``reason``, why the method was chosen).

    Raises
    ------
    InputError
        An unknown task or method, an option the method does not take, a bad input.
    ImageTooLargeError
        The run would not fit in the device's memory.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> noisy = np.random.default_rng(0).random((16, 16))
    >>> res = dp.run("denoise", noisy, method="dip", sigma=25 / 255, iters=2)
    >>> res.config["method"], res.image.shape, res.iterations
    ('dip', (16, 16), 2)
    """
    inputs = dict(
        sigma=sigma,
        noise=noise,
        factor=factor,
        kernel=kernel,
        mask=mask,
        kind=kind,
        crop=crop,
        operator=operator,
        guide=guide,
    )
    options = dict(
        preset=preset,
        iters=iters,
        seed=seed,
        early_stop=early_stop,
        ensemble=ensemble,
        config=config,
        loss=loss,
        reference=reference,
        callbacks=callbacks,
        resume=resume,
        device=device,
    )
    spec, reason, job, run_options = _plan(task, image, method, inputs, options)
    result = spec.run(spec, job, run_options)  # each method checks its memory before it starts
    result.config.update(task=job.preset_task, reason=reason)
    if spec.presets:
        result.config["preset"] = (
            next(iter(spec.presets)) if preset is None else preset if isinstance(preset, str) else "custom"
        )
    return replace(result, image=job.observed.give_back(result.image))


def plan(task: str, image: ImageLike, *, method: str = "auto", device: str = "auto", **options: Any) -> Plan:
    """Which method ``run(task, image, method=method, **options)`` would use, why, and its
    estimated time and peak memory on ``device``, without running it (the options are ``run``'s).

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> p = dp.plan("denoise", np.zeros((64, 64)), sigma=0.1)
    >>> p.method, p.seconds > 0, p.bytes > 0
    ('n2n', True, True)
    """
    inputs = {
        k: options.pop(k, None)
        for k in ("sigma", "noise", "factor", "kernel", "mask", "kind", "crop", "operator", "guide")
    }
    unknown = sorted(set(options) - set(registry.OPTIONS))
    if unknown:
        raise InputError(f"unknown options: {', '.join(unknown)} (see deepprior.run)")
    options = {**dict.fromkeys(registry.OPTIONS), "callbacks": (), **options, "device": device}
    spec, reason, job, run_options = _plan(task, image, method, inputs, options)
    if spec.cost is None:
        raise InputError(f"the {spec.name} method has no cost model")
    cost = spec.cost(spec, job, run_options)
    return Plan(
        task, spec.name, reason, str(run_options.device), cost.seconds(run_options.device), cost.bytes
    )


def _finish(result: Result, return_result: bool) -> ImageLike | Result:
    return result if return_result else result.image


_RUN_OPTIONS_DOC = """preset : str or configuration, optional
        ``'fast'`` (the default: the laptop-CPU setting), ``'paper'`` (the published settings),
        ``'decoder'`` (DIP with a Deep Decoder, denoising only), or a method's configuration
        object (``DIPConfig``, ``ZSN2NConfig``, ``ZSSRConfig``), which also picks the method.
    iters, seed : int, optional
        Steps of the fit (default: the preset's) and the random seed (default 0; runs are
        bit-reproducible on the CPU).
    config : dict, optional
        Fields of the method's configuration to override, e.g. ``{"lr": 0.005}``.
    callbacks : sequence, optional
        Objects with ``on_start``/``on_step``/``on_end`` (``deepprior.callbacks``); an
        ``EarlyStopping`` among them asks for DIP.
    resume : str, optional
        A checkpoint written by the same method and configuration, to continue from.
    reference : image, optional
        The clean image: PSNR in ``Result.history`` while fitting.
    device : str
        ``'auto'`` (CUDA, then MPS, then the CPU), ``'cpu'``, ``'cuda'`` or ``'mps'``.
    return_result : bool
        Return the full ``Result`` (image, history, config) instead of the image."""


def denoise(
    image: ImageLike,
    *,
    method: str = "auto",
    sigma: float | None = None,
    noise: str = "auto",
    ensemble: bool | None = None,
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = False,
) -> ImageLike | Result:
    """Remove noise.

    Parameters
    ----------
    image : numpy array or torch tensor
        The noisy image (see ``deepprior.api`` for the layouts).
    method : str
        ``'n2n'`` (the Noise2Noise model shipped with deepprior, trained on noisy grey photos
        with Gaussian noise σ ≤ 50/255: seconds; colour in an opponent colour space), ``'dip'``
        (Deep Image Prior: minutes to hours on a CPU), ``'zs-n2n'`` (Zero-Shot Noise2Noise: about
        a minute, lower quality), or ``'auto'``: n2n, or DIP when options of a fitting run are given
        (preset, iters, seed, config, callbacks, resume, early_stop); ``registry.AUTO`` says why.
    sigma : float, optional
        Noise std on the image's [0, 1] scale (e.g. 25/255); estimated when None. DIP uses it to
        pick the preset's jitter, n2n warns above 50/255; zs-n2n does not use it.
    noise : str
        ``'white'`` (independent from pixel to pixel: synthetic noise, raw sensor data),
        ``'camera'`` (a camera's processed photo: noise correlated over neighbouring pixels and
        between colours, blotchy chroma) or ``'auto'`` (told apart from the image:
        ``noise.noise_type``). n2n runs the model trained for it: Gaussian noise, or noisy pairs
        made by a camera pipeline (README, "Real camera noise").
    ensemble : bool, optional
        Average the 8 flips/rotations (n2n: by default on images of up to
        ``n2n.N2N_ENSEMBLE_MAX_PIXELS`` pixels; zs-n2n: on in its fast preset).
    early_stop : bool or str, optional
        DIP: stop when a signal that needs no clean image has not reached a new low for 1000
        steps and return the estimate at its low: ``'holdout'`` (the error on 10 % of the pixels
        left out of the loss; what ``True`` means for denoising) or ``'variance'`` (ES-WMV).
    {options}

    Returns
    -------
    image or Result
        The denoised image in the caller's layout and dtype (or the Result).

    Raises
    ------
    InputError
        A bad image, an unknown method, an option the method does not take.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> rng = np.random.default_rng(0)
    >>> noisy = np.clip(0.5 + rng.normal(0, 0.1, (32, 32)), 0, 1)
    >>> dp.denoise(noisy).shape
    (32, 32)
    >>> dp.denoise(noisy, method="dip", iters=2, return_result=True).config["method"]
    'dip'
    """
    result = run(
        "denoise",
        image,
        method=method,
        sigma=sigma,
        noise=noise,
        ensemble=ensemble,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


def super_resolve(
    image: ImageLike,
    factor: int = 4,
    *,
    kernel: str = "lanczos2",
    method: str = "auto",
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = False,
) -> ImageLike | Result:
    """Upscale by an integer ``factor`` ≥ 2: the output is ``factor`` times larger on each side.

    Parameters
    ----------
    image : numpy array or torch tensor
        The small image.
    factor : int
        2, 4, 8…
    kernel : str
        The downsampler assumed to have made the image: ``'lanczos2'``, ``'bicubic'`` or ``'box'``.
    method : str
        ``'zssr'`` (Zero-Shot Super-Resolution: a small network trained on the image's own
        downscaled copies, about a minute on a CPU), ``'dip'`` (Deep Image Prior: many minutes to
        hours), or ``'auto'``: zssr, or DIP for an early stop or a DIP configuration.
    early_stop : bool or str, optional
        DIP: stop at the low of a reference-free signal (``True`` or ``'variance'``: ES-WMV).
    {options}

    Returns
    -------
    image or Result
        The upscaled image, ``factor`` times larger on each side, in the caller's dtype.

    Raises
    ------
    InputError
        A factor that is not an integer ≥ 2, an unknown kernel, an option the method does not take.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> small = (np.random.default_rng(0).random((8, 10, 3)) * 255).astype(np.uint8)
    >>> dp.super_resolve(small, 2, iters=2).shape
    (16, 20, 3)
    """
    result = run(
        "super-resolve",
        image,
        factor=factor,
        kernel=kernel,
        method=method,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


def inpaint(
    image: ImageLike,
    mask: ImageLike,
    *,
    kind: str = "auto",
    crop: bool | None = None,
    method: str = "auto",
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = False,
) -> ImageLike | Result:
    """Fill the pixels where ``mask`` is black (0); white (1) marks the known pixels.

    Parameters
    ----------
    image : numpy array or torch tensor
        The damaged image (its unknown pixels are ignored).
    mask : numpy array or torch tensor
        Same height and width; white / True = known pixel (colour masks are averaged, grey ones
        thresholded at 0.5 with a warning).
    kind : str
        ``'text'`` (thin strokes: the paper's text-inpainting net), ``'holes'`` (large regions: the
        deeper net without skips), ``'pixels'`` (known pixels scattered all over the image: the
        restoration setting of ``restore``), or ``'auto'`` (decided from the mask: ``tasks.mask_kind``).
    crop : bool, optional
        Fit only boxes around the unknown pixels, with ``crops.MARGIN`` pixels of context, and keep
        every known pixel as it is (a watermark on a large photo: minutes instead of a day). None
        (default): when the boxes cover at most half the image; False: fit the whole image (and
        return the generator's output everywhere, as the paper does); True: always.
    method : str
        ``'auto'`` (default): for known pixels scattered over the image (kind ``'pixels'``) or
        thin strokes (``'text'``), the shipped Bernoulli Noise2Noise model (``'n2n'``, seconds;
        in the boxes when cropping), unless a fitting option is given; for holes, Deep Image
        Prior (``'dip'``).
    early_stop : bool or str, optional
        Stop at the low of a reference-free signal (``True`` or ``'variance'``: ES-WMV).
    {options}

    Returns
    -------
    image or Result
        The filled image in the caller's layout and dtype.

    Raises
    ------
    InputError
        A mask of another size, or one with every pixel known or every pixel unknown.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> image = np.random.default_rng(0).random((16, 16, 3))
    >>> mask = np.ones((16, 16), bool)
    >>> mask[6:9] = False
    >>> dp.inpaint(image, mask, iters=2, return_result=True).config["task"]
    'inpaint'
    """
    result = run(
        "inpaint",
        image,
        mask=mask,
        kind=kind,
        crop=crop,
        method=method,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


def restore(
    y: ImageLike,
    operator: Operator | Callable | None = None,
    *,
    mask: ImageLike | None = None,
    method: str = "auto",
    loss: str | Loss | None = None,
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = True,
) -> ImageLike | Result:
    """Restore ``x`` from ``y = A(x)`` for any operator A; or, with ``mask`` and no operator,
    from a fraction of its pixels.

    Parameters
    ----------
    y : numpy array or torch tensor
        The observation.
    operator : deepprior operator or callable, optional
        A differentiable map of (B, C, H, W) tensors in [0, 1] (``deepprior.operators``, or a
        plain function); its input size is the restored image's.
    mask : numpy array or torch tensor, optional
        White / True = known pixel (restoration from a fraction of the pixels); the setting is
        the one ``inpaint`` picks for this mask (``tasks.mask_kind``), on the whole image.
    method : str
        ``'auto'`` (default): with a mask of scattered known pixels or thin strokes, the
        shipped Bernoulli Noise2Noise model (``'n2n'``, seconds), unless a fitting option is
        given; otherwise Deep Image Prior (``'dip'``).
    loss : str or callable, optional
        The data loss, ``'l2'`` (default), ``'l1'`` or ``'poisson'`` (the Poisson deviance, for
        photon-limited images whose values are proportional to counts), or ``loss(A(x), y)``.
    early_stop : bool or str, optional
        Stop at the low of a reference-free signal (``True`` or ``'variance'``: ES-WMV).
    {options}
        Unlike its siblings, ``restore`` returns the Result unless ``return_result=False``.

    Returns
    -------
    Result or image
        The Result (``.image``, ``.history``, ``.config``), or the image alone.

    Raises
    ------
    InputError
        Both a mask and an operator, or an operator whose output is not the observation's size.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> y = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    >>> res = dp.restore(y, dp.operators.Blur(np.ones((3, 3)) / 9), iters=2)
    >>> res.config["task"], res.image.shape
    ('operator', (16, 16, 3))
    """
    result = run(
        "restore",
        y,
        operator=operator,
        mask=mask,
        method=method,
        loss=loss,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


def dejpeg(
    image: ImageLike,
    *,
    method: str = "auto",
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = False,
) -> ImageLike | Result:
    """Remove JPEG blocking and ringing (the fit is stopped before it reproduces them).

    Parameters
    ----------
    image : numpy array or torch tensor
        The decoded JPEG.
    method : str
        ``'dip'`` (the only one today) or ``'auto'``.
    early_stop : bool or str, optional
        Stop at the low of a reference-free signal (``True`` or ``'variance'``: ES-WMV).
    {options}

    Returns
    -------
    image or Result
        The restored image in the caller's layout and dtype.

    Raises
    ------
    InputError
        A bad image or an option the method does not take.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> dp.dejpeg(np.zeros((16, 16, 3), np.uint8), iters=2).dtype
    dtype('uint8')
    """
    result = run(
        "dejpeg",
        image,
        method=method,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


def flash_no_flash(
    flash: ImageLike,
    no_flash: ImageLike,
    *,
    method: str = "auto",
    early_stop: bool | str | None = None,
    preset: Preset = None,
    iters: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    callbacks: Iterable = (),
    resume: str | None = None,
    reference: ImageLike | None = None,
    device: str = "auto",
    return_result: bool = False,
) -> ImageLike | Result:
    """Combine a flash shot (detail, used as the generator's input) with a no-flash shot of the
    same scene (ambient light, the fitted target): the no-flash look with less noise.

    Parameters
    ----------
    flash, no_flash : numpy arrays or torch tensors
        The two photos, of the same size.
    method : str
        ``'dip'`` (the only one today) or ``'auto'``.
    early_stop : bool or str, optional
        Stop at the low of a reference-free signal (``True`` or ``'variance'``: ES-WMV).
    {options}

    Returns
    -------
    image or Result
        The combined image, in the no-flash image's layout and dtype.

    Raises
    ------
    InputError
        Photos of different sizes.

    Examples
    --------
    >>> import numpy as np, deepprior as dp
    >>> shot = np.random.default_rng(0).random((16, 16, 3))
    >>> dp.flash_no_flash(shot, shot, iters=2).shape
    (16, 16, 3)
    """
    result = run(
        "flash-no-flash",
        no_flash,
        guide=flash,
        method=method,
        early_stop=early_stop,
        preset=preset,
        iters=iters,
        seed=seed,
        config=config,
        callbacks=callbacks,
        resume=resume,
        reference=reference,
        device=device,
    )
    return _finish(result, return_result)


for _function in (denoise, super_resolve, inpaint, restore, dejpeg, flash_no_flash):
    _function.__doc__ = _function.__doc__.replace("{options}", _RUN_OPTIONS_DOC)
