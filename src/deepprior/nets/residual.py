"""ZSSR's network (Shocher, Cohen & Irani, CVPR 2018): a plain stack of 3×3 convolutions.

``depth`` conv3×3 layers of ``width`` channels with ReLU between them; the output is the input plus
what the stack predicts (the detail an interpolated image lacks). 8 × 64 (ZSSR's) has about
225 k parameters for RGB. Each output pixel sees ``depth`` pixels on every side, so any image
size works and tiles with that margin give exact results.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError


@dataclass
class ResidualConfig:
    width: int = 64
    depth: int = 8


class ResidualConvNet(nn.Module):
    multiple = 1
    min_size = 1

    def __init__(self, in_channels: int, out_channels: int, config: ResidualConfig = ResidualConfig()):
        super().__init__()
        if in_channels != out_channels or config.depth < 2:
            raise InputError("the residual net maps C channels to C, through at least 2 layers")
        widths = [in_channels] + [config.width] * (config.depth - 1) + [out_channels]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers += [nn.Conv2d(a, b, 3, padding=1)] + (
                [nn.ReLU(inplace=True)] if i < config.depth - 1 else []
            )
        self.body = nn.Sequential(*layers)
        self.radius = config.depth  # pixels of context each output pixel sees on every side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) interpolated image → (B, C, H, W) restored image."""
        return x + self.body(x)
