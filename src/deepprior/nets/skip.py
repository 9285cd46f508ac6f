"""The hourglass generator with skip connections of Deep Image Prior (the paper's ``skip`` net).

Level ``i`` (0 = finest) downsamples by two, recurses into level ``i + 1``, upsamples back and
concatenates an optional skip branch computed at its own resolution::

    x ─┬─ skip: conv k_skip ─ BN ─ act ───────────────────────────────┐
       └─ down: conv k_down /2 ─ BN ─ act ─ conv ─ BN ─ act ─ [level i+1] ─ up×2 ─┴─ concat ─ BN
                                          ─ conv k_up ─ BN ─ act ─ [conv 1×1 ─ BN ─ act]

and a final 1×1 convolution maps the finest level to the output channels (sigmoid: [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import InputError
from .layers import conv as _conv


def _levels(value: int | str | tuple | list, depth: int, name: str) -> list:
    """One value per level: a scalar is repeated, a sequence must have ``depth`` entries."""
    if isinstance(value, (list, tuple)):
        if len(value) != depth:
            raise InputError(f"{name} has {len(value)} entries but the net has {depth} levels")
        return list(value)
    return [value] * depth


@dataclass
class SkipConfig:
    """Architecture of the skip net; every Deep Image Prior notebook setting is expressible.

    Per-level fields take one value for all levels or a list with one entry per level
    (index 0 = finest). ``channels_skip`` 0 means no skip branch at that level.
    """

    channels_down: list[int] = field(default_factory=lambda: [128] * 5)
    channels_up: list[int] = field(default_factory=lambda: [128] * 5)
    channels_skip: list[int] = field(default_factory=lambda: [4] * 5)
    kernel_down: int | list[int] = 3
    kernel_up: int | list[int] = 3
    kernel_skip: int | list[int] = 1
    upsample: str | list[str] = "bilinear"  # nearest | bilinear
    downsample: str | list[str] = "stride"  # stride | avg | max
    padding: str = "reflect"  # reflect | zeros
    need_1x1_up: bool = True
    batchnorm: bool = True
    sigmoid: bool = True

    @property
    def depth(self) -> int:
        return len(self.channels_down)


class SkipNet(nn.Module):
    """``(B, in_channels, H, W) → (B, out_channels, H, W)`` float; H and W multiples of 2^depth."""

    def __init__(self, in_channels: int, out_channels: int, config: SkipConfig | None = None):
        super().__init__()
        self.config = cfg = config or SkipConfig()
        depth = cfg.depth
        down = _levels(cfg.channels_down, depth, "channels_down")
        up = _levels(cfg.channels_up, depth, "channels_up")
        skip = _levels(cfg.channels_skip, depth, "channels_skip")
        k_down = _levels(cfg.kernel_down, depth, "kernel_down")
        k_up = _levels(cfg.kernel_up, depth, "kernel_up")
        k_skip = _levels(cfg.kernel_skip, depth, "kernel_skip")
        ups = _levels(cfg.upsample, depth, "upsample")
        downs = _levels(cfg.downsample, depth, "downsample")
        for mode in ups:
            if mode not in ("nearest", "bilinear"):
                raise InputError(f"unknown upsample mode {mode!r} (nearest or bilinear)")
        for mode in downs:
            if mode not in ("stride", "avg", "max"):
                raise InputError(f"unknown downsample mode {mode!r} (stride, avg or max)")
        if cfg.padding not in ("reflect", "zeros"):
            raise InputError(f"unknown padding {cfg.padding!r} (reflect or zeros)")

        self.levels = nn.ModuleList()
        channels_in = in_channels
        for i in range(depth):
            deeper_out = up[i + 1] if i + 1 < depth else down[i]
            self.levels.append(
                _Level(
                    channels_in,
                    down[i],
                    up[i],
                    skip[i],
                    deeper_out,
                    k_down[i],
                    k_up[i],
                    k_skip[i],
                    ups[i],
                    downs[i],
                    cfg,
                )
            )
            channels_in = down[i]
        self.head = _conv(up[0], out_channels, 1, cfg.padding)
        self.multiple = 2**depth
        # Smallest input side: the deepest level needs 2 pixels (BatchNorm statistics) and more
        # than the reflection padding of its convolutions.
        self.min_size = self.multiple * max(2, (max(k_down + k_up) - 1) // 2 + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._run(x, 0)
        x = self.head(x)
        return torch.sigmoid(x) if self.config.sigmoid else x

    def _run(self, x: torch.Tensor, i: int) -> torch.Tensor:
        level = self.levels[i]
        deeper = level.down(x)
        if i + 1 < len(self.levels):
            deeper = self._run(deeper, i + 1)
        deeper = level.upsample(deeper)
        merged = torch.cat([level.skip(x), deeper], 1) if level.skip is not None else deeper
        return level.up(merged)


class _Level(nn.Module):
    def __init__(
        self,
        channels_in,
        down,
        up,
        skip,
        deeper_out,
        k_down,
        k_up,
        k_skip,
        upsample,
        downsample,
        cfg: SkipConfig,
    ):
        super().__init__()
        pad = cfg.padding
        self.skip = _block(_conv(channels_in, skip, k_skip, pad), skip, cfg) if skip else None
        first = (
            _conv(channels_in, down, k_down, pad, stride=2)
            if downsample == "stride"
            else nn.Sequential(
                _conv(channels_in, down, k_down, pad),
                nn.AvgPool2d(2) if downsample == "avg" else nn.MaxPool2d(2),
            )
        )
        self.down = nn.Sequential(
            *_block(first, down, cfg), *_block(_conv(down, down, k_down, pad), down, cfg)
        )
        self.upsample = nn.Upsample(
            scale_factor=2, mode=upsample, **({"align_corners": False} if upsample == "bilinear" else {})
        )
        merged = skip + deeper_out
        layers: list[nn.Module] = [nn.BatchNorm2d(merged)] if cfg.batchnorm else []
        layers += _block(_conv(merged, up, k_up, pad), up, cfg)
        if cfg.need_1x1_up:
            layers += _block(_conv(up, up, 1, pad), up, cfg)
        self.up = nn.Sequential(*layers)


def _block(conv: nn.Module, channels: int, cfg: SkipConfig) -> nn.Sequential:
    """conv → BatchNorm → LeakyReLU(0.2)."""
    norm = [nn.BatchNorm2d(channels)] if cfg.batchnorm else []
    return nn.Sequential(conv, *norm, nn.LeakyReLU(0.2, inplace=True))
