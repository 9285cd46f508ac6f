"""Run methods on benchmark cases; write the Markdown, CSV, JSON and PSNR-against-time outputs.

A method is one of ours (a DIP preset or Zero-Shot Noise2Noise, run through the public API) or a
classical baseline. For every case the runner also times a short probe of DIP's ``paper`` preset
on the same input, so that each of our runs is reported as ``projected paper time ÷ our time``
measured in the same run. Time spent scoring the per-step curve is left out of every time.
"""

from __future__ import annotations

import csv
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import api, registry
from ..imageio import atomic_path
from ..methods.loop import host_image
from ..methods.stopping import EarlyStopping
from ..tasks import TASKS, prepare, preset_task
from .baselines import BASELINES
from .protocols import SUITE_TASKS, Case

# Every run of ours is timed against this variant (DIP's paper preset): its seconds per step, from
# a short probe on the same case, times its steps is the "projected paper time".
REFERENCE = "paper"


@dataclass
class ScoreCurve:
    """Callback: the case's own score (e.g. Y-PSNR for SR) of the estimate every ``every`` steps
    and at the last one; with a ``budget`` it stops the run once it has taken that many seconds.

    ``spent`` is the time the callback itself took; the points' times and the budget leave it out.
    """

    case: Case
    every: int = 50
    budget: float | None = None
    points: list[tuple[int, float, float]] = field(default_factory=list)  # (step, seconds, PSNR)
    spent: float = 0.0

    def on_step(self, run) -> None:
        if self.budget is not None and run.history["seconds"][-1] - self.spent >= self.budget:
            run.stop = True
        if run.iteration % self.every == 0 or run.iteration == run.config.iters or run.stop:
            start = time.perf_counter()
            score = self.case.psnr(run.estimate())
            self.points.append((run.iteration, run.history["seconds"][-1] - self.spent, score))
            self.spent += time.perf_counter() - start


def _variant(name: str) -> tuple[registry.Method, dict[str, Any], dict[str, Any]]:
    """A bench entry's method, its task inputs and its run options."""
    method, options = registry.variants()[name]
    options = {k: v for k, v in options.items() if k != "tasks"}
    task_inputs = {name for task in TASKS.values() for name in task.inputs}
    return (
        method,
        {k: v for k, v in options.items() if k in task_inputs},
        {k: v for k, v in options.items() if k not in task_inputs},
    )


def _inputs(case: Case, method: registry.Method, variant_inputs: dict[str, Any]) -> dict[str, Any]:
    """The protocol's task inputs that ``method`` uses, then the variant's own."""
    known = {k: v for k, v in case.inputs.items() if k != "sigma" or method.needs_sigma}
    return {**known, **variant_inputs}


def _ours(case: Case, name: str, iters: int | None, callbacks: list, seed: int = 0, holdout: float = 0.0):
    method, variant_inputs, options = _variant(name)
    if "iters" in method.options:
        options.update(iters=iters, seed=seed, callbacks=callbacks)
    if holdout and method.takes({"config": {"holdout": holdout}}):
        options["config"] = {"holdout": holdout}
    return api.run(
        case.task, case.observed, method=method.name, **_inputs(case, method, variant_inputs), **options
    )


def steps_of(case: Case, name: str, iters: int | None = None) -> int:
    """The steps bench entry ``name`` runs on ``case`` (its preset's, or ``iters``)."""
    method, variant_inputs, options = _variant(name)
    job = prepare(case.task, case.observed, **_inputs(case, method, variant_inputs))
    return method.configure(job, registry.RunOptions(preset=options.get("preset"), iters=iters)).iters


