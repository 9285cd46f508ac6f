"""The tiny residual denoiser of Zero-Shot Noise2Noise (Mansour & Heckel, CVPR 2023).

conv3×3 C→w, LeakyReLU(0.2), conv3×3 w→w, LeakyReLU(0.2), conv1×1 w→C; about 22 k parameters
for RGB at w = 48. It predicts the *noise*: the denoised image is ``y − net(y)``. Its receptive
field is 5×5, so any image size works and tiles with a 2-pixel margin give exact results.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import PointwiseConv


@dataclass
class TinyConfig:
    width: int = 48


class TinyDenoiser(nn.Module):
    multiple = 1
    min_size = 1
    radius = 2  # pixels of context each output pixel sees on every side

    def __init__(self, in_channels: int, out_channels: int, config: TinyConfig = TinyConfig()):
        super().__init__()
        w = config.width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, w, 3, padding=1),
            nn.LeakyReLU(0.2),
            PointwiseConv(w, out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) noisy → (B, C, H, W) estimated noise."""
        return self.body(x)
