"""Noise models that corrupt clean images (for demos, benchmarks and training pairs)."""
from __future__ import annotations

import numpy as np

from .imageio import from_float, to_float


def add_gaussian(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add N(0, sigma²) noise in float (sigma in [0, 1] units), clip to [0, 1].

    The result keeps the input's dtype (an 8-bit image is quantised back to 8 bits; pass a float
    image for the unquantised protocol of the benchmarks).
    """
    x, encoding = to_float(image)
    noisy = x + np.random.default_rng(seed).normal(0.0, sigma, x.shape).astype(np.float32)
    return from_float(np.clip(noisy, 0.0, 1.0), encoding)
