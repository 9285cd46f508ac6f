"""``deepprior batch TASK …``: one task over folders of images (see ``deepprior.batching``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import batching
from .cli_args import add_run_options, add_task_options, positive, run_options, task_inputs
from .errors import InputError
from .tasks import TASKS

COMMAND = "batch"
EXAMPLE = "deepprior batch denoise photos/ --out clean/ --workers 2"
EXAMPLES = """examples:
  deepprior batch denoise photos/ --out clean/                        # every image under photos/
  deepprior batch inpaint 'scans/*.png' --masks masks/ --out filled/  # masks matched by name
  deepprior batch super-resolve --manifest jobs.csv --out big/ --factor 4   # input[,mask][,reference]
  deepprior batch denoise photos/ --out clean/ --workers 2            # processes on this machine
  deepprior batch denoise photos/ --out clean/ --ray                  # Ray (pip install 'deepprior[cluster]')
  deepprior batch denoise photos/ --out clean/                        # again: resumes, skips what is done

Outputs keep the input's relative name and format; the report is OUT/batch.csv and OUT/batch.json.
Ctrl-C lets the images in flight finish (a fit saves a checkpoint), writes the report and says how
to resume. Exit code 0: every image done; 1: some failed (listed); 2: bad arguments; 130: stopped.
With --ray the workers read the inputs and write the outputs themselves: give paths on storage that
every node shares."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser(
        COMMAND,
        help="run one task over folders, glob patterns or a manifest of images (resumable)",
        description="Run one task over many images, in this process, in worker processes or on Ray.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = top.add_subparsers(dest="batch_task", required=True, metavar="TASK")
    for task in TASKS:
        p = tasks.add_parser(
            task,
            help=TASKS[task].summary,
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("inputs", nargs="*", help="folders (searched recursively), images or glob patterns")
        g = p.add_argument_group("batch")
        g.add_argument("--out", type=Path, required=True, help="folder for the results and the report")
        g.add_argument("--manifest", type=Path, help="CSV with a header: input[,mask][,reference][,guide]")
        g.add_argument("--masks", type=Path, help="folder of masks, matched by relative path and stem")
        g.add_argument("--references", type=Path, help="folder of clean images: PSNR/SSIM in the report")
        g.add_argument("--format", help="output format for every image (png, tif…; default: the input's)")
        g.add_argument(
            "--workers",
            type=positive(int),
            default=1,
            help="processes, each with cores/N threads (default 1)",
        )
        g.add_argument(
            "--ray",
            nargs="?",
            const=True,
            metavar="ADDRESS",
            help="run each image as a Ray task: a local instance, or the cluster at ADDRESS",
        )
        g.add_argument("--verbose", action="store_true", help="also each fit's own progress bar")
        add_task_options(p, task)
        add_run_options(p.add_argument_group("run"))


def run(args: argparse.Namespace) -> int:
    if not args.inputs and args.manifest is None:
        raise InputError("give folders, images or patterns to process, or --manifest CSV")
    if args.inputs and args.manifest is not None:
        raise InputError("give either inputs or --manifest, not both")
    options = {**run_options(args), **task_inputs(args)}
    options = {k: v for k, v in options.items() if v is not None}
    rows = batching.batch(
        args.batch_task,
        [str(p) for p in args.inputs],
        out=args.out,
        manifest=args.manifest,
        masks=args.masks,
        references=args.references,
        format=args.format,
        workers=args.workers,
        ray=args.ray,
        force=args.force,
        progress=not args.quiet,
        verbose=args.verbose,
        method=getattr(args, "method", "auto"),
        device=args.device,
        **options,
    )
    summary = json.loads((args.out / batching.REPORT).read_text())["summary"]
    print(
        f"{summary['images']} images: {summary['done']} done, {summary['skipped']} done before, "
        f"{summary['failed']} failed; {summary['images_per_minute']} images per minute; "
        f"report in {args.out / batching.TABLE}"
    )
    for row in rows:
        if row["status"] == "failed":
            print(f"  failed: {row['input']}: {row['error']}", file=sys.stderr)
    if summary["pending"] or summary["interrupted"]:
        print(
            f"stopped with {summary['pending'] + summary['interrupted']} images left: run the same command "
            f"again to resume",
            file=sys.stderr,
        )
        return 130
    return 1 if summary["failed"] else 0
