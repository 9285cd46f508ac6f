"""Named DIP configurations per task.

``paper`` reproduces the official Deep Image Prior notebooks (Ulyanov et al., CVPR 2018)
setting for setting. ``fast`` is the laptop-CPU default: the same hourglass with 16, 32 and 64
channels at the three finest levels instead of 128 (1.04 M parameters instead of 2.2 M; 9.2
instead of 115 GFLOP and about 6× less time per step at 256², ``deepprior bench speed``) and
fewer steps. It trades quality for
time: the PSNR it reaches is in the README's Results, measured with ``deepprior bench``; its
step counts other than denoising's are first choices that the benchmark suites are there to tune.
``decoder`` (denoising only) fits a Deep Decoder instead of the hourglass.
"""

from __future__ import annotations

from typing import Any

from .errors import InputError

# The keys of the preset tables and the task each belongs to: inpainting is split by mask kind,
# and ``operator`` is restoration through a user's operator (``tasks.prepare`` says which key a
# run uses).
PRESET_TASKS = {
    "denoise": "denoise",
    "dejpeg": "dejpeg",
    "super-resolve": "super-resolve",
    "inpaint": "inpaint",
    "inpaint-holes": "inpaint",
    "restore": "restore",
    "flash-no-flash": "flash-no-flash",
    "operator": "restore",
}

_SKIP_128 = {
    "channels_down": [128] * 5,
    "channels_up": [128] * 5,
    "channels_skip": [4] * 5,
    "upsample": "bilinear",
}
# The fast net: narrow fine levels, where most of the FLOPs are.
_SKIP_FAST = {
    "channels_down": [16, 32, 64, 128, 128],
    "channels_up": [16, 32, 64, 128, 128],
    "channels_skip": [4] * 5,
    "upsample": "bilinear",
}


# The Deep Decoder (Heckel & Hand, ICLR 2019) as a DIP generator: 1×1 convolutions and bilinear
# upsampling from a code 32× smaller than the image, no input jitter. Chosen in ad-hoc runs on a
# 256² crop of kodim05 (not in the suites), σ25: width 128 reached 24.40 dB at step 1500 and
# width 64 23.14 (in 0.36 and 0.15 s per step at 256²); at width 64 lr 0.01 gave 21.33 dB at
# step 500, 0.03 20.74 and 0.1 18.66. Its PSNR still rises at 2000 steps: it fits slowly.
_DECODER = {"width": 128, "depth": 5}
DECODER_ITERS = 2000


def paper(task: str, sigma: float, factor: int) -> dict[str, Any]:
    if task == "denoise":
        return dict(
            net_params=_SKIP_128, iters=3000, lr=0.01, reg_noise_std=1 / 20 if sigma >= 50 else 1 / 30
        )
    if task == "dejpeg":
        return dict(
            input_channels=3,
            iters=2400,
            lr=0.01,
            reg_noise_std=1 / 30,
            net_params={
                "channels_down": [8, 16, 32, 64, 128],
                "channels_up": [8, 16, 32, 64, 128],
                "channels_skip": [0, 0, 0, 4, 4],
                "upsample": "bilinear",
            },
        )
    if task in ("super-resolve", "operator"):
        deep = factor >= 8
        return dict(
            net_params=_SKIP_128, iters=4000 if deep else 2000, lr=0.01, reg_noise_std=0.05 if deep else 0.03
        )
    if task == "inpaint":
        return dict(
            iters=6000,
            lr=0.01,
            reg_noise_std=0.03,
            net_params={
                "channels_down": [128] * 5,
                "channels_up": [128] * 5,
                "channels_skip": [128] * 5,
                "upsample": "nearest",
            },
        )
    if task == "inpaint-holes":
        widths = [16, 32, 64, 128, 128, 128]
        return dict(
            input_channels=1,
            iters=3000,
            lr=0.01,
            reg_noise_std=0.0,
            net_params={
                "channels_down": widths,
                "channels_up": widths,
                "channels_skip": [0] * 6,
                "kernel_down": 5,
                "kernel_up": 3,
                "upsample": "nearest",
                "need_1x1_up": False,
            },
        )
    if task == "restore":
        return dict(net_params=_SKIP_128, iters=11000, lr=0.001, reg_noise_std=0.03)
    if task == "flash-no-flash":
        return dict(
            input="guide",
            iters=600,
            lr=0.1,
            reg_noise_std=0.0,
            net_params={**_SKIP_128, "upsample": ["nearest", "nearest", "bilinear", "bilinear", "bilinear"]},
        )
    raise AssertionError(task)


