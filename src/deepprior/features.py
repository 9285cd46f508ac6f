"""What a network sees: feature inversion and activation maximisation (the Deep Image Prior
paper's natural pre-image, after Mahendran & Vedaldi, CVPR 2015).

The features Φ of a layer of any ``torch.nn.Module`` are one more differentiable operator
(``FeatureMap``), so both are ``dp.restore``'s fitting loop: DIP finds ``f_θ(z)`` with
``Φ(f_θ(z))`` close to ``Φ(x₀)`` (``invert_features``) or with one unit's activation high
(``maximise_activation``); ``method="tv"`` optimises the pixels directly with a total-variation
prior instead, the comparison the paper makes.

>>> import deepprior as dp, numpy as np
>>> net = dp.n2n.pretrained("cpu").model.net          # any torch module; here the shipped U-Net
>>> image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
>>> res = invert_features(net, image, layer="down.1", iters=3)
>>> res.image.shape, res.config["method"]
((32, 32), 'dip')
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .errors import InputError
from .image import CallerImage, ImageLike
from .operators import Operator, Size
from .problem import Problem, Result
from .runtime import choose_device


class _Captured(Exception):
    """Stops the model's forward pass once the layer's output is in hand."""


class FeatureMap(Operator):
    """Φ(x): the output of ``layer`` (a name from ``model.named_modules()``; None: the model's
    output) for a (B, channels, *size) image, divided by ``scale``; a vector output (B, N) is
    returned as (B, N, 1, 1). It runs a frozen copy of the model in eval mode: the caller's
    model is left as it is."""

    def __init__(
        self, model: torch.nn.Module, layer: str | None, channels: int, size: Size, scale: float = 1.0
    ) -> None:
        super().__init__()
        modules = dict(model.named_modules())
        if layer is not None and layer not in modules:
            known = ", ".join(name for name in modules if name)
            raise InputError(f"the model has no layer {layer!r}; its layers: {known}")
        self.model, self.layer = copy.deepcopy(model).eval().requires_grad_(False), layer
        self.channels, self.size, self.scale = channels, tuple(size), scale

    def input_size(self, size: Size) -> Size:
        return self.size

    def input_channels(self, channels: int) -> int:
        return self.channels

    def output_size(self, size: Size) -> Size:
        with torch.no_grad():
            return tuple(self(torch.zeros(1, self.channels, *size)).shape[-2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer is None:
            out = self.model(x)
        else:
            seen: list[torch.Tensor] = []

            def capture(_module, _inputs, output):
                seen.append(output)
                raise _Captured

            hook = dict(self.model.named_modules())[self.layer].register_forward_hook(capture)
            try:
                self.model(x)
            except _Captured:
                pass
            finally:
                hook.remove()
            out = seen[0]
        out = out.reshape(*out.shape, 1, 1) if out.dim() == 2 else out
        return out / self.scale


# The options of ``dp.restore`` that ``invert_features`` and ``maximise_activation`` take.
OPTIONS = ("iters", "seed", "config", "callbacks", "device")


def _fit(problem: Problem, observed: CallerImage, method: str, options: Mapping[str, Any]) -> Result:
    """Run ``method`` (``dip`` or ``tv``) on ``problem`` as ``dp.restore`` runs an operator job."""
    from .registry import RunOptions, choose
    from .registry import method as registered
    from .tasks import Job

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise InputError(f"{', '.join(unknown)} does not apply here (options: {', '.join(OPTIONS)})")
    options = {k: tuple(v) if k == "callbacks" else v for k, v in options.items() if v is not None}
    device = choose_device(options.pop("device", "auto"))
    given = RunOptions(**options).given()
    name, _ = choose("restore", method, given, "operator")
    spec = registered(name)
    job = Job("restore", "operator", problem, observed)
    result = spec.run(spec, job, RunOptions(device=device, **options))
    config = {**result.config, "task": "operator"}
    return replace(result, image=observed.give_back(result.image), config=config)


def invert_features(
    model: torch.nn.Module,
    target: ImageLike,
    layer: str | None = None,
    *,
    method: str = "dip",
    **options: Any,
) -> Result:
    """The image whose features under ``model`` at ``layer`` match those of ``target``:
    ``min ‖Φ(x) − Φ(x₀)‖²``, the features scaled to unit mean square, with x the output of a
    Deep Image Prior generator (``method="dip"``) or the pixels themselves under a TV penalty
    (``"tv"``). ``target`` is any image ``dp.restore`` takes, with the channels ``model``
    expects; the result has its layout. ``options``: ``iters``, ``seed``, ``config``,
    ``callbacks``, ``device``, as ``dp.restore`` takes them.
    """
    observed = CallerImage.of(target, "target image")
    x0 = observed.tensor
    operator = FeatureMap(model, layer, x0.shape[1], tuple(x0.shape[-2:]))
    with torch.no_grad():
        features = operator(x0)
    operator.scale = float(features.pow(2).mean().sqrt()) or 1.0
    problem = Problem(y=features / operator.scale, operator=operator)
    return _fit(problem, observed, method, options)


def maximise_activation(
    model: torch.nn.Module,
    layer: str | None,
    unit: int,
    size: Size = (64, 64),
    channels: int = 3,
    *,
    method: str = "dip",
    **options: Any,
) -> Result:
    """An image of ``size`` (H, W) and ``channels`` channels that makes channel ``unit`` of
    ``layer``'s output large on average (its negative mean is the loss), under the DIP prior
    (``method="dip"``) or the pixels' TV penalty (``"tv"``); ``options`` as ``invert_features``.
    Returns a Result whose image is (H, W[, C]) float32 in [0, 1].
    """
    operator = FeatureMap(model, layer, channels, size)
    with torch.no_grad():
        width = operator(torch.zeros(1, channels, *size)).shape[1]
    if not 0 <= unit < width:
        raise InputError(f"layer {layer!r} has {width} units (channels), not a unit {unit}")

    def activation(prediction: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
        return -prediction[:, unit].mean()

    shape = (1, width, *operator.output_size(tuple(size)))
    problem = Problem(y=torch.zeros(shape), operator=operator, loss=activation)
    blank = CallerImage.of(np.zeros((*size, channels) if channels > 1 else size, np.float32))
    return _fit(problem, blank, method, options)
