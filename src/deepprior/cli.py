"""``deepprior …``: parse the command line, call the public API, write the files.

Every error caused by the input is one line on stderr and exit code 2; Ctrl-C writes the current
result and a checkpoint, then exits with 130.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from . import __version__, api, bench, callbacks as cbs, cli_n2n
from .errors import DeepPriorError, InputError, OutputExistsError
from .imageio import atomic_path, read_image, split_alpha, write_image
from .methods.stopping import HOLDOUT, SIGNALS, EarlyStopping
from .metrics import psnr, ssim
from .presets import PRESETS
from .runtime import DEVICES

EXAMPLES = {
    "denoise": "deepprior denoise noisy.png -o clean.png --sigma 25\n"
               "  deepprior denoise noisy.png -o clean.png --method zs-n2n          # about a minute\n"
               "  deepprior denoise noisy.png -o clean.png --preset paper --reference gt.png --curve curve.png",
    "super-resolve": "deepprior super-resolve small.png -o big.png --factor 4 --kernel bicubic   # ZSSR: a minute\n"
                     "  deepprior super-resolve small.png -o big.png --method dip --preset paper      # hours",
    "inpaint": "deepprior inpaint photo.png --mask mask.png -o filled.png   # white = known pixel",
    "restore": "deepprior restore img.png --mask kept.png -o out.png          # white = kept pixel",
    "dejpeg": "deepprior dejpeg photo.jpg -o out.png",
    "flash-no-flash": "deepprior flash-no-flash --flash f.jpg --no-flash nf.jpg -o out.png",
    "demo": "deepprior demo --out demo_out",
    "n2n": "deepprior n2n train --images photos/ --noise gaussian:0-50 --out model/\n"
           "  deepprior n2n apply model/ noisy.png -o clean.png",
}


def _common(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    g = parser.add_argument_group("run")
    if output:
        g.add_argument("-o", "--output", required=True, type=Path, help="restored image (PNG, TIFF, JPEG)")
    g.add_argument("--preset", choices=PRESETS,
                   help="fast (default): the laptop-CPU setting; paper: the published settings of the method; "
                        "decoder: DIP with a Deep Decoder, denoising only "
                        "(for denoise, a preset without --method means DIP)")
    g.add_argument("--iters", type=int, help="number of steps (default: the preset's)")
    g.add_argument("--early-stop", nargs="?", const="auto", choices=("auto", *SIGNALS), metavar="SIGNAL",
                   help="DIP: stop at the minimum of a signal that needs no clean image and return that "
                        "estimate: 'holdout' (the error on {:.0f} %% of the pixels, left out of the loss; the "
                        "default for denoise) or 'variance' (ES-WMV, the outputs stop settling; the default "
                        "for the other tasks)".format(100 * HOLDOUT))
    g.add_argument("--reference", type=Path, help="clean image: PSNR/SSIM in the progress bar and report")
    g.add_argument("--device", default="auto", choices=DEVICES, help="default: cuda, then mps, then cpu")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--force", action="store_true", help="overwrite existing outputs")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g = parser.add_argument_group("watching and resuming")
    g.add_argument("--snapshots", type=Path, metavar="DIR", help="write the estimate to DIR every --every steps")
    g.add_argument("--every", type=int, default=100, metavar="N", help="snapshot / GIF / checkpoint interval")
    g.add_argument("--report", type=Path, help="JSON: configuration, seed, history, PSNR/SSIM")
    g.add_argument("--curve", type=Path, help="PNG plot of the loss (and PSNR with --reference)")
    g.add_argument("--gif", type=Path, help="animated GIF of the estimate during the fit")
    g.add_argument("--checkpoint", type=Path, help="save the run here every --every steps")
    g.add_argument("--resume", action="store_true", help="continue from --checkpoint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepprior", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Image restoration without clean training data (Deep Image Prior).",
        epilog="examples:\n  " + "\n  ".join(EXAMPLES.values()))
    parser.add_argument("--version", action="version", version=f"deepprior {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_, epilog="example:\n  " + EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("denoise", "remove noise from an image")
    p.add_argument("input", type=Path)
    p.add_argument("--method", choices=("auto", "dip", "zs-n2n", "n2n"), default="auto",
                   help="dip: Deep Image Prior; zs-n2n: Zero-Shot Noise2Noise, faster, lower quality; "
                        "n2n: the shipped Noise2Noise model (grey Gaussian noise, seconds); "
                        f"auto (default): {api.AUTO_DENOISER}, chosen from the README's Results, or dip "
                        f"when fitting options are given (--preset, --iters, --early-stop, --snapshots…)")
    p.add_argument("--sigma", type=float, help="noise std on the 0–255 scale, for DIP (default: estimated)")
    p.add_argument("--ensemble", action=argparse.BooleanOptionalAction,
                   help="n2n: average the 8 flips/rotations of the image (8× the time, about 0.1 dB "
                        f"better; default: on up to {api.N2N_ENSEMBLE_MAX_PIXELS} pixels)")
    _common(p)
    p = command("super-resolve", "upscale an image by an integer factor")
    p.add_argument("input", type=Path)
    p.add_argument("--factor", type=int, default=4, help="2, 4, 8… (default 4)")
    p.add_argument("--kernel", choices=("lanczos2", "bicubic", "box"), default="lanczos2",
                   help="the downsampler assumed to have made the small image")
    p.add_argument("--method", choices=("auto", "zssr", "dip"), default="auto",
                   help="zssr: Zero-Shot Super-Resolution, a small network trained on the image's own "
                        "downscaled copies (about a minute on a CPU); dip: Deep Image Prior (many minutes "
                        f"to hours); auto (default): {api.AUTO_SR}, chosen from the README's Results, or "
                        "dip with --early-stop")
    _common(p)
    p = command("inpaint", "fill in masked pixels: text, scratches, watermarks, holes")
    p.add_argument("input", type=Path)
    p.add_argument("--mask", type=Path, required=True, help="same size as the image; white = known pixel")
    p.add_argument("--mask-kind", choices=("auto", "text", "holes"), default="auto",
                   help="text: thin strokes; holes: large regions (default: decided from the mask)")
    _common(p)
    p = command("restore", "restore an image from a fraction of its pixels")
    p.add_argument("input", type=Path)
    p.add_argument("--mask", type=Path, required=True, help="same size as the image; white = kept pixel")
    _common(p)
    p = command("dejpeg", "remove JPEG compression artefacts")
    p.add_argument("input", type=Path)
    _common(p)
    p = command("flash-no-flash", "combine a flash and a no-flash photo of one scene")
    p.add_argument("--flash", type=Path, required=True)
    p.add_argument("--no-flash", type=Path, required=True)
    _common(p)
    bench.add_parser(sub)
    cli_n2n.add_parser(sub)
    p = command("demo", "denoise a bundled image with synthetic noise and print the PSNR gain")
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for the images (default demo_out)")
    p.add_argument("--sigma", type=float, default=25.0)
    _common(p, output=False)
    return parser


def _outputs(args: argparse.Namespace) -> list[Path]:
    return [p for p in (getattr(args, "output", None), args.report, args.curve, args.gif) if p is not None]


def _callbacks(args: argparse.Namespace, checkpoint: Path) -> list:
    found: list = [] if args.quiet else [cbs.ProgressBar(args.command)]
    if args.early_stop:
        found.append(EarlyStopping(signal=_stop_signal(args)))
    if args.snapshots:
        found.append(cbs.Snapshots(args.snapshots, args.every))
    if args.gif:
        found.append(cbs.Gif(args.gif, max(1, args.every // 4)))
    if args.curve:
        found.append(cbs.Curve(args.curve))
    found.append(cbs.Checkpoint(checkpoint, args.every if args.checkpoint else None))
    return found


def _run(args: argparse.Namespace) -> int:
    if args.command == "bench":
        return bench.run(args)
    if args.command == "n2n":
        return cli_n2n.run(args)
    for path in _outputs(args):
        if path.exists() and not args.force:
            raise OutputExistsError(f"'{path}' exists; pass --force to overwrite it")
    if args.resume and not args.checkpoint:
        raise InputError("--resume needs --checkpoint FILE")
    if args.resume and not args.checkpoint.exists():
        raise InputError(f"cannot resume: checkpoint '{args.checkpoint}' does not exist")
    if args.command == "demo":
        return _demo(args)
    # Without --checkpoint, a checkpoint is written only if the run is interrupted.
    checkpoint = args.checkpoint or args.output.with_name(args.output.name + ".ckpt.pt")
    reference = read_image(args.reference) if args.reference else None
    options: dict[str, Any] = dict(iters=args.iters, seed=args.seed, device=args.device,
                                   reference=reference, callbacks=_callbacks(args, checkpoint),
                                   resume=str(args.checkpoint) if args.resume else None, return_result=True)
    if args.preset:
        options["preset"] = args.preset
    method = {"denoise": _denoiser, "super-resolve": _upscaler}.get(args.command, lambda _args: "dip")(args)
    if args.early_stop and _stop_signal(args) == "holdout" and method == "dip":
        options["holdout"] = HOLDOUT
    if args.command == "denoise":
        result = api.denoise(read_image(args.input), method=method, ensemble=args.ensemble,
                             sigma=None if args.sigma is None else args.sigma / 255, **options)
    elif args.command == "super-resolve":
        result = api.super_resolve(read_image(args.input), args.factor, kernel=args.kernel, method=method,
                                   **options)
    elif args.command == "inpaint":
        result = api.inpaint(read_image(args.input), read_image(args.mask), kind=args.mask_kind, **options)
    elif args.command == "restore":
        options.pop("return_result")
        result = api.restore(read_image(args.input), mask=read_image(args.mask), **options)
    elif args.command == "dejpeg":
        result = api.dejpeg(read_image(args.input), **options)
    else:
        result = api.flash_no_flash(read_image(args.flash), read_image(args.no_flash), **options)
    write_image(args.output, result.image, overwrite=True)
    scores = _scores(result.image, reference)
    if args.report:
        _write_report(args, result, scores)
    summary = f"wrote {args.output} ({result.iterations} steps, {result.seconds:.1f} s)"
    if scores:
        summary += f"; PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.4f} against the reference"
    print(summary)
    if result.interrupted:
        print(f"interrupted: the current estimate was written; continue with the same command and "
              f"--checkpoint {checkpoint} --resume --force", file=sys.stderr)
        return 130
    return 0


def _stop_signal(args: argparse.Namespace) -> str:
    """--early-stop's signal: as given, or for 'auto' the one the suites measured best for the task
    (held-out pixels for denoising; the variance elsewhere, where held-out pixels are observations lost)."""
    if args.early_stop != "auto":
        return args.early_stop
    return "holdout" if args.command == "denoise" else "variance"


# Options that describe a fitting run: with them, `denoise` means DIP unless --method says otherwise.
FIT_OPTIONS = ("preset", "iters", "early_stop", "snapshots", "gif", "checkpoint", "resume")


def _denoiser(args: argparse.Namespace) -> str:
    """The method ``denoise`` runs: --method, or with 'auto' the default, or DIP if the command
    line asks for a fitting run (--iters, --snapshots…); the shipped model refuses those options."""
    fit = [f"--{name.replace('_', '-')}" for name in FIT_OPTIONS if getattr(args, name)]
    if args.method == "n2n" and fit:
        raise InputError(f"{', '.join(fit)} describe a fitting run (--method dip or zs-n2n); the shipped n2n "
                         f"model denoises in one pass")
    if args.method == "auto":  # resolved here: the command line always passes callbacks to the API
        return "dip" if fit else api.AUTO_DENOISER
    return args.method


def _upscaler(args: argparse.Namespace) -> str:
    """The method ``super-resolve`` runs: --method, or with 'auto' the default, or DIP with --early-stop."""
    if args.method == "auto":
        return "dip" if args.early_stop else api.AUTO_SR
    return args.method


def _scores(image: np.ndarray, reference: np.ndarray | None) -> dict[str, float]:
    """PSNR and SSIM of the colour channels (alpha left out), each image over its dtype's range."""
    if reference is None:
        return {}
    image, reference = split_alpha(image)[0], split_alpha(reference)[0]
    if reference.shape != image.shape:
        raise InputError(f"the reference is {reference.shape[1]}×{reference.shape[0]} "
                         f"({reference.ndim} dims) but the result is {image.shape[1]}×{image.shape[0]} "
                         f"({image.ndim} dims)")
    return {"psnr": psnr(image, reference), "ssim": ssim(image, reference)}


