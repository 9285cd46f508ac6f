"""Zero-Shot Super-Resolution: a real upscaling run, exact tiling, resuming, refusals, the default."""

import json
from importlib.resources import files

import numpy as np
import pytest
import torch

import deepprior as dp
from deepprior import cli
from deepprior.errors import InputError
from deepprior.imageio import read_image, to_float, write_image
from deepprior.methods.zssr import ZSSRConfig, ZSSRFit, enlarge
from deepprior.operators import Downsample
from deepprior.problem import Problem
from deepprior.registry import solve

SMALL = dict(width=16, depth=4, crop=32)


def photo_pair(size: int = 64, factor: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """A crop of the bundled F16 photo, (1, 3, size, size), and its bicubic downscale by ``factor``."""
    image = to_float(read_image(files("deepprior") / "data" / "f16_192.png"))[0][
        40 : 40 + size, 60 : 60 + size
    ]
    clean = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    return clean, Downsample(factor, "bicubic")(clean)


def test_a_short_run_beats_the_bicubic_enlargement_and_agrees_with_the_small_image():
    clean, small = photo_pair()
    problem = Problem(y=small, operator=Downsample(2, "bicubic"), reference=clean)
    result = solve(problem, ZSSRConfig(**SMALL, iters=150))
    reference = clean[0].permute(1, 2, 0).numpy()
    bicubic = dp.psnr(enlarge(small, (64, 64)).clamp(0, 1)[0].permute(1, 2, 0).numpy(), reference)
    assert dp.psnr(result.image, reference) > bicubic + 0.5
    restored = torch.from_numpy(result.image).permute(2, 0, 1)[None]
    assert (Downsample(2, "bicubic")(restored) - small).abs().mean() < 0.01  # back-projected onto y
    assert (
        result.image.shape == (64, 64, 3)
        and result.config["method"] == "zssr"
        and result.config["factor"] == 2
    )
    assert result.history["psnr"][-1][0] == 150 and len(result.history["loss"]) == 150


def test_the_estimate_does_not_depend_on_the_tile_size():
    _, small = photo_pair(48)
    run = ZSSRFit(Problem(y=small, operator=Downsample(2, "bicubic")), ZSSRConfig(**SMALL, iters=3))
    run.run()
    whole = run.upscale(small)
    run.config.tile = 16
    torch.testing.assert_close(run.upscale(small), whole, atol=1e-5, rtol=1e-5)


def test_resume_equals_an_uninterrupted_run(tmp_path):
    _, small = photo_pair(48)
    problem = Problem(y=small, operator=Downsample(2, "bicubic"))
    config = ZSSRConfig(**SMALL, iters=10)
    whole = solve(problem, config)

    class StopAt5:
        def on_step(self, run):
            run.stop = run.iteration == 5

    run = ZSSRFit(problem, config)
    run.run([StopAt5()])
    run.save(tmp_path / "zssr.ckpt")
    resumed = solve(problem, config, resume=str(tmp_path / "zssr.ckpt"))
    np.testing.assert_array_equal(resumed.image, whole.image)
    assert resumed.history["loss"] == whole.history["loss"]


def test_the_memory_estimate_covers_the_full_size_result_not_only_a_training_crop():
    small = np.zeros((1000, 1000, 3), np.float32)  # ×8: a 64-megapixel result
    plan = dp.plan("super-resolve", small, factor=8, method="zssr")
    assert plan.bytes >= 4 * 3 * 8000 * 8000  # one float copy of the result, at least


def test_zssr_super_resolves_only_and_needs_a_few_pixels():
    with pytest.raises(InputError, match="serves super-resolve only"):
        dp.get_preset("denoise", "fast", method="zssr")
    with pytest.raises(InputError, match="Downsample"):
        ZSSRFit(Problem(y=torch.rand(1, 3, 16, 16)), ZSSRConfig())
    with pytest.raises(InputError, match="8×8"):
        dp.super_resolve(np.zeros((7, 9, 3)), 4, method="zssr")
    with pytest.raises(InputError, match="min_scale"):
        ZSSRConfig(min_scale=0)
    with pytest.raises(InputError, match="crop must be at least 8"):
        dp.super_resolve(np.zeros((16, 16)), 4, method="zssr", config={"crop": 6})


def test_the_api_gives_back_the_callers_layout_enlarged():
    image = (np.random.default_rng(0).random((12, 10)) * 65535).astype(np.uint16)
    result = dp.super_resolve(image, 2, method="zssr", iters=2, return_result=True)
    assert result.image.shape == (24, 20) and result.image.dtype == np.uint16
    assert dp.get_preset("super-resolve", "paper", method="zssr").iters == 3000


def test_zssr_is_the_default_and_an_early_stop_means_dip(tmp_path, capsys):
    small = write_image(
        tmp_path / "small.png", (np.random.default_rng(0).random((10, 12, 3)) * 255).astype(np.uint8)
    )

    def upscale(name: str, *options: str) -> dict:
        code = cli.main(
            [
                "super-resolve",
                str(small),
                "-o",
                str(tmp_path / f"{name}.png"),
                "--factor",
                "2",
                "--iters",
                "3",
                "--quiet",
                "--report",
                str(tmp_path / f"{name}.json"),
                *options,
            ]
        )
        assert code == 0 and read_image(tmp_path / f"{name}.png").shape == (20, 24, 3)
        return json.loads((tmp_path / f"{name}.json").read_text())["config"]

    assert upscale("default")["method"] == "zssr"
    assert upscale("stopped", "--early-stop")["method"] == "dip"
    assert upscale("dip", "--method", "dip")["method"] == "dip"
    assert (
        cli.main(
            [
                "super-resolve",
                str(small),
                "-o",
                str(tmp_path / "b2.png"),
                "--method",
                "zssr",
                "--factor",
                "2",
                "--early-stop",
                "--quiet",
            ]
        )
        == 2
    )
    assert "--early-stop does not apply to the zssr method" in capsys.readouterr().err
    image = np.zeros((8, 8, 3))
    assert dp.super_resolve(image, 2, iters=1, return_result=True).config["method"] == "zssr"
    stopped = dp.super_resolve(image, 2, iters=1, callbacks=[dp.EarlyStopping()], return_result=True)
    assert stopped.config["method"] == "dip"
