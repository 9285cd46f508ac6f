"""MRI from undersampled k-space: zero-filled, total variation, Deep Image Prior and Noise2Noise
(noisy targets against full targets) on the test subject, at ×4 and ×8.

usage:
  python examples/mri_table.py --dev                    # choices, on the training subject
  python examples/mri_table.py --noisy-model results/mri/n2n_noisy \\
      --clean-model results/mri/n2n_clean [--every 5] [--out results/mri/table.md]

Data: ``../shared/data/mri`` (see its SOURCES.md), split by subject: the studyforrest subject
(60 axial slices) trains and chooses, the Siemens Trio subject (50 sagittal slices) is the test.
Each test slice gets its own random variable-density mask (``kspace.sampling_mask("random")``,
the Noise2Noise paper's sampling; seeded by slice and acceleration). Images are the 16-bit
slices / 65535 (each volume peaks at 1), so PSNR's peak is the volume's maximum; SSIM on the
same scale. Outputs are clipped to [0, 1] before scoring.

``--dev`` prints how much brighter the training slices are than their zero-filled images (for
``image.SPECTRUM_HEADROOM``), then, on every tenth training slice at ×4 and ×8 (masks of other seeds), the TV
weight's PSNR for each weight tried, and the DIP fit's PSNR every 100 steps on the first of those
slices: the defaults below were chosen from that output.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import deepprior as dp
from deepprior import kspace
from deepprior.image import SPECTRUM_HEADROOM
from deepprior.imageio import read_image
from deepprior.metrics import psnr, ssim

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mri"
TRAIN, TEST = "studyforrest_t1w_axial", "trio_b17_t1_mprage_sag"
ACCELERATIONS = (4, 8)
# Chosen with --dev on the training subject (the README's MRI section quotes its output): the
# best TV weight of TV_TRIED at each acceleration; DIP's PSNR still rose at 2000 steps, so the
# table runs 3000, as many as its budget allows.
TV_WEIGHTS = {4: 3e-5, 8: 1e-4}
TV_TRIED = (3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3)
DIP_ITERS = 3000
DEV_DIP_SLICES, DEV_DIP_ITERS = 1, 2000  # the DIP curve of --dev: its first slice, 2000 steps


def slices(subject: str, every: int) -> list[tuple[str, np.ndarray]]:
    files = sorted((DATA / subject).glob("*.png"))[::every]
    return [(f.stem, read_image(f).astype(np.float64) / 65535) for f in files]


def observe_with(kind: str, x: np.ndarray, factor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The slice's spectrum under its own mask of ``kind``: (spectrum, mask)."""
    mask = kspace.sampling_mask(kind, x.shape, factor, seed=seed)
    return kspace.fft2c(x) * mask, mask


def observe(x: np.ndarray, factor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The slice's spectrum under its own random mask (the table's): (spectrum, mask)."""
    return observe_with("random", x, factor, seed)


def dip(spectrum: np.ndarray, mask: np.ndarray, iters: int, reference: np.ndarray | None = None):
    return dp.restore(spectrum, kspace.KSpace(mask), iters=iters, seed=0, reference=reference)


def total_variation(spectrum: np.ndarray, mask: np.ndarray, weight: float) -> np.ndarray:
    return dp.restore(spectrum, kspace.KSpace(mask), method="tv", config={"weight": weight}).image


def scores(out: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    out = np.clip(out, 0, 1).astype(np.float32)
    return psnr(out, x.astype(np.float32), data_range=1.0), ssim(out, x.astype(np.float32), data_range=1.0)


def headroom() -> None:
    """How much brighter each training slice is than its zero-filled image, per mask kind: what
    ``image.SPECTRUM_HEADROOM`` must exceed for DIP's output in [0, 1] to reach the true peak."""
    for kind in kspace.MASKS:
        for factor in ACCELERATIONS:
            ratios = [
                x.max() / np.abs(kspace.ifft2c(observe_with(kind, x, factor, i)[0])).max()
                for i, (_, x) in enumerate(slices(TRAIN, 6))
            ]
            print(f"{kind} ×{factor}: the true peak is up to {max(ratios):.2f}× the zero-filled one's")


