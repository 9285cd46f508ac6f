"""The gradio page of ``deepprior serve`` (the ``ui`` extra): upload, paint a mask, watch, download.

The original upload stays on the server in its own dtype; the editor shows an 8-bit preview at
most ``jobs.PREVIEW_SIDE`` pixels long and is used only for the mask, which is mapped back to the
original size with nearest neighbour. One restoration runs at a time per process (gradio's queue
shows the others their place). Every input error is a line in the page's status box, never a
crash: the server keeps serving.

>>> page = build(max_pixels=4_000_000)  # doctest: +SKIP
>>> page.queue().launch(server_name="127.0.0.1", server_port=7860)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a local page

import gradio as gr  # noqa: E402 - after the environment it reads

from .. import crops, registry  # noqa: E402
from ..errors import DeepPriorError, InputError  # noqa: E402
from ..image import known_pixels  # noqa: E402
from ..imageio import read_image  # noqa: E402
from ..noise import NOISE_TYPES  # noqa: E402
from ..tasks import TASKS as TASKS_OF_API  # noqa: E402
from . import jobs  # noqa: E402

# What the page offers: its label → a task of ``deepprior.run`` (or a model of the user's).
TASKS = {
    "Inpaint: paint over what to remove": "inpaint",
    "Restore from a fraction of the pixels": "restore",
    "Super-resolve": "super-resolve",
    "Denoise": "denoise",
    "Remove JPEG artefacts": "dejpeg",
    "Flash / no-flash": "flash-no-flash",
    "Apply my Noise2Noise model": "n2n-model",
}
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".tif", ".tiff"]

_JOBS: dict[str, jobs.Job] = {}  # the running job of each browser session, for Stop and Cancel
_JOBS_LOCK = threading.Lock()


def _message(error: Exception) -> str:
    return f"**Error:** {error}"


def _path(file: Any) -> str | None:
    """The server-side path of a gr.File value (a path string, or None)."""
    return None if file is None else str(file)


def _known(task: str, image: np.ndarray, editor: dict | None, mask_file: Any) -> np.ndarray | None:
    """The known pixels (H, W) bool: an uploaded mask (white = known) first, else the painted
    layer (painted = to fill in); None when the task takes no mask."""
    if task not in ("inpaint", "restore"):
        return None
    size = image.shape[:2]
    if mask_file is not None:
        return known_pixels(read_image(_path(mask_file)), size) > 0
    layers = [layer for layer in (editor or {}).get("layers") or [] if layer is not None]
    painted = [layer for layer in layers if layer[..., 3].any()]
    if not painted:
        raise InputError("paint over what to remove (or upload a mask: white = known pixel), then Run")
    known = np.logical_and.reduce([jobs.known_from_layer(layer, size) for layer in painted])
    if known.all():
        raise InputError("the painted mask is empty")
    return known


def _make_job(
    state: dict | None,
    task: str,
    editor: dict | None,
    mask_file: Any,
    factor: float,
    noise: str,
    method: str,
    flash_file: Any,
    model_file: Any,
    reference_file: Any,
    iters: float,
    device: str,
) -> tuple[jobs.Job, np.ndarray | None, np.ndarray | None]:
    """The job the page's inputs describe, with the reference and the known pixels."""
    if not state:
        raise InputError("upload an image first (PNG, JPEG or TIFF)")
    image = state["image"]
    reference = read_image(_path(reference_file)) if reference_file is not None else None
    known = _known(task, image, editor, mask_file)
    if task == "n2n-model":
        if model_file is None:
            raise InputError("upload your Noise2Noise model file (.pt, from deepprior n2n train or export)")
        return jobs.Job(task, image, model=_path(model_file), device=device), reference, known
    options: dict[str, Any] = {"method": method or "auto", "device": device, "reference": reference}
    if iters:
        options["iters"] = int(iters)
    if task == "super-resolve":
        options["factor"] = int(factor)
    if task == "denoise":
        options["noise"] = noise or "auto"
    if known is not None:
        options["mask"] = known
    if task == "flash-no-flash":
        if flash_file is None:
            raise InputError("upload the flash photo too (the uploaded image is the no-flash one)")
        options["guide"] = read_image(_path(flash_file))
    return jobs.Job(task, image, **options), reference, known


