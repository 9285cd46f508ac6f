"""``deepprior bench n2n``: Noise2Noise against its clean-target twin and classical denoisers.

Trains the U-Net on Train400 (grey) with Gaussian σ ~ U[0, 50] twice, with noisy and with clean
targets, under the same step budget, seed and crops; scores both, NLM and BM3D on Set12 at one σ
(noise added in float, not clipped, seeded per image: the grey-set convention of DnCNN/BM3D).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import n2n
from ..errors import InputError
from ..imageio import atomic_path
from ..methods.noise2noise import N2NConfig
from .baselines import BASELINES, bm3d_available
from .protocols import Case, data_root
from .runner import environment

HELP = (
    "train on Train400 (grey, Gaussian σ ~ U[0, 50]) with noisy and with clean targets under one budget; "
    "score on Set12 at σ (float noise, not clipped) against NLM and BM3D"
)


def add_parser(suites: argparse._SubParsersAction) -> None:
    from . import add_force, add_oracle

    p = suites.add_parser(
        "n2n",
        help="Noise2Noise: noisy vs clean targets, against NLM/BM3D",
        description=HELP + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  deepprior bench n2n                 # the README table\n"
        "  deepprior bench n2n --iters 50 --width 8 --limit 2 --out results/quick",
    )
    p.add_argument("--data", type=Path, help="folder holding Train400/ and Set12/ (default: shared/data)")
    p.add_argument("--sigma", type=float, default=25.0, help="test σ on the 0–255 scale (default 25)")
    add_training_options(p, "Train400 images")
    p.add_argument("--limit", type=int, help="score only the first N Set12 images (not the full protocol)")
    p.add_argument(
        "--parallel",
        action="store_true",
        help="train the targets at once, one process each, sharing the cores equally (on 2 cores "
        "this was slower: 0.88 s a step per process against 0.31 s with both cores in turn)",
    )
    p.add_argument(
        "--ship", type=Path, help="also copy the noisy-target model (last step) here, weights in float16"
    )
    add_oracle(p)
    p.add_argument("--out", type=Path, default=Path("results/bench/n2n"))
    add_force(p)


# The options of a training that ``add_training_options`` adds, passed on to ``n2n.train``.
SETTINGS = ("holdout", "iters", "width", "depth", "batch", "crop", "lr", "seed")


def add_training_options(p: argparse.ArgumentParser, held_out: str) -> None:
    """The options of a suite that trains with noisy and with clean targets and scores baselines:
    --targets, --baselines, the U-Net's and the training's settings (``SETTINGS``), --eval-only."""
    p.add_argument("--targets", default="noisy,clean", help="which trainings to run (default noisy,clean)")
    p.add_argument("--baselines", default="nlm,bm3d", help="classical denoisers to score (default nlm,bm3d)")
    defaults = N2NConfig()
    for name in ("iters", "width", "depth", "batch", "crop", "lr"):
        value = getattr(defaults, name)
        p.add_argument(f"--{name}", type=type(value), default=value, help=f"default {value:g}")
    p.add_argument("--holdout", type=int, default=8, help=f"{held_out} held out for validation (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--eval-only",
        action="store_true",
        help="score the models already trained in OUT (same settings) without training again",
    )


def chosen(args: argparse.Namespace) -> tuple[list[str], list[str], dict[str, Any]]:
    """The targets and baselines asked for (bm3d dropped, with a line, when not installed) and the
    training settings."""
    targets = [t for t in args.targets.split(",") if t]
    baselines = [b for b in args.baselines.split(",") if b]
    if set(targets) - {"noisy", "clean"} or set(baselines) - set(BASELINES):
        raise InputError(f"--targets takes noisy,clean and --baselines some of {', '.join(BASELINES)}")
    if "bm3d" in baselines and not bm3d_available():
        print(
            "bench: bm3d is not installed (pip install 'deepprior[bench]'; non-commercial licence): skipped"
        )
        baselines.remove("bm3d")
    return targets, baselines, {name: getattr(args, name) for name in SETTINGS}


def run(args: argparse.Namespace) -> int:
    root = data_root(args.data)
    targets, baselines, settings = chosen(args)
    noise = f"gaussian:{args.sigma:g}"
    test = n2n.noisy_test_set(root / "Set12", noise, seed=args.seed)[: args.limit]
    source = {"images": root / "Train400", "noise": "gaussian:0-50"}
    jobs = [(source, args.out / f"{t}_targets", t, settings) for t in targets]
    timings = train_all(jobs, eval_only=args.eval_only, parallel=args.parallel)
    scores: dict[str, dict[str, Any]] = {}
    for (_, folder, target, _), (wall, cpu) in zip(jobs, timings):
        for which in ("best", "last"):  # best: the highest validation PSNR on the held-out images
            model = n2n.load(folder / f"{which}.pt", device="cpu")
            scores[f"N2N, {target} targets, {which} (step {model.info['iterations']})"] = {
                **n2n.evaluate(model, test),
                "train_wall_s": wall,
                "train_cpu_s": cpu,
                "val_psnr": model.info["val_psnr"],
            }
            if target == "noisy" and which == "last" and args.ship:
                model.model.save(args.ship, half=True)
    for name in baselines:
        start = time.perf_counter()
        rows = []
        for item in test:
            case = Case(
                "denoise",
                item.name,
                f"σ{args.sigma:g}",
                item.clean[0],
                item.noisy[0],
                sigma=args.sigma,
                oracle=args.oracle,
            )
            rows.append({"name": item.name, "psnr": case.psnr(BASELINES[name][1](case)), "ssim": np.nan})
        scores[name.upper()] = {
            "images": rows,
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "seconds": time.perf_counter() - start,
        }
    text = _markdown(scores, args, len(test))
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "results.md") as tmp:
        tmp.write_text(text)
    with atomic_path(args.out / "results.json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "scores": scores,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "environment": environment(),
                },
                indent=1,
                default=float,
            )
        )
    print(text)
    return 0


Job = tuple[dict[str, Any], Path, str, dict[str, Any]]  # (data and noise, folder, targets, settings)


def train_all(
    jobs: list[Job], *, eval_only: bool = False, parallel: bool = False
) -> list[tuple[float, float]]:
    """Train each job's model (in turn, or at once with ``parallel``), or with ``eval_only`` read
    the timings of the trainings already in their folders; (wall, CPU) seconds of each."""
    if eval_only:
        return [_timing(folder) for _, folder, _, _ in jobs]
    if parallel and len(jobs) > 1:
        threads = max(1, (os.cpu_count() or 1) // len(jobs))
        with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_train, jobs, [threads] * len(jobs)))
    return [_train(job) for job in jobs]


def _train(job: Job, threads: int | None = None) -> tuple[float, float]:
    """Train one model into its folder; returns (wall, CPU) seconds of the training."""
    source, folder, target, settings = job
    if threads:
        torch.set_num_threads(threads)
    wall, cpu = time.perf_counter(), time.process_time()
    n2n.train(
        **source,
        out=folder,
        force=True,  # the bench's own folder under --out, checked before the run
        targets=target,
        device="cpu",
        progress=False if threads else None,
        val_every=max(1, settings["iters"] // 20),
        **settings,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with atomic_path(folder / "timing.json") as tmp:
        tmp.write_text(json.dumps({"wall_s": wall, "cpu_s": cpu}))
    return wall, cpu


def _timing(folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of a finished training in ``folder``; CPU is NaN if not recorded."""
    if (folder / "timing.json").exists():
        timing = json.loads((folder / "timing.json").read_text())
        return timing["wall_s"], timing["cpu_s"]
    if not (folder / "training.json").exists():
        raise InputError(f"--eval-only: no finished training in '{folder}'")
    return json.loads((folder / "training.json").read_text())["seconds"], float("nan")


