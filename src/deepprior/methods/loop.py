"""The step loop that every iterative method shares: device, seeding, the memory check, the
optimizer, the loss history, callbacks, timing, one checkpoint schema and a clean Ctrl-C.

A method subclasses ``StepLoop``, sets ``method`` (its name in configs and checkpoints) and
``free`` (the configuration fields a resumed run may change), calls ``StepLoop.__init__`` with
its memory estimate before it builds its network (the seeding comes right after the check), and
provides ``step()`` (one optimisation step that advances ``iteration``), ``result()``, and
``extra_state()``/``load_extra_state()`` for whatever else a checkpoint must hold to resume bit
for bit. Callbacks (see ``deepprior.callbacks``) see the method object and may set ``stop = True``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import threading
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..imageio import atomic_path
from ..problem import Result
from ..runtime import check_memory, keep_freed_memory, seed_everything

CHECKPOINT_FORMAT = "deepprior.checkpoint"
CHECKPOINT_VERSION = 2


class StepLoop:
    """State the loop and the callbacks rely on: ``config`` (with ``iters`` and ``seed``),
    ``device``, ``iteration``, ``history`` (``loss`` and ``seconds`` per step, ``psnr`` as
    [step, dB] pairs), ``last_loss``, ``last_psnr``, ``stop``, ``interrupted``."""

    method = ""
    free: tuple[str, ...] = ("iters",)

    def __init__(self, config: Any, device: str | torch.device, needed_bytes: int, what: str):
        """Refuse the run if ``needed_bytes`` do not fit on ``device`` (``what``: the run in
        words, for the message), then seed every generator from ``config.seed``."""
        self.config = config
        self.device = torch.device(device)
        check_memory(needed_bytes, self.device, what)
        seed_everything(config.seed)
        self.iteration = 0
        self.history: dict[str, list] = {"loss": [], "seconds": [], "psnr": []}
        self.last_loss = math.nan
        self.last_psnr = math.nan
        self.stop = False
        self.interrupted = False
        self._elapsed = 0.0
        self._pending: list[torch.Tensor] = []
        self._callbacks: list = []
        self._callback_states: dict[str, Any] = {}

    def adopt(self, net: torch.nn.Module, **adam: Any) -> torch.nn.Module:
        """Move ``net`` to the device and give it an Adam optimizer (``adam``: its options, the
        config's ``lr`` by default); on the CPU, freed buffers are kept for the next step."""
        keep_freed_memory(self.device)  # no page faults for the same buffers every step
        self.net = net.to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), **{"lr": self.config.lr, **adam})
        return self.net

    def step(self) -> None:
        raise NotImplementedError

    def record(self, loss: torch.Tensor) -> None:
        """Keep a step's loss on the device until the next ``flush_losses`` (no synchronisation)."""
        self._pending.append(loss.detach())

    def flush_losses(self, extra: list[torch.Tensor] = ()) -> list[float]:
        """Move the pending losses to ``history["loss"]`` in one synchronisation, with ``extra``
        scalars read in the same transfer; returns those extra values."""
        if not self._pending and not extra:
            return []
        values = torch.stack([t.float() for t in self._pending + list(extra)]).tolist()
        losses, rest = values[: len(self._pending)], values[len(self._pending) :]
        self._pending.clear()
        if losses:
            self.history["loss"] += losses
            self.last_loss = losses[-1]
        return rest

    def flush(self) -> None:
        """Called once after the last step and the callbacks' ``on_end``."""
        self.flush_losses()

    def result(self) -> Result:
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """What a checkpoint holds besides the common state (``state_dict``)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` saved."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit for bit, as plain data and tensors."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "method": self.method,
            "config": dataclasses.asdict(self.config),
            "iteration": self.iteration,
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "pending": [t.clone() for t in self._pending],
            "history": self.history,
            "elapsed": self._elapsed,
            "callbacks": {
                type(cb).__name__: cb.state_dict() for cb in self._callbacks if hasattr(cb, "state_dict")
            },
            **self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``; refuses one of another method, version or configuration."""
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise InputError("not a deepprior checkpoint")
        if state.get("version") != CHECKPOINT_VERSION:
            raise InputError(
                f"the checkpoint has format version {state.get('version')}; this deepprior "
                f"reads version {CHECKPOINT_VERSION}"
            )
        if state.get("method") != self.method:
            raise InputError(
                f"the checkpoint was written by a {state.get('method')} run, not a {self.method} one"
            )
        ours = dataclasses.asdict(self.config)
        changed = sorted(k for k in ours if k not in self.free and state["config"].get(k) != ours[k])
        if changed:
            raise InputError(f"the checkpoint was made with a different configuration ({', '.join(changed)})")
        self.load_extra_state(state)
        self.iteration = state["iteration"]
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._pending = [t.to(self.device) for t in state["pending"]]
        self.history, self._elapsed = state["history"], state["elapsed"]
        self._callback_states = _on_device(state.get("callbacks", {}), self.device)
        self.last_loss = self.history["loss"][-1] if self.history["loss"] else math.nan
        self.last_psnr = self.history["psnr"][-1][1] if self.history["psnr"] else math.nan

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint (``state_dict``) atomically: temporary file, then rename."""
        with atomic_path(path) as tmp:
            torch.save(self.state_dict(), tmp)

    def load(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint file (loaded without unpickling code: tensors and plain data)."""
        try:  # on the CPU first: generator states must stay CPU tensors; the rest is moved on load
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise InputError(f"no checkpoint at '{path}'") from None
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not our file"
            raise InputError(f"'{path}' is not a deepprior checkpoint ({exc.__class__.__name__})") from None
        self.load_state_dict(state)

    def run(self, callbacks: Iterable = ()) -> Result:
        """Step until ``config.iters`` or a callback sets ``stop``; Ctrl-C stops cleanly after the
        current step (a second Ctrl-C aborts at once). A callback with ``state_dict()`` and
        ``load_state_dict()`` (the early stopping rule) has its state saved in checkpoints and
        restored on resume, after its ``on_start``."""
        callbacks = self._callbacks = list(callbacks)
        for cb in callbacks:
            getattr(cb, "on_start", _nothing)(self)
            if hasattr(cb, "load_state_dict") and type(cb).__name__ in self._callback_states:
                cb.load_state_dict(self._callback_states[type(cb).__name__])
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

    def fit_result(self, image: torch.Tensor, **config: Any) -> Result:
        """The Result of a single-image fit: ``image`` (1, C, H, W) on the host and the exact
        configuration with the method, device, size and ``config``'s extra entries."""
        described = dataclasses.asdict(self.config)
        described.update(method=self.method, device=str(self.device), size=list(self.problem.size), **config)
        return Result(
            image=host_image(image),
            history=self.history,
            config=described,
            iterations=self.iteration,
            seconds=self._elapsed,
            interrupted=self.interrupted,
        )


def host_image(image: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) on any device → (H, W, C) float32 numpy array (synchronises)."""
    return np.ascontiguousarray(image[0].detach().float().cpu().permute(1, 2, 0).numpy())


def _on_device(value: Any, device: torch.device) -> Any:
    """``value`` (tensors in nested dicts, lists and tuples) with its tensors moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _on_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_device(v, device) for v in value)
    return value


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
