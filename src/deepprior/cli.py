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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__, api, bench, cli_batch, cli_mri, cli_n2n, cli_render, cli_serve, outputs, registry
from . import callbacks as cbs
from .cli_args import (
    Parser,
    add_run_options,
    add_task_options,
    choose_method,
    non_negative,
    positive,
    run_options,
    task_inputs,
)
from .crops import checkpoint_files
from .errors import DeepPriorError, InputError
from .imageio import atomic_path, read_image, write_image
from .metrics import image_scores, psnr
from .runtime import reuse_freed_memory
from .tasks import TASKS, preset_task

EXAMPLES = {
    "denoise": "deepprior denoise noisy.png -o clean.png --sigma 25\n"
    "  deepprior denoise photo.jpg -o clean.png --noise camera          # a camera's JPEG: seconds\n"
    "  deepprior denoise noisy.png -o clean.png --method zs-n2n          # about a minute\n"
    "  deepprior denoise noisy.png -o clean.png --preset paper --reference gt.png --curve curve.png",
    "super-resolve": "deepprior super-resolve small.png -o big.png --factor 4 --kernel bicubic  # a minute\n"
    "  deepprior super-resolve small.png -o big.png --method dip --preset paper      # hours",
    "inpaint": "deepprior inpaint photo.png --mask mask.png -o filled.png   # white = known pixel",
    "restore": "deepprior restore img.png --mask kept.png -o out.png          # white = kept pixel",
    "dejpeg": "deepprior dejpeg photo.jpg -o out.png",
    "flash-no-flash": "deepprior flash-no-flash --flash f.jpg --no-flash nf.jpg -o out.png",
    "demo": "deepprior demo --out demo_out",
}