class _StepTimer:
    """Callback: wall time from the end of step ``warmup`` to the end of the last step."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_step(self, run) -> None:
        if run.iteration == self.warmup:
            self.start = time.perf_counter()
        if run.iteration == run.config.iters:
            self.end = time.perf_counter()


def paper_seconds_per_step(case: Case, steps: int = 5, warmup: int = 2) -> float:
    """Seconds per step of the ``REFERENCE`` entry (DIP's paper preset) on this case, from a short probe."""
    timer = _StepTimer(warmup)
    _ours(case, REFERENCE, warmup + steps, [timer])
    return (timer.end - timer.start) / steps


# What a one-inference run decided for itself, kept in its row (the noise kind ``auto`` chose, the
# passes the camera model kept).
RUN_CONFIG = ("noise", "passes_kept")


def run_case(
    case: Case,
    method: str,
    iters: int | None,
    probe: float | None,
    holdout: float = 0.0,
    budget: float | None = None,
) -> dict[str, Any]:
    """Run ``method`` on ``case``; return one row of figures. ``holdout``: DIP leaves that fraction of
    the observed pixels out of the loss, and the automatic stop watches their error instead of
    the variance of the outputs. ``budget``: a fitting method stops at that percentage of the
    paper preset's projected time (``probe`` × its steps)."""
    ours = method in registry.variants()
    paper_steps = steps_of(case, REFERENCE)
    row: dict[str, Any] = {
        "suite": case.suite,
        "setting": case.setting,
        "image": case.name,
        "method": method,
        "published": case.published,
    }
    start = time.perf_counter()
    spent = 0.0
    if ours and "iters" not in _variant(method)[0].options:  # one inference: its curve is one point
        result = _ours(case, method, iters, [])
        image = result.image
        row.update(steps=None, curve=[(0, result.seconds, case.psnr(np.asarray(image, dtype=np.float32)))])
        row.update({key: result.config[key] for key in RUN_CONFIG if key in result.config})
    elif ours:
        steps = steps_of(case, method, iters)
        # A method that can stop early has an estimate at every step (DIP's moving average); the
        # others' estimates are full (8-fold) inferences, so their curves have two points.
        stepwise = "early_stop" in _variant(method)[0].options
        curve = ScoreCurve(
            case,
            every=50 if stepwise else max(1, steps // 2),
            budget=budget / 100 * probe * paper_steps if budget and probe else None,
        )
        # observed only: the run goes on to the preset's end
        stopping = EarlyStopping(stop=False, signal="holdout" if holdout else "variance")
        result = _ours(case, method, iters, [curve, stopping] if stepwise else [curve], holdout=holdout)
        image, spent = result.image, curve.spent
        if stepwise and stopping.best_image is not None:
            row.update(
                auto_stop_step=stopping.stop_iteration,
                auto_best_step=stopping.best_iteration,
                psnr_auto=case.psnr(host_image(stopping.best_image)),
                auto_signal=stopping.signal,
            )
        oracle = max(curve.points, key=lambda point: point[2])
        row.update(oracle_step=oracle[0], psnr_oracle=oracle[2], steps=result.iterations, curve=curve.points)
    if ours:
        target = case.published.get("DIP")
        reached = next(
            ((s, t) for s, t, p in row["curve"] if target is not None and p >= target), (None, None)
        )
        row.update(
            reach_step=reached[0],
            reach_s=reached[1],
            paper_s_per_step=probe,
            projected_paper_s=None if probe is None else probe * paper_steps,
        )
    else:
        image = BASELINES[method][1](case)
    row["seconds"] = time.perf_counter() - start - spent
    if row.get("projected_paper_s"):
        row["speedup"] = row["projected_paper_s"] / row["seconds"]
        for percent in (1, 2):
            row[f"psnr_at_{percent}pct"] = _score_at(row["curve"], percent / 100 * row["projected_paper_s"])
    row["psnr"], row["ssim"] = case.score(np.asarray(image, dtype=np.float32))
    return row


def _score_at(curve: list[tuple[int, float, float]], seconds: float) -> float | None:
    """The last score of the curve reached within ``seconds`` (None if none was)."""
    within = [score for _step, t, score in curve if t <= seconds]
    return within[-1] if within else None


def applicable(method: str, suite: str) -> bool:
    """Whether bench entry ``method`` (ours or a baseline) runs on ``suite``'s cases."""
    if method in registry.variants():
        spec, options = registry.variants()[method]
        return any(task in options.get("tasks", spec.tasks) for task in SUITE_TASKS[suite])
    return method in BASELINES and suite in BASELINES[method][0]


def _serves(method: str, case: Case) -> bool:
    """Whether entry ``method`` (ours or a baseline) serves the task of this very case (and its
    setting: the shipped Bernoulli model fills in keep-masks and text, not large holes)."""
    if method not in registry.variants():
        return True
    spec, variant_inputs, _options = _variant(method)
    if case.task not in registry.variants()[method][1].get("tasks", spec.tasks):
        return False
    return not spec.preset_tasks or spec.serves(
        preset_task(case.task, case.observed, **_inputs(case, spec, variant_inputs))
    )


def run_suite(
    cases: list[Case],
    methods: list[str],
    iters: int | None = None,
    probe: bool = True,
    holdout: float = 0.0,
    budget: float | None = None,
    partial: Path | None = None,
) -> list[dict]:
    """Every applicable method on every case, with one progress bar (and ETA) over the suite.
    ``partial``: a JSON file rewritten with the rows so far after each run, so that a crash or
    an interrupt keeps what was measured."""
    jobs = [(c, m) for c in cases for m in methods if applicable(m, c.suite) and _serves(m, c)]
    rows, probes = [], {}
    with tqdm(jobs, desc="bench", unit="run", dynamic_ncols=True) as bar:
        for case, method in bar:
            bar.set_postfix_str(f"{case.setting} {case.name} {method}")
            key = id(case)
            if method in registry.variants() and probe and key not in probes:
                probes[key] = paper_seconds_per_step(case)
            rows.append(run_case(case, method, iters, probes.get(key), holdout, budget))
            if partial is not None:
                partial.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(partial) as tmp:
                    tmp.write_text(json.dumps(rows, indent=1))
    return rows


PARETO_FRACTIONS = (0.01, 0.02, 0.05, 0.1)  # of the paper preset's projected time


def pareto(rows: list[dict]) -> list[dict]:
    """Mean (seconds, PSNR) points of one setting's methods: each run's end, and for runs with a
    curve its PSNR at the ``PARETO_FRACTIONS`` of the paper's projected time that it lasted past
    and had a score by (every run of the method).
    ``front`` marks the points that no other point matches in both time and PSNR while beating
    them in one (equal points do not remove each other)."""
    points = []
    for method in dict.fromkeys(r["method"] for r in rows):
        group = [r for r in rows if r["method"] == method]
        if all(r.get("projected_paper_s") and len(r.get("curve") or ()) > 1 for r in group):
            for fraction in PARETO_FRACTIONS:
                scores = [_score_at(r["curve"], fraction * r["projected_paper_s"]) for r in group]
                if None not in scores and all(
                    r["seconds"] >= fraction * r["projected_paper_s"] for r in group
                ):
                    points.append(
                        {
                            "method": method,
                            "at": f"{fraction:.0%} of paper time",
                            "seconds": float(np.mean([fraction * r["projected_paper_s"] for r in group])),
                            "psnr": float(np.mean(scores)),
                        }
                    )
        points.append(
            {
                "method": method,
                "at": "end",
                "seconds": float(np.mean([r["seconds"] for r in group])),
                "psnr": float(np.mean([r["psnr"] for r in group])),
            }
        )
    for p in points:
        p["front"] = not any(
            q["seconds"] <= p["seconds"]
            and q["psnr"] >= p["psnr"]
            and (q["seconds"], q["psnr"]) != (p["seconds"], p["psnr"])
            for q in points
        )
    return sorted(points, key=lambda p: p["seconds"])


def averages(rows: list[dict], published_average: dict[str, dict[str, float]]) -> list[dict]:
    """Mean PSNR / SSIM / seconds per (setting, method), with the published average beside it."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows if r["setting"] == setting):
            group = [r for r in rows if r["setting"] == setting and r["method"] == method]
            mean = {k: float(np.mean([r[k] for r in group])) for k in ("psnr", "ssim", "seconds")}
            out.append(
                {
                    "setting": setting,
                    "method": method,
                    "images": len(group),
                    **mean,
                    "published": published_average.get(setting, {}),
                }
            )
    return out


def environment(device: str = "cpu") -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        "python": platform.python_version(),
    }


# Suites whose settings split one protocol (real: the cameras), averaged over all of them too.
POOLED_SUITES = {"real"}


def _fmt(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(rows: list[dict], means: list[dict], protocol: str, env: dict[str, Any]) -> str:
    """Tables per setting (image rows, then averages) with the published figures beside ours."""
    lines = [
        f"Protocol: {protocol}",
        f"Environment: {env['cpu']}, {env['threads']} threads, torch {env['torch']}, {env['device']}",
        "",
    ]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        lines += [
            f"### {rows[0]['suite']} {setting}",
            "",
            "| image | method | PSNR | SSIM | paper's DIP | Δ vs paper | other published | s | steps "
            "| paper time (projected s) | speed-up | PSNR at 1 % / 2 % of paper time "
            "| reaches paper's PSNR at step (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in (r for r in rows if r["setting"] == setting):
            dip = r["published"].get("DIP")
            others = ", ".join(f"{k} {v:.2f}" for k, v in r["published"].items() if k != "DIP") or "–"
            reach = "–" if r.get("reach_step") is None else f"{r['reach_step']} ({r['reach_s']:.0f})"
            lines.append(
                f"| {r['image']} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | {_fmt(dip)} | "
                f"{_fmt(None if dip is None else r['psnr'] - dip, 2)} | {others} | {r['seconds']:.1f} | "
                f"{_fmt(r.get('steps'))} | {_fmt(r.get('projected_paper_s'), 0)} | "
                f"{_fmt(r.get('speedup'), 1)} | {_fmt(r.get('psnr_at_1pct'))} / "
                f"{_fmt(r.get('psnr_at_2pct'))} | {reach} |"
            )
        stops = [r for r in rows if r["setting"] == setting and r.get("psnr_auto") is not None]
        if stops:
            signal = {
                "variance": "ES-WMV: variance of the last 100 outputs",
                "holdout": "error on the held-out pixels",
            }[stops[0].get("auto_signal", "variance")]
            lines += [
                "",
                f"Automatic stopping ({signal}, patience 1000, observed without stopping) "
                "against the oracle best iterate (the best PSNR of the curve, read every 50 steps):",
                "",
                "| image | method | PSNR at the end | oracle best (step) | automatic pick (step) "
                "| pick − oracle "
                "| rule fired at step |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {r['image']} | {r['method']} | {r['psnr']:.2f} "
                f"| {r['psnr_oracle']:.2f} ({r['oracle_step']}) "
                f"| {r['psnr_auto']:.2f} ({r['auto_best_step']}) | {r['psnr_auto'] - r['psnr_oracle']:+.2f} "
                f"| {_fmt(r['auto_stop_step'])} |"
                for r in stops
            ]
        lines += [
            "",
            "| average | images | PSNR | SSIM | s | published average |",
            "|---|---|---|---|---|---|",
        ]
        for m in (m for m in means if m["setting"] == setting):
            pub = ", ".join(f"{k} {v:.2f}" for k, v in m["published"].items()) or "–"
            lines.append(
                f"| {m['method']} | {m['images']} | {m['psnr']:.2f} | {m['ssim']:.4f} | "
                f"{m['seconds']:.1f} | {pub} |"
            )
        lines += [
            "",
            "PSNR against time (means over the images; front: no other point is as fast and as good):",
            "",
            "| method | at | s | PSNR | front |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {p['method']} | {p['at']} | {p['seconds']:.1f} | {p['psnr']:.2f} "
            f"| {'yes' if p['front'] else ''} |"
            for p in pareto([r for r in rows if r["setting"] == setting])
        ]
        lines.append("")
    if rows[0]["suite"] in POOLED_SUITES and len({r["setting"] for r in rows}) > 1:
        lines += [
            f"### {rows[0]['suite']}: all settings together",
            "",
            "| method | images | PSNR | SSIM | s |",
            "|---|---|---|---|---|",
        ]
        for m in averages([{**r, "setting": "all"} for r in rows], {}):
            lines.append(
                f"| {m['method']} | {m['images']} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_outputs(out: Path, rows: list[dict], means: list[dict], protocol: str, env: dict[str, Any]) -> str:
    """results.md, results.csv, results.json and psnr_vs_time.png in ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(rows, means, protocol, env)
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text(text + "\n")
    columns = [
        "suite",
        "setting",
        "image",
        "method",
        "psnr",
        "ssim",
        "seconds",
        "steps",
        "paper_s_per_step",
        "projected_paper_s",
        "speedup",
        "psnr_at_1pct",
        "psnr_at_2pct",
        "reach_step",
        "reach_s",
        "psnr_oracle",
        "oracle_step",
        "psnr_auto",
        "auto_best_step",
        "auto_stop_step",
    ]
    with atomic_path(out / "results.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(
            json.dumps({"protocol": protocol, "environment": env, "rows": rows, "averages": means}, indent=1)
        )
    _plot(out / "psnr_vs_time.png", rows)
    return text


def _plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours: dict[str, str] = {}
    for r in rows:
        first = r["method"] not in colours
        colour = colours.setdefault(r["method"], f"C{len(colours)}")
        label = r["method"] if first else None
        if r.get("curve"):
            _steps, seconds, values = zip(*r["curve"])
            ax.plot(seconds, values, color=colour, alpha=0.7, lw=1, label=label)
        else:
            ax.scatter([r["seconds"]], [r["psnr"]], color=colour, s=18, label=label)
    ax.set(xscale="log", xlabel="wall time (s, log)", ylabel="PSNR (dB)", title="PSNR against wall time")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
