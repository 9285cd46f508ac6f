"""Training data for Noise2Noise: clean images to corrupt, or real noisy pairs and bursts.

Images are held in memory as (C, H, W) float32 arrays in [0, 1] (8/16-bit and float files, grey
or RGB; alpha is dropped). A ``TrainingSet`` draws random square crops with random flips and 90°
rotations; for bursts, two different frames of one scene at the same place.

Folder layouts (``load_bursts``): pairs ``a_0001.png`` + ``b_0001.png`` side by side, and/or
sub-folders that each hold two or more aligned noisy frames of one scene.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import InputError
from .imageio import list_images, read_image, split_alpha, to_float


def load_chw(path: str | os.PathLike) -> np.ndarray:
    """One image file → (C, H, W) float32 in [0, 1], alpha dropped."""
    image = to_float(split_alpha(read_image(path))[0])[0]
    return image[None] if image.ndim == 2 else np.ascontiguousarray(image.transpose(2, 0, 1))


def load_folder(folder: str | os.PathLike) -> list[np.ndarray]:
    """Every image directly in ``folder`` as (C, H, W) float32."""
    return [load_chw(p) for p in list_images(folder)]


def load_bursts(folder: str | os.PathLike) -> list[list[np.ndarray]]:
    """Noisy captures of static scenes: ``a_*``/``b_*`` pairs in ``folder`` and sub-folders of
    ≥ 2 frames each. Frames of one scene must have the same size."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder of image pairs or bursts")
    bursts: list[list[Path]] = []
    files = list_images(folder) if any(p.is_file() for p in folder.iterdir()) else []
    firsts = {p.name[2:]: p for p in files if p.name.startswith("a_")}
    seconds = {p.name[2:]: p for p in files if p.name.startswith("b_")}
    unmatched = sorted(set(firsts) ^ set(seconds))
    if unmatched:
        raise InputError(f"in '{folder}', these pairs miss their a_ or b_ file: {', '.join(unmatched[:5])}")
    bursts += [[firsts[k], seconds[k]] for k in sorted(firsts)]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        frames = list_images(sub)
        if len(frames) < 2:
            raise InputError(f"burst '{sub}' needs at least 2 frames, it has {len(frames)}")
        bursts.append(frames)
    if not bursts:
        raise InputError(f"no pairs (a_NAME + b_NAME) or burst sub-folders in '{folder}'")
    loaded = []
    for frames in bursts:
        images = [load_chw(p) for p in frames]
        if len({im.shape for im in images}) > 1:
            sizes = ", ".join(
                f"{p.name} {im.shape[2]}×{im.shape[1]}×{im.shape[0]}" for p, im in zip(frames, images)
            )
            raise InputError(f"the frames of one scene must have the same size and channels: {sizes}")
        loaded.append(images)
    return loaded


class TrainingSet:
    """Random crops from clean ``images`` (to be corrupted by a noise model) or from noisy
    ``bursts`` (the second frame is the target). Give exactly one of the two."""

    def __init__(self, images: list[np.ndarray] | None = None, bursts: list[list[np.ndarray]] | None = None):
        if (images is None) == (bursts is None):
            raise InputError("give either clean images or noisy bursts")
        self.bursts = bursts if bursts is not None else [[im] for im in images]
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
        held = TrainingSet(bursts=self.bursts[-count:])
        held.real_pairs = self.real_pairs
        self.bursts = self.bursts[:-count]
        return held

    def smallest_side(self) -> int:
        return min(min(frames[0].shape[1:]) for frames in self.bursts)

    def check_crop(self, crop: int) -> None:
        small = [i for i, frames in enumerate(self.bursts) if min(frames[0].shape[1:]) < crop]
        if small:
            raise InputError(
                f"{len(small)} training image(s) are smaller than the {crop}×{crop} crop "
                f"(the smallest side is {self.smallest_side()} pixels); use a smaller crop"
            )

    def crops(self, n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` random ``size``² crops, flipped/rotated at random: (N, C, size, size) float32
        twice. For clean images both are the same crop; for bursts they are two frames."""
        first = np.empty((n, self.channels, size, size), np.float32)
        second = np.empty_like(first)
        for i in range(n):
            frames = self.bursts[rng.integers(len(self.bursts))]
            a, b = rng.choice(len(frames), 2, replace=False) if len(frames) > 1 else (0, 0)
            height, width = frames[a].shape[1:]
            top, left = rng.integers(height - size + 1), rng.integers(width - size + 1)
            k, flip = int(rng.integers(4)), bool(rng.integers(2))
            for out, frame in ((first, frames[a]), (second, frames[b])):
                piece = np.rot90(frame[:, top : top + size, left : left + size], k, axes=(1, 2))
                out[i] = piece[:, :, ::-1] if flip else piece
        return first, second