def develop() -> None:
    headroom()
    for factor in ACCELERATIONS:
        cases = [(x, *observe(x, factor, 1000 + i)) for i, (_, x) in enumerate(slices(TRAIN, 10))]
        filled = np.mean([scores(kspace.zero_filled(k, m), x)[0] for x, k, m in cases])
        print(f"×{factor}: zero-filled {filled:.2f}")
        for weight in TV_TRIED:
            tv = np.mean([scores(total_variation(k, m, weight), x)[0] for x, k, m in cases])
            print(f"×{factor}: TV weight {weight:g}: {tv:.2f}")
        curves = []
        for x, k, m in cases[:DEV_DIP_SLICES]:  # the fit's PSNR is on its own scale: shifted to the volume's
            shift = 20 * np.log10(SPECTRUM_HEADROOM * np.abs(kspace.ifft2c(k)).max())
            history = dip(k, m, DEV_DIP_ITERS, reference=x).history["psnr"]
            curves.append({step: db - shift for step, db in history})
        for step in curves[0]:
            if step % 100 == 0:
                print(f"×{factor}: DIP step {step}: {np.mean([c[step] for c in curves]):.2f}")


def table(args: argparse.Namespace) -> str:
    models = {"N2N, noisy targets": args.noisy_model, "N2N, full targets": args.clean_model}
    fits = []  # the latest DIP output, which "DIP + data consistency" takes as it is

    def fit_dip(k: np.ndarray, m: np.ndarray) -> np.ndarray:
        fits[:] = [dip(k, m, args.dip_iters).image]
        return fits[0]

    methods = {
        "zero-filled": kspace.zero_filled,
        "TV": None,
        "DIP": fit_dip,
        "DIP + data consistency": lambda k, m: kspace.consistent(fits[0], k, m),
        **{name: dp.n2n.load(path, "cpu").reconstruct for name, path in models.items()},
    }
    test = slices(TEST, args.every)
    rows = []
    for factor in ACCELERATIONS:
        methods["TV"] = lambda k, m, w=TV_WEIGHTS[factor]: total_variation(k, m, w)
        results = {name: {} for name in methods}
        for i, (name, x) in enumerate(test):
            spectrum, mask = observe(x, factor, seed=10 * i + factor)
            for method, run in methods.items():
                if method.startswith("DIP") and i % args.dip_every:
                    continue
                start = time.perf_counter()
                out = run(spectrum, mask)
                results[method][i] = (*scores(out, x), time.perf_counter() - start)
                print(f"×{factor} {name} {method}: {results[method][i][0]:.2f} dB", flush=True)
        subset = sorted(results["DIP"])
        for method, values in results.items():
            whole = np.mean(list(values.values()), 0)
            every = "–" if method.startswith("DIP") else f"{whole[0]:.2f} / {whole[1]:.4f}"
            p, s, t = np.mean([values[i] for i in subset], 0)
            rows.append(f"| ×{factor} | {method} | {every} | {p:.2f} / {s:.4f} | {t:.1f} |")
    return (
        f"Test subject {TEST}: {len(test)} slices (every {args.every}); DIP on every "
        f"{args.dip_every}th of those ({len(subset)}). PSNR (dB) / SSIM.\n\n"
        f"| acceleration | method | all {len(test)} | the {len(subset)} DIP slices | s / slice |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", action="store_true", help="the choices, on the training subject")
    parser.add_argument("--noisy-model", help="the Noise2Noise model trained on noisy targets")
    parser.add_argument("--clean-model", help="the same training with fully sampled targets")
    parser.add_argument("--every", type=int, default=1, help="every Nth test slice (default 1: all)")
    parser.add_argument("--dip-every", type=int, default=25, help="DIP on every Nth of those (default 25)")
    parser.add_argument("--dip-iters", type=int, default=DIP_ITERS)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    if args.dev:
        develop()
        return
    if not (args.noisy_model and args.clean_model):
        parser.error("give --noisy-model and --clean-model (or --dev)")
    text = table(args)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
