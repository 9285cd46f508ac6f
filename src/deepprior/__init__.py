"""deepprior: image restoration without clean training data.

>>> import deepprior as dp
>>> clean = dp.denoise(noisy)                                   # numpy in, same shape/dtype out
>>> big = dp.super_resolve(small, factor=4)
>>> res = dp.restore(y, operator=dp.operators.Blur(kernel))     # a Result: image, history, config
"""
__version__ = "0.1.0"

from . import callbacks, n2n, operators, presets
from .api import dejpeg, denoise, flash_no_flash, inpaint, restore, super_resolve
from .errors import DeepPriorError, ImageReadError, ImageTooLargeError, InputError, OutputExistsError
from .imageio import read_image, write_image
from .methods.dip import DIPConfig
from .methods.stopping import EarlyStopping
from .methods.zeroshot import ZSN2NConfig
from .methods.zssr import ZSSRConfig
from .metrics import psnr, ssim
from .presets import get_preset
from .problem import Problem, Result

__all__ = [
    "denoise", "super_resolve", "inpaint", "restore", "dejpeg", "flash_no_flash",
    "read_image", "write_image", "psnr", "ssim", "operators", "callbacks", "presets", "get_preset", "n2n",
    "DIPConfig", "ZSN2NConfig", "ZSSRConfig", "EarlyStopping", "Problem", "Result",
    "DeepPriorError", "InputError", "ImageReadError", "ImageTooLargeError", "OutputExistsError",
]
