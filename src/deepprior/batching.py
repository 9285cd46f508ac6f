"""Run one task over many images: folders, globs or a manifest; resumable; in this process, in
worker processes, or as Ray tasks on a cluster.

The output folder gets each result under the input's relative name (sub-folders kept, the
input's format unless ``format`` is given) and a report, ``batch.json`` and ``batch.csv``,
rewritten after every image. A second run over the same folder skips the images recorded as
done whose output is still there; ``force=True`` redoes them. A failed image (a corrupt file, a
missing mask, too large for memory) is recorded with its error and the others go on.

>>> import numpy as np, tempfile, deepprior as dp
>>> folder = Path(tempfile.mkdtemp())
>>> for name in ("a", "b"):
...     _ = dp.write_image(folder / "in" / f"{name}.png", np.full((16, 16), 128, np.uint8))
>>> rows = dp.batch("denoise", [folder / "in"], out=folder / "out", progress=False)
>>> [(row["name"], row["status"], row["method"]) for row in rows]
[('a.png', 'done', 'n2n'), ('b.png', 'done', 'n2n')]
>>> [row["status"] for row in dp.batch("denoise", [folder / "in"], out=folder / "out", progress=False)]
['skipped', 'skipped']
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import outputs, registry
from .crops import checkpoint_files
from .errors import DeepPriorError, InputError
from .imageio import IMAGE_SUFFIXES, atomic_path
from .tasks import TASKS, prepare, preset_task

REPORT = "batch.json"
TABLE = "batch.csv"
CHECKPOINTS = ".checkpoints"  # interrupted fits, resumed by the next run
COLUMNS = ("name", "status", "seconds", "method", "output", "psnr", "ssim", "error")
# What an item may name besides its input, and the task that needs it.
EXTRAS = ("mask", "reference", "guide")


@dataclass
class Item:
    """One image of a batch: its input files and its output's name relative to the output folder."""

    name: str
    input: str
    mask: str | None = None
    reference: str | None = None
    guide: str | None = None


# --------------------------------------------------------------------------- finding the inputs


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _matches(source: str | os.PathLike) -> list[tuple[Path, Path]]:
    """(file, its name relative to the source's root) for a folder (searched recursively, hidden
    files and folders skipped), an image file or a glob pattern."""
    path = Path(source)
    if path.is_dir():
        found = [p for p in sorted(path.rglob("*")) if _is_image(p)]
        found = [p for p in found if not any(part.startswith(".") for part in p.relative_to(path).parts)]
        return [(p, p.relative_to(path)) for p in found]
    if path.is_file():
        return [(path, Path(path.name))]
    pattern = str(source)
    if not glob.has_magic(pattern):
        raise InputError(f"'{source}' is neither a folder, an image nor a pattern that matches one")
    root = Path(pattern.split("*")[0].split("?")[0].split("[")[0])
    root = root if str(pattern).startswith(str(root)) and root.is_dir() else root.parent
    found = [Path(p) for p in sorted(glob.glob(pattern, recursive=True)) if _is_image(Path(p))]
    return [(p, p.relative_to(root) if p.is_relative_to(root) else Path(p.name)) for p in found]


def _beside(folder: Path, name: Path) -> str | None:
    """The image in ``folder`` with ``name``'s relative path and stem, in any format."""
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / name.with_suffix(suffix)
        if candidate.is_file():
            return str(candidate)
    return None


def _read_manifest(manifest: Path) -> list[tuple[Path, Path, dict[str, str | None]]]:
    try:
        text = manifest.read_text()
    except OSError as error:
        raise InputError(f"cannot read the manifest '{manifest}': {error.strerror or error}") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "input" not in rows[0]:
        raise InputError(
            f"the manifest '{manifest}' needs a header row with an 'input' column "
            f"({', '.join(EXTRAS)} optional)"
        )
    unknown = sorted(set(rows[0]) - {"input", *EXTRAS})
    if unknown:
        raise InputError(
            f"unknown columns in '{manifest}': {', '.join(unknown)} (use input, {', '.join(EXTRAS)})"
        )
    base = manifest.parent
    found = []
    for row in rows:
        path = base / row["input"]
        name = path.relative_to(base) if not Path(row["input"]).is_absolute() else Path(path.name)
        extras = {k: str(base / row[k]) if row.get(k) else None for k in EXTRAS}
        found.append((path, name, extras))
    return found


