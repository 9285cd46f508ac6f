"""Inpainting in crops against fitting the whole image, and the time to result at photo size.

usage: python examples/crop_inpainting.py [--iters 500] [--photo-iters 150] [--parts dev test photo]

- dev, dev_holes (choose ``crops.MARGIN``): 384² centre crops of two Sun80 photos (in no table),
  one with a local text mask (kate's strokes in a 96×128 window), fitted in crops with margins 16,
  32, 64 and 128 pixels and whole; one with a 64×40 block painted out, margins 16, 32 and 64.
- test (reported): the paper's inpainting images with a local mask, crop (``crops.MARGIN``)
  against whole: vase with its own mask (one hole, 80×50, in 320²) and kate (512²) with its text
  mask kept in a 96×160 window.
- photo: a 4000×3000 photo (a Sun80 photo enlarged with Lanczos) with a 400×150 watermark
  painted out, run by ``deepprior inpaint`` with the fast preset's settings for ``--photo-iters``
  steps, timed from start to exit; ``deepprior.plan`` gives the whole-image estimate beside.

Every fit runs ``--iters`` steps with seed 0. PSNR is given on the masked pixels (what was filled
in) and on the whole image (a crop keeps the known pixels exactly; a whole fit returns the
generator's output everywhere, as the paper scores it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import deepprior as dp
from deepprior import crops, registry
from deepprior.metrics import psnr
from deepprior.tasks import prepare

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV_PHOTO = "abbey_sun_asztnlqhlrvirneh.jpg"
DEV_HOLES_PHOTO = "balcony_interior_sun_bammhtthmkjntkqh.jpg"
PHOTO = "barn_sun_btulbiaoilnxcseh.jpg"


def _centre(image: np.ndarray, size: int) -> np.ndarray:
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def _local_text_mask(size: tuple[int, int], window: tuple[int, int]) -> np.ndarray:
    """kate's text mask (white = known) kept only inside a centred ``window`` (h, w)."""
    text = dp.read_image(DATA / "dip" / "inpainting" / "kate_mask.png") > 127
    text = text if text.ndim == 2 else text[..., 0]
    known = np.ones(size, bool)
    h, w = window
    top, left = (size[0] - h) // 2, (size[1] - w) // 2
    ktop, kleft = (text.shape[0] - h) // 2, (text.shape[1] - w) // 2
    known[top : top + h, left : left + w] = text[ktop : ktop + h, kleft : kleft + w]
    return known


def fit(image: np.ndarray, known: np.ndarray, iters: int, margin: int | None) -> dict:
    """One fit; margin None: the whole image."""
    job = prepare("inpaint", image, mask=known, crop=False)
    if margin is not None:
        job.crops = crops.boxes(known, margin)
    method = registry.method("dip")
    start = time.perf_counter()
    result = method.run(method, job, registry.RunOptions(iters=iters))
    seconds = time.perf_counter() - start
    clean = image.astype(np.float32) / 255
    holes = ~known
    return {
        "margin": "whole" if margin is None else margin,
        "kind": job.preset_task,
        "boxes": result.config.get("crops"),
        "psnr_masked": psnr(result.image[holes], clean[holes]),
        "psnr_image": psnr(result.image, clean),
        "seconds": seconds,
    }


def _table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}\n| image | fit | boxes | PSNR masked (dB) | PSNR image (dB) | seconds |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        boxes = "–" if not r["boxes"] else " ".join(f"{b[2]}×{b[3]}" for b in r["boxes"])
        margin = "whole" if r["margin"] == "whole" else f"crop, margin {r['margin']}"
        print(
            f"| {r['image']} | {margin} | {boxes} | {r['psnr_masked']:.2f} | {r['psnr_image']:.2f} | "
            f"{r['seconds']:.0f} |"
        )


def dev(iters: int) -> list[dict]:
    image = _centre(dp.read_image(DATA / "Sun80" / DEV_PHOTO), 384)
    known = _local_text_mask(image.shape[:2], (96, 128))
    rows = [{"image": "Sun80 abbey 384²", **fit(image, known, iters, m)} for m in (16, 32, 64, 128, None)]
    _table(f"dev: margin ({iters} steps)", rows)
    return rows


def dev_holes(iters: int) -> list[dict]:
    image = _centre(dp.read_image(DATA / "Sun80" / DEV_HOLES_PHOTO), 384)
    known = np.ones(image.shape[:2], bool)
    known[172:212, 160:224] = False  # a 64×40 block painted out
    rows = [{"image": "Sun80 balcony 384²", **fit(image, known, iters, m)} for m in (16, 32, 64)]
    _table(f"dev: margin, a large hole ({iters} steps)", rows)
    return rows


def test(iters: int) -> list[dict]:
    vase = dp.read_image(DATA / "dip" / "inpainting" / "vase.png")
    vase_known = dp.read_image(DATA / "dip" / "inpainting" / "vase_mask.png") > 127
    vase_known = vase_known if vase_known.ndim == 2 else vase_known[..., 0]
    kate = dp.read_image(DATA / "dip" / "inpainting" / "kate.png")
    kate_known = _local_text_mask(kate.shape[:2], (96, 160))
    rows = []
    for name, image, known in (
        ("vase (its mask)", vase, vase_known),
        ("kate (local text)", kate, kate_known),
    ):
        for margin in (crops.MARGIN, None):
            rows.append({"image": name, **fit(image[..., :3], known, iters, margin)})
    _table(f"test: crop against whole ({iters} steps)", rows)
    return rows


def photo(iters: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="deepprior-photo-"))
    big = Image.open(DATA / "Sun80" / PHOTO).convert("RGB").resize((4000, 3000), Image.LANCZOS)
    big.save(work / "photo.png")
    known = np.ones((3000, 4000), np.uint8) * 255
    known[1400:1550, 1800:2200] = 0  # a 400×150 watermark, painted out
    Image.fromarray(known).save(work / "mask.png")
    command = [
        sys.executable,
        "-m",
        "deepprior",
        "inpaint",
        str(work / "photo.png"),
        "--mask",
        str(work / "mask.png"),
        "-o",
    ]
    command += [str(work / "out.png"), "--iters", str(iters), "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    image = np.asarray(big)
    preset_iters = registry.get_preset("inpaint-holes", "fast").iters
    whole = dp.plan("inpaint", image, mask=known, crop=False)
    cropped = dp.plan("inpaint", image, mask=known)
    row = {
        "command": f"deepprior inpaint photo.png --mask mask.png -o out.png --iters {iters} --quiet",
        "iters": iters,
        "seconds": seconds,
        "preset_iters": preset_iters,
        "plan_crop_seconds": cropped.seconds,
        "plan_whole_seconds": whole.seconds,
    }
    print(
        f"\nphoto 4000×3000, 400×150 watermark: {iters} steps in {seconds:.0f} s from start to exit "
        f"(plan for the preset's {preset_iters} steps: crop {cropped.seconds / 60:.0f} min, "
        f"whole {whole.seconds / 3600:.1f} h)"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--photo-iters", type=int, default=150)
    parser.add_argument("--parts", nargs="+", default=["dev", "dev_holes", "test", "photo"])
    parser.add_argument("--out", type=Path, help="JSON of every row")
    args = parser.parse_args()
    found = {}
    for part in args.parts:
        found[part] = photo(args.photo_iters) if part == "photo" else globals()[part](args.iters)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
