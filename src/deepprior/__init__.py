"""deepprior: image restoration without clean training data.

>>> import numpy as np, deepprior as dp
>>> noisy = np.clip(0.5 + np.random.default_rng(0).normal(0, 0.1, (32, 32)), 0, 1)
>>> dp.denoise(noisy).shape                       # numpy in, same shape and dtype out
(32, 32)
>>> dp.run("denoise", noisy, method="dip", iters=2).config["method"]   # one entry point, a Result
'dip'
"""

__version__ = "0.1.0"

import importlib
from typing import Any

# The public names and the module each comes from; they are imported on first use, so that
# ``import deepprior`` (and the command line's start-up) does not load torch before it is needed.
_MODULES = ("callbacks", "features", "kspace", "n2n", "operators", "presets", "registry")
_NAMES = {
    **dict.fromkeys(
        ("Plan", "dejpeg", "denoise", "flash_no_flash", "inpaint", "plan", "restore", "run", "super_resolve"),
        "api",
    ),
    **dict.fromkeys(
        ("DeepPriorError", "ImageReadError", "ImageTooLargeError", "InputError", "OutputExistsError"),
        "errors",
    ),
    "batch": "batching",
    "invert_features": "features",
    "maximise_activation": "features",
    "read_image": "imageio",
    "write_image": "imageio",
    "DIPConfig": "methods.dip",
    "EarlyStopping": "methods.stopping",
    "ZSN2NConfig": "methods.zeroshot",
    "ZSSRConfig": "methods.zssr",
    "psnr": "metrics",
    "ssim": "metrics",
    "Problem": "problem",
    "Result": "problem",
    "get_preset": "registry",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "run",
    "plan",
    "Plan",
    "batch",
    "denoise",
    "super_resolve",
    "inpaint",
    "restore",
    "dejpeg",
    "flash_no_flash",
    "invert_features",
    "maximise_activation",
    "read_image",
    "write_image",
    "psnr",
    "ssim",
    "operators",
    "kspace",
    "features",
    "callbacks",
    "presets",
    "registry",
    "get_preset",
    "n2n",
    "DIPConfig",
    "ZSN2NConfig",
    "ZSSRConfig",
    "EarlyStopping",
    "Problem",
    "Result",
    "DeepPriorError",
    "InputError",
    "ImageReadError",
    "ImageTooLargeError",
    "OutputExistsError",
]
