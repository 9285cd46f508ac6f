"""Inpainting at photo size: fit only boxes around the masked pixels, then paste them back.

A watermark covers a small part of a photo, and a DIP step costs time in proportion to the
pixels it fits (about 40 s a step for a whole 12-megapixel photo on two CPU cores). ``plan``
draws a box around each connected region of unknown pixels with ``margin`` pixels of context on
every side, merges boxes that overlap, and gives up (None: fit the whole image) when the boxes
cover more than ``MAX_FRACTION`` of it. ``fit_each`` fits the boxes one after the other, each a
``Problem`` of its own, and keeps every known pixel of the input as it is: only the unknown
pixels take the fitted values, so nothing outside the mask changes and no box edge shows.

Checkpoints: with several boxes, box ``i`` of ``n`` saves to and resumes from
``crop_path(path, i, n)`` (``ckpt.pt`` → ``ckpt.box2of3.pt``); a box without its checkpoint is
fitted from the start on resume, which gives the same result, since every fit is seeded.

>>> import numpy as np
>>> known = np.ones((300, 400), np.float32)
>>> known[100:120, 50:90] = 0
>>> plan(known, margin=16)
[Box(top=84, left=34, height=52, width=72)]
>>> known[:, 100:] = 0  # most of the image unknown: fit it whole
>>> plan(known, margin=16) is None
True
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .callbacks import Checkpoint
from .errors import InputError
from .operators import Mask
from .problem import Problem, Result

# Context around each masked region, in pixels. Chosen on two development photos (Sun80, in no table;
# examples/crop_inpainting.py --parts dev dev_holes, 500 steps, PSNR on the masked pixels): text
# strokes 16 px 20.80 dB, 32 px 20.80, 64 px 19.35, 128 px 19.05, whole image 19.55; a 64×40 hole
# 16 px 21.85, 32 px 21.59, 64 px 20.60. Smaller boxes fit faster; 32 keeps more context than 16
# for holes larger than the development ones at a cost of 0.26 dB on that hole.
MARGIN = 32
# Fit the whole image when the boxes would cover more than this fraction of it.
MAX_FRACTION = 0.5


@dataclass(frozen=True)
class Box:
    """A rectangle of the image: rows ``top:top + height``, columns ``left:left + width``."""

    top: int
    left: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    @property
    def area(self) -> int:
        return self.height * self.width

    def overlaps(self, other: Box) -> bool:
        return (
            self.top < other.top + other.height
            and other.top < self.top + self.height
            and self.left < other.left + other.width
            and other.left < self.left + self.width
        )

    def union(self, other: Box) -> Box:
        top, left = min(self.top, other.top), min(self.left, other.left)
        bottom = max(self.top + self.height, other.top + other.height)
        right = max(self.left + self.width, other.left + other.width)
        return Box(top, left, bottom - top, right - left)


def boxes(known: np.ndarray, margin: int = MARGIN) -> list[Box]:
    """Boxes around the unknown pixels of ``known`` ((H, W), 1 = known), each region grown by
    ``margin`` on every side (clipped to the image) and overlapping boxes merged; top to bottom."""
    from scipy import ndimage

    height, width = known.shape
    found = []
    for rows, cols in ndimage.find_objects(ndimage.label(known == 0)[0]):
        top, left = max(rows.start - margin, 0), max(cols.start - margin, 0)
        bottom, right = min(rows.stop + margin, height), min(cols.stop + margin, width)
        found.append(Box(top, left, bottom - top, right - left))
    merged = True
    while merged:  # merging can make a box reach another one: repeat until none overlap
        merged = False
        for i, box in enumerate(found):
            other = next((j for j in range(i + 1, len(found)) if box.overlaps(found[j])), None)
            if other is not None:
                found[i] = box.union(found.pop(other))
                merged = True
                break
    return sorted(found, key=lambda b: (b.top, b.left))


def plan(known: np.ndarray, margin: int = MARGIN, max_fraction: float = MAX_FRACTION) -> list[Box] | None:
    """The boxes to fit (``boxes``), or None when they cover more than ``max_fraction`` of the
    image, where fitting it whole costs about the same."""
    found = boxes(known, margin)
    return found if sum(b.area for b in found) <= max_fraction * known.size else None


def crop_path(path: str | Path, index: int, count: int) -> Path:
    """The checkpoint of box ``index`` (from 0) of ``count``: ``path`` itself for a single box."""
    path = Path(path)
    return path if count == 1 else path.with_name(f"{path.stem}.box{index + 1}of{count}{path.suffix}")


def checkpoint_files(path: str | Path) -> list[Path]:
    """The checkpoint files of a run saved to ``path``: the file itself and any per-box ones."""
    path = Path(path)
    found = [path] if path.exists() else []
    return found + sorted(path.parent.glob(f"{path.stem}.box*of*{path.suffix}"))


def sub_problem(problem: Problem, box: Box) -> Problem:
    """The inpainting problem of one box of ``problem`` (observation, mask and reference cut out)."""
    rows, cols = box.slices
    reference = None if problem.reference is None else problem.reference[..., rows, cols]
    return Problem(
        y=problem.y[..., rows, cols].contiguous(),
        operator=Mask(problem.operator.mask[..., rows, cols]),
        loss=problem.loss,
        reference=reference,
    )


def _for_box(callbacks: Iterable, index: int, count: int) -> list:
    """The callbacks of one box's fit: a checkpoint writes to that box's own file, and a rule with
    state (an early stop) starts afresh for every box."""
    mine = []
    for cb in callbacks:
        if isinstance(cb, Checkpoint):
            cb = Checkpoint(crop_path(cb.path, index, count), cb.every)
        elif hasattr(cb, "load_state_dict"):
            cb = copy.deepcopy(cb)
        mine.append(cb)
    return mine


def fit_each(
    problem: Problem,
    found: list[Box],
    solve: Callable[[Problem, list, str | None], Result],
    callbacks: Iterable = (),
    resume: str | None = None,
) -> Result:
    """Fit every box of ``found`` with ``solve(problem, callbacks, resume) -> Result`` and paste
    the fitted values into the unknown pixels of the observation (its known pixels stay as they
    are). Stops after an interrupted box: the boxes not yet fitted keep their holes (zeros).

    Returns the Result of the whole image, (H, W, C) float in [0, 1]; ``config`` is the first
    box's with ``size`` the image's and ``crops`` the boxes as [top, left, height, width];
    ``history["crops"]`` holds each box's history.
    """
    if resume is not None and not any(crop_path(resume, i, len(found)).exists() for i in range(len(found))):
        raise InputError(f"no checkpoint at '{resume}' for this run's {len(found)} boxes")
    callbacks = list(callbacks)
    known = problem.operator.mask[0].permute(1, 2, 0).numpy()  # (H, W, 1) {0, 1}
    image = problem.y[0].permute(1, 2, 0).numpy().copy()  # (H, W, C); unknown pixels are 0
    results = []
    for index, box in enumerate(found):
        path = None if resume is None else crop_path(resume, index, len(found))
        result = solve(
            sub_problem(problem, box),
            _for_box(callbacks, index, len(found)),
            str(path) if path is not None and path.exists() else None,
        )
        rows, cols = box.slices
        image[rows, cols] = np.where(known[rows, cols] > 0, image[rows, cols], result.image)
        results.append(result)
        if result.interrupted:
            break
    config = dict(results[0].config, size=list(problem.size))
    config["crops"] = [list(dataclasses.astuple(b)) for b in found]
    return Result(
        image=image,
        history={"crops": [r.history for r in results]},
        config=config,
        iterations=sum(r.iterations for r in results),
        seconds=sum(r.seconds for r in results),
        interrupted=results[-1].interrupted,
    )
