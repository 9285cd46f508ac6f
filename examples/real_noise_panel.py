"""A before/after panel of real camera noise: noisy crop, the white-noise model, the default
(camera model) and the mean of many shots, on 128² details of four PolyU crops.

usage: python examples/real_noise_panel.py [--out docs/real_noise.png] [--data ../shared/data]

The four crops are the first of four cameras in name order (PolyU: non-commercial licence; the
panel is for the README, not the package). Each detail is the 128² window with the lowest
local contrast in the reference (a flat area, where chroma blotches show), zoomed ×2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import deepprior as dp
from deepprior.imageio import read_image, to_float

CAMERAS = ("Canon5D2", "Canon80D", "NikonD800", "Sony")
COLUMNS = ("noisy", "white model (before)", "default: camera model", "mean of many shots")


def flattest_window(image: np.ndarray, size: int = 128, step: int = 32) -> tuple[int, int]:
    """(top, left) of the ``size``² window of the least standard deviation (not a saturated one)."""
    best, where = np.inf, (0, 0)
    for top in range(0, image.shape[0] - size + 1, step):
        for left in range(0, image.shape[1] - size + 1, step):
            window = image[top : top + size, left : left + size]
            if 0.1 < window.mean() < 0.9 and window.std() < best:
                best, where = window.std(), (top, left)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("docs/real_noise.png"))
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    rows = []
    for camera in CAMERAS:
        noisy_path = sorted((args.data / "PolyU").glob(f"{camera}_*_real.JPG"))[0]
        noisy = to_float(read_image(noisy_path))[0]
        mean = to_float(read_image(noisy_path.with_name(noisy_path.name.replace("_real", "_mean"))))[0]
        top, left = flattest_window(mean)
        outputs = [noisy, dp.denoise(noisy, noise="white", ensemble=False), dp.denoise(noisy), mean]
        rows.append([o[top : top + 128, left : left + 128] for o in outputs])
        print(noisy_path.name, f"window at ({top}, {left})", flush=True)
    tile, label = 256, 24
    panel = Image.new("RGB", (tile * len(COLUMNS), label + tile * len(rows)), "white")
    draw = ImageDraw.Draw(panel)
    for c, title in enumerate(COLUMNS):
        draw.text((c * tile + 6, 6), title, fill="black")
    for r, row in enumerate(rows):
        for c, crop in enumerate(row):
            pixels = (np.clip(crop, 0, 1) * 255).round().astype(np.uint8)
            zoomed = Image.fromarray(pixels).resize((tile, tile), Image.NEAREST)
            panel.paste(zoomed, (c * tile, label + r * tile))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    panel.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
