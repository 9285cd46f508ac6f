"""Fitting methods: Deep Image Prior (dip), Zero-Shot Noise2Noise (zeroshot) and Zero-Shot
Super-Resolution (zssr), one entry point."""
from __future__ import annotations

from typing import Iterable

import torch

from ..problem import Problem, Result
from .dip import DIPConfig, DIPFit
from .zeroshot import ZSN2NConfig, ZSN2NFit
from .zssr import ZSSRConfig, ZSSRFit

RUNS = {DIPConfig: DIPFit, ZSN2NConfig: ZSN2NFit, ZSSRConfig: ZSSRFit}


def solve(problem: Problem, config: DIPConfig | ZSN2NConfig | ZSSRConfig, *, device: str | torch.device = "cpu",
          callbacks: Iterable = (), resume: str | None = None) -> Result:
    """Run the method that ``config`` configures on ``problem``; ``resume`` continues from a
    checkpoint file written by the same method and configuration."""
    run = RUNS[type(config)](problem, config, device)
    if resume is not None:
        run.load(resume)
    return run.run(callbacks)
