"""Where and how runs execute: device choice, seeding, memory estimates."""

from __future__ import annotations

import ctypes
import functools
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ImageTooLargeError, InputError

DEVICES = ("auto", "cpu", "cuda", "mps")


def choose_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; naming an absent device is an error."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise InputError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for but this PyTorch build sees no CUDA GPU")
    if name == "mps" and not has_mps:
        raise InputError("device 'mps' was asked for but Apple's MPS backend is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run is reproducible on the CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


_MEMORY_REUSE = {"wanted": False}


def reuse_freed_memory() -> None:
    """Opt in, for this process, to ``keep_freed_memory`` on the CPU runs that follow (the CLI
    does; a library caller whose process does other work decides for itself): call it once
    before the runs, e.g. at the top of a benchmark script.
    """
    _MEMORY_REUSE["wanted"] = True


def keep_freed_memory(device: torch.device) -> bool:
    """After ``reuse_freed_memory``, for a run on the CPU, on glibc, keep freed heap blocks in the
    process instead of handing them back to the OS (other devices, or not opted in: nothing).

    A training step allocates and frees the same large activation buffers every time. By
    default glibc maps each with mmap and unmaps it on free, so every step page-faults all of
    them in again: for the paper's net at 256² about 220 000 minor faults and 0.6 s of system
    time per step. With this, freed buffers are reused; the cost is that the process keeps its
    peak memory until it exits. Returns whether the setting is on.
    """
    return _MEMORY_REUSE["wanted"] and device.type == "cpu" and _glibc_keeps_freed_memory()


@functools.cache  # a process-wide setting: applied once
def _glibc_keeps_freed_memory() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))


def available_memory(device: torch.device) -> int:
    """Bytes free for a new run on ``device`` (CPU: MemAvailable of /proc/meminfo)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2**62  # unknown: do not refuse


def training_bytes(
    forward: Callable[[torch.Tensor], torch.Tensor], input_shape: tuple[int, ...], probe: int = 64
) -> int:
    """Estimate the activation memory of one training step of ``forward`` on ``input_shape``.

    Runs ``forward`` once on a ``probe × probe`` input, adds up the tensors autograd saves for
    the backward pass, and scales by the pixel count (activations grow linearly with it).
    ``input_shape`` is (B, C, H, W).
    """
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += t.numel() * t.element_size()
        return t

    b, c, h, w = input_shape
    x = torch.zeros(b, c, probe, probe)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward(x)
    return int(saved * (h * w) / (probe * probe) * 1.5)  # + gradients in flight during backward


def check_memory(needed: int, device: torch.device, what: str) -> None:
    """Refuse a run that would not fit, before it starts, saying how to proceed."""
    free = available_memory(device)
    if needed > 0.9 * free:
        raise ImageTooLargeError(
            f"{what} needs about {needed / 2**30:.1f} GiB but {device.type} has "
            f"{free / 2**30:.1f} GiB free; use the fast preset, crop or downscale the image, "
            f"or run on a device with more memory"
        )


def flops(
    forward: Callable[[torch.Tensor], torch.Tensor],
    input_shape: tuple[int, ...],
    probe: int = 64,
    backward: bool = True,
) -> float:
    """FLOPs of ``forward`` (and its backward pass) on ``input_shape`` (B, C, H, W), counted on a
    ``probe × probe`` input and scaled by the pixel count (convolutions grow linearly with it)."""
    from torch.utils.flop_counter import FlopCounterMode

    b, c, h, w = input_shape
    x = torch.zeros(b, c, probe, probe, requires_grad=backward)
    with FlopCounterMode(display=False) as counter:
        out = forward(x)
        if backward:
            out.sum().backward()
    return counter.get_total_flops() * (h * w) / (probe * probe)


@functools.cache
def matmul_peak(device: torch.device = torch.device("cpu"), n: int = 1024, repeats: int = 4) -> float:
    """FLOP/s of a float32 matrix product on ``device`` (into a preallocated result, so that no
    page faults are timed): the practical peak, best of three, measured once per process."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    c = torch.empty(n, n, device=device)
    torch.matmul(a, b, out=c)
    best = 0.0
    for _ in range(3):
        _synchronise(device)
        start = time.perf_counter()
        for _ in range(repeats):
            torch.matmul(a, b, out=c)
        _synchronise(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Cost:
    """What a run will take, estimated before it starts.

    flops:      floating-point operations of the whole run.
    bytes:      peak memory of its largest step (activations, weights, optimizer state).
    efficiency: the fraction of the device's matmul peak the method reaches (measured with
                ``deepprior bench speed`` and the suites' timings; see the README).
    """

    flops: float
    bytes: int
    efficiency: float

    def seconds(self, device: torch.device) -> float:
        """Estimated wall time on ``device``: FLOPs over the measured peak times the efficiency."""
        return self.flops / (matmul_peak(device) * self.efficiency)