def _common(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    g = parser.add_argument_group("run")
    if output:
        g.add_argument("-o", "--output", required=True, type=Path, help="restored image (PNG, TIFF, JPEG)")
    add_run_options(g)
    g.add_argument("--reference", type=Path, help="clean image: PSNR/SSIM in the progress bar and report")
    g = parser.add_argument_group("watching and resuming")
    g.add_argument(
        "--snapshots", type=Path, metavar="DIR", help="write the estimate to DIR every --every steps"
    )
    g.add_argument(
        "--every", type=positive(int), default=100, metavar="N", help="snapshot / GIF / checkpoint interval"
    )
    g.add_argument("--report", type=Path, help="JSON: configuration, seed, history, PSNR/SSIM")
    g.add_argument("--curve", type=Path, help="PNG plot of the loss (and PSNR with --reference)")
    g.add_argument("--gif", type=Path, help="animated GIF of the estimate during the fit")
    g.add_argument("--checkpoint", type=Path, help="save the run here every --every steps")
    g.add_argument("--resume", action="store_true", help="continue from --checkpoint")


def _input(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path)


def _inpaint_inputs(p: argparse.ArgumentParser) -> None:
    _input(p)
    p.add_argument("--mask", type=Path, required=True, help="same size as the image; white = known pixel")


def _restore_inputs(p: argparse.ArgumentParser) -> None:
    _input(p)
    p.add_argument("--mask", type=Path, required=True, help="same size as the image; white = kept pixel")


def _flash_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flash", type=Path, required=True)
    p.add_argument("--no-flash", type=Path, required=True)


# Each task's image inputs on the command line (its other options: ``cli_args.TASK_OPTIONS``).
TASK_INPUTS = {
    "denoise": _input,
    "super-resolve": _input,
    "inpaint": _inpaint_inputs,
    "restore": _restore_inputs,
    "dejpeg": _input,
    "flash-no-flash": _flash_inputs,
}


def _task_inputs(args: argparse.Namespace) -> tuple[np.ndarray, dict[str, Any]]:
    """The image and the task inputs that the parsed arguments give."""
    if args.command == "flash-no-flash":
        return read_image(args.no_flash), {"guide": read_image(args.flash)}
    inputs = {**task_inputs(args), "mask": read_image(args.mask) if getattr(args, "mask", None) else None}
    return read_image(args.input), inputs


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="deepprior",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Image restoration without clean training data (Deep Image Prior).",
        epilog="examples:\n  "
        + "\n  ".join(
            [
                *EXAMPLES.values(),
                cli_n2n.EXAMPLE,
                cli_mri.EXAMPLE,
                cli_render.EXAMPLE,
                cli_batch.EXAMPLE,
                cli_serve.EXAMPLE,
            ]
        ),
    )
    parser.add_argument("--version", action="version", version=f"deepprior {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog="example:\n  " + EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    for task, add_inputs in TASK_INPUTS.items():
        p = command(task, TASKS[task].summary)
        add_inputs(p)
        add_task_options(p, task)
        _common(p)
    bench.add_parser(sub)
    cli_n2n.add_parser(sub)
    cli_mri.add_parser(sub)
    cli_render.add_parser(sub)
    cli_batch.add_parser(sub)
    cli_serve.add_parser(sub)
    p = command("demo", "denoise a bundled image with synthetic noise and print the PSNR gain")
    p.add_argument(
        "--out", type=Path, default=Path("demo_out"), help="folder for the images (default demo_out)"
    )
    p.add_argument("--sigma", type=non_negative(float), default=25.0)
    _common(p, output=False)
    return parser


def _callbacks(args: argparse.Namespace, checkpoint: Path | None) -> list:
    """The callbacks the flags ask for; with ``checkpoint``, also a progress bar (unless
    --quiet) and a checkpoint written on Ctrl-C (or every --every steps with --checkpoint)."""
    found: list = []
    if args.snapshots:
        found.append(cbs.Snapshots(args.snapshots, args.every))
    if args.gif:
        found.append(cbs.Gif(args.gif, max(1, args.every // 4)))
    if args.curve:
        found.append(cbs.Curve(args.curve))
    if checkpoint is not None:
        found.append(cbs.Checkpoint(checkpoint, args.every if args.checkpoint else None))
        if not args.quiet:
            found.insert(0, cbs.ProgressBar(args.command))
    return found


def _run(args: argparse.Namespace) -> int:
    if args.command == "bench":
        return bench.run(args)
    if args.command == cli_n2n.COMMAND:
        return cli_n2n.run(args)
    if args.command == cli_mri.COMMAND:
        return cli_mri.run(args)
    if args.command == cli_render.COMMAND:
        return cli_render.run(args)
    if args.command == cli_batch.COMMAND:
        return cli_batch.run(args)
    if args.command == cli_serve.COMMAND:
        return cli_serve.run(args)
    if args.resume and not args.checkpoint:
        raise InputError("--resume needs --checkpoint FILE")
    if args.resume and not checkpoint_files(args.checkpoint):
        raise InputError(f"cannot resume: checkpoint '{args.checkpoint}' does not exist")
    if args.command == "demo":
        return _demo(args)
    image, inputs = _task_inputs(args)
    setting = preset_task(args.command, image, **inputs) if inputs.get("mask") is not None else None
    method = choose_method(args.command, args, callbacks=bool(_callbacks(args, None)), preset_task=setting)
    checkpoint = args.checkpoint or _interrupt_checkpoint(args)
    takes_callbacks = "callbacks" in method.options
    reference = read_image(args.reference) if args.reference else None
    result = api.run(
        args.command,
        image,
        method=method.name,
        **inputs,
        **run_options(args),
        device=args.device,
        reference=reference,
        callbacks=_callbacks(args, checkpoint if takes_callbacks else None),
    )
    outputs.save_image(args.output, result.image)
    scores = image_scores(result.image, reference)
    if args.report:
        _write_report(args, result, scores)
    summary = f"wrote {args.output} ({method.name}, {result.iterations} steps, {result.seconds:.1f} s)"
    if scores:
        summary += f"; PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.4f} against the reference"
    print(summary)
    if result.interrupted:
        print(
            f"interrupted: the current estimate was written; continue with the same command and "
            f"--checkpoint {checkpoint} --resume --force",
            file=sys.stderr,
        )
        return 130
    return 0


def _interrupt_checkpoint(args: argparse.Namespace) -> Path:
    """Without --checkpoint, a checkpoint is written beside the output only if the run is interrupted."""
    return args.output.with_name(args.output.name + ".ckpt.pt")


# Every output flag of every command, and the formats it may have (``outputs.check_file``);
# folders are in FOLDER_OUTPUTS. ``bench speed --out`` is a JSON file.
FILE_OUTPUTS = {
    "output": outputs.IMAGE,
    "report": outputs.JSON,
    "curve": outputs.PNG,
    "gif": outputs.GIF,
    "checkpoint": outputs.ANY,
    "json": outputs.JSON,
    "ship": outputs.ANY,
    "model_file": (".pt",),
    "scan": (".npz",),
}
FOLDER_OUTPUTS = ("snapshots", "out")


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output the command will write before it starts (``deepprior.outputs``): a
    known format, a writable place, nothing existing without --force. A checkpoint to resume and a
    training or bench folder to resume or re-score are inputs as well as outputs."""
    force = getattr(args, "force", False)
    resuming = getattr(args, "resume", False) or getattr(args, "eval_only", False)
    for name, suffixes in FILE_OUTPUTS.items():
        if getattr(args, name, None) is not None:
            outputs.check_file(
                getattr(args, name), suffixes, force=force, exists_ok=resuming and name == "checkpoint"
            )
    for name in FOLDER_OUTPUTS:
        path = getattr(args, name, None)
        # n2n.train and batch check their folders themselves: what they hold decides a resume
        if path is None or getattr(args, "n2n_command", None) == "train" or args.command == cli_batch.COMMAND:
            continue
        if getattr(args, "suite", None) == "speed":
            outputs.check_file(path, outputs.JSON, force=force)
        else:
            outputs.check_folder(path, force=force, exists_ok=resuming)
    if args.command in TASK_INPUTS and args.checkpoint and not (args.resume or force):
        if checkpoint_files(args.checkpoint):  # per-box checkpoints of an inpainting in crops
            raise InputError(f"'{checkpoint_files(args.checkpoint)[0]}' exists (use --resume or --force)")
    if args.command in TASK_INPUTS and not (args.checkpoint or args.resume or force):
        stale = _interrupt_checkpoint(args)
        if checkpoint_files(stale):
            raise InputError(
                f"'{stale}' holds an interrupted run: continue it with --checkpoint {stale} --resume "
                f"--force, or pass --force to start afresh"
            )


def _write_report(args: argparse.Namespace, result, scores: dict[str, float]) -> None:
    report = {
        "command": " ".join(sys.argv),
        "task": args.command,
        "output": str(getattr(args, "output", "")),
        "iterations": result.iterations,
        "seconds": result.seconds,
        "interrupted": result.interrupted,
        "scores": scores,
        "config": result.config,
        "history": result.history,
        "environment": {
            "deepprior": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "threads": torch.get_num_threads(),
        },
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
    seed = 0 if args.seed is None else args.seed
    noisy = add_gaussian(clean, args.sigma / 255, seed=seed)
    out = args.out
    write_image(out / "clean.png", clean, overwrite=True)
    write_image(out / "noisy.png", noisy, overwrite=True)
    before = psnr(noisy, clean)
    print(f"demo: F16 192×192 with Gaussian noise σ={args.sigma:g}, PSNR {before:.2f} dB; images in {out}/")
    start = time.perf_counter()
    result = api.denoise(noisy, device=args.device, return_result=True)
    write_image(out / f"denoised_{result.config['method']}.png", result.image, overwrite=True)
    after = psnr(result.image, clean)
    title = registry.method(result.config["method"]).title
    print(
        f"  default ({title}): {before:.2f} dB → {after:.2f} dB (+{after - before:.2f} dB) "
        f"in {time.perf_counter() - start:.1f} s"
    )
    start = time.perf_counter()
    # Options of a fitting run make ``denoise`` fit (DIP). 300 steps keep `make demo` (install
    # included) under three minutes on two cores; the fast preset's own count (1800) reaches 31.9 dB
    # on this image against 24.6 dB at 300 (σ 25).
    preset = args.preset or "fast"
    result = api.denoise(
        noisy,
        sigma=args.sigma / 255,
        preset=preset,
        iters=args.iters or 300,
        seed=seed,
        device=args.device,
        return_result=True,
        callbacks=[] if args.quiet else [cbs.ProgressBar("demo")],
    )
    write_image(out / f"denoised_{result.config['method']}.png", result.image, overwrite=True)
    after = psnr(result.image, clean)
    title = registry.method(result.config["method"]).title
    print(
        f"  {title} ({preset} preset, {result.iterations} steps): {before:.2f} dB → {after:.2f} dB "
        f"(+{after - before:.2f} dB) in {time.perf_counter() - start:.0f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = lambda message, category, *rest: f"deepprior: warning: {message}\n"
    reuse_freed_memory()  # the CLI's process runs one job: reuse its buffers from step to step
    try:
        args = build_parser().parse_args(argv)
        check_outputs(args)
        return _run(args)
    except DeepPriorError as error:
        print(f"deepprior: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the machine, not the input: a full disk, a permission changed
        print(f"deepprior: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("deepprior: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