def _plan_line(job: jobs.Job, known: np.ndarray | None) -> str:
    plan = job.plan()
    if plan is None:
        return "Your Noise2Noise model, one pass over the image (no estimate for a model of yours)."
    title = registry.method(plan.method).title
    minutes = plan.seconds / 60
    when = f"about {minutes:.0f} min" if minutes >= 1.5 else f"about {plan.seconds:.0f} s"
    line = (
        f"**{plan.method}** ({title}): {when} and {plan.bytes / 2**20:.0f} MB on {plan.device}; "
        f"why: {plan.reason}."
    )
    if job.task == "inpaint" and known is not None:
        boxes = crops.plan(known)
        if boxes:
            sizes = ", ".join(f"{b.width}×{b.height}" for b in boxes)
            line += f" Runs on {len(boxes)} box{'es' if len(boxes) > 1 else ''} around the mask ({sizes})."
    return line


def _methods(task: str) -> list[str]:
    """The Method menu of a task: auto, then the registry's methods for it."""
    return ["auto", *(m.name for m in registry.methods_for(task))] if task in TASKS_OF_API else ["auto"]


def _curve(progress: jobs.Progress):
    import pandas as pd

    steps, losses = zip(*progress.losses) if progress.losses else ((), ())
    return pd.DataFrame({"step": list(steps), "loss": list(losses)})


