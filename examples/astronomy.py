"""Denoise and super-resolve an astronomy image stored as FITS counts, from the command line.

The clean sky is scikit-image's bundled Hubble deep field (``skimage.data.hubble_deep_field``,
872×1000 RGB), made into one band of photon counts: a sky background of ``SKY`` counts plus up to
``PEAK`` counts on the brightest galaxy, as float32 FITS. The noisy frame draws Poisson counts from
it (shot noise, signal-dependent); the small frame is its centre 512² crop downscaled ×2 (bicubic,
antialiased). Then the commands a user types:

    deepprior denoise noisy.fits -o denoised.fits
    deepprior super-resolve small.fits --factor 2 -o big.fits

Needs astropy (``pip install 'deepprior[astro]'``). Run:

    python examples/astronomy.py [--out results/astronomy] [--peak 400]

Printed: PSNR of the noisy frame, the denoised one, bicubic ×2 and the super-resolved one
against the clean counts, with the clean frame's range as the peak (the FITS files keep counts,
not [0, 1]); and ``panel.png``, crops of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from skimage.data import hubble_deep_field

from deepprior.bench.protocols import bicubic_resize
from deepprior.imageio import read_image, write_image
from deepprior.metrics import psnr

SKY = 20.0  # background counts per pixel


def counts(peak: float) -> np.ndarray:
    """The Hubble deep field as (H, W) float32 photon counts: SKY + peak × its luminance."""
    rgb = hubble_deep_field().astype(np.float32) / 255
    return (SKY + peak * rgb @ np.float32([0.299, 0.587, 0.114])).astype(np.float32)


def score(image: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB with the clean frame's range as the peak."""
    low, high = float(clean.min()), float(clean.max())
    return psnr((image - low) / (high - low), (clean - low) / (high - low))


def deepprior(*args: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "deepprior", *map(str, args), "--force", "--quiet"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/astronomy"))
    parser.add_argument("--peak", type=float, default=400.0, help="counts on the brightest pixel")
    args = parser.parse_args()
    out = args.out
    clean = counts(args.peak)
    noisy = np.random.default_rng(0).poisson(clean).astype(np.float32)
    h, w = clean.shape
    crop = clean[(h - 512) // 2 : (h + 512) // 2, (w - 512) // 2 : (w + 512) // 2]
    small = bicubic_resize(crop, (256, 256))
    for name, image in {"clean": clean, "noisy": noisy, "crop": crop, "small": small}.items():
        write_image(out / f"{name}.fits", image, overwrite=True)

    deepprior("denoise", out / "noisy.fits", "-o", out / "denoised.fits")
    deepprior("super-resolve", out / "small.fits", "--factor", 2, "-o", out / "big.fits")
    denoised, big = read_image(out / "denoised.fits"), read_image(out / "big.fits")
    rows = {
        "noisy (Poisson)": score(noisy, clean),
        "denoised (deepprior denoise)": score(denoised, clean),
        "bicubic ×2": score(bicubic_resize(small, crop.shape), crop),
        "super-resolved ×2 (deepprior super-resolve)": score(big, crop),
    }
    print(f"\n| {args.peak:g} counts peak, {SKY:g} sky | PSNR (dB) |\n|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value:.2f} |")
    panel(out / "panel.png", [noisy, denoised, bicubic_resize(small, crop.shape), big], clean)


def panel(path: Path, images: list[np.ndarray], clean: np.ndarray) -> None:
    """A 128² crop of each image around the same galaxy field, shown with an asinh stretch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = ["noisy", "denoised", "bicubic ×2", "super-resolved ×2"]
    h, w = clean.shape
    offsets = [((h - 128) // 2, (w - 128) // 2)] * 2 + [(192, 192)] * 2  # crops are centred 512²
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.3))
    for ax, image, title, (top, left) in zip(axes, images, titles, offsets):
        ax.imshow(np.arcsinh((image[top : top + 128, left : left + 128] - SKY) / 10), cmap="gray")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
