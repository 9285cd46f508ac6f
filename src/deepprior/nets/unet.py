"""The U-Net of Noise2Noise (Lehtinen et al., ICML 2018, appendix table 2).

Encoder: conv3×3 C→w, then ``depth`` stages of conv3×3 w→w + 2×2 max-pool, and one more conv.
Decoder: at each level nearest-neighbour ×2 upsampling, concatenation with the encoder's skip,
two conv3×3 to 2w; at the top two conv3×3 to 4w/3 and 2w/3 (64 and 32 at w = 48) and a linear
conv3×3 to the output channels. LeakyReLU(0.1), no normalisation. At w = 48, depth 5 it has about
1 M parameters for RGB. Inputs whose sides are not multiples of ``2**depth`` are reflect-padded
and cropped back, so any size ≥ 2 works.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError


@dataclass
class UNetConfig:
    width: int = 48
    depth: int = 5


def _conv2d(parts: tuple[int, ...], channels_out: int) -> nn.Conv2d:
    """A 3×3 convolution reading the concatenation of channel groups ``parts`` (the upsampled
    features, then the skip or the input), which it keeps as ``input_parts`` for ``widen``."""
    conv = nn.Conv2d(sum(parts), channels_out, 3, padding=1)
    conv.input_parts = parts
    return conv


def _conv(parts: tuple[int, ...], channels_out: int) -> nn.Sequential:
    return nn.Sequential(_conv2d(parts, channels_out), nn.LeakyReLU(0.1))


class UNet(nn.Module):
    min_size = 2

    def __init__(self, in_channels: int, out_channels: int, config: UNetConfig = UNetConfig()):
        super().__init__()
        w, depth = config.width, config.depth
        if w < 3 or not 1 <= depth <= 8:
            raise InputError(f"U-Net width must be ≥ 3 and depth 1–8, got {w} and {depth}")
        self.multiple = 2**depth
        self.stem = _conv((in_channels,), w)
        self.down = nn.ModuleList([_conv((w,), w) for _ in range(depth)])
        self.bottom = _conv((w,), w)
        self.up = nn.ModuleList(
            [
                nn.Sequential(_conv((w if i == depth - 1 else 2 * w, w), 2 * w), _conv((2 * w,), 2 * w))
                for i in range(depth - 1, 0, -1)
            ]
        )
        self.head = nn.Sequential(
            _conv((w if depth == 1 else 2 * w, in_channels), 4 * w // 3),
            _conv((4 * w // 3,), 2 * w // 3),
            _conv2d((2 * w // 3,), out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) → (B, C_out, H, W); any H, W ≥ 2."""
        height, width = x.shape[-2:]
        m = self.multiple
        pad_h, pad_w = -height % m, -width % m
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        skips = [x]
        h = self.stem(x)
        for stage in self.down:
            h = F.max_pool2d(stage(h), 2)
            skips.append(h)
        h = self.bottom(skips.pop())
        for block in self.up:
            h = block(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skips.pop()], 1))
        h = self.head(torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skips.pop()], 1))
        return h[..., :height, :width]


def widen(narrow: nn.Module, wide: nn.Module) -> nn.Module:
    """Copy ``narrow``'s weights into ``wide``, a U-Net of the same depth and channels but wider
    (or a module wrapping one), so that it computes the same function (Net2Net-style widening,
    Chen et al., ICLR 2016).

    Each convolution's old filters read the old channels as before and the new channels with
    zero weights; the new filters keep their random initialisation. Training then grows the new
    channels' outgoing weights from zero. Returns ``wide``.

    >>> narrow, wide = UNet(1, 1, UNetConfig(8, 2)), UNet(1, 1, UNetConfig(12, 2))
    >>> x = torch.rand(1, 1, 16, 16)
    >>> bool(torch.allclose(widen(narrow, wide)(x), narrow(x), atol=1e-6))
    True
    """
    small, large = (next(m for m in net.modules() if isinstance(m, UNet)) for net in (narrow, wide))
    convs = [[m for m in net.modules() if isinstance(m, nn.Conv2d)] for net in (small, large)]
    if len(convs[0]) != len(convs[1]) or small.stem[0].in_channels != large.stem[0].in_channels:
        raise InputError("widening needs two U-Nets of the same depth and channels")
    with torch.no_grad():
        for old, new in zip(*convs):
            starts = [sum(new.input_parts[:k]) for k in range(len(new.input_parts))]
            kept = [s + j for s, n in zip(starts, old.input_parts) for j in range(n)]
            rows = old.out_channels
            new.weight[:rows] = 0
            new.weight[:rows, kept] = old.weight.to(new.weight)
            new.bias[:rows] = old.bias.to(new.bias)
    return wide