def build(max_pixels: int = jobs.MAX_PIXELS, device: str = "auto") -> gr.Blocks:
    """The page: a gr.Blocks to ``queue()`` and ``launch()`` (``deepprior serve`` does both)."""
    with gr.Blocks(title="deepprior") as page:
        gr.Markdown(
            "## deepprior: restore an image without clean training data\n"
            "Upload a photo, pick a task, paint over what to remove (inpainting), then **Run**. "
            "**Stop and keep** ends a fit and keeps its current estimate; **Cancel** drops it."
        )
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(
                    label="Image (PNG, JPEG, TIFF; 8/16-bit or float)",
                    file_types=IMAGE_TYPES,
                    height=110,
                    elem_id="upload",
                )
                task = gr.Radio(list(TASKS.items()), value="inpaint", label="Task", elem_id="task")
                editor = gr.ImageEditor(
                    label="Paint over what to remove (brush size, eraser and undo in its toolbar)",
                    type="numpy",
                    image_mode="RGBA",
                    sources=[],
                    transforms=[],
                    layers=False,
                    format="png",
                    brush=gr.Brush(default_size=24, colors=["#ff00ff"], color_mode="fixed"),
                    eraser=gr.Eraser(default_size=24),
                    elem_id="editor",
                )
                with gr.Row():
                    estimate = gr.Button("Estimate", elem_id="estimate")
                    run = gr.Button("Run", variant="primary", elem_id="run")
                    stop = gr.Button("Stop and keep", elem_id="stop")
                    cancel = gr.Button("Cancel", variant="stop", elem_id="cancel")
                with gr.Row():
                    method = gr.Dropdown(_methods("inpaint"), value="auto", label="Method", elem_id="method")
                    factor = gr.Dropdown([2, 4, 8], value=4, label="Factor", visible=False, elem_id="factor")
                    noise = gr.Radio(
                        ["auto", *NOISE_TYPES],
                        value="auto",
                        label="Noise (auto: told from the image; white: synthetic or raw; camera: a photo's)",
                        visible=False,
                        elem_id="noise",
                    )
                    iters = gr.Number(
                        0, precision=0, minimum=0, label="Steps (0: the preset's)", elem_id="iters"
                    )
                with gr.Row():
                    mask_file = gr.File(
                        label="…or a mask (white = known pixel)",
                        file_types=IMAGE_TYPES,
                        height=110,
                        elem_id="mask",
                    )
                    flash = gr.File(
                        label="Flash photo",
                        file_types=IMAGE_TYPES,
                        height=110,
                        visible=False,
                        elem_id="flash",
                    )
                    model = gr.File(
                        label="Your Noise2Noise model (.pt)",
                        file_types=[".pt"],
                        height=110,
                        visible=False,
                        elem_id="model",
                    )
                    reference = gr.File(
                        label="Clean reference (optional: PSNR)",
                        file_types=IMAGE_TYPES,
                        height=110,
                        elem_id="reference",
                    )
            with gr.Column(scale=1):
                plan = gr.Markdown(elem_id="plan")
                status = gr.Markdown("Upload an image to start.", elem_id="status")
                current = gr.Image(
                    label="Current estimate", type="numpy", interactive=False, elem_id="current"
                )
                curve = gr.LinePlot(x="step", y="loss", label="Loss", elem_id="curve")
                compare = gr.ImageSlider(
                    label="Before / after", type="numpy", interactive=False, elem_id="compare"
                )
                downloads = gr.File(
                    label="Result (full size, the input's bit depth) and report",
                    file_count="multiple",
                    interactive=False,
                    elem_id="downloads",
                )

        ordered = (state, task, editor, mask_file, factor, noise, method, flash, model, reference, iters)
        inputs = set(ordered)

        def job_of(data: dict) -> tuple[jobs.Job, np.ndarray | None, np.ndarray | None]:
            """The job of the page's current inputs (a dict by component, as gradio passes a set)."""
            return _make_job(*(data[c] for c in ordered), device)

        def on_upload(file):
            if file is None:
                return None, None, "Upload an image to start."
            try:
                image = jobs.check_upload(_path(file), max_pixels)
            except (DeepPriorError, OSError) as error:
                return None, None, _message(error)
            view = jobs.preview(image)
            height, width = image.shape[:2]
            channels = 1 if image.ndim == 2 else image.shape[2]
            note = (
                ""
                if max(height, width) <= jobs.PREVIEW_SIDE
                else f", shown at {view.shape[1]}×{view.shape[0]}"
            )
            state_value = {"image": image, "name": Path(_path(file)).stem}
            editor_value = {"background": view, "layers": [], "composite": view}
            return (
                state_value,
                editor_value,
                (f"Loaded {width}×{height}, {channels} channel(s), {image.dtype}{note}."),
            )

        def on_task(task_name):
            methods = _methods(task_name)
            return (
                gr.update(visible=task_name in ("inpaint", "restore")),
                gr.update(visible=task_name in ("inpaint", "restore")),
                gr.update(visible=task_name == "super-resolve"),
                gr.update(visible=task_name == "denoise"),
                gr.update(choices=methods, value="auto", visible=task_name != "n2n-model"),
                gr.update(visible=task_name == "flash-no-flash"),
                gr.update(visible=task_name == "n2n-model"),
            )

        def on_estimate(data: dict):
            try:
                job, _reference, known = job_of(data)
                return _plan_line(job, known)
            except (DeepPriorError, OSError) as error:
                return _message(error)

        def on_run(data: dict, request: gr.Request):
            nothing = gr.skip()
            try:
                job, reference_image, known = job_of(data)
                line = _plan_line(job, known)
            except (DeepPriorError, OSError) as error:
                yield nothing, _message(error), nothing, nothing, nothing, nothing
                return
            with _JOBS_LOCK:
                _JOBS[request.session_hash] = job
            yield line, "Starting…", None, None, None, None
            job.start()
            while not job.wait(0.5):
                if job.cancelled.is_set():
                    break
                progress = job.progress
                yield nothing, progress.line(), progress.preview, _curve(progress), nothing, nothing
            with _JOBS_LOCK:
                _JOBS.pop(request.session_hash, None)
            if job.cancelled.is_set():
                yield nothing, "Cancelled: the estimate was dropped.", None, nothing, None, None
                return
            if job.error:
                yield nothing, _message(job.error), nothing, nothing, nothing, nothing
                return
            folder = tempfile.mkdtemp(prefix="deepprior-page-")
            original = data[state]
            files = jobs.save(job, folder, f"{original['name']}_{job.task}", reference_image)
            after = jobs.preview(job.result.image)
            before = jobs.preview(original["image"])
            if before.shape != after.shape:  # super-resolution: the small input, enlarged to compare
                from PIL import Image

                before = np.asarray(Image.fromarray(before).resize(after.shape[1::-1], Image.NEAREST))
            result = job.result
            kept = " (stopped early: the estimate at that step)" if job.stopping.is_set() else ""
            method_used = result.config["method"]
            if job.task == "denoise" and "noise" in result.config:
                method_used += f" for {result.config['noise']} noise"
            done = f"Done{kept}: {result.iterations} steps in {job.seconds:.1f} s with {method_used}."
            done += "".join(f"\n\n**Warning:** {line}" for line in job.warnings)
            yield nothing, done, nothing, _curve(job.progress), (before, after), [str(f) for f in files]

        def on_stop(request: gr.Request):
            with _JOBS_LOCK:
                job = _JOBS.get(request.session_hash)
            if job is not None:
                job.stop()

        def on_cancel(request: gr.Request):
            with _JOBS_LOCK:
                job = _JOBS.get(request.session_hash)
            if job is not None:
                job.cancel()

        upload.change(on_upload, upload, [state, editor, status], concurrency_limit=None)
        task.change(
            on_task, task, [editor, mask_file, factor, noise, method, flash, model], concurrency_limit=None
        )
        estimate.click(on_estimate, inputs, plan, concurrency_limit=None)
        run.click(on_run, inputs, [plan, status, current, curve, compare, downloads], concurrency_limit=1)
        stop.click(on_stop, None, None, queue=False)
        cancel.click(on_cancel, None, None, queue=False)
    return page
