"""The method registry: one place that says which method runs a task, what it takes and costs;
a method registered here runs through the API, the command line and the benchmark unchanged."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import deepprior as dp
from deepprior import cli, registry
from deepprior.bench import protocols
from deepprior.imageio import read_image, write_image
from deepprior.problem import Result
from deepprior.runtime import Cost


@pytest.fixture
def toy():
    """A toy denoiser, a 3×3 box blur, registered for denoise with one benchmark entry."""

    def run(method, job, options):
        y = job.problem.y
        blurred = np.asarray(y[0].permute(1, 2, 0))
        padded = np.pad(blurred, ((1, 1), (1, 1), (0, 0)), mode="edge")
        box = (
            sum(
                padded[i : i + blurred.shape[0], j : j + blurred.shape[1]] for i in range(3) for j in range(3)
            )
            / 9
        )
        return Result(image=box.astype(np.float32), config={"method": method.name})

    def cost(method, job, options):
        return Cost(flops=9.0 * job.pixels, bytes=64 * job.pixels, efficiency=0.5)

    registry.register(
        registry.Method(
            "toy", "box blur", "a 3×3 mean, for the tests", ("denoise",), run, cost=cost, variants={"toy": {}}
        )
    )
    yield
    del registry.METHODS["toy"]


def test_a_registered_method_runs_through_the_api(toy):
    noisy = np.random.default_rng(0).random((12, 10)).astype(np.float32)
    out = dp.denoise(noisy, method="toy")
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert abs(out[5, 5] - noisy[4:7, 4:7].mean()) < 1e-6
    assert dp.run("denoise", noisy, method="toy").config["method"] == "toy"
    with pytest.raises(dp.InputError, match="iters does not apply to the toy method"):
        dp.denoise(noisy, method="toy", iters=3)
    with pytest.raises(dp.InputError, match="the toy method does not super-resolve"):
        dp.super_resolve(noisy, 2, method="toy")
    plan = dp.plan("denoise", noisy, method="toy")
    assert plan.bytes == 64 * 120 and plan.seconds > 0


def test_a_registered_method_runs_from_the_command_line_and_the_bench(toy, tmp_path, capsys):
    rng = np.random.default_rng(0)
    image = write_image(tmp_path / "in.png", (rng.random((16, 16)) * 255).astype(np.uint8))
    assert cli.main(["denoise", str(image), "-o", str(tmp_path / "out.png"), "--method", "toy"]) == 0
    assert read_image(tmp_path / "out.png").shape == (16, 16)
    assert "(toy, " in capsys.readouterr().out
    write_image(tmp_path / "clean" / "a.png", (rng.random((24, 24, 3)) * 255).astype(np.uint8))
    assert (
        cli.main(
            [
                "bench",
                "denoise",
                "--images",
                str(tmp_path / "clean"),
                "--methods",
                "toy,tv",
                "--no-probe",
                "--out",
                str(tmp_path / "bench"),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "bench" / "results.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["toy", "tv"] and rows[0]["steps"] is None
    case = protocols.denoise_cases(None, [25], images=tmp_path / "clean")[0]  # the same noisy input
    assert rows[0]["psnr"] == pytest.approx(case.psnr(dp.denoise(case.observed, method="toy")))


def test_auto_takes_the_default_unless_an_option_needs_another_method():
    assert registry.choose("denoise", "auto", {})[0] == "n2n"
    name, reason = registry.choose("denoise", "auto", {"preset": "paper"})
    assert name == "dip" and "preset was given" in reason
    assert registry.choose("denoise", "auto", {"preset": dp.ZSN2NConfig()})[0] == "zs-n2n"
    assert registry.choose("denoise", "auto", {"ensemble": True})[0] == "n2n"
    assert registry.choose("super-resolve", "auto", {"iters": 10})[0] == "zssr"
    assert registry.choose("super-resolve", "auto", {"early_stop": True})[0] == "dip"
    assert registry.choose("inpaint", "auto", {})[0] == "dip"  # before the mask's kind is known
    # a keep-mask (tasks.mask_kind "pixels": preset key "restore") goes to the Bernoulli model
    assert registry.choose("inpaint", "auto", {}, "restore")[0] == "n2n"
    assert registry.choose("restore", "auto", {"iters": 10}, "restore")[0] == "dip"
    assert registry.choose("inpaint", "auto", {}, "inpaint")[0] == "n2n"  # text: the same model
    assert registry.choose("inpaint", "auto", {}, "inpaint-holes")[0] == "dip"  # holes: DIP
    with pytest.raises(dp.InputError, match="ensemble does not apply to the dip method"):
        registry.choose("inpaint", "auto", {"ensemble": True}, "inpaint-holes")
    with pytest.raises(dp.InputError, match="n2n method serves the denoise, restore, inpaint settings"):
        registry.choose("inpaint", "n2n", {}, "inpaint-holes")


def test_the_cli_and_the_bench_name_no_method():
    source = Path(dp.__file__).parent
    for module in (source / "cli.py", source / "bench" / "runner.py"):
        assert not re.findall(r'"(dip|zssr|zs-n2n|n2n)"', module.read_text()), module


def test_a_config_field_is_an_explicit_option_checked_against_the_method():
    noisy = np.random.default_rng(0).random((16, 16))
    res = dp.denoise(noisy, method="dip", iters=2, config={"lr": 0.002}, return_result=True)
    assert res.config["lr"] == 0.002
    with pytest.raises(dp.InputError, match="crop is not a setting of the dip method"):
        dp.denoise(noisy, method="dip", iters=2, config={"crop": 8})


def test_torch_images_out_of_range_are_treated_like_numpy_ones():
    import torch

    image = torch.linspace(-2.0, 3.0, 16 * 16).reshape(16, 16)
    out = dp.denoise(image, method="dip", iters=2)
    assert isinstance(out, torch.Tensor) and out.shape == image.shape
    assert out.min() >= -2.0 and out.max() <= 3.0 and out.max() > 1.0
    ours = dp.denoise(image.numpy(), method="dip", iters=2)
    np.testing.assert_allclose(out.numpy(), ours, atol=1e-6)


def test_the_cost_model_scales_with_the_image():
    small, large, larger = (
        dp.plan("denoise", np.zeros((n, n, 3)), method="dip", sigma=0.1) for n in (64, 128, 256)
    )
    assert large.seconds == pytest.approx(4 * small.seconds, rel=0.05)
    # memory: the weights and optimizer state, plus activations in proportion to the pixels
    assert larger.bytes - large.bytes == pytest.approx(4 * (large.bytes - small.bytes), rel=0.05)
    assert (
        dp.plan("denoise", np.zeros((64, 64, 3)), method="dip", preset="paper", sigma=0.1).seconds
        > small.seconds
    )
