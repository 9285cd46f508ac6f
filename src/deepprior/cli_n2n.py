"""``deepprior n2n train|apply|eval``: Noise2Noise from the command line (see ``deepprior.n2n``)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from . import n2n, outputs
from .colour import tone_map
from .imageio import FLOAT_SUFFIXES, atomic_path, read_image
from .methods.noise2noise import TRAINING_LOSSES, N2NConfig
from .noise import NOISE_KINDS
from .runtime import DEVICES

COMMAND = "n2n"
EXAMPLE = (
    "deepprior n2n train --images photos/ --noise gaussian:0-50 --out model/\n"
    "  deepprior n2n apply model/ noisy.png -o clean.png"
)
TRAIN_EXAMPLES = (
    """examples:
  deepprior n2n train --images photos/ --noise gaussian:0-50 --out model/        # synthetic pairs
  deepprior n2n train --pairs captures/ --out model/   # a_0001.png + b_0001.png, or burst sub-folders
  deepprior n2n train --images photos/ --targets clean --out model_clean/       # the clean baseline
  deepprior n2n train --images photos/ --noise text --out model_text/           # L1 for text overlays
  deepprior n2n train … --out model/ --resume                                   # after Ctrl-C
  deepprior n2n train --pairs captures/ --init shipped --iters 1000 --lr 3e-4 --out tuned/  # fine-tune
  deepprior n2n train --images slices/ --noise kspace:4-8 --crop 256 --batch 4 --out mri/  # MRI k-space
  deepprior n2n train --pairs renders/ --hdr --out render_model/   # Monte Carlo renders (render-data)
  torchrun --nproc_per_node=2 -m deepprior n2n train --images photos/ --out model/

