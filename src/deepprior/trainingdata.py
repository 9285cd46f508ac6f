"""Training data for Noise2Noise: clean images to corrupt, or real noisy pairs and bursts.

Images are held in memory as (C, H, W) float32 arrays in [0, 1] (8/16-bit and float files, grey
or RGB; alpha is dropped), or with ``linear`` float files as they are (linear HDR: renders). A
``TrainingSet`` draws random square crops with random flips and 90° rotations; for bursts, two
different frames of one scene at the same place, or a frame and the scene's reference.

Folder layouts (``load_pairs``): pairs ``a_0001.png`` + ``b_0001.png`` side by
side, and/or sub-folders that each hold two or more aligned noisy frames of one scene, and
optionally its clean ``reference.*`` (a mean of many shots, a render with many samples: the
target of ``targets="clean"`` and the validation's score; never a training input).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from skimage import transform

from .errors import InputError
from .imageio import list_images, read_image, split_alpha, to_float


def load_chw(path: str | os.PathLike, linear: bool = False) -> np.ndarray:
    """One image file → (C, H, W) float32 in [0, 1], alpha dropped; with ``linear`` a float
    file's values are kept as they are (linear HDR, not mapped to [0, 1])."""
    image = split_alpha(read_image(path))[0]
    image = image.astype(np.float32) if linear and image.dtype.kind == "f" else to_float(image)[0]
    return image[None] if image.ndim == 2 else np.ascontiguousarray(image.transpose(2, 0, 1))


def load_folder(folder: str | os.PathLike, linear: bool = False) -> list[np.ndarray]:
    """Every image directly in ``folder`` as (C, H, W) float32 (``load_chw``)."""
    return [load_chw(p, linear) for p in list_images(folder)]


REFERENCE = "reference"  # the stem of a burst sub-folder's clean reference


