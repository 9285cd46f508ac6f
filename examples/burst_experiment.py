"""How much a burst of noisy shots gains over denoising one shot (README, "A burst of shots").

A static scene shot 4 or 8 times by one camera (``deepprior.camera``: the same simulated pipeline
the camera model was trained on, each shot its own sensor noise) is what a photographer with a
tripod has. Per scene, scored on the first shot against the mean of 64 further shots (what
PolyU's references are; the clean crop itself would also score the demosaicing, the in-camera
smoothing and the colour rendition, which no denoiser undoes):

- ``single``:  ``deepprior denoise frame_0.png -o out.png`` (the default: the camera model);
- ``mean``:    the mean of the burst (aligned by construction), and the default run on it;
- ``burst``:   the camera model fine-tuned on the burst's own pairs, never a clean image:
  ``deepprior n2n train --pairs bursts/ --init src/deepprior/data/n2n_camera_grey.pt --opponent
  --iters 400 --lr 3e-4 --out tuned/`` then ``deepprior n2n apply tuned/ frame_0.png -o out.png``.

Scenes: Kodak24 photos (not in the camera model's training data, Sun80), central 256² crops.

    python examples/burst_experiment.py --out results/burst
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import deepprior as dp
from deepprior.camera import noisy_copies
from deepprior.metrics import psnr
from deepprior.n2n import SHIPPED
from deepprior.noise import noise_type
from deepprior.trainingdata import load_chw

SCENES = ("kodim04", "kodim08", "kodim15", "kodim20")
REFERENCE_SHOTS = 64


def crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central size² of a (C, H, W) image."""
    top, left = (image.shape[1] - size) // 2, (image.shape[2] - size) // 2
    return image[:, top : top + size, left : left + size]


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/Kodak24"))
    parser.add_argument("--out", type=Path, default=Path("results/burst"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--shot", type=float, default=4.0, help="shot variance ×1e-3 (camera noise level)")
    parser.add_argument("--frames", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--iters", type=int, default=400)
    args = parser.parse_args()
    rows = []
    for index, name in enumerate(SCENES):
        clean = crop(load_chw(args.data / f"{name}.png"), args.size)
        rng = np.random.default_rng([7, index])
        copies = max(args.frames) + REFERENCE_SHOTS
        shots = noisy_copies(clean[None], np.array([args.shot / 1000]), rng, copies=copies)
        burst = [np.round(s[0].transpose(1, 2, 0) * 255).astype(np.uint8) for s in shots]  # 8-bit files
        reference = np.mean([b.astype(np.float32) / 255 for b in burst[max(args.frames) :]], 0)
        first = burst[0]
        start = time.perf_counter()
        single = dp.denoise(first)
        row = {
            "scene": name,
            "auto": noise_type(first),
            "noisy": psnr(first / 255, reference, data_range=1.0),
            "single": psnr(single / 255, reference, data_range=1.0),
            "single_s": time.perf_counter() - start,
        }
        for frames in args.frames:
            folder = args.out / f"frames{frames}" / name / "bursts" / "scene"
            for k in range(frames):
                dp.write_image(folder / f"frame_{k}.png", burst[k], overwrite=True)
            mean = np.mean([b.astype(np.float32) / 255 for b in burst[:frames]], 0)
            row[f"mean{frames}"] = psnr(mean, reference, data_range=1.0)
            row[f"mean{frames}+single"] = psnr(dp.denoise(mean), reference, data_range=1.0)
            start = time.perf_counter()
            tuned = dp.n2n.train(
                pairs=folder.parent,
                out=folder.parent.parent / "tuned",
                force=True,
                init=str(SHIPPED["camera"]),
                opponent=True,
                iters=args.iters,
                lr=3e-4,
                val_every=args.iters,
                progress=False,
            )
            out = tuned.denoise(first)
            row[f"burst{frames}"] = psnr(out / 255, reference, data_range=1.0)
            row[f"burst{frames}_s"] = time.perf_counter() - start
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    keys = [k for k in rows[0] if k not in ("scene", "auto")]
    mean_row = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    print("mean", json.dumps({k: round(v, 2) for k, v in mean_row.items()}))
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"rows": rows, "mean": mean_row, "args": vars(args)}
    (args.out / "burst.json").write_text(json.dumps(record, default=str))


if __name__ == "__main__":
    main()