noise: KIND, KIND:LEVEL or KIND:LOW-HIGH with KIND one of """
    + ", ".join(NOISE_KINDS)
    + """;
  gaussian σ on the 0–255 scale, poisson λ, camera and poisson-gaussian the shot variance (the
  gain) ×1e-3 (poisson-gaussian: counts on the linear image plus read noise), kspace the
  acceleration of a random k-space sampling (MRI: train on whole slices, --crop their side), the
  others a probability. Without levels, the Noise2Noise paper's training range (gaussian 0-50,
  poisson 0.001-50, bernoulli 0-0.95, text 0-0.5, impulse 0-0.95; camera and poisson-gaussian
  0.1-12, kspace 4-8);
  the loss follows the noise (l2, masked_l2, l1, annealed l0, kspace: L2 on the target's
  sampled frequencies)."""
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser(
        COMMAND,
        help="Noise2Noise: train a denoiser on noisy data, apply it, evaluate it",
        description="Noise2Noise (Lehtinen et al. 2018): learn to denoise from pairs of "
        "noisy images, never a clean one.",
    )
    commands = top.add_subparsers(dest="n2n_command", required=True, metavar="SUBCOMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    p = commands.add_parser("train", help="train a model", epilog=TRAIN_EXAMPLES, formatter_class=raw)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="folder of clean images, corrupted on the fly by --noise")
    source.add_argument(
        "--pairs", type=Path, help="folder of real noisy pairs (a_*/b_*) or burst sub-folders"
    )
    p.add_argument(
        "--out", type=Path, required=True, help="folder for best.pt, last.pt, checkpoint.pt, curve.png"
    )
    p.add_argument(
        "--noise", default="gaussian:0-50", help="synthetic noise (see below; default gaussian:0-50)"
    )
    p.add_argument(
        "--targets",
        choices=("noisy", "clean"),
        default="noisy",
        help="noisy: Noise2Noise (default); clean: the supervised baseline",
    )
    p.add_argument(
        "--loss",
        choices=TRAINING_LOSSES,
        default="auto",
        help="default: the one the noise calls for",
    )
    p.add_argument("--val", type=Path, help="held-out folder (clean images, or pairs with --pairs)")
    p.add_argument(
        "--holdout", type=int, default=0, help="hold the last N training images out for validation"
    )
    defaults = N2NConfig()
    p.add_argument(
        "--iters", type=int, default=defaults.iters, help=f"training steps (default {defaults.iters})"
    )
    p.add_argument(
        "--batch", type=int, default=defaults.batch, help=f"crops per step (default {defaults.batch})"
    )
    p.add_argument("--crop", type=int, default=defaults.crop, help=f"crop side (default {defaults.crop})")
    p.add_argument(
        "--zoom",
        type=float,
        default=defaults.zoom,
        help="enlarge clean crops by up to this factor before noising them (log-uniform; "
        "softer detail, as in full-resolution camera photos; default 1: as they are)",
    )
    p.add_argument(
        "--width",
        type=int,
        help=f"U-Net encoder channels (default: the --init model's, else {defaults.width}; paper 48)",
    )
    p.add_argument(
        "--depth", type=int, help=f"U-Net poolings (default: the --init model's, else {defaults.depth})"
    )
    p.add_argument(
        "--lr",
        type=float,
        default=defaults.lr,
        help=f"Adam learning rate (default {defaults.lr:g}; paper 3e-4)",
    )
    p.add_argument(
        "--val-every",
        type=int,
        default=defaults.val_every,
        help=f"steps between validations and checkpoints (default {defaults.val_every})",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument(
        "--force", action="store_true", help="train afresh into a folder that holds an earlier training"
    )
    p.add_argument(
        "--init",
        help="fine-tune: start from this model file's weights (same depth; a narrower "
        "U-Net is widened to --width, computing the same function at the start), "
        "or 'shipped' for the model shipped with deepprior",
    )
    p.add_argument(
        "--opponent",
        action="store_true",
        help="train a grey model on the opponent channels of colour images (noised in RGB), "
        "as the grey models denoise colour photos",
    )
    p.add_argument(
        "--hdr",
        action="store_true",
        help="linear HDR data (renders: EXR or float TIFF, values kept as they are): the network sees "
        "its input tone-mapped, the loss is the relative L2, validation PSNR is on tone-mapped values",
    )
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = commands.add_parser(
        "apply",
        help="denoise images with a trained model",
        epilog="examples:\n  deepprior n2n apply model/ noisy.png -o clean.png\n"
        "  deepprior n2n apply render_model/ frame.exr -o clean.exr   # an --hdr model: linear values\n\n"
        "An --hdr model writes linear values to .exr, .tif and .fits, and tone-mapped ones\n"
        "(x / (1 + x), gamma 2.2) to the 8- and 16-bit formats.",
        formatter_class=raw,
    )
    p.add_argument("model", type=Path, help="a model file, or a training folder (its best.pt)")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    _inference_options(p)
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--force", action="store_true", help="overwrite the output")

    p = commands.add_parser(
        "export",
        help="write a trained model as a file to ship (float16 weights, its origin recorded)",
        epilog="example:\n  deepprior n2n export model/ -o denoiser.pt",
        formatter_class=raw,
    )
    p.add_argument("model", type=Path, help="a model file, or a training folder (its best.pt)")
    p.add_argument(
        "-o", "--output", dest="model_file", type=Path, required=True, help="the model file to write (.pt)"
    )
    p.add_argument("--float32", action="store_true", help="keep the weights in float32")
    p.add_argument("--force", action="store_true", help="overwrite the output")

    p = commands.add_parser(
        "eval",
        help="PSNR/SSIM of a model on clean images with synthetic noise",
        epilog="example:\n  deepprior n2n eval model/ --images clean_test/ --noise gaussian:25",
        formatter_class=raw,
    )
    p.add_argument("model", type=Path)
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--noise", default="gaussian:25", help="noise at its test level (default gaussian:25)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the scores here")
    p.add_argument("--force", action="store_true", help="overwrite the JSON file")
    _inference_options(p)
    p.add_argument("--device", default="auto", choices=DEVICES)


def _inference_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--window",
        type=int,
        help="side of the overlapping windows the model sees (default: its "
        "training crop); 0 = the whole image, in tiles",
    )
    p.add_argument(
        "--tile", type=int, default=512, help="with --window 0: tile side for large images (default 512)"
    )


def run(args: argparse.Namespace) -> int:
    if args.n2n_command == "train":
        model = n2n.train(
            args.images,
            args.pairs,
            args.out,
            val=args.val,
            holdout=args.holdout,
            resume=args.resume,
            force=args.force,
            device=args.device,
            progress=not args.quiet,
            noise=args.noise,
            targets=args.targets,
            loss=args.loss,
            iters=args.iters,
            batch=args.batch,
            crop=args.crop,
            zoom=args.zoom,
            **{k: v for k, v in (("width", args.width), ("depth", args.depth)) if v is not None},
            lr=args.lr,
            val_every=args.val_every,
            seed=args.seed,
            init=str(n2n.PRETRAINED if args.init == "shipped" else args.init or ""),
            opponent=args.opponent,
            hdr=args.hdr,
        )
        score = model.info.get("val_psnr")
        if n2n.launched_by_torchrun() and os.environ.get("RANK", "0") != "0":  # rank 0 speaks for all
            return 0
        print(
            f"trained {model.info['iterations']} steps; models in {args.out}/"
            + (f"; validation PSNR {score:.2f} dB" if score == score else "")
        )
        return 0
    if args.n2n_command == "apply":
        model = n2n.load(args.model, args.device)
        restored = model.denoise(read_image(args.input), window=args.window, tile=args.tile)
        if model.model.hdr and args.output.suffix.lower() not in FLOAT_SUFFIXES:
            restored = tone_map(restored)  # for display: the file cannot hold values above 1
        outputs.save_image(args.output, restored)
        print(f"wrote {args.output}")
        return 0
    if args.n2n_command == "export":
        n2n.export(args.model, args.model_file, half=not args.float32)
        print(f"wrote {args.model_file}")
        return 0
    scores = n2n.evaluate(
        n2n.load(args.model, args.device),
        args.images,
        args.noise,
        seed=args.seed,
        window=args.window,
        tile=args.tile,
    )
    for row in scores["images"]:
        print(
            f"{row['name']:>12}  {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}  "
            f"(noisy {row['noisy_psnr']:.2f})"
        )
    print(f"{'mean':>12}  {scores['psnr']:6.2f} dB  SSIM {scores['ssim']:.4f}  ({args.noise})")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(scores, indent=1))
    return 0