def _markdown(scores: dict[str, dict[str, Any]], args: argparse.Namespace, count: int) -> str:
    names = [r["name"] for r in next(iter(scores.values()))["images"]]
    reduced = " — REDUCED (not all of Set12)" if args.limit else ""
    lines = [
        f"# Noise2Noise on Set12, σ = {args.sigma:g}{reduced}",
        "",
        f"Protocol: {HELP}. U-Net width {args.width}, depth {args.depth}; {args.iters} steps of "
        f"{args.batch}×{args.crop}² crops, Adam lr {args.lr:g} "
        f"(β2 0.99, cosine ramp-down over the last 30 %), "
        f"seed {args.seed}; {count} test images; the models denoise in overlapping {args.crop}² windows "
        f"(their training crop) two thirds of a window apart. "
        f"best = highest validation PSNR on {args.holdout} "
        f"held-out Train400 images, last = the end of training. The baselines' σ: "
        + ("the true one (--oracle)." if args.oracle else "estimated from each noisy image (blind)."),
        "",
        "| method | " + " | ".join(names) + " | mean PSNR | training (wall / CPU) |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    for method, s in scores.items():
        cells = " | ".join(f"{r['psnr']:.2f}" for r in s["images"])
        if "train_wall_s" in s:
            cpu = s["train_cpu_s"]
            cost = f"{s['train_wall_s'] / 60:.1f} min / " + ("–" if cpu != cpu else f"{cpu / 60:.1f} CPU-min")
        else:
            cost = f"{s['seconds']:.0f} s to denoise"
        lines.append(f"| {method} | {cells} | **{s['psnr']:.2f}** | {cost} |")
    for which in ("best", "last"):
        found = {
            t: s["psnr"]
            for name, s in scores.items()
            for t in ("noisy", "clean")
            if name.startswith(f"N2N, {t} targets, {which}")
        }
        if len(found) == 2:
            lines.append(
                f"\nNoisy targets minus clean targets ({which} models): "
                f"{found['noisy'] - found['clean']:+.2f} dB."
            )
    return "\n".join(lines) + "\n"
