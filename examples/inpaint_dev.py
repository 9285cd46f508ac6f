"""Choose the DIP setting for restoration from a fraction of the pixels on development images.

    python examples/inpaint_dev.py --iters 1500 [--crop 128] [--only fast lr0.01] [--out dev.json]
    python examples/inpaint_dev.py --only n2n n2n-single [--keep 0.2]
    python examples/inpaint_dev.py --only n2n fast --iters 900 --text 0.05
    python examples/inpaint_dev.py --only model --model MODEL.pt --passes 1 2 3 4 5 6

Development split: Set12 images 04–07 (Starfish, Monarch, Airplane, Parrot), which are not in the
paper's inpainting table (``deepprior bench inpaint`` reports on the other eight), with a
Bernoulli(0.5) keep-mask seeded per image name, as ``deepprior bench inpaint --images`` does.
Every DIP candidate runs ``--iters`` steps from seed 0 through ``dp.restore(..., mask=...)``; the
reference is given only to record the PSNR curve of the estimate (every 10 steps), never to stop
or choose inside a run. ``n2n`` is the default (``dp.restore`` without fitting options: the
shipped Bernoulli model), ``n2n-single`` the same without its 8 flips/rotations, and
``--model FILE`` runs a model file of one's own (``dp.n2n.load(FILE)``) as ``model`` (from the
biharmonic guess of the dropped pixels) and ``model-local`` (from the local guess it was trained on),
each with ``--passes`` runs over its own output (several counts: one candidate per count).
``--text COVERAGE`` swaps the keep-mask for random strings (``noise.text_overlay``, seeded per
image) that cover that share of the pixels: the text setting, whose table image is kate.
Printed: the mean PSNR at a few step counts, the seconds per step, and biharmonic beside.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import deepprior as dp
from deepprior.bench.baselines import biharmonic
from deepprior.bench.protocols import Case, inpaint_cases
from deepprior.metrics import psnr
from deepprior.noise import text_overlay

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV = {"04": "Starfish", "05": "Monarch", "06": "Airplane", "07": "Parrot"}
FAST_NET = dp.get_preset("restore", "fast").net_params
CANDIDATES: dict[str, dict] = {
    "fast": {},
    "lr0.01": {"lr": 0.01},
    "lr0.01-nojitter": {"lr": 0.01, "reg_noise_std": 0.0},
    "lr0.02": {"lr": 0.02},
    "skip16": {"lr": 0.01, "net_params": {**FAST_NET, "channels_skip": [16] * 5}},
    # the generator's input is the biharmonic fill instead of a random code: DIP refines it
    "fill": {"lr": 0.01, "input": "fill", "reg_noise_std": 0.0},
    "fill-j0.03": {"lr": 0.01, "input": "fill", "reg_noise_std": 0.03},
    "fill-j0.05": {"lr": 0.01, "input": "fill", "reg_noise_std": 0.05},
    "fill-j0.1": {"lr": 0.01, "input": "fill", "reg_noise_std": 0.1},
    "fill-j0.05-lr0.005": {"lr": 0.005, "input": "fill", "reg_noise_std": 0.05},
}


def cases(crop: int | None, keep: float = 0.5, text: float | None = None) -> list[Case]:
    """The benchmark's protocol (``bench inpaint --images``) on the development images; another
    ``keep`` fraction draws new masks (seeded by the fraction); ``text``: masks of random strings
    covering that share of the pixels instead."""
    with tempfile.TemporaryDirectory() as folder:
        for key, name in DEV.items():
            (Path(folder) / f"{name}.png").symlink_to(DATA / f"Set12/{key}.png")
        found = inpaint_cases(DATA, crop, Path(folder))
    if keep == 0.5 and text is None:
        return found
    rng = np.random.default_rng(round(1000 * (keep if text is None else 1 + text)))
    if text is None:
        masks = [rng.random(case.mask.shape) < keep for case in found]
    else:
        masks = [~text_overlay(case.mask.shape, 1, text, rng)[1][0] for case in found]
    return [
        dataclasses.replace(
            case,
            observed=(case.clean * (mask[..., None] if case.clean.ndim == 3 else mask)).astype(np.float32),
            mask=mask,
            setting=f"{100 * keep:g}%" if text is None else f"text {100 * text:g}%",
        )
        for case, mask in zip(found, masks)
    ]


# one inference, not a fit: the options of dp.restore
INFERENCE: dict[str, dict] = {"n2n": {}, "n2n-single": {"ensemble": False}}
# a model file of one's own (--model), 8-fold, from each first guess of the dropped pixels
MODEL = {"model": {"fill": "biharmonic"}, "model-local": {"fill": "local"}}


def infer(case: Case, name: str, model: Path | None, passes: int) -> tuple[np.ndarray, float]:
    """The estimate of an inference candidate and its seconds (``passes``: of a model file)."""
    start = time.perf_counter()
    if name in MODEL:
        image = dp.n2n.load(model, "cpu").denoise(
            case.observed, known=case.mask, ensemble=True, passes=passes, **MODEL[name]
        )
    else:
        task = "inpaint" if case.setting.startswith("text") else "restore"
        image = dp.run(task, case.observed, mask=case.mask, method="n2n", **INFERENCE[name]).image
    return image, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=1500)
    parser.add_argument("--crop", type=int)
    parser.add_argument("--keep", type=float, default=0.5, help="fraction of the pixels kept (default 0.5)")
    parser.add_argument("--text", type=float, help="text masks covering this share of the pixels")
    parser.add_argument("--only", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--model", type=Path, help="a model file to run as the candidate 'model'")
    parser.add_argument(
        "--passes", type=int, nargs="+", default=[dp.n2n.KNOWN_PASSES], help="the model's passes (each count)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for case in cases(args.crop, args.keep, args.text):
        rows.append({"image": case.name, "method": "biharmonic", "psnr": psnr(biharmonic(case), case.clean)})
        for name in [n for n in args.only if n in INFERENCE or n in MODEL]:
            for passes in args.passes if name in MODEL else [0]:
                label = f"{name} ×{passes}" if len(args.passes) > 1 and name in MODEL else name
                image, seconds = infer(case, name, args.model, passes)
                score = psnr(image, case.clean)
                rows.append({"image": case.name, "method": label, "psnr": score, "seconds": seconds})
                print(f"{case.name:9s} {label:16s} {score:6.2f} dB  {seconds:.1f} s", flush=True)
        for name in [n for n in args.only if n in CANDIDATES]:
            start = time.perf_counter()
            res = dp.restore(
                case.observed, mask=case.mask, config=CANDIDATES[name], iters=args.iters, reference=case.clean
            )
            seconds = time.perf_counter() - start
            curve = res.history["psnr"]
            rows.append(
                {"image": case.name, "method": name, "psnr": curve[-1][1], "curve": curve, "seconds": seconds}
            )
            print(
                f"{case.name:9s} {name:16s} {curve[-1][1]:6.2f} dB  {seconds / args.iters:.3f} s/step",
                flush=True,
            )
    marks = [s for s in (250, 500, 750, 1000, 1500, 2000, 3000) if s <= args.iters]
    print("\n| candidate | " + " | ".join(f"step {s}" for s in marks) + " | s/step |")
    print("|---|" + "---|" * (len(marks) + 1))
    biharm = np.mean([r["psnr"] for r in rows if r["method"] == "biharmonic"])
    print(f"| biharmonic | {biharm:.2f} |" + " |" * len(marks))
    for name in dict.fromkeys(r["method"] for r in rows if "curve" not in r and r["method"] != "biharmonic"):
        mine = [r for r in rows if r["method"] == name]
        print(
            f"| {name} | {np.mean([r['psnr'] for r in mine]):.2f} (one inference, "
            f"{np.mean([r['seconds'] for r in mine]):.1f} s) |" + " |" * (len(marks) - 1)
        )
    for name in [n for n in args.only if n in CANDIDATES]:
        mine = [r for r in rows if r["method"] == name]
        at = [np.mean([dict(map(tuple, r["curve"]))[s] for r in mine]) for s in marks]
        per_step = np.mean([r["seconds"] for r in mine]) / args.iters
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in at) + f" | {per_step:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
