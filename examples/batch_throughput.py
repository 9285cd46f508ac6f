"""Throughput of ``deepprior batch denoise`` on Kodak24 with Gaussian noise σ 25: in this
process, with ``--workers 2`` and as Ray tasks on a local instance, measured in one run.

usage: python examples/batch_throughput.py [KODAK24_DIR] [extra batch flags, e.g. --no-ensemble]

Each mode is one ``deepprior batch`` command timed from start to exit (start-up included); the
noisy inputs are made once (seed = image index) and every mode's outputs are compared bit for bit.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import deepprior as dp
from deepprior.noise import add_gaussian

MODES = {"sequential": [], "--workers 2": ["--workers", "2"], "Ray local": ["--ray"]}


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/Kodak24")
    extra = sys.argv[2:]
    work = Path(tempfile.mkdtemp(prefix="deepprior-throughput-"))
    clean = sorted(source.glob("*.png"))
    for i, path in enumerate(clean):
        dp.write_image(work / "noisy" / path.name, add_gaussian(dp.read_image(path), 25 / 255, seed=i))
    timings = {}
    for mode, flags in MODES.items():
        out = work / mode.replace(" ", "_").strip("-")
        cmd = [
            "deepprior",
            "batch",
            "denoise",
            str(work / "noisy"),
            "--out",
            str(out),
            "--quiet",
            *flags,
            *extra,
        ]
        cmd += ["--references", str(source)]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        timings[mode] = (time.perf_counter() - start, out)
    base = timings["sequential"][0]
    first = timings["sequential"][1]
    print(f"\n{len(clean)} images, flags: {' '.join(extra) or '(defaults)'}")
    print("| mode | seconds | images per minute | ratio to sequential | outputs equal |")
    print("|---|---|---|---|---|")
    for mode, (seconds, out) in timings.items():
        same = all(np.array_equal(dp.read_image(first / p.name), dp.read_image(out / p.name)) for p in clean)
        print(f"| {mode} | {seconds:.1f} | {60 * len(clean) / seconds:.1f} | {base / seconds:.2f} | {same} |")


if __name__ == "__main__":
    main()
