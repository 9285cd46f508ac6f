"""Running a network over an image in tiles, so that any image size fits in memory."""
from __future__ import annotations

from typing import Callable

import torch


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, margin: int,
          multiple: int = 1) -> torch.Tensor:
    """``fn`` over (B, C, H, W) in ``tile``² tiles, each computed with at least ``margin`` pixels
    of context; equal to ``fn(x)`` when each output pixel of ``fn`` depends only on inputs within
    ``margin``. For a net that pools by ``multiple`` (and pads the image to it), each piece starts
    on that grid and, away from the image's edge, ends on it: the pooling windows and the edge
    padding are those of the whole image."""
    height, width = x.shape[-2:]
    if height <= tile and width <= tile:
        return fn(x)
    step = max(multiple, tile // multiple * multiple)
    out = torch.empty_like(x)
    for top in range(0, height, step):
        for left in range(0, width, step):
            bottom, right = min(top + step, height), min(left + step, width)
            t0, l0 = _floor(max(top - margin, 0), multiple), _floor(max(left - margin, 0), multiple)
            t1, l1 = min(_ceil(bottom + margin, multiple), height), min(_ceil(right + margin, multiple), width)
            piece = fn(x[..., t0:t1, l0:l1])
            out[..., top:bottom, left:right] = piece[..., top - t0:bottom - t0, left - l0:right - l0]
    return out


def _floor(value: int, multiple: int) -> int:
    return value // multiple * multiple


def _ceil(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
