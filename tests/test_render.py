"""Monte Carlo renders: linear HDR files, real Mitsuba renders as Noise2Noise pairs, the relative
loss, and models that denoise linear values."""

import numpy as np
import pytest
import torch

import deepprior as dp
from deepprior import cli, render
from deepprior.colour import tone_map
from deepprior.errors import InputError
from deepprior.image import CallerImage
from deepprior.imageio import read_image, write_image
from deepprior.losses import relative_l2
from deepprior.trainingdata import load_pairs

pytest.importorskip("mitsuba")
pytest.importorskip("OpenEXR")

TINY = ["--iters", "4", "--val-every", "2", "--crop", "32", "--batch", "2", "--width", "8", "--depth", "3"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """Three random Cornell boxes at 32², two 2-spp frames each and an 8-spp reference."""
    out = tmp_path_factory.mktemp("renders") / "train"
    assert cli.main(["render-data", "--out", str(out), "--scenes", "3", "--size", "32", "--spp", "2",
                     "--reference-spp", "8", "--quiet"]) == 0  # fmt: skip
    return out


def test_exr_files_keep_linear_values_above_one(tmp_path):
    hdr = np.random.default_rng(0).gamma(0.5, 4.0, (6, 5, 3)).astype(np.float32)  # up to ~30
    write_image(tmp_path / "x.exr", hdr)
    back = read_image(tmp_path / "x.exr")
    assert back.dtype == np.float32 and np.array_equal(back, hdr) and back.max() > 1
    write_image(tmp_path / "grey.exr", hdr[..., 0])
    assert read_image(tmp_path / "grey.exr").shape == (6, 5)


def test_frames_of_a_scene_are_independent_estimates_of_one_hdr_image():
    scene = render.cornell_scene(np.random.default_rng(3), size=24)
    a, b = render.render(scene, spp=8, seed=0), render.render(scene, spp=8, seed=1)
    many = render.render(scene, spp=512, seed=2)
    assert a.shape == (24, 24, 3) and a.dtype == np.float32 and a.min() >= 0 and many.max() > 1
    assert abs(a.mean() - many.mean()) < 0.1 * many.mean()  # around the same image...

    def error(x):  # on tone-mapped values: bounded, so that a few fireflies do not decide
        return np.mean((tone_map(x) - tone_map(many)) ** 2)

    assert error((a + b) / 2) < 0.75 * error(a)  # ...with independent noise: the mean of two halves it


def test_render_data_writes_scenes_of_frames_and_a_reference(renders):
    scenes = sorted(p.name for p in renders.iterdir() if p.is_dir())
    assert scenes == ["scene_0000", "scene_0001", "scene_0002"]
    assert sorted(p.name for p in (renders / "scene_0000").iterdir()) == [
        "frame_0.exr",
        "frame_1.exr",
        "reference.exr",
    ]
    data = load_pairs(renders, linear=True)
    assert data.has_references and len(data.bursts[0]) == 2  # the reference is not a frame
    assert max(r.max() for r in data.references) > 1  # the light, kept linear


def test_render_data_refuses_a_full_folder_and_resumes_an_interrupted_run(renders, tmp_path, capsys):
    assert cli.main(["render-data", "--out", str(renders), "--scenes", "3", "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    out = tmp_path / "r"
    args = ["render-data", "--out", str(out), "--scenes", "2", "--size", "16", "--spp", "1",
            "--reference-spp", "2", "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    first = read_image(out / "scene_0000" / "frame_0.exr")
    (out / "scene_0001" / "reference.exr").unlink()  # as if stopped during the last scene
    stamp = (out / "scene_0000" / "frame_0.exr").stat().st_mtime_ns
    assert cli.main([*args, "--resume"]) == 0
    assert (out / "scene_0000" / "frame_0.exr").stat().st_mtime_ns == stamp  # a finished scene is kept
    assert (out / "scene_0001" / "reference.exr").exists()
    assert cli.main([*args, "--force"]) == 0
    again = read_image(out / "scene_0000" / "frame_0.exr")
    assert np.allclose(again, first, rtol=1e-5, atol=1e-6)  # the same seeds, the same renders (to rounding)


def test_the_relative_loss_seeks_the_mean_of_heavy_tailed_targets():
    """Held fixed, the denominator leaves the mean as the minimiser (Noise2Noise on Monte Carlo
    samples); with its gradient it would pull the estimate up towards the outliers' scale."""
    targets = torch.from_numpy(np.random.default_rng(0).pareto(2.5, 20000) * 0.5).float()  # fireflies
    p = torch.ones(1, requires_grad=True)
    optimiser = torch.optim.Adam([p], lr=0.02)
    for _ in range(1500):
        optimiser.zero_grad()
        relative_l2(p.expand_as(targets), targets).backward()
        optimiser.step()
    assert abs(p.item() - float(targets.mean())) < 0.02 * float(targets.mean())


def test_models_train_on_renders_with_noisy_or_reference_targets_and_denoise_linear_values(renders, tmp_path):
    frame = renders / "scene_0002" / "frame_0.exr"
    for targets in ("noisy", "clean"):
        model = tmp_path / targets
        args = ["n2n", "train", "--pairs", str(renders), "--hdr", "--targets", targets, "--holdout", "1"]
        assert cli.main([*args, *TINY, "--out", str(model), "--quiet"]) == 0
        trained = dp.n2n.load(model)
        assert trained.info["loss"] == "hdr" and trained.info["val_psnr"] > 0  # scored on the references
    hdr = read_image(frame)
    out = trained.denoise(hdr)
    assert out.dtype == np.float32 and out.shape == hdr.shape and out.min() >= 0
    # The model sees the values as they are: a path that mapped each image's range to [0, 1] and
    # back would make the output of a 50× brighter image exactly 50× brighter.
    assert not np.allclose(trained.denoise(hdr * 50), out * 50, rtol=1e-3)
    image = CallerImage.of_linear(hdr * 50)
    assert np.array_equal(image.give_back(image.tensor[0].permute(1, 2, 0).numpy()), hdr * 50)
    assert cli.main(["n2n", "apply", str(tmp_path / "noisy"), str(frame), "-o", str(tmp_path / "o.exr")]) == 0
    assert cli.main(["n2n", "apply", str(tmp_path / "noisy"), str(frame), "-o", str(tmp_path / "o.png")]) == 0
    linear, shown = read_image(tmp_path / "o.exr"), read_image(tmp_path / "o.png")
    assert shown.dtype == np.uint8 and np.abs(np.round(tone_map(linear) * 255) - shown).max() <= 1


def test_reference_targets_need_a_reference_in_every_scene(renders, tmp_path):
    import shutil

    pairs = tmp_path / "pairs"
    shutil.copytree(renders, pairs)
    (pairs / "scene_0001" / "reference.exr").unlink()
    with pytest.raises(InputError, match="reference"):
        dp.n2n.train(pairs=pairs, targets="clean", hdr=True, iters=1, crop=32, width=8, depth=3)


def test_bench_render_scores_both_trainings_and_the_baselines(renders, tmp_path):
    out = tmp_path / "bench"
    args = ["bench", "render", "--train", str(renders), "--test", str(renders), "--baselines", "nlm",
            "--iters", "2", "--crop", "32", "--batch", "2", "--width", "8", "--depth", "3", "--holdout", "1",
            "--out", str(out)]  # fmt: skip
    assert cli.main(args) == 0
    table = (out / "results.md").read_text()
    for row in ("| input |", "N2N, noisy targets, best", "N2N, reference targets, last", "| NLM |"):
        assert row in table
    panel = read_image(out / "panel.png")
    assert panel.shape[0] == 3 * 32 and panel.shape[1] == 5 * 32  # input, 2 models, NLM, reference
