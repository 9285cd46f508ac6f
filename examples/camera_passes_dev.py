"""When the camera model's second pass helps: the figures behind ``n2n.CAMERA_SECOND_PASS_BELOW``.

usage: python examples/camera_passes_dev.py [--model FILE]

Two passes of the shipped camera model (the second on the first's output) gain on PolyU's
high-ISO crops but over-smooth milder noise and noise like the training pipeline's. For each
development image: the noise std the model sees (``noise.subsampled_std``, 0–255 scale), the
RMS change of the second pass over that of the first (``ratio``), and the PSNR of the input, one
pass and two. Images:

- simulated camera noise (``deepprior.camera``, the pipeline the model was trained on) on central
  512² crops of the last four Sun80 photos (held out of the model's training), single shots at
  shot variances 0.25–8 ×1e-3 and the mean of 4 shots at 4e-3 (a burst's mean), scored against
  the mean of 32 further shots;
- every fifth PolyU crop from the 3rd (real noise), scored against its reference.

It then prints the mean PSNR when two passes are kept below each threshold of the ratio, or from
each threshold of the std up. Not used to choose: the burst experiment's Kodak scenes
(``examples/burst_experiment.py``) and the other PolyU crops (the benchmark's table).

``--model``: a candidate camera model file (or training folder) in place of the shipped one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepprior import n2n
from deepprior.camera import noisy_copies
from deepprior.imageio import read_image, to_float
from deepprior.metrics import psnr
from deepprior.noise import subsampled_std

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHOTS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
REFERENCE_SHOTS = 32


def load(path: Path) -> np.ndarray:
    """An (H, W, 3) float32 image in [0, 1]: the central 512² at most."""
    image = to_float(read_image(path))[0][..., :3]
    top, left = max(0, (image.shape[0] - 512) // 2), max(0, (image.shape[1] - 512) // 2)
    return np.ascontiguousarray(image[top : top + 512, left : left + 512], np.float32)


def simulated() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, noisy, reference) for the held-out Sun80 scenes (8-bit, as a camera writes them)."""
    cases = []
    for index, path in enumerate(sorted((DATA / "Sun80").iterdir())[-4:]):
        clean = load(path).transpose(2, 0, 1)[None]
        for shot in SHOTS:
            rng = np.random.default_rng([11, index, int(shot * 100)])
            shots = noisy_copies(clean, np.array([shot / 1000]), rng, copies=4 + REFERENCE_SHOTS)
            frames = [np.round(s[0].transpose(1, 2, 0) * 255) / 255 for s in shots]
            reference = np.mean(frames[4:], 0)
            cases.append((f"{path.stem[:14]} shot {shot}", frames[0], reference))
            if shot == 4.0:
                cases.append((f"{path.stem[:14]} mean4 {shot}", np.mean(frames[:4], 0), reference))
    return cases


def real() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, noisy, reference) for every fifth PolyU crop from the 3rd."""
    paths = sorted((DATA / "PolyU").glob("*_real.JPG"))[2::5]
    return [(p.stem[:-5], load(p), load(p.with_name(p.name.replace("_real", "_mean")))) for p in paths]


def sweep(label: str, values: np.ndarray, twice: Callable[[float], np.ndarray], rows: list[dict]) -> None:
    """Mean PSNR (simulated, PolyU, all) where two passes are kept at ``twice(threshold)``."""
    one, two = np.array([r["one"] for r in rows]), np.array([r["two"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    for threshold in np.unique(np.round(values, 2)):
        chosen = np.where(twice(threshold), two, one)
        means = "  ".join(f"{g} {chosen[groups == g].mean():.3f}" for g in ("simulated", "PolyU"))
        print(f"{label} {threshold:5.2f}: {means}  all {chosen.mean():.3f}")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--model", help="a camera model file or training folder (default: the shipped one)")
    args = parser.parse_args()
    model = n2n.load(args.model, "cpu") if args.model else n2n.pretrained("cpu", "camera")
    rows = []
    for group, cases in (("simulated", simulated()), ("PolyU", real())):
        for name, noisy, reference in cases:
            once = model.denoise(noisy, passes=1)
            twice = model.denoise(once, passes=1)
            row = {
                "group": group,
                "std": 255 * subsampled_std(noisy),
                "ratio": float(np.sqrt(np.mean((twice - once) ** 2) / np.mean((once - noisy) ** 2))),
                **{
                    k: psnr(x, reference, data_range=1.0)
                    for k, x in zip(("noisy", "one", "two"), (noisy, once, twice))
                },
            }
            rows.append(row)
            print(f"{group:9} {name:34} " + "  ".join(f"{k} {v:5.2f}" for k, v in list(row.items())[1:]))
    for group in ("simulated", "PolyU"):
        one, two = (np.mean([r[k] for r in rows if r["group"] == group]) for k in ("one", "two"))
        print(f"{group}: one pass always {one:.3f}, two always {two:.3f}")
    ratio, std = np.array([r["ratio"] for r in rows]), np.array([r["std"] for r in rows])
    sweep("two passes where ratio <", ratio, lambda t: ratio < t, rows)
    sweep("two passes where std >=", std, lambda t: std >= t, rows)


if __name__ == "__main__":
    main()
