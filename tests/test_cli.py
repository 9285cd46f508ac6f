"""The command line end to end on tiny images: every task, the run options, every bad input."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from deepprior import cli, runtime
from deepprior.imageio import read_image, write_image
from deepprior.metrics import psnr

FAST = ["--iters", "3", "--quiet"]


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    for name, array in {
        "rgb": (rng.random((20, 24, 3)) * 255).astype(np.uint8),
        "grey16": (rng.random((20, 24)) * 65535).astype(np.uint16),
        "small": (rng.random((10, 12, 3)) * 255).astype(np.uint8),
        "rgba": (rng.random((20, 24, 4)) * 255).astype(np.uint8),
    }.items():
        paths[name] = write_image(tmp_path / f"{name}.png", array)
    mask = np.full((20, 24), 255, np.uint8)
    mask[5:9, 3:20] = 0  # a stroke of unknown pixels
    paths["mask"] = write_image(tmp_path / "mask.png", mask)
    return paths


def run(*args: str) -> int:
    return cli.main([str(a) for a in args])


@pytest.mark.parametrize("preset", ["fast", "paper"])
def test_every_task_writes_its_output(images, tmp_path, preset):
    out = tmp_path / preset
    assert run("denoise", images["rgb"], "-o", out / "d.png", "--sigma", "25", "--preset", preset, *FAST) == 0
    assert run("dejpeg", images["rgb"], "-o", out / "j.png", "--preset", preset, *FAST) == 0
    assert (
        run("super-resolve", images["small"], "-o", out / "s.png", "--factor", "2", "--preset", preset, *FAST)
        == 0
    )
    assert (
        run(
            "inpaint", images["rgb"], "--mask", images["mask"], "-o", out / "i.png", "--preset", preset, *FAST
        )
        == 0
    )
    assert (
        run(
            "restore", images["rgb"], "--mask", images["mask"], "-o", out / "r.png", "--preset", preset, *FAST
        )
        == 0
    )
    assert (
        run(
            "flash-no-flash",
            "--flash",
            images["rgb"],
            "--no-flash",
            images["rgb"],
            "-o",
            out / "f.png",
            "--preset",
            preset,
            *FAST,
        )
        == 0
    )
    assert read_image(out / "s.png").shape == (20, 24, 3)
    for name in "djirf":
        assert read_image(out / f"{name}.png").shape == (20, 24, 3)


def test_16_bit_grey_stays_16_bit_grey_and_alpha_is_kept(images, tmp_path):
    assert run("denoise", images["grey16"], "-o", tmp_path / "g.png", *FAST) == 0
    out = read_image(tmp_path / "g.png")
    assert out.dtype == np.uint16 and out.shape == (20, 24)
    assert run("denoise", images["rgba"], "-o", tmp_path / "a.png", *FAST) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "a.png")[..., 3], read_image(images["rgba"])[..., 3])


def test_reference_report_curve_gif_and_snapshots(images, tmp_path, capsys):
    code = run(
        "denoise",
        images["rgb"],
        "-o",
        tmp_path / "d.png",
        "--reference",
        images["rgb"],
        "--report",
        tmp_path / "run.json",
        "--curve",
        tmp_path / "curve.png",
        "--gif",
        tmp_path / "p.gif",
        "--snapshots",
        tmp_path / "snaps",
        "--every",
        "2",
        "--iters",
        "4",
        "--quiet",
        "--seed",
        "7",
    )
    assert code == 0
    assert "PSNR" in capsys.readouterr().out
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["config"]["seed"] == 7 and report["iterations"] == 4
    assert len(report["history"]["loss"]) == 4
    written = read_image(tmp_path / "d.png")  # the report scores the image written
    assert report["scores"]["psnr"] == pytest.approx(psnr(written, read_image(images["rgb"])))
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["iter_000002.png", "iter_000004.png"]
    assert read_image(tmp_path / "curve.png").ndim == 3 and (tmp_path / "p.gif").stat().st_size > 0


def interrupt_at(monkeypatch, step: int) -> None:
    """Make the next CLI run receive a real Ctrl-C (SIGINT) at ``step``."""

    class Interrupt:
        def on_step(self, run):
            if run.iteration == step:
                os.kill(os.getpid(), signal.SIGINT)

    original = cli._callbacks
    monkeypatch.setattr(cli, "_callbacks", lambda args, ckpt: original(args, ckpt) + [Interrupt()])


@pytest.mark.parametrize(
    "method, options",
    [
        ("dip", []),
        ("dip", ["--reference", "clean"]),
        ("dip", ["--early-stop", "holdout"]),
        ("dip", ["--early-stop", "variance"]),  # its window: the last 100 outputs
        ("zs-n2n", []),
    ],
)
def test_a_run_interrupted_and_resumed_equals_an_uninterrupted_one_bit_for_bit(
    images, tmp_path, monkeypatch, method, options
):
    rng = np.random.default_rng(1)
    clean = rng.random((20, 24, 3)).astype(np.float32)
    noisy = write_image(tmp_path / "noisy.tif", np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1))
    write_image(tmp_path / "clean.tif", clean)
    options = [str(tmp_path / "clean.tif") if o == "clean" else o for o in options]
    steps, stop = (["--iters", "130"], 115) if "variance" in options else (["--iters", "40"], 25)
    common = [noisy, "--method", method, *steps, *options, "--quiet", "--every", "10"]
    assert run("denoise", *common, "-o", tmp_path / "whole.tif", "--report", tmp_path / "whole.json") == 0

    ckpt = tmp_path / "run.ckpt"
    half = ["-o", tmp_path / "resumed.tif", "--report", tmp_path / "resumed.json", "--checkpoint", ckpt]
    with monkeypatch.context() as patch:
        interrupt_at(patch, stop)
        assert run("denoise", *common, *half) == 130
    assert json.loads((tmp_path / "resumed.json").read_text())["iterations"] == stop
    assert run("denoise", *common, *half, "--resume", "--force") == 0

    whole, resumed = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("whole", "resumed"))
    assert resumed["iterations"] == whole["iterations"]
    assert resumed["history"]["loss"] == whole["history"]["loss"]
    assert resumed["history"]["psnr"] == whole["history"]["psnr"]
    assert resumed["config"].get("returned_iteration") == whole["config"].get("returned_iteration")
    np.testing.assert_array_equal(read_image(tmp_path / "resumed.tif"), read_image(tmp_path / "whole.tif"))


def test_ctrl_c_writes_the_result_and_a_checkpoint_to_resume_from(images, tmp_path, monkeypatch, capsys):
    interrupt_at(monkeypatch, 2)
    out = tmp_path / "d.png"
    assert run("denoise", images["rgb"], "-o", out, "--method", "dip", "--iters", "50", "--quiet") == 130
    assert out.exists() and (tmp_path / "d.png.ckpt.pt").exists()
    assert "--resume" in capsys.readouterr().err


def one_line_error(capsys, *args) -> str:
    assert run(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("deepprior: error:") and "Traceback" not in err and len(err.splitlines()) == 1
    return err


def test_bad_files_get_one_line_and_exit_code_2(images, tmp_path, capsys):
    assert "no such file" in one_line_error(
        capsys, "denoise", tmp_path / "nope.png", "-o", tmp_path / "o.png"
    )
    (tmp_path / "notes.png").write_text("not an image")
    assert "notes.png" in one_line_error(capsys, "denoise", tmp_path / "notes.png", "-o", tmp_path / "o.png")
    data = images["rgb"].read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert "cut.png" in one_line_error(capsys, "denoise", tmp_path / "cut.png", "-o", tmp_path / "o.png")


def test_an_existing_output_is_never_overwritten_without_force(images, tmp_path, capsys):
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    assert "--force" in one_line_error(capsys, "denoise", images["rgb"], "-o", out, *FAST)
    assert out.read_bytes() == b"precious"


def test_mask_problems_are_named(images, tmp_path, capsys):
    err = one_line_error(
        capsys, "inpaint", images["small"], "--mask", images["mask"], "-o", tmp_path / "o.png", *FAST
    )
    assert "24×20" in err and "12×10" in err
    write_image(tmp_path / "full.png", np.full((20, 24), 255, np.uint8))
    assert "every pixel as known" in one_line_error(
        capsys, "inpaint", images["rgb"], "--mask", tmp_path / "full.png", "-o", tmp_path / "o.png", *FAST
    )
    write_image(tmp_path / "empty.png", np.zeros((20, 24), np.uint8))
    assert "every pixel as unknown" in one_line_error(
        capsys, "restore", images["rgb"], "--mask", tmp_path / "empty.png", "-o", tmp_path / "o.png", *FAST
    )


def test_a_grey_mask_is_thresholded_with_a_warning(images, tmp_path):
    grey = np.full((20, 24), 200, np.uint8)
    grey[4:8, 4:8] = 30
    write_image(tmp_path / "soft.png", grey)
    with pytest.warns(UserWarning, match="thresholded at 0.5"):
        assert (
            run("inpaint", images["rgb"], "--mask", tmp_path / "soft.png", "-o", tmp_path / "o.png", *FAST)
            == 0
        )


def test_bad_factor_nan_input_and_oversized_run(images, tmp_path, capsys, monkeypatch):
    assert "integer ≥ 2" in one_line_error(
        capsys, "super-resolve", images["small"], "--factor", "1", "-o", tmp_path / "o.png", *FAST
    )
    nan = np.ones((8, 8), np.float32)
    nan[2, 3] = np.nan
    write_image(tmp_path / "nan.tif", nan)
    assert "NaN" in one_line_error(capsys, "denoise", tmp_path / "nan.tif", "-o", tmp_path / "o.tif", *FAST)
    monkeypatch.setattr(runtime, "available_memory", lambda device: 1000)
    assert "GiB" in one_line_error(capsys, "denoise", images["rgb"], "-o", tmp_path / "o.png", *FAST)


def test_resume_without_a_checkpoint_is_refused(images, tmp_path, capsys):
    assert "--checkpoint" in one_line_error(
        capsys, "denoise", images["rgb"], "-o", tmp_path / "o.png", "--resume"
    )


def test_the_console_script_has_help_with_examples():
    done = subprocess.run(
        [sys.executable, "-m", "deepprior", "super-resolve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--factor" in done.stdout and "example" in done.stdout


def test_the_demo_denoises_a_bundled_photo_and_reports_the_gain(tmp_path, capsys):
    assert run("demo", "--out", tmp_path, "--iters", "2", "--quiet") == 0
    printed = capsys.readouterr().out
    assert "Noise2Noise model" in printed and "Deep Image Prior" in printed and printed.count("dB →") == 2
    assert {p.name for p in tmp_path.iterdir()} == {
        "clean.png",
        "noisy.png",
        "denoised_n2n.png",
        "denoised_dip.png",
    }


def test_denoise_methods_and_early_stopping(images, tmp_path, capsys):
    assert run("denoise", images["rgb"], "-o", tmp_path / "z.png", "--method", "zs-n2n", *FAST) == 0
    assert (
        run("denoise", images["rgb"], "-o", tmp_path / "d.png", "--method", "dip", "--early-stop", *FAST) == 0
    )
    assert (
        run(
            "denoise",
            images["rgb"],
            "-o",
            tmp_path / "h.png",
            "--early-stop",
            "--report",
            tmp_path / "h.json",
            *FAST,
        )
        == 0
    )  # a fitting option: DIP; denoising stops on 10 % of the pixels held out
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["config"]["method"] == "dip" and report["config"]["holdout"] == 0.1
    assert "--early-stop does not apply to the zs-n2n method" in one_line_error(
        capsys,
        "denoise",
        images["rgb"],
        "-o",
        tmp_path / "e.png",
        "--method",
        "zs-n2n",
        "--early-stop",
        *FAST,
    )
    assert (
        run("denoise", images["rgb"], "-o", tmp_path / "n.png", "--report", tmp_path / "n.json", "--quiet")
        == 0
    )
    config = json.loads((tmp_path / "n.json").read_text())["config"]
    assert config["method"] == "n2n" and config["ensemble"]  # the default, on a small image with the ensemble
    assert (
        run(
            "denoise",
            images["rgb"],
            "-o",
            tmp_path / "s.png",
            "--no-ensemble",
            "--report",
            tmp_path / "s.json",
            "--quiet",
        )
        == 0
    )
    assert not json.loads((tmp_path / "s.json").read_text())["config"]["ensemble"]
    assert "--iters does not apply to the n2n method" in one_line_error(
        capsys, "denoise", images["rgb"], "-o", tmp_path / "f.png", "--method", "n2n", *FAST
    )


def test_inpaint_and_restore_pick_the_method_from_the_mask(images, tmp_path, capsys):
    keep = (np.random.default_rng(2).random((40, 48)) < 0.5).astype(np.uint8) * 255
    write_image(tmp_path / "keep.png", keep)
    photo = (np.random.default_rng(3).random((40, 48, 3)) * 255).astype(np.uint8)
    write_image(tmp_path / "photo.png", photo)
    for command in ("inpaint", "restore"):  # scattered known pixels: the shipped Bernoulli model
        out = tmp_path / f"{command}.png"
        args = (command, tmp_path / "photo.png", "--mask", tmp_path / "keep.png", "-o", out, "--quiet")
        assert run(*args) == 0
        assert "(n2n, " in capsys.readouterr().out
        assert np.array_equal(read_image(out)[keep > 0], photo[keep > 0])
    # a stroke: DIP; fitting options with a keep-mask: DIP too
    assert run("inpaint", images["rgb"], "--mask", images["mask"], "-o", tmp_path / "s.png", *FAST) == 0
    assert "(dip, 3 steps" in capsys.readouterr().out
    args = ("restore", tmp_path / "photo.png", "--mask", tmp_path / "keep.png", "-o", tmp_path / "f.png")
    assert run(*args, *FAST) == 0
    assert "(dip, 3 steps" in capsys.readouterr().out


def test_a_fits_image_of_counts_comes_back_as_fits_in_its_own_units(tmp_path):
    pytest.importorskip("astropy")  # the astro extra, which `make test` installs
    rows, cols = np.mgrid[0:40, 0:48]
    sky = (800 * np.exp(-((rows - 20) ** 2 + (cols - 24) ** 2) / 60) - 50).astype(np.float32)
    noisy = sky + np.random.default_rng(0).normal(0, 20, sky.shape).astype(np.float32)
    write_image(tmp_path / "sky.fits", noisy)
    assert run("denoise", tmp_path / "sky.fits", "-o", tmp_path / "clean.fits", "--quiet") == 0
    clean = read_image(tmp_path / "clean.fits")
    assert clean.dtype == np.float32 and clean.shape == sky.shape
    assert noisy.min() <= clean.min() and clean.max() <= noisy.max()  # counts, not [0, 1]
    assert np.abs(clean - sky).mean() < np.abs(noisy - sky).mean()
