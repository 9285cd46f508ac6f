"""``deepprior bench``: measurements that every speed and quality claim cites."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..imageio import atomic_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench`` and its suites on the main parser's subcommands."""
    bench = sub.add_parser("bench", help="benchmarks: speed (and quality suites)",
                           description="Benchmarks whose figures the README quotes.")
    suites = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")
    p = suites.add_parser(
        "speed", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="seconds per DIP step: presets against a straightforward implementation",
        description="Time one denoising step of each preset at SIZE² on this machine, against the\n"
                    "paper's net built and stepped the straightforward way (sync + weight copy per\n"
                    "step), with FLOPs per step and the fraction of the machine's matmul peak.",
        epilog="example:\n  deepprior bench speed --size 256 --steps 5 --out results/speed.json")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=5, help="timed steps (after --warmup)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--presets", default="paper,fast", help="comma-separated presets to time")
    p.add_argument("--out", type=Path, help="also write the figures as JSON here")


def run(args: argparse.Namespace) -> int:
    from .speed import measure_speed

    rows = measure_speed(args.size, args.steps, args.warmup, tuple(args.presets.split(",")))
    print(f"DIP denoising step at {args.size}², {rows[0]['threads']} threads, "
          f"matmul peak {rows[0]['peak_gflops']:.0f} GFLOP/s")
    print("| implementation | GFLOP/step | s/step | % of peak | speed-up vs baseline |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['gflop_per_step']:.1f} | {r['s_per_step']:.3f} | "
              f"{100 * r['peak_fraction']:.0f} % | {r['speedup']:.2f}× |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(rows, indent=1))
    return 0
