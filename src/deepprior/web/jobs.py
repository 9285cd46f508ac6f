"""What the web page does with an image, without any web code: check an upload, show it, turn a
painted layer into a mask, run one restoration in a background thread that reports its progress
and can be stopped (keeping the current estimate) or cancelled, and save the downloads.

Everything goes through the public API (``deepprior.run``, ``deepprior.plan``, ``deepprior.n2n``).

>>> import numpy as np
>>> painted = np.zeros((2, 4, 4), np.uint8)  # an RGBA layer of a 2×4 preview
>>> painted[0, 0, 3] = 255                     # painted over its top-left pixel
>>> known_from_layer(painted, (4, 8)).astype(int)
array([[0, 0, 1, 1, 1, 1, 1, 1],
       [0, 0, 1, 1, 1, 1, 1, 1],
       [1, 1, 1, 1, 1, 1, 1, 1],
       [1, 1, 1, 1, 1, 1, 1, 1]])
"""

from __future__ import annotations

import json
import math
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import api, registry
from ..callbacks import to_uint8
from ..errors import DeepPriorError, InputError
from ..imageio import read_image, write_image
from ..metrics import image_scores
from ..problem import Result

# The longest side of the image shown for painting: the canvas works in 8-bit at this size and the
# mask is mapped back to the original with nearest neighbour (a 4000-pixel photo in the editor
# takes tens of seconds to load in the browser on two cores).
PREVIEW_SIDE = 1024
# Uploads larger than these are refused with a message (``deepprior serve --max-pixels/--max-mb``).
MAX_PIXELS = 50_000_000
MAX_MEGABYTES = 200

_ONE_AT_A_TIME = threading.Lock()  # one restoration per process; a second waits for the first


def check_upload(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an uploaded image (its own dtype, as ``deepprior.read_image``), refusing one of more
    than ``max_pixels`` pixels before decoding it where the header tells its size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError):
        width = height = 0  # not for Pillow (a float TIFF…) or broken: read_image says which
    if width * height > max_pixels:
        raise InputError(
            f"the image is {width}×{height} ({width * height / 1e6:.0f} megapixels); this page takes "
            f"up to {max_pixels / 1e6:.0f} (deepprior serve --max-pixels)"
        )
    image = read_image(path)
    if image.shape[0] * image.shape[1] > max_pixels:
        raise InputError(
            f"the image has {image.shape[0] * image.shape[1] / 1e6:.0f} megapixels; this page takes "
            f"up to {max_pixels / 1e6:.0f} (deepprior serve --max-pixels)"
        )
    return image


