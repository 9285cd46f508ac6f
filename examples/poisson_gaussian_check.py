"""The Poisson–Gaussian noise estimator (``noise.estimate_poisson_gaussian``) on synthetic 16-bit
frames with known gain and read noise.

usage: python examples/poisson_gaussian_check.py

Each clean image (the four development images Set12 04–07 and scikit-image's Hubble deep field,
scaled to [0.02, 0.9] of full scale) gets Poisson noise of gain ``a`` (variance a·x) plus Gaussian
read noise of variance ``b``, and is stored as 16-bit integers; the estimator sees only that
frame. Printed: the true and estimated a and √b, and the relative error of the noise std the fit
predicts at 10 % and 50 % of full scale, √(a·x + b), which is what a denoiser is given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import color, data

from deepprior.imageio import read_image, to_float
from deepprior.noise import estimate_poisson_gaussian

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# (a, read std): shot noise alone, and read noise about as strong as the shot noise at 10 % of
# full scale (where it can be told from it at all)
SETTINGS = [(1e-4, 3e-3), (1e-3, 1e-2), (1e-3, 3e-3), (1e-2, 3e-2), (3e-3, 0.0)]
LEVELS = (0.1, 0.5)  # where the noise std the fit predicts is checked


def images() -> dict[str, np.ndarray]:
    found = {f"Set12 {k}": to_float(read_image(DATA / f"Set12/{k}.png"))[0] for k in ("04", "05", "06", "07")}
    found["hubble"] = color.rgb2gray(data.hubble_deep_field())
    return {k: 0.02 + 0.88 * (v - v.min()) / (v.max() - v.min()) for k, v in found.items()}


def main() -> None:
    rng = np.random.default_rng(0)
    errors = []
    print("| image | a | est. a | read std | est. read std | std error at 0.1 | at 0.5 |")
    print("|---|---|---|---|---|---|---|")
    for name, clean in images().items():
        for a, read in SETTINGS:
            noisy = rng.poisson(clean / a) * a + rng.normal(0, read, clean.shape)
            frame = np.clip(np.round(noisy * 65535), 0, 65535).astype(np.uint16)
            est_a, est_b = estimate_poisson_gaussian(frame / 65535)
            est_read = float(np.sqrt(max(est_b, 0.0)))
            error = [np.sqrt(max(est_a * x + est_b, 0.0)) / np.sqrt(a * x + read**2) - 1 for x in LEVELS]
            errors.append(np.abs(error))
            print(
                f"| {name} | {a:.0e} | {est_a:.2e} | {read:.0e} | {est_read:.1e} "
                f"| {100 * error[0]:+.1f} % | {100 * error[1]:+.1f} % |"
            )
    median, largest = 100 * np.median(errors, 0), 100 * np.max(errors, 0)
    print(
        f"\nnoise std predicted at 10 % / 50 % of full scale: median error {median[0]:.1f} / "
        f"{median[1]:.1f} %, largest {largest[0]:.1f} / {largest[1]:.1f} %"
    )


if __name__ == "__main__":
    main()
