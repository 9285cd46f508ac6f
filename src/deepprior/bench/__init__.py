"""``deepprior bench``: measurements that every speed and quality claim cites."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..imageio import atomic_path
from .baselines import BASELINES

SUITE_HELP = {
    "sr": "Set5 ×4/×8: LR = bicubic antialiased downscale of the GT (cropped to a multiple of the "
    "factor), 8-bit; score = Y-channel (BT.601) PSNR/SSIM, 4-pixel border shaved",
    "denoise": "F16, kodim01/02/03/12: N(0, σ/255) added in float, clipped, not quantised, fixed seed per "
    "image; score = RGB PSNR/SSIM on the whole image",
    "real": "PolyU's 100 real noisy 512² crops from five cameras (or --images: a folder of "
    "*_real/*_mean or *_noisy/*_clean pairs) against the mean of many shots; score = RGB PSNR/SSIM "
    "on the whole image, per camera",
    "inpaint": "Set12 images of the paper's table (C.man, House, Peppers, Lena, Barbara, Boat, Man, Couple): "
    "Bernoulli(0.5) keep-mask, fixed seed per image; plus kate with its text mask; score = PSNR/SSIM "
    "on the whole image",
}
DEFAULT_METHODS = {
    "sr": "paper,fast,zssr,bicubic",
    "denoise": "paper,fast,zs-n2n,n2n,tv,nlm,wavelet,bm3d",
    "real": "input,n2n,n2n-white,nlm,bm3d-psd",
    "inpaint": "paper,fast,n2n,biharmonic",
}

# A quick run of each suite, for its --help.
QUICK = {
    "sr": "--methods fast,bicubic --crop 128 --limit 2 --iters 300",
    "denoise": "--methods fast,zs-n2n,tv --crop 128 --limit 2 --iters 300",
    "real": "--methods n2n,input,nlm --crop 128 --limit 1",
    "inpaint": "--methods fast,biharmonic --crop 128 --limit 2 --iters 300",
}


def _ours_help(suite: str) -> str:
    """The registry's benchmark entries for ``suite``: name = method and options."""
    from ..registry import variants
    from .runner import applicable

    return "; ".join(
        f"{name} = {method.title}" + "".join(f", {k} {v}" for k, v in options.items() if k != "tasks")
        for name, (method, options) in variants().items()
        if applicable(name, suite)
    )


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="write into an output that exists (replacing it)"
    )


def add_oracle(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="give the methods the protocol's true values (σ, the bicubic SR kernel, the kind of "
        "kate's mask); default: blind, as a user runs them (σ estimated, the default kernel, the "
        "kind decided from the mask)",
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench`` and its suites on the main parser's subcommands."""
    bench = sub.add_parser(
        "bench",
        help="benchmarks: quality suites against the published figures, speed",
        description="Benchmarks whose figures the README quotes.",
    )
    suites = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for name, protocol in SUITE_HELP.items():
        p = suites.add_parser(
            name,
            help=f"the {name} suite",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            description=f"Protocol: {protocol}.\nMethods: ours ({_ours_help(name)}) and baselines "
            f"({', '.join(b for b, (suites, _run) in BASELINES.items() if name in suites)}; "
            f"bm3d, bm3d-psd if installed).",
            epilog=f"examples:\n  deepprior bench {name}"
            + {"sr": " --scales 4 8", "denoise": " --sigma 25 50", "real": "", "inpaint": ""}[name]
            + f"\n  deepprior bench {name} {QUICK[name]} --out results/quick",
        )
        if name == "sr":
            p.add_argument("--scales", type=int, nargs="+", default=[4, 8])
        if name == "denoise":
            p.add_argument("--sigma", type=float, nargs="+", default=[25.0], help="0–255 scale")
        p.add_argument("--methods", default=DEFAULT_METHODS[name], help=f"default {DEFAULT_METHODS[name]}")
        p.add_argument(
            "--images",
            type=Path,
            help="run the protocol on this folder of "
            + ("noisy/reference pairs" if name == "real" else "clean images")
            + " instead",
        )
        p.add_argument(
            "--data",
            type=Path,
            help="benchmark data folder (default: $DEEPPRIOR_DATA, shared/data, ../shared/data)",
        )
        p.add_argument("--crop", type=int, help="centre-crop every image to CROP² (not the full protocol)")
        p.add_argument("--limit", type=int, help="only the first N images (not the full protocol)")
        p.add_argument("--iters", type=int, help="override the presets' step counts (not the full protocol)")
        p.add_argument(
            "--no-probe", action="store_true", help="skip timing the paper preset (no speed ratio)"
        )
        p.add_argument(
            "--budget",
            type=float,
            help="stop each fitting method at this percentage of the paper preset's projected "
            "time on the image (or at its preset's last step): one time budget for all, "
            "for PSNR-against-time comparisons (not the full protocol)",
        )
        p.add_argument(
            "--holdout",
            type=float,
            default=0.0,
            help="DIP: leave this fraction of the observed pixels out of the loss; the automatic "
            "stop then watches their error instead of the variance of the outputs",
        )
        add_oracle(p)
        p.add_argument("--out", type=Path, default=Path("results/bench") / name)
        add_force(p)
    from .n2n import add_parser as add_n2n
    from .render import add_parser as add_render

    add_n2n(suites)
    add_render(suites)
    p = suites.add_parser(
        "speed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="seconds per DIP step: presets against a straightforward implementation",
        description="Time one denoising step of each preset at SIZE² on this machine, against the\n"
        "paper's net built and stepped the straightforward way (sync + weight copy per\n"
        "step), with FLOPs per step and the fraction of the machine's matmul peak.",
        epilog="example:\n  deepprior bench speed --size 256 --rounds 4 --out results/speed.json",
    )
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=4, help="interleaved timing rounds (the median is kept)")
    p.add_argument("--per-round", type=int, default=2, help="steps per round")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--presets", default="paper,fast", help="comma-separated presets to time")
    p.add_argument("--out", type=Path, help="also write the figures as JSON here")
    add_force(p)


