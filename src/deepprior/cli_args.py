"""The command line's shared vocabulary: one-line argparse errors, number types, and the options
of a run and of each task, used alike by ``deepprior TASK`` and ``deepprior batch TASK``.

>>> p = Parser(prog="demo")
>>> add_task_options(p, "super-resolve")
>>> p.parse_args(["--factor", "2"]).factor
2
"""

from __future__ import annotations

import argparse
from typing import Any

from . import registry
from .errors import InputError
from .methods.stopping import HOLDOUT, SIGNALS
from .noise import NOISE_TYPES
from .runtime import DEVICES
from .tasks import INPAINT_KINDS, KERNELS


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``deepprior COMMAND: error: …`` and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: type, valid: Any, must: str) -> Any:
    """An argparse type: a number of ``kind`` for which ``valid(value)`` holds (``must``: the rule)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {must}, got {text}")
        return value

    parse.__name__ = f"{kind.__name__} {must}"
    return parse


def positive(kind: type) -> Any:
    """An argparse type: a number of ``kind`` above 0."""
    return _number(kind, lambda value: value > 0, "above 0")


def non_negative(kind: type) -> Any:
    """An argparse type: a number of ``kind`` ≥ 0."""
    return _number(kind, lambda value: value >= 0, "0 or more")


def _denoise_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sigma", type=non_negative(float), help="noise std on the 0–255 scale, for DIP (default: estimated)"
    )
    p.add_argument(
        "--noise",
        choices=("auto", *NOISE_TYPES),
        default="auto",
        help="white: independent from pixel to pixel (synthetic, raw data); camera: a camera's "
        "processed photo, noise correlated over neighbouring pixels and colours (n2n runs the "
        "model trained through a camera pipeline, and a second pass over its output unless that pass "
        "changes the image too much); auto (default): told apart from the image",
    )
    p.add_argument(
        "--ensemble",
        action=argparse.BooleanOptionalAction,
        help="n2n and zs-n2n: average the 8 flips/rotations of the image (8× the time, about 0.1 dB "
        "better; n2n's default: on up to 2^19 pixels)",
    )


def _sr_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--factor", type=positive(int), default=4, help="2, 4, 8… (default 4)")
    p.add_argument(
        "--kernel",
        choices=KERNELS,
        default="lanczos2",
        help="the downsampler assumed to have made the small image",
    )


def _inpaint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mask-kind",
        choices=INPAINT_KINDS,
        default="auto",
        help="text: thin strokes; holes: large regions; pixels: known pixels scattered over the "
        "whole image, as restore --mask, filled in by the shipped Bernoulli model unless fitting "
        "options are given (default: decided from the mask)",
    )
    p.add_argument(
        "--crop",
        choices=tuple(CROP_CHOICES),
        default="auto",
        help="fit only boxes around the masked pixels, with context, and keep every other pixel: "
        "auto (default): when they cover at most half the image; off: fit the whole image",
    )


CROP_CHOICES = {"auto": None, "on": True, "off": False}


# Each task's own options besides its images (which single-image and batch commands take differently).
TASK_OPTIONS = {
    "denoise": _denoise_options,
    "super-resolve": _sr_options,
    "inpaint": _inpaint_options,
    "restore": None,
    "dejpeg": None,
    "flash-no-flash": None,
}


def add_task_options(p: argparse.ArgumentParser, task: str) -> None:
    """The task's options, and --method where more than one method serves it."""
    if TASK_OPTIONS[task] is not None:
        TASK_OPTIONS[task](p)
    methods = registry.methods_for(task)
    if len(methods) > 1:
        p.add_argument(
            "--method",
            choices=("auto", *(m.name for m in methods)),
            default="auto",
            help=f"{registry.describe(methods)}; auto (default): {registry.auto_summary(task)}, or the first "
            f"of the others that takes the options given (--preset, --iters, --early-stop…)",
        )


def add_run_options(g: argparse._ActionsContainer) -> None:
    """The options of any run: preset, steps, early stop, device, seed, --force, --quiet."""
    presets = dict.fromkeys(name for m in registry.METHODS.values() for name in m.presets)
    g.add_argument(
        "--preset",
        choices=tuple(presets),
        help="fast (default): the laptop-CPU setting; paper: the published settings of the method; "
        "decoder: DIP with a Deep Decoder, denoising only; pd (with --method zs-n2n): zero-shot "
        "Noise2Noise on the 3×3 pixel-shuffled sub-images, for a camera's correlated noise "
        "(for denoise, a preset without --method means DIP)",
    )
    g.add_argument("--iters", type=positive(int), help="number of steps (default: the preset's)")
    g.add_argument(
        "--early-stop",
        nargs="?",
        const="auto",
        choices=("auto", *SIGNALS),
        metavar="SIGNAL",
        help="DIP: stop at the minimum of a signal that needs no clean image and return that "
        f"estimate: 'holdout' (the error on {100 * HOLDOUT:.0f} %% of the pixels, left out of the loss; the "
        "default for denoise) or 'variance' (ES-WMV, the outputs stop settling; the default "
        "for the other tasks)",
    )
    g.add_argument("--device", default="auto", choices=DEVICES, help="default: cuda, then mps, then cpu")
    g.add_argument(
        "--seed", type=non_negative(int), help="random seed (default 0; runs are bit-reproducible on the CPU)"
    )
    g.add_argument("--force", action="store_true", help="overwrite existing outputs")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def task_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """The task inputs that are options (the CLI's σ is on 0–255; None: not given)."""
    return {
        "sigma": None if getattr(args, "sigma", None) is None else args.sigma / 255,
        "noise": getattr(args, "noise", None),
        "factor": getattr(args, "factor", None),
        "kernel": getattr(args, "kernel", None),
        "kind": getattr(args, "mask_kind", None),
        "crop": CROP_CHOICES[args.crop] if hasattr(args, "crop") else None,
    }


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The run options the flags give (None: not given)."""
    return {
        "preset": args.preset,
        "iters": args.iters,
        "seed": args.seed,
        "early_stop": args.early_stop,
        "ensemble": getattr(args, "ensemble", None),
        "resume": str(args.checkpoint) if getattr(args, "resume", False) else None,
    }


# The run options' flags, for messages about options a method does not take.
FLAGS = {
    "preset": "--preset",
    "iters": "--iters",
    "seed": "--seed",
    "early_stop": "--early-stop",
    "resume": "--resume",
    "ensemble": "--ensemble",
    "sigma": "--sigma",
    "callbacks": "--snapshots, --gif, --curve or --checkpoint",
}


def choose_method(
    task: str, args: argparse.Namespace, *, callbacks: bool = False, preset_task: str | None = None
) -> registry.Method:
    """The method the command runs: --method, or for auto the registry's rule on the flags given
    (``callbacks``: flags that ask for per-step callbacks were given; ``preset_task``: the job's
    setting, ``tasks.preset_task``, when known)."""
    given = {**run_options(args), "sigma": task_inputs(args)["sigma"]}
    given = {k: v for k, v in given.items() if v is not None}
    if callbacks:
        given["callbacks"] = True
    try:
        name, _reason = registry.choose(task, getattr(args, "method", "auto"), given, preset_task)
    except InputError as error:
        message = str(error)
        option = message.split(" ", 1)[0]
        raise InputError(message.replace(option, FLAGS[option], 1) if option in FLAGS else message) from None
    return registry.method(name)
