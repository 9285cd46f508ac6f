"""Running a network over an image in tiles, so that any image size fits in memory."""

from __future__ import annotations

from collections.abc import Callable

import torch


def tiled(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, margin: int, multiple: int = 1
) -> torch.Tensor:
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
            t1, l1 = (
                min(_ceil(bottom + margin, multiple), height),
                min(_ceil(right + margin, multiple), width),
            )
            piece = fn(x[..., t0:t1, l0:l1])
            out[..., top:bottom, left:right] = piece[..., top - t0 : bottom - t0, left - l0 : right - l0]
    return out


def _floor(value: int, multiple: int) -> int:
    return value // multiple * multiple


def _ceil(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def windowed(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, size: int, stride: int, batch: int = 16
) -> torch.Tensor:
    """``fn`` applied to overlapping ``size``² windows of (1, C, H, W) ``x`` (``stride`` apart,
    the last flush with the edge), ``batch`` windows per call, the outputs blended with a pyramid
    weight that falls towards each window's edge (no seams). A side shorter than ``size`` is
    taken whole. For a network trained on ``size``² crops this keeps it in the regime it learned."""
    height, width = x.shape[-2:]
    wh, ww = min(size, height), min(size, width)
    tops, lefts = _starts(height, wh, stride), _starts(width, ww, stride)
    weight = (_ramp(wh, x)[:, None] * _ramp(ww, x)[None, :])[None, None]
    out = torch.zeros_like(x)
    total = torch.zeros_like(x[:, :1])
    places = [(t, left) for t in tops for left in lefts]
    for first in range(0, len(places), batch):
        chunk = places[first : first + batch]
        pieces = fn(torch.cat([x[..., t : t + wh, left : left + ww] for t, left in chunk]))
        for piece, (t, left) in zip(pieces, chunk):
            out[..., t : t + wh, left : left + ww] += piece * weight[0]
            total[..., t : t + wh, left : left + ww] += weight[0]
    return out / total


def _starts(length: int, window: int, stride: int) -> list[int]:
    starts = list(range(0, length - window + 1, max(1, stride)))
    return starts if starts[-1] == length - window else starts + [length - window]


def _ramp(n: int, like: torch.Tensor) -> torch.Tensor:
    """Weights 0.5, 1.5, … up to the middle and back down: positive everywhere."""
    i = torch.arange(n, dtype=like.dtype, device=like.device)
    return torch.minimum(i + 0.5, n - i - 0.5)
