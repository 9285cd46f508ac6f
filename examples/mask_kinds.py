"""How ``inpaint`` tells the three kinds of mask apart (``tasks.mask_kind``): the figures behind
``tasks.SPREAD_BLOCKS`` and ``tasks.HOLE_DISTANCE``.

usage: python examples/mask_kinds.py

For each mask: the share of known pixels, the share of 8×8 blocks holding both known and unknown
pixels (``tasks.mixed_blocks``), the largest distance from an unknown pixel to a known one, and
the kind ``auto`` picks. The threshold was set on the development masks (library, a
400×150 watermark on a 4000×3000 photo) and on Bernoulli keep-masks, which hold no image; kate's
text mask (in the inpainting benchmark) and vase's (in the crop table) are shown as checks, not used
to choose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt

from deepprior.tasks import mask_kind, mixed_blocks

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dip" / "inpainting"


def masks() -> dict[str, np.ndarray]:
    found = {
        f"{name} ({split})": np.asarray(Image.open(DATA / f"{name}_mask.png").convert("L")) >= 128
        for name, split in (("library", "dev"), ("vase", "check"), ("kate", "check"))
    }
    watermark = np.ones((3000, 4000), bool)
    watermark[1400:1550, 1800:2200] = False
    found["watermark 400×150 on 4000×3000 (dev)"] = watermark
    rng = np.random.default_rng(0)
    for keep in (0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.99):
        found[f"random, {keep:.0%} kept, 256²"] = rng.random((256, 256)) < keep
    return found


def main() -> None:
    print("| mask | known | mixed 8×8 blocks | farthest unknown pixel (px) | kind |")
    print("|---|---|---|---|---|")
    for name, known in masks().items():
        far = distance_transform_edt(~known).max()
        print(f"| {name} | {known.mean():.3f} | {mixed_blocks(known):.2f} | {far:.1f} | {mask_kind(known)} |")


if __name__ == "__main__":
    main()