def fast(task: str, sigma: float, factor: int) -> dict[str, Any]:
    published = paper(task, sigma, factor)
    if task == "flash-no-flash":
        return {
            **published,
            "net_params": {
                **published["net_params"],
                **{k: _SKIP_FAST[k] for k in ("channels_down", "channels_up")},
            },
            "iters": 300,
        }
    if task == "inpaint-holes":
        return {**published, "iters": 1500}
    if task == "dejpeg":
        return {**published, "iters": 1200}
    iters = {
        "denoise": 1800,
        "super-resolve": 1500 if factor < 8 else 2500,
        "operator": 1500,
        "inpaint": 2500,
        "restore": 3000,
    }[task]
    lr = 0.01 if task != "restore" else 0.005
    return {**published, "net_params": _SKIP_FAST, "iters": iters, "lr": lr}


def decoder(task: str, sigma: float, factor: int) -> dict[str, Any]:
    if task != "denoise":
        raise InputError(f"the decoder preset is made for denoising only; use paper or fast for {task}")
    return dict(
        net="decoder",
        net_params=_DECODER,
        input_channels=_DECODER["width"],
        reg_noise_std=0.0,
        lr=0.01,
        iters=DECODER_ITERS,
    )


# Zero-shot Noise2Noise. paper: Mansour & Heckel's recipe (3000 Adam steps on the whole image,
# lr 1e-3 halved every 1000 steps; about 78 GFLOP a step at 768×512). fast: 400 steps on four
# random 128² crops with flips and rotations (about 2 % of the paper's pixel-steps on a Kodak
# image), lr 3e-3, and the 8-fold flip/rotation ensemble at inference. First chosen on kodim01
# (in the colour suite); re-checked on the development split (examples/dev_selection.py, four
# Sun80 crops at σ25): 200 steps 27.70 dB, 400 steps 28.16, 800 steps 28.48 at twice the time,
# 400 steps at lr 1e-3 27.86. More steps keep helping; 400 keeps a photo near a minute on two
# cores. The suites' figures are in the README's Results.
ZS_N2N: dict[str, dict[str, Any]] = {
    "paper": {},
    "fast": dict(iters=400, lr=3e-3, crop=128, batch=4, augment=True, ensemble=True),
    "pd": dict(iters=400, lr=3e-3, crop=128, batch=4, augment=True, ensemble=True, shuffle=3),
}
# pd: fast on the 3×3 pixel-shuffle sub-images (camera noise). The stride was chosen on the PolyU
# development crops sorted by name, every 20th from the 11th (one per camera) plus chair_11:
# mean PSNR 36.93 dB at stride 3, 36.83 at 4 (noisy 36.36); on chair_11 and comproom_1 stride 2
# gave 41.24 / 38.33, 3 gave 41.48 / 38.77, 5 (chair_11) 41.33.


# Zero-Shot Super-Resolution. paper: ZSSR's network and budget (8 layers of 64 channels, 128²
# crops, 3000 steps; without its adaptive learning rate and gradual ×2 steps). fast: 500 steps on
# 96² crops, lr 1e-3 (ZSSRConfig's defaults). Chosen in ad-hoc runs on two Set5 images (bird,
# butterfly ×4, i.e. on the benchmark itself): 500 steps at lr 1e-3 gave 31.92 / 25.53 dB, 1000
# steps at 3e-4 31.83 / 25.42, 1500 steps at 1e-3 31.06 / 24.63. On four Kodak crops, not in the
# benchmark, it adds 0.03 to 0.21 dB to back-projection alone (README, Results).
ZSSR: dict[str, dict[str, Any]] = {
    "paper": dict(iters=3000, crop=128),
    "fast": {},
}
