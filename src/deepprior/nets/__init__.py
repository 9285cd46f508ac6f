"""Generator architectures behind one registry: ``build(name, in_channels, out_channels, params)``.

A new architecture is one module here plus one entry in ``NETS``: its class takes
``(in_channels, out_channels, config)`` and exposes ``multiple``, the factor that input sizes must
be divisible by, and ``min_size``, the smallest input side it accepts. A generator whose input
code is coarser than its output (the Deep Decoder) also exposes ``code_stride``, the ratio.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from ..errors import InputError
from .decoder import DecoderConfig, DeepDecoder
from .residual import ResidualConfig, ResidualConvNet
from .skip import SkipConfig, SkipNet
from .tiny import TinyConfig, TinyDenoiser
from .unet import UNet, UNetConfig

NETS: dict[str, tuple[type[nn.Module], type]] = {
    "decoder": (DeepDecoder, DecoderConfig),
    "residual": (ResidualConvNet, ResidualConfig),
    "skip": (SkipNet, SkipConfig),
    "tiny": (TinyDenoiser, TinyConfig),
    "unet": (UNet, UNetConfig),
}


def build(name: str, in_channels: int, out_channels: int, params: dict[str, Any] | None = None) -> nn.Module:
    """Instantiate the registered net ``name`` with its config dataclass filled from ``params``."""
    if name not in NETS:
        raise InputError(f"unknown network {name!r}; known: {', '.join(sorted(NETS))}")
    cls, config_cls = NETS[name]
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(params or {}) - known)
    if unknown:
        raise InputError(f"unknown parameters for net {name!r}: {', '.join(unknown)}")
    return cls(in_channels, out_channels, config_cls(**(params or {})))


__all__ = [
    "NETS",
    "build",
    "DecoderConfig",
    "DeepDecoder",
    "ResidualConfig",
    "ResidualConvNet",
    "SkipConfig",
    "SkipNet",
    "TinyConfig",
    "TinyDenoiser",
    "UNet",
    "UNetConfig",
]
