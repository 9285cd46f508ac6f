"""``deepprior bench render``: Noise2Noise on Monte Carlo renders, noisy against clean targets.

Trains the U-Net on the noisy pairs of ``deepprior render-data`` scenes twice, with the other
noisy frame as the target (Noise2Noise) and with the scene's high-spp reference, under one step
budget, seed and crops (``hdr``: relative L2 on linear values); scores both and classical
denoisers on held-out scenes (other seeds) by PSNR/SSIM of tone-mapped values
(``colour.tone_map``: x / (1 + x), gamma 2.2) against each test scene's reference.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import n2n
from ..colour import tone_map
from ..errors import InputError
from ..imageio import atomic_path, write_image
from ..metrics import psnr, ssim
from ..trainingdata import load_pairs
from .baselines import BASELINES
from .n2n import add_training_options, chosen, train_all
from .protocols import Case
from .runner import environment

HELP = (
    "train on renders' noisy pairs (deepprior render-data) with noisy and with reference targets "
    "under one budget (relative L2 on linear HDR values); score each held-out scene's first noisy "
    "frame against its reference by PSNR/SSIM after the tone map x/(1+x), gamma 2.2, beside "
    "classical denoisers run on the tone-mapped frame"
)


def add_parser(suites: argparse._SubParsersAction) -> None:
    from . import add_force

    p = suites.add_parser(
        "render",
        help="Noise2Noise on Monte Carlo renders: noisy vs reference targets, against NLM/BM3D",
        description=HELP + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  deepprior render-data --out renders/train --scenes 96\n"
        "  deepprior render-data --out renders/test --scenes 12 --seed 1 --reference-spp 2048\n"
        "  deepprior bench render --train renders/train --test renders/test --iters 3000  # the README table",
    )
    p.add_argument("--train", type=Path, required=True, help="render-data folder to train on")
    p.add_argument("--test", type=Path, required=True, help="render-data folder of held-out scenes")
    add_training_options(p, "training scenes")
    p.add_argument("--out", type=Path, default=Path("results/bench/render"))
    add_force(p)


def _scenes(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, first noisy frame, reference) of each test scene, (H, W, 3) linear float32."""
    data = load_pairs(folder, linear=True)
    if not data.has_references:
        raise InputError(f"every scene in '{folder}' needs its reference.exr to be scored")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [
        (name, frames[0].transpose(1, 2, 0), reference.transpose(1, 2, 0))
        for name, frames, reference in zip(names, data.bursts, data.references)
    ]


def _render_seconds(folder: Path) -> dict[str, float]:
    record = folder / "render.json"
    return json.loads(record.read_text())["seconds"] if record.exists() else {}


def run(args: argparse.Namespace) -> int:
    targets, baselines, settings = chosen(args)
    test = _scenes(args.test)
    source = {"pairs": args.train, "hdr": True}
    jobs = [(source, args.out / f"{t}_targets", t, settings) for t in targets]
    timings = train_all(jobs, eval_only=args.eval_only)
    shown = {name: tone_map(reference) for name, _, reference in test}
    outputs: dict[str, dict[str, np.ndarray]] = {"input": {n: tone_map(noisy) for n, noisy, _ in test}}
    seconds: dict[str, float] = {"input": 0.0}
    extra: dict[str, dict[str, Any]] = {}
    for (_, folder, target, _), (wall, cpu) in zip(jobs, timings):
        for which in ("best", "last"):
            model = n2n.load(folder / f"{which}.pt", device="cpu")
            kind = "noisy" if target == "noisy" else "reference"
            name = f"N2N, {kind} targets, {which} (step {model.info['iterations']})"
            start = time.perf_counter()
            outputs[name] = {n: tone_map(model.denoise(noisy)) for n, noisy, _ in test}
            seconds[name] = time.perf_counter() - start
            extra[name] = {"train_wall_s": wall, "train_cpu_s": cpu, "val_psnr": model.info["val_psnr"]}
    for baseline in baselines:
        start = time.perf_counter()
        outputs[baseline.upper()] = {
            n: np.clip(BASELINES[baseline][1](Case("real", n, "render", shown[n], outputs["input"][n])), 0, 1)
            for n, _, _ in test
        }
        seconds[baseline.upper()] = time.perf_counter() - start
    scores = {
        method: {
            "images": [
                {
                    "name": n,
                    "psnr": psnr(out[n], shown[n], data_range=1.0),
                    "ssim": ssim(out[n], shown[n], data_range=1.0),
                }
                for n, _, _ in test
            ],
            "seconds_per_scene": seconds[method] / len(test),
            **extra.get(method, {}),
        }
        for method, out in outputs.items()
    }
    for s in scores.values():
        s["psnr"] = float(np.mean([r["psnr"] for r in s["images"]]))
        s["ssim"] = float(np.mean([r["ssim"] for r in s["images"]]))
    text = _markdown(scores, args, len(test))
    args.out.mkdir(parents=True, exist_ok=True)
    _panel(outputs, shown, args.out / "panel.png")
    with atomic_path(args.out / "results.md") as tmp:
        tmp.write_text(text)
    with atomic_path(args.out / "results.json") as tmp:
        record = {
            "scores": scores,
            "args": {k: str(v) for k, v in vars(args).items()},
            "environment": environment(),
        }
        tmp.write_text(json.dumps(record, indent=1, default=float))
    print(text)
    return 0


def _panel(outputs: dict[str, dict[str, np.ndarray]], shown: dict[str, np.ndarray], path: Path) -> None:
    """Rows of up to four test scenes: each method's tone-mapped output (input, the N2N models'
    best, the baselines), then the reference."""
    methods = [m for m in outputs if "last" not in m]
    rows = [np.concatenate([outputs[m][n] for m in methods] + [shown[n]], 1) for n in list(shown)[:4]]
    write_image(path, np.concatenate(rows, 0), overwrite=True)


def _markdown(scores: dict[str, dict[str, Any]], args: argparse.Namespace, count: int) -> str:
    rendered = _render_seconds(args.train)
    cost = (
        f" Rendering the training data took {rendered['frames']:.0f} s (noisy frames) and "
        f"{rendered['references']:.0f} s (references)."
        if rendered
        else ""
    )
    lines = [
        f"# Noise2Noise on Monte Carlo renders: {count} held-out scenes",
        "",
        f"Protocol: {HELP}. U-Net width {args.width}, depth {args.depth}; {args.iters} steps of "
        f"{args.batch}×{args.crop}² crops, Adam lr {args.lr:g}, seed {args.seed}; best = highest "
        f"validation PSNR on {args.holdout} held-out training scenes, last = the end of training.{cost}",
        "",
        "| method | PSNR (tone-mapped) | SSIM | s / scene | training (wall) |",
        "|---|---|---|---|---|",
    ]
    for method, s in scores.items():
        training = f"{s['train_wall_s'] / 60:.1f} min" if "train_wall_s" in s else "–"
        per_scene = s["seconds_per_scene"]
        lines.append(f"| {method} | **{s['psnr']:.2f}** | {s['ssim']:.4f} | {per_scene:.2f} | {training} |")
    found = {
        t: s["psnr"]
        for m, s in scores.items()
        for t in ("noisy", "reference")
        if m.startswith(f"N2N, {t} targets, last")
    }
    if len(found) == 2:
        gap = found["noisy"] - found["reference"]
        lines.append(f"\nNoisy targets minus reference targets (last models): {gap:+.2f} dB.")
    return "\n".join(lines) + "\n"
