"""``deepprior bench speed``: time one DIP step of a preset against the straightforward baseline.

All figures come from one run on one machine: the machine's matmul peak, the baseline (the paper's
net built as the original code does, stepped as the official notebook does: a host sync and a
copy of every weight each step) and deepprior's loop on the same input size and configuration.
Each implementation runs in a process of its own (process-wide settings such as deepprior's
allocator tuning must not help the baseline) and the processes are timed in alternating rounds.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..methods.dip import DIPFit
from ..problem import Problem
from ..registry import get_preset
from ..runtime import matmul_peak
from .reference_skip import reference_skip


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
        loss.item()  # sync every step
        kept[:] = [p.detach().cpu() for p in net.parameters()]  # the notebook's backtracking copy
        optimizer.step()

    return step


def _step_of(name: str, size: int) -> Callable[[], None]:
    """The step function of ``baseline`` or of a preset's denoising loop at ``size``²."""
    if name == "baseline":
        paper = get_preset("denoise", "paper")
        return _baseline_step(size, paper.lr, paper.reg_noise_std)
    return DIPFit(Problem(y=torch.rand(1, 3, size, size)), get_preset("denoise", name)).step


def _worker(connection, name: str, size: int, warmup: int) -> None:
    """Build one implementation, count its FLOPs, warm up, then time steps on request."""
    step = _step_of(name, size)
    with FlopCounterMode(display=False) as counter:
        step()
    for _ in range(warmup):
        step()
    connection.send(counter.get_total_flops())
    while (count := connection.recv()) > 0:
        start = time.perf_counter()
        for _ in range(count):
            step()
        connection.send((time.perf_counter() - start) / count)


def measure_speed(
    size: int = 256,
    rounds: int = 4,
    per_round: int = 2,
    warmup: int = 1,
    presets: tuple[str, ...] = ("paper", "fast"),
) -> list[dict[str, Any]]:
    """Seconds per denoising step at ``size``² for the baseline and each preset, in one run.

    Each row: name, GFLOP per step, median seconds per step over ``rounds`` rounds of
    ``per_round`` steps (the implementations take turns, one process each, so that the
    machine's drift falls on all alike), fraction of the matmul peak, and ``speedup`` =
    baseline seconds ÷ this row's seconds (the baseline runs the paper's net and configuration).
    """
    peak = matmul_peak(torch.device("cpu"), 2048, 10)
    names = ("baseline", *presets)
    context = multiprocessing.get_context("spawn")
    pipes, workers = {}, []
    for name in names:
        ours, theirs = context.Pipe()
        worker = context.Process(target=_worker, args=(theirs, name, size, warmup), daemon=True)
        worker.start()
        pipes[name] = ours
        workers.append(worker)
        ours.poll(None)  # built and warmed up before the next one starts: no overlap
    flops = {name: pipes[name].recv() for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            pipes[name].send(per_round)
            times[name].append(pipes[name].recv())
    for name in names:
        pipes[name].send(0)
    for worker in workers:
        worker.join()
    seconds = {name: statistics.median(values) for name, values in times.items()}
    return [
        {
            "name": name,
            "size": size,
            "threads": torch.get_num_threads(),
            "gflop_per_step": flops[name] / 1e9,
            "s_per_step": seconds[name],
            "peak_fraction": flops[name] / seconds[name] / peak,
            "peak_gflops": peak / 1e9,
            "speedup": seconds["baseline"] / seconds[name],
        }
        for name in names
    ]
