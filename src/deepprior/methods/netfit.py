"""What the single-image training methods share (Zero-Shot Noise2Noise, ZSSR): one network
trained with Adam on examples drawn from the observation itself, a lazily computed estimate, loss
and PSNR histories, and checkpoints that resume bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..metrics import psnr_tensor
from ..problem import Problem, Result
from ..runtime import Cost, flops, training_bytes
from .loop import StepLoop, host_image


class NetFit(StepLoop):
    """Subclasses set ``method``, ``free`` (see ``StepLoop``) and ``efficiency`` (the share of the
    matmul peak they reach, for the cost model), build their net in ``make_net``, give the shape of
    one step's input in ``training_shape`` and the FLOPs of the final estimate in
    ``inference_flops``, and provide ``learning_rate()``, ``loss()`` (one step's training loss)
    and ``compute_image()`` (the current estimate); they may override ``memory_probe`` (a loss like
    a step's, for the memory estimate).

    Callbacks see ``iteration``, ``config``, ``image`` (the current estimate, (1, C, H, W) in
    [0, 1], computed on demand), ``last_loss``, ``last_psnr``, ``reference`` and ``history``.
    """

    free: tuple[str, ...] = ("iters", "tile")
    efficiency = 0.1

    def __init__(self, problem: Problem, config: Any, device: str | torch.device, what: str):
        """what: the run in words, for the memory check's message."""
        self.problem = problem
        super().__init__(config, device, self.cost(problem, config).bytes, what)
        self.adopt(self.make_net(problem, config))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.y = problem.y.to(self.device)
        self.reference = problem.reference.to(self.device) if problem.reference is not None else None
        self._estimate: tuple[int, torch.Tensor] | None = None
        self._psnr_every = max(1, config.iters // 20)

    @staticmethod
    def make_net(problem: Problem, config: Any) -> torch.nn.Module:
        raise NotImplementedError

    @staticmethod
    def training_shape(problem: Problem, config: Any) -> tuple[int, int, int, int]:
        """(B, C, H, W) of one step's training input."""
        raise NotImplementedError

    @staticmethod
    def inference_flops(problem: Problem, config: Any, net: torch.nn.Module) -> float:
        """FLOPs of computing the final estimate."""
        raise NotImplementedError

    @staticmethod
    def inference_bytes(problem: Problem, config: Any, net: torch.nn.Module) -> int:
        """Peak memory of computing the final estimate (default: a few copies of the image)."""
        height, width = problem.size
        return 4 * 4 * problem.channels * height * width

    @staticmethod
    def memory_probe(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """A loss like a step's on input ``x``, to measure the memory a step needs."""
        return net(x).sum()

    @classmethod
    def cost(cls, problem: Problem, config: Any) -> Cost:
        """FLOPs of the training steps and the final estimate; the memory of the larger of a
        training step and the final estimate."""
        net = cls.make_net(problem, config)
        shape = cls.training_shape(problem, config)
        step = flops(lambda x: cls.memory_probe(net, x), shape, probe=32)
        needed = training_bytes(lambda x: cls.memory_probe(net, x), shape, probe=32)
        return Cost(
            flops=config.iters * step + cls.inference_flops(problem, config, net),
            bytes=max(needed, cls.inference_bytes(problem, config, net)),
            efficiency=cls.efficiency,
        )

    def learning_rate(self) -> float:
        raise NotImplementedError

    def loss(self) -> torch.Tensor:
        raise NotImplementedError

    def compute_image(self) -> torch.Tensor:
        raise NotImplementedError

    def step(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        loss = self.loss()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.record(loss)
        self.iteration += 1
        last = self.iteration == self.config.iters
        if self.iteration % 50 == 0 or last:
            self.flush_losses()
        if self.reference is not None and (self.iteration % self._psnr_every == 0 or last):
            self.last_psnr = float(psnr_tensor(self.image, self.reference))
            self.history["psnr"].append([self.iteration, self.last_psnr])

    @property
    def image(self) -> torch.Tensor:
        """The current estimate, (1, C, H, W) in [0, 1] (computed once per iteration)."""
        if self._estimate is None or self._estimate[0] != self.iteration:
            self._estimate = (self.iteration, self.compute_image())
        return self._estimate[1]

    def estimate(self) -> np.ndarray:
        """The current estimate on the host: (H, W, C) float32 in [0, 1]."""
        return host_image(self.image)

    def extra_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "size": list(self.problem.size)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if state["size"] != list(self.problem.size):
            raise InputError("the checkpoint was made for an image of another size")
        self.generator.set_state(state["generator"])

    def result(self) -> Result:
        return self.fit_result(self.image)