def find_items(
    sources: Iterable[str | os.PathLike] = (),
    *,
    manifest: str | os.PathLike | None = None,
    masks: str | os.PathLike | None = None,
    references: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    format: str | None = None,
) -> list[Item]:
    """The batch's images: every image under the ``sources`` (folders, files, glob patterns) or
    the rows of a ``manifest`` CSV (columns ``input`` and optionally ``mask``, ``reference``,
    ``guide``, relative to the manifest's folder). ``masks`` and ``references`` are folders
    matched by relative path and stem (``photos/a/b.jpg`` takes ``masks/a/b.png``). Files under
    ``out`` are left out. ``format`` (``.png``, ``png``…) replaces each output's suffix.

    Raises InputError when nothing is found or two inputs would write one output."""
    if manifest is not None:
        found = _read_manifest(Path(manifest))
    else:
        found = [(path, name, {}) for source in sources for path, name in _matches(source)]
    if out is not None:
        out_dir = Path(out).resolve()
        found = [f for f in found if not f[0].resolve().is_relative_to(out_dir)]
    if not found:
        raise InputError("no images to process (looked for " + ", ".join(IMAGE_SUFFIXES) + ")")
    suffix = None if format is None else "." + format.lower().lstrip(".")
    if suffix is not None and suffix not in IMAGE_SUFFIXES:
        raise InputError(f"unknown image format '{format}' (use {', '.join(IMAGE_SUFFIXES)})")
    items: dict[str, Item] = {}
    for path, name, extras in found:
        output = name.with_suffix(suffix) if suffix else name
        key = output.as_posix()
        if key in items and items[key].input != str(path):
            raise InputError(f"'{items[key].input}' and '{path}' would both be written to '{key}'")
        if masks is not None and not extras.get("mask"):
            extras["mask"] = _beside(Path(masks), name) or str(Path(masks) / name)
        if references is not None and not extras.get("reference"):
            extras["reference"] = _beside(Path(references), name)
        items[key] = Item(key, str(path), **extras)
    return list(items.values())


# --------------------------------------------------------------------------- one image


def process(
    task: str, item: Item, out: str, options: dict[str, Any], verbose: bool = False
) -> dict[str, Any]:
    """Run ``task`` on one item and write its output; return its row of the report. Any error is
    caught and recorded: one image never stops the batch. A fit interrupted by Ctrl-C leaves a
    checkpoint that the next run resumes from. Warnings go into the row's ``warnings``."""
    start = time.perf_counter()
    row: dict[str, Any] = {"name": item.name, "input": item.input}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _process(task, item, out, options, verbose, row)
    if caught:
        row["warnings"] = [str(w.message) for w in caught]
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _process(task: str, item: Item, out: str, options: dict[str, Any], verbose: bool, row: dict) -> None:
    """``process`` without the timing and the warnings: fills in ``row``."""
    from . import api
    from . import callbacks as cbs
    from .imageio import read_image
    from .metrics import image_scores

    output = Path(out) / item.name
    try:
        image = read_image(item.input)
        inputs = {k: read_image(getattr(item, k)) for k in ("mask", "guide") if getattr(item, k)}
        reference = read_image(item.reference) if item.reference else None
        task_inputs = {k: v for k, v in options.items() if k in TASKS[task].inputs and v is not None}
        setting = preset_task(task, image, **inputs, **task_inputs) if "mask" in inputs else None
        method = registry.method(registry.choose(task, options["method"], _given(task, options), setting)[0])
        run_options = {k: v for k, v in options.items() if k != "method"}
        if "callbacks" in method.options:
            checkpoint = Path(out) / CHECKPOINTS / f"{item.name}.ckpt.pt"
            if checkpoint_files(checkpoint):  # the run's file, or one per box (``crops``)
                run_options["resume"] = str(checkpoint)
            run_options["callbacks"] = [cbs.Checkpoint(checkpoint, None)]
            if verbose:
                run_options["callbacks"].insert(0, cbs.ProgressBar(item.name))
        result = api.run(task, image, method=method.name, reference=reference, **inputs, **run_options)
        row["method"] = result.config["method"]
        if result.interrupted:
            row.update(status="interrupted", error=f"checkpoint in {checkpoint}")
        else:
            outputs.save_image(output, result.image)
            row.update(status="done", output=str(output), **image_scores(result.image, reference))
            if "callbacks" in method.options:
                for path in checkpoint_files(checkpoint):
                    path.unlink()
    except (DeepPriorError, OSError, MemoryError) as error:
        row.update(status="failed", error=str(error) or error.__class__.__name__)
    except Exception as error:  # noqa: BLE001 - a bug on one image must not lose the others
        row.update(status="failed", error=f"internal error: {error!r}", traceback=traceback.format_exc())


# --------------------------------------------------------------------------- where images run


class _InProcess:
    """One image at a time in this process."""

    slots = 1

    def __init__(self, run):
        self.run, self.queue = run, deque()

    def submit(self, item: Item) -> None:
        self.queue.append(item)

    def next_done(self) -> dict[str, Any]:
        return self.run(self.queue.popleft())

    def close(self) -> None:
        pass


