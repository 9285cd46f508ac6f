"""Early stopping without a clean reference, on one of two signals.

``variance``: ES-WMV (Wang et al., "Early Stopping for Deep Image Prior", TMLR 2023). DIP's raw
outputs change less and less while the network fits the image, then start to vary again once it
fits the noise; the variance of the last ``window`` outputs is tracked.

``holdout``: the error of the estimate on pixels of the observation that the loss never saw
(``DIPConfig.holdout``). For denoising its expectation is the estimate's error on those pixels
plus the noise variance, so it bottoms out where the estimate is best.

Either way the run stops when the signal has not reached a new minimum for ``patience`` steps,
and the estimate at the minimum is the one returned.
"""

from __future__ import annotations

import math

import torch

from ..errors import InputError

SIGNALS = ("variance", "holdout")
HOLDOUT = 0.1  # the fraction of pixels the command line holds out for the holdout signal


class EarlyStopping:
    """Callback: stop a DIP run at the minimum of a reference-free signal.

    signal:   ``variance`` (of the raw outputs ``run.output``, (1, C, H, W)) or ``holdout`` (the
              run's ``last_holdout``, at every check; needs ``DIPConfig.holdout`` > 0).
    window:   number of recent outputs whose variance is tracked.
    patience: steps without a new minimum of the variance before the run is stopped.
    stop:     False to only observe (``best_iteration`` and ``stop_iteration`` are still set), as
              the benchmarks do to compare the rule with the oracle best iterate.

    After the run: ``trace`` ((step, signal) pairs), ``best_iteration`` (the step of the
    minimum), ``best_image`` (the run's estimate at that step), ``stop_iteration`` (the step at
    which the rule fired, or None).
    With ``stop=True`` the run's result is ``best_image``.
    """

    def __init__(
        self,
        window: int = 100,
        patience: int = 1000,
        stop: bool = True,
        sample: int = 65536,
        signal: str = "variance",
    ):
        if window < 2 or patience < 1:
            raise InputError("window must be at least 2 and patience at least 1")
        if signal not in SIGNALS:
            raise InputError(f"unknown early-stopping signal {signal!r}; choose one of {', '.join(SIGNALS)}")
        self.window, self.patience, self.stop, self.sample = window, patience, stop, sample
        self.signal = signal
        self.outputs: list[torch.Tensor] = []
        self.total = self.squares = self.pixels = None
        self.trace: list[tuple[int, float]] = []
        self.best_value = math.inf
        self.best_iteration: int | None = None
        self.best_image: torch.Tensor | None = None
        self.stop_iteration: int | None = None

    # What a checkpoint keeps of the rule, so that a resumed run stops where an uninterrupted one would.
    _STATE = (
        "outputs",
        "total",
        "squares",
        "pixels",
        "trace",
        "best_value",
        "best_iteration",
        "best_image",
        "stop_iteration",
    )

    def state_dict(self) -> dict:
        return {name: getattr(self, name) for name in self._STATE}

    def load_state_dict(self, state: dict) -> None:
        for name in self._STATE:
            setattr(self, name, state[name])

    def on_start(self, run) -> None:
        if not hasattr(run, "output"):
            raise InputError("early stopping watches DIP's raw outputs: it applies to DIP runs only")
        if self.signal == "holdout" and not run.config.holdout:
            raise InputError("the holdout signal needs pixels held out of the loss (DIPConfig.holdout > 0)")

    def _values(self, output: torch.Tensor) -> torch.Tensor:
        """The output at a fixed random subset of at most ``sample`` values (bounds the memory)."""
        flat = output.detach().flatten()
        if self.pixels is None:
            generator = torch.Generator().manual_seed(0)
            self.pixels = (
                torch.randperm(flat.numel(), generator=generator)[: self.sample].to(flat.device)
                if flat.numel() > self.sample
                else torch.arange(flat.numel(), device=flat.device)
            )
        return flat[self.pixels]

    def on_step(self, run) -> None:
        value = self._holdout(run) if self.signal == "holdout" else self._variance(run)
        if value is None:
            return
        self.trace.append((run.iteration, value))
        if value < self.best_value:
            self.best_value, self.best_iteration = value, run.iteration
            self.best_image = run.image.detach().clone()
        elif self.stop_iteration is None and run.iteration - self.best_iteration >= self.patience:
            self.stop_iteration = run.iteration
            if self.stop:
                run.stop = True

    @staticmethod
    def _holdout(run) -> float | None:
        """The held-out error, on the steps that measured it."""
        points = run.history.get("holdout")
        return points[-1][1] if points and points[-1][0] == run.iteration else None

    def _variance(self, run) -> float | None:
        """The variance of the last ``window`` outputs (None until there are that many)."""
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
            return None
        n = self.window
        return float(((self.squares - self.total * self.total / n) / n).clamp_min(0).mean())

    def on_end(self, run) -> None:
        if self.stop and self.best_image is not None:
            run.choose(self.best_iteration, self.best_image)
