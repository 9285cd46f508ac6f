"""Re-make the denoising defaults' choices on development images that no reported table uses.

    python examples/dev_selection.py --data ../shared/data --models old.pt new.pt --out dev.md

Development split (README, "How the defaults were chosen"):
  grey:   the last 8 images of Train400 (the ones its trainings hold out for validation), σ 25;
  colour: 512² centre crops of Sun80 images 0, 20, 40 and 60 (sorted by name), σ 25;
neither is in any benchmark table. Noise is added in float and clipped, seeded per image.

It measures, for the shipped Noise2Noise model, which of the candidate model files scores
best, how far apart its inference windows should be, what the 8-fold ensemble gains, and which
Zero-Shot Noise2Noise settings to ship as its fast preset.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import deepprior as dp
from deepprior.imageio import list_images, read_image, to_float
from deepprior.methods.noise2noise import N2NModel
from deepprior.n2n import Denoiser, TestImage, evaluate
from deepprior.runtime import reuse_freed_memory

SIGMA = 25 / 255
SPACINGS = (1 / 2, 2 / 3, 3 / 4)
ZS_N2N = {  # candidate fast presets (the shipped one first)
    "400 steps, lr 3e-3 (shipped)": dict(iters=400, lr=3e-3, crop=128, batch=4, augment=True, ensemble=True),
    "200 steps, lr 3e-3": dict(iters=200, lr=3e-3, crop=128, batch=4, augment=True, ensemble=True),
    "800 steps, lr 3e-3": dict(iters=800, lr=3e-3, crop=128, batch=4, augment=True, ensemble=True),
    "400 steps, lr 1e-3": dict(iters=400, lr=1e-3, crop=128, batch=4, augment=True, ensemble=True),
}


def grey_dev(data: Path) -> list[TestImage]:
    """Train400's last 8 images with σ 25 noise (float, not clipped: the grey-set convention)."""
    test = []
    for i, path in enumerate(list_images(data / "Train400")[-8:]):
        clean = to_float(read_image(path))[0][None]
        noise = np.random.default_rng([7, i]).normal(0, SIGMA, clean.shape).astype(np.float32)
        test.append(TestImage(path.stem, clean, clean + noise))
    return test


def colour_dev(data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean, noisy) 512² crops of four Sun80 photos, float (H, W, 3) in [0, 1]."""
    out = []
    for i, path in enumerate(list_images(data / "Sun80")[::20][:4]):
        image = to_float(read_image(path))[0]
        h, w = image.shape[:2]
        clean = np.ascontiguousarray(image[(h - 512) // 2 : (h + 512) // 2, (w - 512) // 2 : (w + 512) // 2])
        noise = np.random.default_rng([7, 100 + i]).normal(0, SIGMA, clean.shape)
        out.append((path.stem.split("_")[0], clean, np.clip(clean + noise, 0, 1).astype(np.float32)))
    return out


def scored(run, colour) -> tuple[float, float]:
    """Mean PSNR and seconds per image of ``run(noisy)`` over the colour development images."""
    scores, seconds = [], []
    for _name, clean, noisy in colour:
        start = time.perf_counter()
        restored = run(noisy)
        seconds.append(time.perf_counter() - start)
        scores.append(dp.psnr(restored, clean, data_range=1.0))
    return float(np.mean(scores)), float(np.mean(seconds))


def main() -> None:
    reuse_freed_memory()  # as the CLI, whose times these are
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--models", type=Path, nargs="+", default=[dp.n2n.PRETRAINED])
    parser.add_argument("--skip-zs-n2n", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    grey, colour = grey_dev(args.data), colour_dev(args.data)
    lines = [f"Colour development images: {', '.join(n for n, _c, _x in colour)} (512² crops); σ 25.", ""]

    lines += ["| model file | grey dev PSNR | colour dev PSNR (default inference) |", "|---|---|---|"]
    for path in args.models:
        model = Denoiser(N2NModel.load(path), "cpu")
        grey_psnr = evaluate(model, grey)["psnr"]
        colour_psnr, _ = scored(lambda x, m=model: m.denoise(x, ensemble=True), colour)
        lines.append(f"| {path} | {grey_psnr:.3f} | {colour_psnr:.3f} |")
        print(lines[-1], flush=True)

    model = Denoiser(N2NModel.load(args.models[-1]), "cpu")
    lines += [
        "",
        "| window spacing (of a window) | colour dev PSNR, one pass | s per image |",
        "|---|---|---|",
    ]
    for fraction in SPACINGS:
        model.model.spacing = fraction
        value, seconds = scored(model.denoise, colour)
        lines.append(f"| {fraction:.3f} | {value:.3f} | {seconds:.1f} |")
    model.model.spacing = 2 / 3
    lines += ["", "| ensemble | colour dev PSNR | s per image |", "|---|---|---|"]
    for ensemble in (False, True):
        value, seconds = scored(lambda x, e=ensemble: model.denoise(x, ensemble=e), colour)
        lines.append(f"| {'8 flips/rotations' if ensemble else 'one pass'} | {value:.3f} | {seconds:.1f} |")

    if not args.skip_zs_n2n:
        lines += ["", "| zs-n2n setting | colour dev PSNR | s per image |", "|---|---|---|"]
        for name, fields in ZS_N2N.items():
            value, seconds = scored(lambda x, c=fields: dp.denoise(x, method="zs-n2n", config=c), colour)
            lines.append(f"| {name} | {value:.3f} | {seconds:.1f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
