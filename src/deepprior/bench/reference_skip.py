"""A straightforward PyTorch build of the paper's skip network, the baseline for speed figures.

Same architecture and parameter count as ``nets.SkipNet`` with its defaults, assembled the way
the original code does it: ``nn.Sequential`` chains, a separate ``ReflectionPad2d`` before every
convolution, 1×1 convolutions as ``nn.Conv2d`` and a concatenation module. Used only by
``deepprior bench speed``; the toolkit never trains it.
"""

from __future__ import annotations

import torch
from torch import nn


class _Concat(nn.Module):
    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


def _conv_bn_act(channels_in: int, channels_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    pad = [nn.ReflectionPad2d((kernel - 1) // 2)] if kernel > 1 else []
    return [
        *pad,
        nn.Conv2d(channels_in, channels_out, kernel, stride),
        nn.BatchNorm2d(channels_out),
        nn.LeakyReLU(0.2, inplace=True),
    ]


def reference_skip(
    in_channels: int = 32, out_channels: int = 3, width: int = 128, skip: int = 4, depth: int = 5
) -> nn.Module:
    """(B, in_channels, H, W) → (B, out_channels, H, W) in [0, 1]; H, W multiples of 2^depth."""
    deeper: nn.Module | None = None
    for level in reversed(range(depth)):
        channels_in = in_channels if level == 0 else width
        down = [*_conv_bn_act(channels_in, width, 3, stride=2), *_conv_bn_act(width, width, 3)]
        if deeper is not None:
            down.append(deeper)
        down.append(nn.Upsample(scale_factor=2, mode="bilinear"))
        deeper = nn.Sequential(
            _Concat(nn.Sequential(*_conv_bn_act(channels_in, skip, 1)), nn.Sequential(*down)),
            nn.BatchNorm2d(skip + width),
            *_conv_bn_act(skip + width, width, 3),
            *_conv_bn_act(width, width, 1),
        )
    return nn.Sequential(deeper, nn.Conv2d(width, out_channels, 1), nn.Sigmoid())
