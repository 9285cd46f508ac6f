"""What the single-image training methods share (Zero-Shot Noise2Noise, ZSSR): one network
trained with Adam on examples drawn from the observation itself, a lazily computed estimate, loss
and PSNR histories, and checkpoints that resume bit for bit."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..metrics import psnr_tensor
from ..problem import Problem, Result
from ..runtime import check_memory, keep_freed_memory, seed_everything, training_bytes
from .loop import StepLoop, host_image


class NetFit(StepLoop):
    """Subclasses set ``method`` (its name in configs and checkpoints) and ``free`` (config fields
    a resumed run may change), build their net in ``make_net`` and provide ``learning_rate()``,
    ``loss()`` (one step's training loss) and ``compute_image()`` (the current estimate); they
    may override ``memory_probe`` (a loss like a step's, for the memory check).

    Callbacks see ``iteration``, ``config``, ``image`` (the current estimate, (1, C, H, W) in
    [0, 1], computed on demand), ``last_loss``, ``last_psnr``, ``reference`` and ``history``.
    """

    method = ""
    free: tuple[str, ...] = ("iters", "tile")

    def __init__(self, problem: Problem, config: Any, device: str | torch.device,
                 training_input: tuple[int, ...], what: str):
        """training_input: the shape of one step's input, to check that its memory fits; what:
        the run in words, for that check's message."""
        super().__init__()
        self.problem, self.config = problem, config
        self.device = torch.device(device)
        seed_everything(config.seed)
        net = self.make_net()
        check_memory(training_bytes(lambda x: self.memory_probe(net, x), training_input, probe=32), self.device, what)
        keep_freed_memory(self.device)  # no page faults for the same buffers every step
        self.net = net.to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.y = problem.y.to(self.device)
        self.reference = problem.reference.to(self.device) if problem.reference is not None else None
        self.iteration = 0
        self.history: dict[str, list] = {"loss": [], "seconds": [], "psnr": []}
        self.last_loss = math.nan
        self.last_psnr = math.nan
        self._pending: list[torch.Tensor] = []
        self._estimate: tuple[int, torch.Tensor] | None = None
        self._psnr_every = max(1, config.iters // 20)

    def make_net(self) -> torch.nn.Module:
        raise NotImplementedError

    def memory_probe(self, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """A loss like a step's on input ``x``, to measure the memory a step needs."""
        return net(x).sum()

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
        self._pending.append(loss.detach())
        self.iteration += 1
        last = self.iteration == self.config.iters
        if self.iteration % 50 == 0 or last:
            self.flush()
        if self.reference is not None and (self.iteration % self._psnr_every == 0 or last):
            self.last_psnr = float(psnr_tensor(self.image, self.reference))
            self.history["psnr"].append([self.iteration, self.last_psnr])

    def flush(self) -> None:
        """Move the pending losses to the history (one synchronisation)."""
        if self._pending:
            self.history["loss"] += torch.stack(self._pending).tolist()
            self._pending.clear()
            self.last_loss = self.history["loss"][-1]

    @property
    def image(self) -> torch.Tensor:
        """The current estimate, (1, C, H, W) in [0, 1] (computed once per iteration)."""
        if self._estimate is None or self._estimate[0] != self.iteration:
            self._estimate = (self.iteration, self.compute_image())
        return self._estimate[1]

    def estimate(self) -> np.ndarray:
        """The current estimate on the host: (H, W, C) float32 in [0, 1]."""
        return host_image(self.image)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit for bit (CPU)."""
        self.flush()
        return {"iteration": self.iteration, "net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "history": self.history, "elapsed": self._elapsed,
                "config": dataclasses.asdict(self.config), "size": list(self.problem.size), "method": self.method}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("method") != self.method:
            raise InputError(f"the checkpoint was not written by a {self.method} run")
        self.check_same_config(state, free=self.free)
        if state["size"] != list(self.problem.size):
            raise InputError("the checkpoint was made for an image of another size")
        self.iteration = state["iteration"]
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.history, self._elapsed = state["history"], state["elapsed"]
        self.last_loss = self.history["loss"][-1] if self.history["loss"] else math.nan

    def result(self) -> Result:
        config = dataclasses.asdict(self.config)
        config.update(method=self.method, device=str(self.device), size=list(self.problem.size))
        return Result(image=self.estimate(), history=self.history, config=config,
                      iterations=self.iteration, seconds=self._elapsed, interrupted=self.interrupted)
