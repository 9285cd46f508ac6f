"""Fitting methods: Deep Image Prior (dip) and Zero-Shot Noise2Noise (zeroshot), one entry point."""
from __future__ import annotations

from typing import Iterable

import torch

from ..problem import Problem, Result
from .dip import DIPConfig, DIPFit
from .zeroshot import ZSN2NConfig, ZSN2NFit

RUNS = {DIPConfig: DIPFit, ZSN2NConfig: ZSN2NFit}


def solve(problem: Problem, config: DIPConfig | ZSN2NConfig, *, device: str | torch.device = "cpu",
          callbacks: Iterable = (), resume: str | None = None) -> Result:
    """Run the method that ``config`` configures on ``problem``; ``resume`` continues from a
    checkpoint file written by the same method and configuration."""
    run = RUNS[type(config)](problem, config, device)
    if resume is not None:
        run.load(resume)
    return run.run(callbacks)
