"""Callbacks for long runs: progress bar, snapshots, GIF, curves, checkpoints.

A callback has any of ``on_start(run)``, ``on_step(run)``, ``on_end(run)``; ``run`` is the
method's live state (see ``methods.dip.DIPFit``). Reading a value from the device (an image, the
loss) synchronises, so callbacks do it only when they act, every ``every`` steps.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .imageio import atomic_path, write_image


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) float in [0, 1] → (H, W) or (H, W, 3) uint8 for viewing."""
    array = (image[0].detach().float().clamp(0, 1) * 255).round().byte().cpu().numpy()
    return array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)


class Callback:
    """Base class; ``due(run)`` is true every ``every`` steps and at the last one."""

    every: int = 1

    def due(self, run) -> bool:
        return run.iteration % self.every == 0 or run.iteration >= run.config.iters or run.stop


class ProgressBar(Callback):
    """A tqdm bar with loss (and PSNR against the reference), refreshed at most twice a second."""

    def __init__(self, description: str = "fitting", disable: bool | None = None):
        self.description, self.disable = description, disable
        self.bar: tqdm | None = None
        self._shown = 0.0

    def on_start(self, run) -> None:
        self.bar = tqdm(
            total=run.config.iters,
            initial=run.iteration,
            desc=self.description,
            unit="it",
            disable=self.disable,
            dynamic_ncols=True,
        )

    def on_step(self, run) -> None:
        self.bar.update(run.iteration - self.bar.n)
        if time.monotonic() - self._shown > 0.5:
            self._shown = time.monotonic()
            postfix = {}
            if math.isfinite(run.last_loss):  # Noise2Noise training has none before its first validation
                postfix["loss"] = f"{run.last_loss:.2e}"
            if math.isfinite(getattr(run, "last_psnr", math.nan)):  # against a reference, or validation
                postfix["psnr"] = f"{run.last_psnr:.2f}"
            self.bar.set_postfix(postfix, refresh=False)

    def on_end(self, run) -> None:
        self.bar.close()


class Snapshots(Callback):
    """Write the current estimate to ``folder/iter_000100.png`` every ``every`` steps."""

    def __init__(self, folder: str | os.PathLike, every: int = 100):
        self.folder, self.every = Path(folder), every

    def on_step(self, run) -> None:
        if self.due(run):
            write_image(self.folder / f"iter_{run.iteration:06d}.png", to_uint8(run.image), overwrite=True)


class Gif(Callback):
    """An animated GIF of the estimate (a frame every ``every`` steps), written at the end."""

    def __init__(self, path: str | os.PathLike, every: int = 50, max_side: int = 256, duration_ms: int = 80):
        self.path, self.every, self.max_side, self.duration_ms = Path(path), every, max_side, duration_ms
        self.frames: list = []

    def on_step(self, run) -> None:
        if self.due(run):
            from PIL import Image

            frame = Image.fromarray(to_uint8(run.image))
            frame.thumbnail((self.max_side, self.max_side))
            self.frames.append(frame)

    def on_end(self, run) -> None:
        if self.frames:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path) as tmp:
                self.frames[0].save(
                    tmp,
                    format="GIF",
                    save_all=True,
                    append_images=self.frames[1:],
                    duration=self.duration_ms,
                    loop=0,
                )


class Curve(Callback):
    """A PNG plot of the loss per step, and the PSNR of the estimate when a reference is given."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def on_end(self, run) -> None:
        plot_history(run.history, self.path)


class Checkpoint(Callback):
    """Save the run atomically every ``every`` steps and at the end; with ``every=None`` only
    when the run was interrupted (Ctrl-C), so that it can be resumed."""

    def __init__(self, path: str | os.PathLike, every: int | None = 100):
        self.path, self.every = Path(path), every

    def on_step(self, run) -> None:
        if self.every and run.iteration % self.every == 0:
            run.save(self.path)

    def on_end(self, run) -> None:
        if self.every or run.interrupted:
            run.save(self.path)


def plot_history(history: dict, path: str | os.PathLike) -> None:
    """Loss (log scale) against step and, when present, PSNR against step, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    psnr = history.get("psnr") or []
    fig, axes = plt.subplots(1, 2 if psnr else 1, figsize=(10 if psnr else 5, 3.6), squeeze=False)
    loss = history.get("loss", [])
    axes[0, 0].semilogy(np.arange(1, len(loss) + 1), loss, lw=0.8)
    axes[0, 0].set(xlabel="step", ylabel="loss", title="data loss")
    if psnr:
        steps, values = zip(*psnr)
        axes[0, 1].plot(steps, values, label="estimate (EMA)")
        if history.get("psnr_output"):
            steps_out, values_out = zip(*history["psnr_output"])
            axes[0, 1].plot(steps_out, values_out, lw=0.6, alpha=0.7, label="raw output")
        axes[0, 1].set(xlabel="step", ylabel="PSNR (dB)", title="PSNR against the reference")
        axes[0, 1].legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
