"""``deepprior render-data``: Monte Carlo renders for Noise2Noise (see ``deepprior.render``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import render
from .cli_args import positive

COMMAND = "render-data"
EXAMPLE = "deepprior render-data --out renders/ --scenes 64 --spp 4 --reference-spp 256"
EXAMPLES = """examples:
  deepprior render-data --out renders/train --scenes 96                   # ~5 min on 2 cores
  deepprior render-data --out renders/test --scenes 12 --seed 1 --reference-spp 2048  # other scenes
  deepprior n2n train --pairs renders/train --hdr --holdout 8 --out render_model/
  deepprior n2n train --pairs renders/train --hdr --targets clean --out render_model_clean/
  deepprior n2n apply render_model/ renders/test/scene_0000/frame_0.exr -o clean.exr

Each scene folder holds frame_K.exr (--frames renders at --spp samples per pixel, independent
seeds: Noise2Noise pairs) and reference.exr (--reference-spp samples: the target of --targets
clean, and what validation scores). Values are linear radiance, not clipped (EXR, float32).
Needs mitsuba and openexr: pip install 'deepprior[render]'."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        COMMAND,
        help="render noisy pairs and references of random Cornell boxes (Monte Carlo, mitsuba)",
        description="Path-trace random variations of the Cornell box (walls, light, camera, objects "
        "and materials) at few samples per pixel with independent seeds (noisy pairs), and at many "
        "(a reference), as linear HDR EXR files.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="the folder to fill (scene_NNNN/ sub-folders)")
    p.add_argument("--scenes", type=positive(int), default=64, help="how many scenes (default 64)")
    p.add_argument("--size", type=positive(int), default=128, help="image side in pixels (default 128)")
    p.add_argument(
        "--spp", type=positive(int), default=4, help="samples per pixel of a noisy frame (default 4)"
    )
    p.add_argument("--frames", type=positive(int), default=2, help="noisy frames per scene (default 2)")
    p.add_argument(
        "--reference-spp",
        type=int,
        default=256,
        help="samples per pixel of the reference (0: none; default 256)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="scene i is drawn from (seed, i): another seed, other scenes"
    )
    p.add_argument("--resume", action="store_true", help="keep the scenes an interrupted run finished")
    p.add_argument("--force", action="store_true", help="write into a folder that holds files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    record = render.render_data(
        args.out,
        args.scenes,
        size=args.size,
        spp=args.spp,
        frames=args.frames,
        reference_spp=args.reference_spp,
        seed=args.seed,
        force=args.force,
        resume=args.resume,
        progress=not args.quiet,
    )
    seconds = record["seconds"]
    print(
        f"wrote {args.scenes} scenes to {args.out}/: noisy frames {seconds['frames']:.1f} s, "
        f"references {seconds['references']:.1f} s"
    )
    return 0
