"""ES-WMV early stopping: the variance rule on a known sequence, and inside a DIP run."""

import pytest
import torch

from deepprior.errors import InputError
from deepprior.methods.dip import DIPConfig
from deepprior.methods.stopping import EarlyStopping
from deepprior.methods.zeroshot import ZSN2NConfig
from deepprior.problem import Problem
from deepprior.registry import solve


class FakeRun:
    """What the callback reads from a run: the step, the raw output, the estimate."""

    def __init__(self):
        self.iteration, self.stop, self.output, self.image = 0, False, None, None


def test_the_rule_picks_the_quietest_window_and_fires_after_the_patience():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, 8, 8, generator=g)
    rule, run = EarlyStopping(window=5, patience=10), FakeRun()
    for step in range(1, 61):
        wobble = abs(step - 30) / 30  # outputs settle until step 30, then drift apart again
        run.iteration, run.output = step, base + wobble * torch.randn(base.shape, generator=g)
        run.image = torch.full_like(base, float(step))
        rule.on_step(run)
        if run.stop:
            break
    assert 28 <= rule.best_iteration <= 34
    assert rule.stop_iteration == rule.best_iteration + 10 == run.iteration
    assert rule.best_image.flatten()[0].item() == rule.best_iteration  # the estimate at that step


def test_a_dip_run_stops_by_itself_and_returns_its_best_estimate():
    tiny = {"channels_down": [4, 4], "channels_up": [4, 4], "channels_skip": [2, 2]}
    config = DIPConfig(net_params=tiny, input_channels=4, iters=400, lr=0.05, check_every=5)
    noise = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    rule = EarlyStopping(window=10, patience=20)
    result = solve(Problem(y=noise), config, callbacks=[rule])
    assert result.iterations == rule.stop_iteration < 400
    assert result.config["returned_iteration"] == rule.best_iteration
    assert torch.equal(torch.from_numpy(result.image).permute(2, 0, 1)[None], rule.best_image)


def test_it_observes_without_stopping_and_refuses_zero_shot_runs():
    config = DIPConfig(
        net_params={"channels_down": [4], "channels_up": [4], "channels_skip": [2]},
        input_channels=4,
        iters=30,
        lr=0.05,
    )
    rule = EarlyStopping(window=5, patience=3, stop=False)
    result = solve(Problem(y=torch.rand(1, 1, 8, 8)), config, callbacks=[rule])
    assert result.iterations == 30 and "returned_iteration" not in result.config
    assert rule.best_iteration is not None and len(rule.trace) == 26
    with pytest.raises(InputError, match="DIP runs only"):
        solve(Problem(y=torch.rand(1, 1, 8, 8)), ZSN2NConfig(iters=2), callbacks=[EarlyStopping()])


def test_held_out_pixels_never_reach_the_loss_and_their_error_is_recorded():
    config = DIPConfig(
        net_params={"channels_down": [4], "channels_up": [4], "channels_skip": [2]},
        input_channels=4,
        iters=20,
        lr=0.05,
        check_every=5,
        holdout=0.3,
    )
    y = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    held = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(config.seed)) < config.holdout
    other = torch.where(held, 1 - y, y)  # differs from y only where pixels are held out
    a, b = solve(Problem(y=y), config), solve(Problem(y=other), config)
    assert a.history["loss"] == b.history["loss"] and (a.image == b.image).all()
    assert [step for step, _ in a.history["holdout"]] == [5, 10, 15, 20]
    assert a.history["holdout"] != b.history["holdout"]


def test_the_holdout_signal_stops_at_its_minimum_and_needs_held_out_pixels():
    rule, run = EarlyStopping(signal="holdout", patience=20), FakeRun()
    run.history = {"holdout": []}
    for step in range(1, 101):
        run.iteration, run.image = step, torch.full((1, 1, 2, 2), float(step))
        if step % 10 == 0:
            run.history["holdout"].append([step, (step - 40) ** 2])  # best at step 40
        rule.on_step(run)
        if run.stop:
            break
    assert rule.best_iteration == 40 and rule.stop_iteration == 60 and rule.best_image.flatten()[0] == 40
    tiny = DIPConfig(
        net_params={"channels_down": [4], "channels_up": [4], "channels_skip": [2]}, input_channels=4, iters=2
    )
    with pytest.raises(InputError, match="DIPConfig.holdout"):
        solve(Problem(y=torch.rand(1, 1, 8, 8)), tiny, callbacks=[EarlyStopping(signal="holdout")])
