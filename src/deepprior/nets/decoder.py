"""The Deep Decoder (Heckel & Hand, ICLR 2019): an under-parameterised generator with no
spatial convolutions.

Its input is a fixed random code ``code_stride`` = 2^depth times smaller than the image. Each
of ``depth`` blocks applies a 1×1 convolution, ×2 bilinear upsampling, ReLU and batch
normalisation; one more such block without upsampling and a 1×1 convolution to the output
channels with a sigmoid follow. All spatial structure comes from the upsampling, and with about
(depth + 1)·width² weights (100 k at width 128) it fits noise slowly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError
from .layers import PointwiseConv


@dataclass
class DecoderConfig:
    width: int = 128  # channels of every block
    depth: int = 5  # ×2 upsamplings between the code and the image


def _block(channels_in: int, channels_out: int, upsample: bool) -> nn.Sequential:
    layers: list[nn.Module] = [PointwiseConv(channels_in, channels_out)]
    if upsample:
        layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
    return nn.Sequential(*layers, nn.ReLU(inplace=True), nn.BatchNorm2d(channels_out))


class DeepDecoder(nn.Module):
    """``(B, in_channels, H / 2^depth, W / 2^depth) → (B, out_channels, H, W)`` in [0, 1]."""

    def __init__(self, in_channels: int, out_channels: int, config: DecoderConfig = DecoderConfig()):
        super().__init__()
        if config.width < 1 or not 0 <= config.depth <= 8:
            raise InputError(
                f"Deep Decoder width must be ≥ 1 and depth 0–8, got {config.width} and {config.depth}"
            )
        w = config.width
        self.blocks = nn.Sequential(
            *[
                _block(in_channels if i == 0 else w, w, upsample=i < config.depth)
                for i in range(config.depth + 1)
            ]
        )
        self.head = PointwiseConv(w, out_channels)
        self.code_stride = self.multiple = 2**config.depth
        self.min_size = 2 * self.multiple  # batch norm needs more than one value per channel

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.blocks(code)))