def _scenes(folder: str | os.PathLike) -> list[tuple[list[Path], Path | None]]:
    """The noisy frames of each scene in ``folder`` and its reference file (or None)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder of image pairs or bursts")
    scenes: list[tuple[list[Path], Path | None]] = []
    files = list_images(folder, empty_ok=True)
    firsts = {p.name[2:]: p for p in files if p.name.startswith("a_")}
    seconds = {p.name[2:]: p for p in files if p.name.startswith("b_")}
    unmatched = sorted(set(firsts) ^ set(seconds))
    if unmatched:
        raise InputError(f"in '{folder}', these pairs miss their a_ or b_ file: {', '.join(unmatched[:5])}")
    scenes += [([firsts[k], seconds[k]], None) for k in sorted(firsts)]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = list_images(sub)
        frames = [p for p in images if p.stem != REFERENCE]
        if len(frames) < 2:
            raise InputError(f"burst '{sub}' needs at least 2 noisy frames, it has {len(frames)}")
        scenes.append((frames, next((p for p in images if p.stem == REFERENCE), None)))
    if not scenes:
        raise InputError(f"no pairs (a_NAME + b_NAME) or burst sub-folders in '{folder}'")
    return scenes


def _same_size(paths: list[Path], images: list[np.ndarray]) -> list[np.ndarray]:
    if len({im.shape for im in images}) > 1:
        sizes = ", ".join(
            f"{p.name} {im.shape[2]}×{im.shape[1]}×{im.shape[0]}" for p, im in zip(paths, images)
        )
        raise InputError(f"the frames of one scene must have the same size and channels: {sizes}")
    return images


def load_pairs(folder: str | os.PathLike, linear: bool = False) -> TrainingSet:
    """A training set of the noisy frames of static scenes in ``folder``: ``a_*``/``b_*`` pairs and
    sub-folders of ≥ 2 frames each, with a sub-folder's ``reference.*`` as its scene's reference
    (not a frame). The images of one scene must have the same size."""
    scenes = _scenes(folder)
    bursts, references = [], []
    for frames, reference in scenes:
        paths = frames + ([reference] if reference else [])
        images = _same_size(paths, [load_chw(p, linear) for p in paths])
        bursts.append(images[: len(frames)])
        references.append(images[-1] if reference else None)
    return TrainingSet(bursts=bursts, references=references)


class TrainingSet:
    """Random crops from clean ``images`` (to be corrupted by a noise model) or from noisy
    ``bursts`` (the second frame is the target), with their clean ``references`` (one per burst,
    or None) if known. Give exactly one of ``images`` and ``bursts``."""

    def __init__(
        self,
        images: list[np.ndarray] | None = None,
        bursts: list[list[np.ndarray]] | None = None,
        references: list[np.ndarray | None] | None = None,
    ):
        if (images is None) == (bursts is None):
            raise InputError("give either clean images or noisy bursts")
        self.bursts = bursts if bursts is not None else [[im] for im in images]
        self.references = references if references is not None else [None] * len(self.bursts)
        if not self.bursts:
            raise InputError("the training set is empty")
        channels = {frames[0].shape[0] for frames in self.bursts}
        if len(channels) > 1:
            raise InputError("the training images mix grey and colour; convert them to one kind")
        self.channels = channels.pop()
        self.real_pairs = bursts is not None

    def __len__(self) -> int:
        return len(self.bursts)

    def hold_out(self, count: int) -> TrainingSet:
        """Remove the last ``count`` images (or bursts) from this set and return them as a set."""
        if not 0 < count < len(self):
            raise InputError(f"holdout must leave training images: {count} of {len(self)}")
        held = TrainingSet(bursts=self.bursts[-count:], references=self.references[-count:])
        held.real_pairs = self.real_pairs
        self.bursts, self.references = self.bursts[:-count], self.references[:-count]
        return held

    @property
    def has_references(self) -> bool:
        """Whether every noisy burst has its clean reference."""
        return self.real_pairs and all(r is not None for r in self.references)

    def smallest_side(self) -> int:
        return min(min(frames[0].shape[1:]) for frames in self.bursts)

    def check_crop(self, crop: int) -> None:
        small = [i for i, frames in enumerate(self.bursts) if min(frames[0].shape[1:]) < crop]
        if small:
            raise InputError(
                f"{len(small)} training image(s) are smaller than the {crop}×{crop} crop "
                f"(the smallest side is {self.smallest_side()} pixels); use a smaller crop"
            )

    def crops(
        self,
        n: int,
        size: int,
        rng: np.random.Generator,
        reference: bool = False,
        zoom: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` random ``size``² crops, flipped/rotated at random: (N, C, size, size) float32
        twice. For clean images both are the same crop; for bursts they are two frames, or with
        ``reference`` a frame and the reference (``has_references``). ``zoom`` > 1 (clean images
        only) enlarges each crop by a factor drawn log-uniformly from [1, zoom] (bicubic, clipped
        to the crop's range): softer detail per pixel, as in a camera's full-resolution photos.

        >>> data = TrainingSet(images=[np.random.default_rng(0).random((3, 80, 80), np.float32)])
        >>> noisy_in, target = data.crops(2, 32, np.random.default_rng(1), zoom=2.0)
        >>> noisy_in.shape, bool((noisy_in == target).all())
        ((2, 3, 32, 32), True)
        """
        if zoom < 1:
            raise InputError(f"zoom must be at least 1, got {zoom:g}")
        if zoom > 1 and self.real_pairs:
            raise InputError("zoom enlarges clean crops before they are noised; noisy pairs cannot be zoomed")
        first = np.empty((n, self.channels, size, size), np.float32)
        second = np.empty_like(first)
        for i in range(n):
            pick = rng.integers(len(self.bursts))
            frames = self.bursts[pick]
            a, b = rng.choice(len(frames), 2, replace=False) if len(frames) > 1 else (0, 0)
            side = size if zoom == 1 else max(2, round(size / np.exp(rng.uniform(0, np.log(zoom)))))
            height, width = frames[a].shape[1:]
            top, left = rng.integers(height - side + 1), rng.integers(width - side + 1)
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            target = self.references[pick] if reference else frames[b]
            window = np.s_[:, top : top + side, left : left + side]
            piece = _enlarged(frames[a][window], size)  # a clean image is its own target: resized once
            pieces = (piece, piece if target is frames[a] else _enlarged(target[window], size))
            for out, view in zip((first, second), pieces):
                view = np.rot90(view, k, axes=(1, 2))
                out[i] = view[:, :, ::-1] if flip else view
        return first, second


def _enlarged(piece: np.ndarray, size: int) -> np.ndarray:
    """(C, h, w) → (C, size, size) by bicubic interpolation, clipped to the piece's own range;
    as it is when it already has that size."""
    if piece.shape[1:] == (size, size):
        return piece
    zoomed = transform.resize(
        piece.transpose(1, 2, 0), (size, size), order=3, mode="edge", preserve_range=True
    )
    return np.ascontiguousarray(zoomed.transpose(2, 0, 1), np.float32)
