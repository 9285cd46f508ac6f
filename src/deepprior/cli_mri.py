"""``deepprior mri simulate|reconstruct``: MRI from undersampled k-space (see ``deepprior.kspace``).

A scan file is a NumPy ``.npz`` with ``spectrum`` ((H, W) complex, centred, orthonormal: the
``kspace.fft2c`` convention; zeros where not sampled) and ``mask`` ((H, W) bool); it is read
without unpickling anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import api, kspace, n2n, outputs
from .callbacks import ProgressBar
from .cli_args import positive
from .errors import InputError
from .imageio import FLOAT_SUFFIXES, atomic_path, read_image, to_float
from .metrics import psnr
from .runtime import DEVICES

COMMAND = "mri"
EXAMPLE = "deepprior mri reconstruct scan.npz -o slice.tif --method dip"
METHODS = ("zero-filled", "tv", "dip", "n2n")
EXAMPLES = """examples:
  deepprior mri simulate slice.png -o scan.npz --mask random --acceleration 4     # a test scan
  deepprior mri reconstruct scan.npz -o slice.tif                                 # DIP (minutes)
  deepprior mri reconstruct scan.npz -o slice.tif --method tv --reference slice.png
  deepprior n2n train --images slices/ --noise kspace:4-8 --crop 256 --batch 4 --out mri_model/
  deepprior mri reconstruct scan.npz -o slice.tif --method n2n --model mri_model/

Write .tif, .fits or .exr (float32, the spectrum's scale) to keep the values; other formats store
[0, 1] in 16 bits (PNG) or 8."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser(
        COMMAND,
        help="MRI: simulate an undersampled scan, reconstruct an image from one",
        description="MRI from undersampled k-space: zero-filled, total variation, Deep Image Prior "
        "or a Noise2Noise model trained on undersampled spectra (deepprior n2n train --noise kspace).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="mri_command", required=True, metavar="SUBCOMMAND")
    p = commands.add_parser("simulate", help="undersample the spectrum of an image (a test scan)")
    p.add_argument("input", type=Path, metavar="image", help="a real image (a magnitude slice)")
    p.add_argument("-o", dest="scan", type=Path, required=True, help="the scan file to write (.npz)")
    p.add_argument("--mask", choices=tuple(kspace.MASKS), default="random", help="sampling (default random)")
    p.add_argument("--acceleration", type=positive(float), default=4.0, help="default 4")
    p.add_argument("--centre", type=float, help="fully sampled centre (default: the mask's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite the scan file")

    p = commands.add_parser("reconstruct", help="an image from an undersampled scan")
    p.add_argument("input", type=Path, metavar="scan", help="a .npz with spectrum and mask")
    p.add_argument("-o", "--output", type=Path, required=True, help="the image to write (.tif keeps floats)")
    p.add_argument("--method", choices=METHODS, default="dip", help="default dip")
    p.add_argument("--model", type=Path, help="with --method n2n: the trained model (file or folder)")
    p.add_argument("--iters", type=positive(int), help="dip and tv: steps (default: the preset's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", type=Path, help="the fully sampled image: print the PSNR")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--force", action="store_true", help="overwrite the output")


def read_scan(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(spectrum, mask) from a scan file, checked."""
    try:
        with np.load(path, allow_pickle=False) as scan:
            spectrum, mask = scan["spectrum"], scan["mask"]
    except (OSError, ValueError, KeyError):
        raise InputError(f"'{path}' is not a scan file (a .npz with spectrum and mask)") from None
    if spectrum.ndim != 2 or mask.shape != spectrum.shape:
        raise InputError(
            f"'{path}': spectrum and mask must be (H, W) of one size, got {spectrum.shape}, {mask.shape}"
        )
    return spectrum, mask.astype(bool)


def reconstruct(args: argparse.Namespace, spectrum: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if args.method == "zero-filled":
        return kspace.zero_filled(spectrum, mask).astype(np.float32)
    if args.method == "n2n":
        if args.model is None:
            raise InputError("--method n2n needs --model (deepprior n2n train --noise kspace …)")
        return n2n.load(args.model, args.device).reconstruct(spectrum, mask)
    return api.restore(
        spectrum,
        kspace.KSpace(mask),
        method=args.method,
        iters=args.iters,
        seed=args.seed,
        device=args.device,
        callbacks=[ProgressBar(args.method)],
    ).image


def run(args: argparse.Namespace) -> int:
    if args.mri_command == "simulate":
        image = to_float(read_image(args.input))[0]
        if image.ndim == 3:
            raise InputError("simulate takes a grey image (one magnitude slice)")
        mask = kspace.sampling_mask(args.mask, image.shape, args.acceleration, args.centre, args.seed)
        with atomic_path(args.scan) as tmp, open(tmp, "xb") as f:
            np.savez(f, spectrum=(kspace.fft2c(image) * mask).astype(np.complex64), mask=mask)
        centre = f", centre fraction {kspace.centre_fraction(mask):.3f}" if mask.all(0).any() else ""
        print(f"wrote {args.scan}: {args.mask} mask, acceleration {kspace.acceleration(mask):.2f}{centre}")
        return 0
    spectrum, mask = read_scan(args.input)
    out = reconstruct(args, spectrum, mask)
    floats = args.output.suffix.lower() in FLOAT_SUFFIXES
    outputs.save_image(args.output, out if floats else np.round(out.clip(0, 1) * 65535).astype(np.uint16))
    line = f"wrote {args.output} ({args.method}, acceleration {kspace.acceleration(mask):.2f})"
    if args.reference is not None:
        reference = to_float(read_image(args.reference))[0]
        if reference.shape != out.shape:
            raise InputError(f"the reference is {reference.shape}, the image {out.shape}")
        line += f"; PSNR {psnr(np.clip(out, 0, 1), reference, data_range=1.0):.2f} dB"
    print(line)
    return 0