def _start_worker(threads: int) -> None:
    """A worker process: Ctrl-C reaches the parent, which lets the images in flight finish (a fit
    still stops and saves its checkpoint: the fitting loop handles Ctrl-C itself)."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


class _Processes:
    """``workers`` processes on this machine, each with its share of the cores."""

    def __init__(self, run, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        self.run, self.slots, self.running = run, workers, set()
        self.pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(threads,),
        )

    def submit(self, item: Item) -> None:
        self.running.add(self.pool.submit(self.run, item))

    def next_done(self) -> dict[str, Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(self.running, return_when=FIRST_COMPLETED)
        future = done.pop()
        self.running.remove(future)
        return future.result()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class _Ray:
    """Each image a Ray task (a worker process keeps the shipped model loaded between its tasks).
    The workers read the inputs and write the outputs themselves: shared storage is assumed."""

    def __init__(self, run, address: str | None, gpus: float):
        try:
            import ray
        except ImportError:
            raise InputError("--ray needs Ray: pip install 'deepprior[cluster]'") from None
        self.ray, self.running = ray, {}
        self.started = not ray.is_initialized()
        if self.started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))  # a task asks for one CPU
        self.task = ray.remote(num_cpus=1, num_gpus=gpus)(_ray_process).options(max_retries=0)
        self.run = run

    def submit(self, item: Item) -> None:
        self.running[self.task.remote(self.run, item)] = item

    def next_done(self) -> dict[str, Any]:
        (ref,), _ = self.ray.wait(list(self.running), num_returns=1)
        item = self.running.pop(ref)
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as error:  # the worker died (out of memory, a lost node)
            return {
                "name": item.name,
                "input": item.input,
                "status": "failed",
                "error": str(error).splitlines()[0],
            }

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _ray_process(run, item: Item) -> dict[str, Any]:
    import ray
    import torch

    torch.set_num_threads(max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))))
    return run(item)


@dataclass
class _Run:
    """``process`` with the batch's fixed arguments: a picklable callable of one item."""

    task: str
    out: str
    options: dict[str, Any]
    verbose: bool

    def __call__(self, item: Item) -> dict[str, Any]:
        return process(self.task, item, self.out, self.options, self.verbose)


# --------------------------------------------------------------------------- the report


class Report:
    """``batch.json`` (task, options, rows, summary) and ``batch.csv`` in the output folder,
    rewritten atomically after every image."""

    def __init__(self, out: Path, task: str, options: dict[str, Any], items: Sequence[Item]):
        self.out, self.task, self.options = out, task, options
        self.rows: dict[str, dict[str, Any]] = {
            item.name: {"name": item.name, "input": item.input, "status": "pending"} for item in items
        }
        self.started = time.perf_counter()

    @staticmethod
    def previous(out: Path) -> dict[str, Any] | None:
        """The report a former run left in ``out``, if any."""
        path = out / REPORT
        if not path.exists():
            return None
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            report = None
        if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
            raise InputError(f"'{path}' is not a batch report; pass --force to start afresh")
        return report

    def record(self, row: dict[str, Any]) -> None:
        self.rows[row["name"]] = row
        self.save()

    def summary(self) -> dict[str, Any]:
        rows = list(self.rows.values())
        count = {
            s: sum(r["status"] == s for r in rows)
            for s in ("done", "skipped", "failed", "interrupted", "pending")
        }
        seconds = time.perf_counter() - self.started
        processed = count["done"] + count["failed"]
        return {
            "images": len(rows),
            **count,
            "seconds": round(seconds, 2),
            "images_per_minute": round(60 * processed / seconds, 2) if seconds > 0 else None,
            "failures": [r["name"] for r in rows if r["status"] == "failed"],
        }

    def save(self) -> None:
        rows = list(self.rows.values())
        report = {"task": self.task, "options": self.options, "rows": rows, "summary": self.summary()}
        with atomic_path(self.out / REPORT) as tmp:
            tmp.write_text(json.dumps(report, indent=1))
        with atomic_path(self.out / TABLE) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


class _StopRequest:
    """The first Ctrl-C stops new images from starting (those in flight finish); the second aborts."""

    def __init__(self):
        self.requested, self.previous = False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signals reach that thread only
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ndeepprior: stopping: the images in flight finish (Ctrl-C again to abort)", file=sys.stderr)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _given(task: str, options: dict[str, Any]) -> dict[str, Any]:
    """The run options given, as ``registry.choose`` weighs them."""
    not_run_options = {"method", "device", *TASKS[task].inputs} - {"sigma"}  # σ decides auto too
    return {k: v for k, v in options.items() if v is not None and k not in not_run_options}


