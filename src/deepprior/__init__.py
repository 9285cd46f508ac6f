"""deepprior: image restoration without clean training data.

>>> import numpy as np, deepprior as dp
>>> noisy = np.clip(0.5 + np.random.default_rng(0).normal(0, 0.1, (32, 32)), 0, 1)
>>> dp.denoise(noisy).shape                       # numpy in, same shape and dtype out
(32, 32)
>>> dp.run("denoise", noisy, method="dip", iters=2).config["method"]   # one entry point, a Result
'dip'
"""

__version__ = "0.1.0"

from . import callbacks, n2n, operators, presets, registry
from .api import Plan, dejpeg, denoise, flash_no_flash, inpaint, plan, restore, run, super_resolve
from .errors import DeepPriorError, ImageReadError, ImageTooLargeError, InputError, OutputExistsError
from .imageio import read_image, write_image
from .methods.dip import DIPConfig
from .methods.stopping import EarlyStopping
from .methods.zeroshot import ZSN2NConfig
from .methods.zssr import ZSSRConfig
from .metrics import psnr, ssim
from .problem import Problem, Result
from .registry import get_preset

__all__ = [
    "run",
    "plan",
    "Plan",
    "denoise",
    "super_resolve",
    "inpaint",
    "restore",
    "dejpeg",
    "flash_no_flash",
    "read_image",
    "write_image",
    "psnr",
    "ssim",
    "operators",
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
