"""How close ``deepprior.plan``'s time estimates come to the measured time of the same runs.

    python examples/cost_model_check.py --image ../shared/data/Kodak24/kodim05.png --crop 128

Runs each method once (with fewer steps than its preset, the same for the estimate) on a
centre crop of ``--image`` with σ = 25 noise and prints estimated against measured seconds. The
efficiencies in the cost model (``DIP_EFFICIENCY``, ``N2N_EFFICIENCY``, ``ZSN2NFit.efficiency``,
``ZSSRFit.efficiency``) were set from this script on a development image outside the suites.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import deepprior as dp
from deepprior.bench.protocols import bicubic_resize
from deepprior.imageio import read_image, to_float
from deepprior.runtime import reuse_freed_memory

RUNS = [  # (label, task, options)
    ("n2n (default)", "denoise", {}),
    ("dip fast, 100 steps", "denoise", {"method": "dip", "iters": 100}),
    ("dip paper, 10 steps", "denoise", {"method": "dip", "preset": "paper", "iters": 10}),
    ("zs-n2n fast", "denoise", {"method": "zs-n2n"}),
    ("zssr fast ×4, 200 steps", "super-resolve", {"factor": 4, "iters": 200}),
]


def main() -> None:
    reuse_freed_memory()  # as the CLI does, whose times the cost model predicts
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--image", required=True)
    parser.add_argument("--crop", type=int, default=128)
    args = parser.parse_args()
    clean = to_float(read_image(args.image))[0][..., :3]
    h, w = clean.shape[:2]
    top, left = (h - args.crop) // 2, (w - args.crop) // 2
    clean = clean[top : top + args.crop, left : left + args.crop]
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape), 0, 1).astype(
        np.float32
    )
    small = bicubic_resize(clean, (args.crop // 4, args.crop // 4))
    print(f"| run ({args.crop}² output) | estimated s | measured s | measured / estimated |")
    print("|---|---|---|---|")
    for label, task, options in RUNS:
        image = small if task == "super-resolve" else noisy
        plan = dp.plan(task, image, **options)
        start = time.perf_counter()
        dp.run(task, image, **options)
        seconds = time.perf_counter() - start
        print(f"| {label} | {plan.seconds:.1f} | {seconds:.1f} | {seconds / plan.seconds:.2f} |")


if __name__ == "__main__":
    main()
