"""The step loop that every iterative method shares: callbacks, timing and a clean Ctrl-C.

A method subclasses ``StepLoop`` and provides ``step()`` (one optimisation step that advances
``iteration``), ``result()``, ``state_dict()``/``load_state_dict()`` (checkpoints that resume bit
for bit), and optionally ``flush()`` (work left after the last step). Callbacks
(see ``deepprior.callbacks``) see the method object and may set ``stop = True``.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from typing import Any, Iterable

import numpy as np
import torch

from ..errors import InputError
from ..imageio import atomic_path
from ..problem import Result


class StepLoop:
    """State the loop and the callbacks rely on: ``config.iters``, ``iteration``, ``history``
    (``seconds`` per step), ``stop``, ``interrupted``."""

    config: Any
    iteration: int
    history: dict[str, list]

    def __init__(self) -> None:
        self.stop = False
        self.interrupted = False
        self._elapsed = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Called once after the last step and the callbacks' ``on_end``."""

    def result(self) -> Result:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def check_same_config(self, state: dict[str, Any], free: tuple[str, ...] = ("iters",)) -> None:
        """Refuse a checkpoint whose configuration differs from ours in a field outside ``free``."""
        ours = dataclasses.asdict(self.config)
        changed = sorted(k for k in ours if k not in free and state["config"].get(k) != ours[k])
        if changed:
            raise InputError(f"the checkpoint was made with a different configuration ({', '.join(changed)})")

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint (``state_dict``) atomically: temporary file, then rename."""
        with atomic_path(path) as tmp:
            torch.save(self.state_dict(), tmp)

    def load(self, path: str | os.PathLike) -> None:
        # On the CPU first: generator states must stay CPU tensors; the rest is moved on load.
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=False))

    def run(self, callbacks: Iterable = ()) -> Result:
        """Step until ``config.iters`` or a callback sets ``stop``; Ctrl-C stops cleanly after the
        current step (a second Ctrl-C aborts at once)."""
        callbacks = list(callbacks)
        for cb in callbacks:
            getattr(cb, "on_start", _nothing)(self)
        start = time.perf_counter() - self._elapsed
        with _deferred_interrupt(self):
            while self.iteration < self.config.iters and not self.stop:
                self.step()
                self._elapsed = time.perf_counter() - start
                self.history["seconds"].append(self._elapsed)
                for cb in callbacks:
                    getattr(cb, "on_step", _nothing)(self)
        for cb in callbacks:  # before flush(), so a checkpoint resumes bit for bit
            getattr(cb, "on_end", _nothing)(self)
        self.flush()
        return self.result()


def host_image(image: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) on any device → (H, W, C) float32 numpy array (synchronises)."""
    return np.ascontiguousarray(image[0].detach().float().cpu().permute(1, 2, 0).numpy())


def _nothing(_run: StepLoop) -> None:
    return None


class _deferred_interrupt:
    """Turn the first Ctrl-C into ``run.stop`` so a step is never cut in half."""

    def __init__(self, run: StepLoop):
        self.run = run
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.run.interrupted:
            raise KeyboardInterrupt
        self.run.interrupted = self.run.stop = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
