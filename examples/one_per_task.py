"""One real restoration per task on the Deep Image Prior paper's example images.

Makes the inputs from shared/data/dip (256² centre crops of the large images; Gaussian noise
σ = 25 for denoising; a ×4 Lanczos/antialiased downscale for super-resolution; the text mask for
inpainting; a Bernoulli(0.5) mask for restoration), then runs `deepprior` on each with the given
preset (DIP for every task), writing images, reports (JSON) and curves to OUT.

    python examples/one_per_task.py [--data ../shared/data] [--out results/one_per_task] [--preset fast]

At the end it prints a table of PSNR/SSIM against the clean crops (input and result; for
super-resolution also the Y-channel PSNR with a 4-pixel border, and bicubic upscaling beside it).
``--score-only`` prints that table for results already in OUT.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from deepprior.bench.protocols import bicubic_resize
from deepprior.imageio import read_image, to_float, write_image
from deepprior.metrics import psnr, ssim
from deepprior.noise import add_gaussian


def centre(a: np.ndarray, size: int = 256) -> np.ndarray:
    h, w = a.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return a[top : top + size, left : left + size]


def prepare(dip: Path, out: Path) -> None:
    f16 = centre(read_image(dip / "denoising/F16_GT.png"))
    write_image(out / "f16_gt.png", f16, overwrite=True)
    write_image(
        out / "f16_noisy25.tif", add_gaussian(f16.astype(np.float32) / 255, 25 / 255, seed=0), overwrite=True
    )
    zebra = centre(read_image(dip / "sr/zebra_GT.png"))
    write_image(out / "zebra_gt.png", zebra, overwrite=True)
    small = Image.fromarray(zebra).resize((64, 64), Image.LANCZOS)
    write_image(out / "zebra_lr4.png", np.asarray(small), overwrite=True)
    kate, mask = (
        centre(read_image(dip / "inpainting/kate.png")),
        centre(read_image(dip / "inpainting/kate_mask.png")),
    )
    write_image(out / "kate_gt.png", kate, overwrite=True)
    write_image(out / "kate_mask.png", mask, overwrite=True)
    write_image(out / "kate_masked.png", (kate * (mask[..., None] > 127)).astype(np.uint8), overwrite=True)
    barbara = centre(read_image(dip / "restoration/barbara.png"))
    keep = np.random.default_rng(0).random(barbara.shape) < 0.5
    write_image(out / "barbara_gt.png", barbara, overwrite=True)
    write_image(out / "barbara_mask50.png", keep, overwrite=True)
    write_image(out / "barbara_50.png", (barbara * keep).astype(np.uint8), overwrite=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("results/one_per_task"))
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--score-only", action="store_true", help="only print the table for results in OUT")
    args = parser.parse_args()
    dip, out = args.data / "dip", args.out
    out.mkdir(parents=True, exist_ok=True)
    prepare(dip, out)
    bundled = Path(__file__).resolve().parents[1] / "src/deepprior/data"
    runs = {
        "denoise": [
            "denoise",
            out / "f16_noisy25.tif",
            "--method",
            "dip",
            "--sigma",
            "25",
            "--reference",
            out / "f16_gt.png",
        ],
        "sr": [
            "super-resolve",
            out / "zebra_lr4.png",
            "--factor",
            "4",
            "--method",
            "dip",
            "--reference",
            out / "zebra_gt.png",
        ],
        "dejpeg": ["dejpeg", dip / "denoising/snail.jpg"],
        "flash": [
            "flash-no-flash",
            "--flash",
            bundled / "cave01_00_flash_256.png",
            "--no-flash",
            bundled / "cave01_01_noflash_256.png",
        ],
        "inpaint": [
            "inpaint",
            out / "kate_masked.png",
            "--mask",
            out / "kate_mask.png",
            "--reference",
            out / "kate_gt.png",
        ],
        "restore": [
            "restore",
            out / "barbara_50.png",
            "--mask",
            out / "barbara_mask50.png",
            "--reference",
            out / "barbara_gt.png",
        ],
    }
    for name, command in ({} if args.score_only else runs).items():
        command = [
            sys.executable,
            "-m",
            "deepprior",
            *map(str, command),
            "-o",
            str(out / f"{name}.png"),
            "--preset",
            args.preset,
            "--quiet",
            "--force",
            "--report",
            str(out / f"{name}.json"),
            "--curve",
            str(out / f"{name}.curve.png"),
        ]
        print(" ".join(command[2:]), flush=True)
        subprocess.run(command, check=True)
    score(out)


def score(out: Path) -> None:
    """Print PSNR/SSIM of inputs and results against the clean crops (RGB or grey, whole image)."""
    load = lambda name: to_float(read_image(out / name))[0]  # noqa: E731
    print("| task | input PSNR | result PSNR | result SSIM |\n|---|---|---|---|")
    for task, observed, clean in [
        ("denoise", "f16_noisy25.tif", "f16_gt.png"),
        ("inpaint", "kate_masked.png", "kate_gt.png"),
        ("restore", "barbara_50.png", "barbara_gt.png"),
    ]:
        gt, result = load(clean), load(f"{task}.png")
        print(
            f"| {task} | {psnr(load(observed), gt):.2f} | {psnr(result, gt):.2f} | {ssim(result, gt):.4f} |"
        )
    gt, result = load("zebra_gt.png"), load("sr.png")
    bicubic = np.clip(bicubic_resize(load("zebra_lr4.png"), gt.shape[:2]), 0, 1)
    for name, image in (("super-resolve ×4", result), ("bicubic ×4", bicubic)):
        print(
            f"| {name} | – | {psnr(image, gt):.2f} "
            f"(Y, shave 4: {psnr(image, gt, border=4, y_channel=True):.2f}) "
            f"| {ssim(image, gt):.4f} |"
        )


if __name__ == "__main__":
    main()
