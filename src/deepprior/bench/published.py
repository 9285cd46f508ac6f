"""Published figures to print beside ours (``shared/REFERENCE_RESULTS.md``).

Deep Image Prior (Ulyanov et al., CVPR 2018) figures, computed by its authors from their result
images with their evaluation script, under the protocols of ``protocols.py``.
"""

from __future__ import annotations

# Super-resolution, Set5, Y-channel PSNR with a 4-pixel border shaved.
SR_AVERAGE = {
    4: {"bicubic": 28.44, "TV prior": 28.86, "DIP": 29.90, "LapSRN": 31.59, "SRResNet-MSE": 32.10},
    8: {"bicubic": 24.37, "TV prior": 24.88, "DIP": 25.89, "LapSRN": 26.10},
}
SR_IMAGE = {
    (4, "baby"): {"DIP": 31.49},
    (4, "bird"): {"DIP": 31.80},
    (4, "butterfly"): {"DIP": 26.23},
    (4, "head"): {"DIP": 31.04},
    (4, "woman"): {"DIP": 28.93},
}

# Colour denoising, AWGN, RGB PSNR on the whole image.
DENOISE_IMAGE = {
    (25, "F16"): {"NLM": 31.34, "CBM3D": 32.67, "DIP": 33.69},
    (25, "kodim01"): {"NLM": 27.55, "CBM3D": 29.20, "DIP": 28.44},
    (25, "kodim02"): {"NLM": 30.72, "CBM3D": 32.16, "DIP": 32.71},
    (25, "kodim03"): {"NLM": 32.41, "CBM3D": 34.03, "DIP": 33.79},
    (25, "kodim12"): {"NLM": 31.74, "CBM3D": 33.14, "DIP": 32.68},
    (50, "F16"): {"NLM": 27.48, "CBM3D": 28.57, "DIP": 29.17},
    (50, "kodim01"): {"NLM": 23.58, "CBM3D": 25.62, "DIP": 25.51},
    (50, "kodim02"): {"NLM": 27.38, "CBM3D": 28.17, "DIP": 28.50},
    (50, "kodim03"): {"NLM": 28.86, "CBM3D": 29.73, "DIP": 29.38},
    (50, "kodim12"): {"NLM": 28.29, "CBM3D": 29.43, "DIP": 29.01},
}

# Restoration from 50 % of the pixels, grey, PSNR on the whole image (the paper's 11-image table).
INPAINT_IMAGE = {
    "C.man": {"DIP": 29.80},
    "House": {"DIP": 39.00},
    "Peppers": {"DIP": 33.06},
    "Lena": {"DIP": 36.08},
    "Barbara": {"DIP": 32.18},
    "Boat": {"DIP": 33.04},
    "Man": {"DIP": 32.17},
    "Couple": {"DIP": 32.48},
}
INPAINT_AVERAGE_11 = {"DIP": 33.44, "Papyan et al.": 31.16, "Voronoi": 27.50}  # over 11 images, 8 here
