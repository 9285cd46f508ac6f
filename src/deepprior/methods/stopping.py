"""Early stopping without a clean reference: ES-WMV (Wang et al., "Early Stopping for Deep Image
Prior", TMLR 2023).

DIP's raw outputs change less and less while the network fits the image, then start to vary
again once it fits the noise. ES-WMV tracks the variance of the last ``window`` outputs and
stops when it has not reached a new minimum for ``patience`` steps; the estimate at the minimum
is the one returned.
"""
from __future__ import annotations

import math

import torch

from ..errors import InputError


class EarlyStopping:
    """Callback: windowed moving variance of the raw outputs (``run.output``), (1, C, H, W).

    window:   number of recent outputs whose variance is tracked.
    patience: steps without a new minimum of the variance before the run is stopped.
    stop:     False to only observe (``best_iteration`` and ``stop_iteration`` are still set), as
              the benchmarks do to compare the rule with the oracle best iterate.

    After the run: ``best_iteration`` (the step of the minimum), ``best_image`` (the run's
    estimate at that step), ``stop_iteration`` (the step at which the rule fired, or None).
    With ``stop=True`` the run's result is ``best_image``.
    """

    def __init__(self, window: int = 100, patience: int = 1000, stop: bool = True, sample: int = 65536):
        if window < 2 or patience < 1:
            raise ValueError("window must be at least 2 and patience at least 1")
        self.window, self.patience, self.stop, self.sample = window, patience, stop, sample
        self.outputs: list[torch.Tensor] = []
        self.total = self.squares = self.pixels = None
        self.variances: list[tuple[int, float]] = []
        self.best_variance = math.inf
        self.best_iteration: int | None = None
        self.best_image: torch.Tensor | None = None
        self.stop_iteration: int | None = None

    def on_start(self, run) -> None:
        if not hasattr(run, "output"):
            raise InputError("early stopping watches DIP's raw outputs: it applies to DIP runs only")

    def _values(self, output: torch.Tensor) -> torch.Tensor:
        """The output at a fixed random subset of at most ``sample`` values (bounds the memory)."""
        flat = output.detach().flatten()
        if self.pixels is None:
            generator = torch.Generator().manual_seed(0)
            self.pixels = (torch.randperm(flat.numel(), generator=generator)[:self.sample].to(flat.device)
                           if flat.numel() > self.sample else torch.arange(flat.numel(), device=flat.device))
        return flat[self.pixels]

    def on_step(self, run) -> None:
        values = self._values(run.output)
        self.outputs.append(values)
        if len(self.outputs) > self.window:
            old = self.outputs.pop(0)
            self.total -= old
            self.squares -= old * old
        if self.total is None:
            self.total, self.squares = values.clone(), values * values
        else:
            self.total += values
            self.squares += values * values
        if run.iteration % self.window == 0:  # recompute exactly now and then: no drift
            stack = torch.stack(self.outputs)
            self.total, self.squares = stack.sum(0), (stack * stack).sum(0)
        if len(self.outputs) < self.window:
            return
        n = self.window
        variance = float(((self.squares - self.total * self.total / n) / n).clamp_min(0).mean())
        self.variances.append((run.iteration, variance))
        if variance < self.best_variance:
            self.best_variance, self.best_iteration = variance, run.iteration
            self.best_image = run.image.detach().clone()
        elif self.stop_iteration is None and run.iteration - self.best_iteration >= self.patience:
            self.stop_iteration = run.iteration
            if self.stop:
                run.stop = True

    def on_end(self, run) -> None:
        if self.stop and self.best_image is not None:
            run.choose(self.best_iteration, self.best_image)
