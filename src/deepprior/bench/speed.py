"""``deepprior bench speed``: time one DIP step of a preset against the straightforward baseline.

All figures come from one run on one machine: the machine's matmul peak, the baseline (the paper's
net built as the original code does, stepped as the official notebook does: a host sync and a
copy of every weight each step) and deepprior's loop on the same input size and configuration.
"""
from __future__ import annotations

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


def _seconds_per_step(step: Callable[[], None], steps: int, warmup: int) -> float:
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


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
        kept[:] = [p.detach().cpu().clone() for p in net.parameters()]  # backtracking copy
        optimizer.step()
    return step


def measure_speed(size: int = 256, steps: int = 5, warmup: int = 2,
                  presets: tuple[str, ...] = ("paper", "fast")) -> list[dict[str, Any]]:
    """Seconds per denoising step at ``size``² for the baseline and each preset, in one run.

    Each row: name, GFLOP per step, seconds per step, fraction of the matmul peak, and
    ``speedup`` = baseline seconds ÷ this row's seconds (the baseline runs the paper's net).
    """
    peak = matmul_peak()
    paper = get_preset("denoise", "paper")
    baseline = _seconds_per_step(_baseline_step(size, paper.lr, paper.reg_noise_std), steps, warmup)
    rows = []
    for name in ("baseline", *presets):
        config = get_preset("denoise", "paper" if name == "baseline" else name)
        run = DIPFit(Problem(y=torch.rand(1, 3, size, size)), config)
        with FlopCounterMode(display=False) as counter:
            run.step()
        seconds = baseline if name == "baseline" else _seconds_per_step(run.step, steps, warmup)
        flops = counter.get_total_flops()
        rows.append({"name": name, "size": size, "threads": torch.get_num_threads(),
                     "gflop_per_step": flops / 1e9, "s_per_step": seconds,
                     "peak_fraction": flops / seconds / peak, "peak_gflops": peak / 1e9,
                     "speedup": baseline / seconds})
    return rows