def _write_report(args: argparse.Namespace, result, scores: dict[str, float]) -> None:
    report = {
        "command": " ".join(sys.argv), "task": args.command, "output": str(getattr(args, "output", "")),
        "iterations": result.iterations, "seconds": result.seconds, "interrupted": result.interrupted,
        "scores": scores, "config": result.config, "history": result.history,
        "environment": {"deepprior": __version__, "torch": torch.__version__, "python": platform.python_version(),
                        "machine": platform.machine(), "threads": torch.get_num_threads()},
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.report) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=1))


def _demo(args: argparse.Namespace) -> int:
    """Synthetic noise on a bundled photo, denoised by the default method (the shipped Noise2Noise
    model, one pass) and by DIP's fast preset (a fit, with a progress bar): prints both PSNR gains."""
    from importlib.resources import files

    from .noise import add_gaussian

    clean = read_image(files("deepprior") / "data" / "f16_192.png")
    noisy = add_gaussian(clean, args.sigma / 255, seed=args.seed)
    out = args.out
    write_image(out / "clean.png", clean, overwrite=True)
    write_image(out / "noisy.png", noisy, overwrite=True)
    before = psnr(noisy, clean)
    print(f"demo: F16 192×192 with Gaussian noise σ={args.sigma:g}, PSNR {before:.2f} dB; images in {out}/")
    start = time.perf_counter()
    result = api.denoise(noisy, method="n2n", device=args.device, return_result=True)
    write_image(out / "denoised_n2n.png", result.image, overwrite=True)
    after = psnr(result.image, clean)
    print(f"  default (shipped Noise2Noise model): {before:.2f} dB → {after:.2f} dB (+{after - before:.2f} dB) "
          f"in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    # 300 steps keep `make demo` (install included) under three minutes on two cores; the preset's
    # own count (1800 for fast) reaches 31.9 dB on this image against 24.6 dB at 300 (σ 25).
    preset = args.preset or "fast"
    result = api.denoise(noisy, method="dip", sigma=args.sigma / 255, preset=preset,
                         iters=args.iters or 300, seed=args.seed, device=args.device, return_result=True,
                         callbacks=[] if args.quiet else [cbs.ProgressBar("demo")])
    write_image(out / "denoised_dip.png", result.image, overwrite=True)
    after = psnr(result.image, clean)
    print(f"  Deep Image Prior ({preset} preset, {result.iterations} steps): {before:.2f} dB → {after:.2f} dB "
          f"(+{after - before:.2f} dB) in {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.formatwarning = lambda message, category, *rest: f"deepprior: warning: {message}\n"
    try:
        return _run(args)
    except DeepPriorError as error:
        print(f"deepprior: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepprior: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
