"""``deepprior bench speed``: time one DIP step of a preset against the straightforward baseline.

All figures come from one run on one machine: the machine's matmul peak, the baseline (the paper's
net built as the original code does, stepped as the official notebook does: a host sync and a
copy of every weight each step) and deepprior's loop on the same input size and configuration.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..methods.dip import DIPFit
from ..presets import get_preset
from ..problem import Problem
from .reference_skip import reference_skip


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a large float32 matrix product: the practical peak of this machine."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def _interleaved_seconds(steps: dict[str, Callable[[], None]], rounds: int, per_round: int,
                         warmup: int) -> dict[str, float]:
    """Median seconds per step of each callable, timed in alternating rounds so that the
    machine's drift (other load, frequency changes) falls on all of them alike."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            times[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(values) for name, values in times.items()}


def _baseline_step(size: int, lr: float, reg_noise_std: float) -> Callable[[], None]:
    net = reference_skip()
    z = torch.rand(1, 32, size, size) * 0.1
    y = torch.rand(1, 3, size, size)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    kept: list = []

    def step() -> None:
        optimizer.zero_grad()
        out = net(z + torch.randn_like(z) * reg_noise_std)
        loss = torch.mean((out - y) ** 2)
        loss.backward()
        loss.item()                                                  # sync every step
        kept[:] = [p.detach().cpu() for p in net.parameters()]  # the notebook's backtracking copy
        optimizer.step()
    return step


def measure_speed(size: int = 256, rounds: int = 4, per_round: int = 2, warmup: int = 1,
                  presets: tuple[str, ...] = ("paper", "fast")) -> list[dict[str, Any]]:
    """Seconds per denoising step at ``size``² for the baseline and each preset, in one run.

    Each row: name, GFLOP per step, median seconds per step over ``rounds`` interleaved rounds of
    ``per_round`` steps, fraction of the matmul peak, and ``speedup`` = baseline seconds ÷ this
    row's seconds (the baseline runs the paper's net and configuration).
    """
    peak = matmul_peak()
    paper = get_preset("denoise", "paper")
    steps = {"baseline": _baseline_step(size, paper.lr, paper.reg_noise_std)}
    flops = {}
    for name in ("baseline", *presets):
        run = DIPFit(Problem(y=torch.rand(1, 3, size, size)), get_preset("denoise", "paper" if name == "baseline" else name))
        with FlopCounterMode(display=False) as counter:
            run.step()
        flops[name] = counter.get_total_flops()
        if name != "baseline":
            steps[name] = run.step
    seconds = _interleaved_seconds(steps, rounds, per_round, warmup)
    return [{"name": name, "size": size, "threads": torch.get_num_threads(), "gflop_per_step": flops[name] / 1e9,
             "s_per_step": seconds[name], "peak_fraction": flops[name] / seconds[name] / peak,
             "peak_gflops": peak / 1e9, "speedup": seconds["baseline"] / seconds[name]} for name in steps]