def run(args: argparse.Namespace) -> int:
    if args.suite == "n2n":
        from .n2n import run as run_n2n

        return run_n2n(args)
    if args.suite == "render":
        from .render import run as run_render

        return run_render(args)
    return _speed(args) if args.suite == "speed" else _quality(args)


def _quality(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..registry import variants
    from . import protocols, published
    from .baselines import bm3d_available
    from .runner import averages, environment, run_suite, write_outputs

    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in variants() and m not in BASELINES]
    if unknown:
        raise InputError(
            f"unknown methods: {', '.join(unknown)} (ours: {', '.join(variants())}; "
            f"baselines: {', '.join(BASELINES)})"
        )
    if not bm3d_available():
        for name in [m for m in methods if m.startswith("bm3d")]:
            print(f"bench: bm3d is not installed (pip install bm3d; non-commercial licence): {name} skipped")
            methods.remove(name)
    root = protocols.data_root(args.data) if not args.images else None
    if args.suite == "sr":
        cases = protocols.sr_cases(root, args.scales, args.crop, args.images)
        average = {f"x{k}": v for k, v in published.SR_AVERAGE.items()}
    elif args.suite == "denoise":
        cases = protocols.denoise_cases(root, args.sigma, args.crop, args.images)
        average = {}
    elif args.suite == "real":
        cases = protocols.real_cases(root, args.crop, args.images)
        average = {}
    else:
        cases = protocols.inpaint_cases(root, args.crop, args.images)
        dip = [v["DIP"] for v in published.INPAINT_IMAGE.values()]
        average = {
            "50%": {
                f"DIP ({len(dip)} images here)": sum(dip) / len(dip),
                **{f"{k} (11 images)": v for k, v in published.INPAINT_AVERAGE_11.items()},
            }
        }
    runnable = []
    for case in cases:
        case.oracle = args.oracle
        reason = case.skip_reason()
        if reason:
            print(f"bench: {case.setting} {case.name} skipped: {reason}")
        else:
            runnable.append(case)
    cases = runnable
    if args.limit:
        settings = dict.fromkeys(c.setting for c in cases)
        cases = [c for s in settings for c in [c for c in cases if c.setting == s][: args.limit]]
        average = {}  # published averages are over the whole set
    if args.crop:  # published figures are for whole images
        average = {}
        for case in cases:
            case.published = {}
    if args.suite == "denoise":  # the published averages of the images actually run
        for setting in dict.fromkeys(c.setting for c in cases):
            figures = [c.published for c in cases if c.setting == setting and c.published]
            if figures and len(figures) == len([c for c in cases if c.setting == setting]):
                average[setting] = {k: sum(f[k] for f in figures) / len(figures) for k in figures[0]}
    reduced = [
        f"{k} {v}"
        for k, v in (
            ("crop", args.crop),
            ("limit", args.limit),
            ("iters", args.iters),
            ("holdout", args.holdout),
            ("budget %", args.budget),
        )
        if v
    ]
    protocol = (
        f"{args.suite}: {SUITE_HELP[args.suite]}"
        + (
            " — ORACLE: the methods get the true σ, kernel and mask kind"
            if args.oracle
            else " — blind: σ estimated, the default SR kernel, the mask kind decided from the mask"
        )
        + (f" — REDUCED, not the full protocol ({', '.join(reduced)})" if reduced else " — full protocol")
        + (f"; images from {args.images}" if args.images else "")
    )
    if args.budget and args.no_probe:
        raise InputError("--budget is a share of the paper preset's time, which --no-probe leaves unmeasured")
    rows = run_suite(
        cases,
        methods,
        args.iters,
        probe=not args.no_probe,
        holdout=args.holdout,
        budget=args.budget,
        partial=args.out / "rows.partial.json",
    )
    text = write_outputs(args.out, rows, averages(rows, average), protocol, environment())
    print(text)
    print(f"written: {args.out}/results.md, results.csv, results.json, psnr_vs_time.png")
    return 0


def _speed(args: argparse.Namespace) -> int:
    from .speed import measure_speed

    rows = measure_speed(args.size, args.rounds, args.per_round, args.warmup, tuple(args.presets.split(",")))
    print(
        f"DIP denoising step at {args.size}², {rows[0]['threads']} threads, median of {args.rounds} "
        f"interleaved rounds of {args.per_round} steps, "
        f"matmul peak {rows[0]['peak_gflops']:.0f} GFLOP/s"
    )
    print(
        "| implementation | GFLOP/step | s/step | % of peak | speed-up vs baseline |\n|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['name']} | {r['gflop_per_step']:.1f} | {r['s_per_step']:.3f} | "
            f"{100 * r['peak_fraction']:.0f} % | {r['speedup']:.2f}× |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(rows, indent=1))
    return 0
