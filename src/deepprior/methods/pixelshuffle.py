"""Pixel-shuffle downsampling (Zhou et al., ECCV-W 2020): an image's ``stride``² sub-images
``x[i::s, j::s]`` as one batch, and back. A camera's noise, correlated over a few neighbouring
pixels, is nearly white in each sub-image once ``stride`` exceeds its correlation length."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shuffle_down(x: torch.Tensor, stride: int) -> torch.Tensor:
    """(1, C, H, W) → (stride², C, ⌈H/stride⌉, ⌈W/stride⌉): the sub-images ``x[i::s, j::s]`` in
    row-major order of (i, j), the image first padded by reflection to a multiple of ``stride``.

    >>> shuffle_down(torch.arange(16.0).reshape(1, 1, 4, 4), 2)[1, 0]
    tensor([[ 1.,  3.],
            [ 9., 11.]])
    """
    height, width = x.shape[-2:]
    pad = (0, -width % stride, 0, -height % stride)
    x = F.pad(x, pad, mode="reflect") if any(pad) else x
    return F.pixel_unshuffle(x, stride).unflatten(1, (x.shape[1], stride * stride)).transpose(0, 2).squeeze(2)


def shuffle_up(views: torch.Tensor, stride: int, size: tuple[int, int]) -> torch.Tensor:
    """The inverse of ``shuffle_down``: (stride², C, h, w) → (1, C, H, W) for ``size`` (H, W)."""
    whole = F.pixel_shuffle(views.unsqueeze(0).transpose(1, 2).flatten(1, 2), stride)
    return whole[..., : size[0], : size[1]]


def sub_image_size(size: tuple[int, int], stride: int) -> tuple[int, int]:
    """(h, w) of the sub-images of an image of ``size`` (H, W)."""
    return -(-size[0] // stride), -(-size[1] // stride)