def preview(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """An 8-bit RGB view of ``image`` (any dtype, grey or colour, alpha dropped) whose longest side
    is at most ``side``: what the page shows and paints on."""
    from PIL import Image

    from ..imageio import to_float

    values, _encoding = to_float(image)
    values = values[..., :3] if values.ndim == 3 and values.shape[-1] in (3, 4) else values
    if values.ndim == 3 and values.shape[-1] == 2:  # grey + alpha
        values = values[..., 0]
    view = Image.fromarray((np.clip(values, 0, 1) * 255).round().astype(np.uint8)).convert("RGB")
    scale = side / max(view.size)
    if scale < 1:
        view = view.resize((max(1, round(view.width * scale)), max(1, round(view.height * scale))))
    return np.asarray(view)


def known_from_layer(layer: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The known pixels of the image, (H, W) bool of ``size``, from a painted RGBA layer of the
    preview's size: painted (alpha > 0) = to fill in; mapped with nearest neighbour."""
    from PIL import Image

    painted = Image.fromarray(((layer[..., 3] > 0) * 255).astype(np.uint8))
    painted = painted.resize((size[1], size[0]), Image.NEAREST)
    return np.asarray(painted) == 0


@dataclass
class Progress:
    """A job's state as the page shows it. ``preview``: the current estimate, 8-bit, or None;
    ``losses``: [step, loss] pairs so far; ``psnr``: against the reference, when one was given."""

    step: int = 0
    total: int = 0
    loss: float | None = None
    psnr: float | None = None
    preview: np.ndarray | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)

    def line(self) -> str:
        """One line: 'step 120 / 1500 · loss 1.2e-03 · PSNR 31.20 dB'."""
        parts = [f"step {self.step} / {self.total}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.2e}")
        if self.psnr is not None and math.isfinite(self.psnr):
            parts.append(f"PSNR {self.psnr:.2f} dB")
        return " · ".join(parts)


class _Watch:
    """The fit's callback: copies the progress out every ``every`` steps and stops the fit when asked."""

    def __init__(self, job: Job, every: int):
        self.job, self.every = job, every

    def on_start(self, run) -> None:
        self.job.progress.total = run.config.iters

    def on_step(self, run) -> None:
        progress = self.job.progress
        progress.step = run.iteration
        if run.iteration % self.every == 0:
            if math.isfinite(run.last_loss) and float(run.last_loss) != progress.loss:  # a new check
                progress.loss, progress.psnr = float(run.last_loss), float(run.last_psnr)
                progress.losses.append((progress.step, progress.loss))
            if hasattr(run, "output"):  # DIP holds its estimate; other fits would compute it
                progress.preview = preview(to_uint8(run.image))
        if self.job.stopping.is_set():
            run.stop = True


class Job:
    """One restoration in a background thread: ``start``, then read ``progress``; ``stop`` ends
    a fit early and keeps its current estimate, ``cancel`` drops it. ``result`` (the API's
    Result) or ``error`` (one line) is set when ``done``, with the run's ``warnings``.

    task: a task of ``deepprior.run``, or ``"n2n-model"`` (``options["model"]``: a Noise2Noise
    model file applied with ``deepprior.n2n.load``). ``options``: ``deepprior.run``'s keywords.
    """

    def __init__(self, task: str, image: np.ndarray, every: int = 10, **options: Any):
        self.task, self.image, self.options, self.every = task, image, options, every
        self.progress = Progress()
        self.stopping, self.cancelled, self.finished = threading.Event(), threading.Event(), threading.Event()
        self.result: Result | None = None
        self.error: str | None = None
        self.warnings: list[str] = []
        self.seconds = 0.0
        self._plan: api.Plan | None = None
        self._thread = threading.Thread(target=self._work, name="deepprior-job", daemon=True)

    def plan(self) -> api.Plan | None:
        """``deepprior.plan`` of this job: the method, why, its time and memory (None for a
        model of the user's, which has no cost model). Raises what ``run`` would for bad input."""
        if self.task == "n2n-model":
            return None
        if self._plan is None:
            given = {k: v for k, v in self.options.items() if v is not None}
            self._plan = api.plan(self.task, self.image, **given)
        return self._plan

    def start(self) -> Job:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def cancel(self) -> None:
        self.cancelled.set()
        self.stopping.set()

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def _work(self) -> None:
        try:
            with _ONE_AT_A_TIME, warnings.catch_warnings(record=True) as caught:
                if self.cancelled.is_set():
                    return
                warnings.simplefilter("always")
                start = time.perf_counter()
                self.result = self._run()
                self.seconds = time.perf_counter() - start
                self.warnings = [str(w.message) for w in caught]
        except (DeepPriorError, MemoryError) as error:
            self.error = str(error) or error.__class__.__name__
        except Exception as error:  # noqa: BLE001 - the page reports it and keeps serving
            self.error = f"internal error: {error!r}"
        finally:
            self.finished.set()

    def _run(self) -> Result:
        if self.task == "n2n-model":
            from .. import n2n

            options = dict(self.options)
            model = n2n.load(options.pop("model"), device=options.pop("device", "auto"))
            image = model.denoise(self.image)
            self.progress.step = self.progress.total = 1
            return Result(image=image, config={"method": "your Noise2Noise model", **model.info})
        plan = self.plan()
        options = {k: v for k, v in self.options.items() if v is not None}
        options["method"] = plan.method  # the one the plan showed; watched when it runs in steps
        if "callbacks" in registry.method(plan.method).options:
            options["callbacks"] = [_Watch(self, self.every)]
        result = api.run(self.task, self.image, **options)
        result.config["reason"] = plan.reason
        return result


def save(job: Job, folder: str | Path, name: str, reference: np.ndarray | None = None) -> list[Path]:
    """Write the job's result at full size in the input's dtype (PNG for 8- and 16-bit, TIFF
    for float) and its JSON report into ``folder``; returns both paths."""
    folder = Path(folder)
    result = job.result
    suffix = ".tif" if result.image.dtype.kind == "f" else ".png"
    image_path = folder / f"{name}{suffix}"
    write_image(image_path, result.image, overwrite=True)
    report = {
        "task": job.task,
        "iterations": result.iterations,
        "seconds": job.seconds,
        "stopped_early": job.stopping.is_set() and not job.cancelled.is_set(),
        "warnings": job.warnings,
        "scores": image_scores(result.image, reference),
        "config": result.config,
        "history": result.history,
    }
    report_path = folder / f"{name}.json"
    report_path.write_text(json.dumps(report, indent=1, default=str))
    return [image_path, report_path]