def _check_options(task: str, options: dict[str, Any], items: Sequence[Item]) -> dict[str, Any]:
    """Check the options once, before any image, on a small stand-in image; return them with
    ``method`` set (``auto`` when not given: each image's mask may decide it)."""
    registry.choose(task, options.get("method") or "auto", _given(task, options))
    stand_in = np.zeros((16, 16))
    extras = {"mask": np.indices((16, 16)).sum(0) % 2, "guide": stand_in}
    needs = {"inpaint": ("mask",), "restore": ("mask",), "flash-no-flash": ("guide",)}.get(task, ())
    for extra in needs:
        if not all(getattr(item, extra) for item in items):
            missing = next(item.input for item in items if not getattr(item, extra))
            where = "--masks DIR or a mask column" if extra == "mask" else "a guide column (the flash photo)"
            raise InputError(f"{task} needs a {extra} for every image ({where}); '{missing}' has none")
    inputs = {k: v for k, v in options.items() if k in TASKS[task].inputs}
    prepare(task, stand_in, **inputs, **{k: extras[k] for k in needs})
    return {**options, "method": options.get("method") or "auto"}


def batch(
    task: str,
    inputs: Iterable[str | os.PathLike] = (),
    *,
    out: str | os.PathLike,
    manifest: str | os.PathLike | None = None,
    masks: str | os.PathLike | None = None,
    references: str | os.PathLike | None = None,
    format: str | None = None,
    workers: int = 1,
    ray: str | bool | None = None,
    force: bool = False,
    progress: bool = True,
    verbose: bool = False,
    **options: Any,
) -> list[dict[str, Any]]:
    """Run ``task`` on every image of ``inputs`` (folders, files, glob patterns) or of a
    ``manifest`` and write the results into ``out``; return the report's rows.

    options:  ``deepprior.run``'s (``method``, ``sigma``, ``factor``, ``preset``, ``iters``…), the
              same for every image; masks, references and guides come per image (``find_items``).
    workers:  processes on this machine, each with ``cores / workers`` threads.
    ray:      run each image as a Ray task: True for a local instance (or the cluster that
              ``RAY_ADDRESS`` names), or a cluster address; needs ``deepprior[cluster]``. A task
              asks for one CPU, and a GPU with ``device="cuda"``; ``workers`` does not apply.
    force:    redo images recorded as done, and write into a folder that holds other files.

    Each row: ``name``, ``status`` (done, skipped: done by a former run, failed, interrupted,
    pending: not started before Ctrl-C), ``seconds``, ``method``, ``output``, ``psnr`` and
    ``ssim`` with a reference, ``error``. Raises InputError for bad arguments (before any image).
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    out = Path(out)
    items = find_items(inputs, manifest=manifest, masks=masks, references=references, out=out, format=format)
    options = _check_options(task, options, items)
    recorded = {"task": task, "options": {k: v for k, v in options.items() if v is not None}}
    previous = None if force else Report.previous(out)
    if previous is not None and {k: previous.get(k) for k in recorded} != json.loads(json.dumps(recorded)):
        raise InputError(
            f"'{out}' holds a batch with other settings ({previous.get('task')}, "
            f"{previous.get('options')}); use another folder or --force"
        )
    outputs.check_folder(out, force=force, exists_ok=previous is not None)
    if force:  # nothing of an earlier batch is resumed
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    report = Report(out, task, recorded["options"], items)
    before = {r["name"]: r for r in (previous or {}).get("rows", [])}
    todo = deque()
    for item in items:
        old = before.get(item.name, {})
        if old.get("status") in ("done", "skipped") and Path(old.get("output", "")).is_file():
            report.rows[item.name] = {**old, "status": "skipped"}
        else:
            todo.append(item)
    report.save()
    run = _Run(task, str(out), options, verbose)
    if ray:
        pool = _Ray(run, None if ray is True else str(ray), gpus=1 if options.get("device") == "cuda" else 0)
    elif workers > 1:
        pool = _Processes(run, workers)
    else:
        pool = _InProcess(run)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="image", desc=f"batch {task}", disable=not progress, dynamic_ncols=True)
    in_flight = failed = 0
    try:
        with _StopRequest() as stop:
            while todo or in_flight:
                while todo and in_flight < pool.slots and not stop.requested:
                    pool.submit(todo.popleft())
                    in_flight += 1
                if not in_flight:
                    break
                row = pool.next_done()
                in_flight -= 1
                report.record(row)
                if row["status"] == "interrupted":  # the fit took the Ctrl-C (its loop handles it)
                    stop.requested = True
                failed += row["status"] == "failed"
                bar.update()
                bar.set_postfix(failed=failed, refresh=False)
    finally:
        bar.close()
        pool.close()
        report.save()
    return list(report.rows.values())
