"""How ``denoise`` tells white noise from a camera's (``noise.noise_type``): the figures behind
``noise.CORRELATION_RATIO``.

usage: python examples/noise_type_dev.py

For each image: the ratio of the noise std estimated on its four 2×2-subsampled images to the
one estimated on the whole image (``noise.subsampled_std_ratio``). White Gaussian noise of σ 5–50
on 512² crops of every eighth Sun80 photo (the colour training set, in no table) against every
fifth of PolyU's real noisy crops (the development set of real noise). Noise-free photos (σ 0)
give ratios anywhere above 1: either model leaves them nearly as they are. As a check, not used
to choose: the synthetic-noise benchmark's images (the colour σ suite and Kodak24 at σ 15, 25, 50),
which must all stay white so that their default is unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepprior.bench import protocols
from deepprior.imageio import read_image, to_float
from deepprior.noise import CORRELATION_RATIO, subsampled_std_ratio

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(path: Path) -> np.ndarray:
    return to_float(read_image(path))[0][:512, :512, :3]


def main() -> None:
    rng = np.random.default_rng(0)
    sun = [load(p) for p in sorted((DATA / "Sun80").iterdir())[::8]]
    for sigma in (0, 5, 10, 15, 25, 50):
        ratios = [subsampled_std_ratio(np.clip(x + rng.normal(0, sigma / 255, x.shape), 0, 1)) for x in sun]
        print(f"Sun80, white σ {sigma:>2}: {min(ratios):.2f}–{max(ratios):.2f}")
    paths = sorted((DATA / "PolyU").glob("*_real.JPG"))[::5]
    ratios = [subsampled_std_ratio(load(p)) for p in paths]
    print(f"PolyU, real noise ({len(paths)} crops): {min(ratios):.2f}–{max(ratios):.2f}")
    print(f"camera noise from a ratio of {CORRELATION_RATIO}")
    for sigma in (15, 25, 50):
        cases = protocols.denoise_cases(DATA, [sigma])
        cases += protocols.denoise_cases(DATA, [sigma], images=DATA / "Kodak24")
        ratios = [subsampled_std_ratio(c.observed) for c in cases]
        print(f"check: σ suite and Kodak24 at σ {sigma} ({len(cases)} images): at most {max(ratios):.2f}")


if __name__ == "__main__":
    main()
