"""Started by ``torchrun`` from test_noise2noise: two Noise2Noise steps under DistributedDataParallel
on the CPU; every rank saves its weights as ``OUT/rank<R>.pt``.

usage: torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py IMAGES OUT
"""

import sys

import torch
import torch.distributed as dist

from deepprior.methods.noise2noise import N2NConfig, N2NTraining
from deepprior.trainingdata import TrainingSet, load_folder

CONFIG = N2NConfig(iters=2, width=8, depth=2, crop=16, batch=2)


def train(images: str) -> N2NTraining:
    """The run every rank makes (in one process without torchrun: rank 0's batches alone)."""
    run = N2NTraining(TrainingSet(images=load_folder(images)), CONFIG, None, "cpu")
    run.run()
    return run


if __name__ == "__main__":
    images, out = sys.argv[1:3]
    dist.init_process_group("gloo")
    torch.save(train(images).net.state_dict(), f"{out}/rank{dist.get_rank()}.pt")
    dist.destroy_process_group()
