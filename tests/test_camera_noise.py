"""Real camera noise: the camera pipeline, telling white noise from a camera's, the noise power
spectrum, training on opponent channels, the ``real`` benchmark suite; and signal-dependent noise
for scientists: the Poisson–Gaussian estimator and DIP's Poisson loss."""

import json

import numpy as np
import pytest
import torch

import deepprior as dp
from deepprior import cli, n2n
from deepprior.camera import Shot, demosaic, noisy_copies, process, unprocess
from deepprior.errors import InputError
from deepprior.losses import poisson
from deepprior.methods.noise2noise import N2NConfig, N2NTraining, Validation
from deepprior.noise import add_gaussian, estimate_poisson_gaussian, estimate_psd, noise_type, parse_noise
from deepprior.trainingdata import TrainingSet


def photo(size: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth colour (3, H, W) float32 scene in [0.1, 0.9]."""
    ys, xs = np.mgrid[0:size, 0:size] / size
    phase = np.random.default_rng(seed).uniform(0, 3, 3)
    planes = [0.5 + 0.4 * np.sin(4 * xs + p) * np.cos(3 * ys + p) for p in phase]
    return np.stack(planes).astype(np.float32)


def test_a_flat_mosaic_demosaics_to_itself():
    out = demosaic(torch.full((1, 1, 8, 8), 0.3))
    assert out.shape == (1, 3, 8, 8) and torch.allclose(out, torch.full_like(out, 0.3))


def test_without_noise_the_pipeline_gives_back_the_photo_up_to_jpeg():
    clean = torch.from_numpy(photo(64))[None]
    shot = Shot.draw(1e-3, np.random.default_rng(0))
    shot.luma = shot.chroma = 0.0
    shot.quality = 0
    back = process(unprocess(clean, shot), shot)
    assert float((back - clean).abs().mean()) < 0.01  # bilinear demosaicing and 8 bits only


def test_noisy_copies_share_the_camera_and_differ_in_the_sensor_noise():
    clean = np.stack([photo(64, 0), photo(64, 1)])
    first, second = noisy_copies(clean, np.array([3e-3, 3e-3]), np.random.default_rng(1))
    assert first.shape == clean.shape and first.dtype == np.float32
    assert 0 <= first.min() and first.max() <= 1
    difference = first - second
    assert 0.005 < difference.std() < 0.1  # independent noise…
    assert abs(float(difference.mean())) < 0.002  # …around the same processed image
    quiet, loud = (noisy_copies(clean, np.array([s, s]), np.random.default_rng(2))[0] for s in (1e-4, 1e-2))
    assert np.abs(quiet - clean).mean() < np.abs(loud - clean).mean()


def test_camera_noise_is_a_noise2noise_family_of_pairs():
    noise = parse_noise("camera")
    assert noise.describe() == "camera noise, shot variance ×1e-3 U[0.1, 12] (test 3), loss l2"
    levels = noise.levels(1000, np.random.default_rng(0))
    assert 0.1 <= levels.min() and levels.max() <= 12 and np.median(levels) < 2  # log-uniform
    (first, known), (second, _) = noise.pair(photo(32)[None], np.array([3.0]), np.random.default_rng(0))
    assert known.shape == (1, 1, 32, 32) and known.all() and not np.array_equal(first, second)
    with pytest.raises(InputError, match="camera noise needs RGB"):
        noise.corrupt(photo(32)[None, :1], np.array([3.0]), np.random.default_rng(0))


def test_white_and_camera_noise_are_told_apart():
    clean = photo(128)
    white = add_gaussian(clean.transpose(1, 2, 0), 10 / 255, seed=0)
    camera = noisy_copies(clean[None], np.array([5e-3]), np.random.default_rng(0), copies=1)[0][0]
    assert noise_type(white) == "white"
    assert noise_type(camera.transpose(1, 2, 0)) == "camera"


def test_the_noise_spectrum_of_correlated_noise_falls_at_high_frequencies():
    from scipy.ndimage import uniform_filter

    rng = np.random.default_rng(0)
    white = rng.normal(0, 0.05, (128, 128))
    correlated = uniform_filter(white, 3, mode="wrap")
    flat, low = estimate_psd(0.5 + white), estimate_psd(0.5 + correlated)
    assert flat[16, 16] == pytest.approx(flat[64, 64], rel=0.3)  # (away from 0: the planes are removed)
    assert low[64, 64] < 0.1 * low[16, 16]
    assert np.sqrt(low.mean() / 128**2) == pytest.approx(correlated.std(), rel=0.2)


def test_a_grey_model_trains_on_the_opponent_channels_of_colour_photos():
    data = TrainingSet([photo(48, s) for s in range(3)])
    config = N2NConfig(
        noise="camera:1-5", opponent=True, width=8, depth=2, crop=16, batch=4, iters=2, val_every=2
    )
    validation = Validation.build(TrainingSet([photo(32, 9)]), config)
    assert len(validation.inputs) == 3 and validation.inputs[0].shape == (1, 1, 32, 32)
    run = N2NTraining(data, config, validation)
    inputs, targets, _known = run.batch(0)
    assert inputs.shape == targets.shape == (4, 1, 16, 16)
    run.run()
    assert run.export().channels == 1 and len(run.history["psnr"]) == 1
    with pytest.raises(InputError, match="opponent channels needs RGB"):
        N2NTraining(TrainingSet([photo(48)[:1]]), config)


def test_the_denoiser_runs_the_camera_model_on_camera_noise():
    clean = photo(96)[None]
    noisy = noisy_copies(clean, np.array([5e-3]), np.random.default_rng(0), copies=1)[0][0].transpose(1, 2, 0)
    result = dp.denoise(noisy, return_result=True)  # auto: told from the image
    assert result.config["noise"] == "camera" and result.config["model"] == "n2n_camera_grey.pt"
    truth = clean[0].transpose(1, 2, 0)
    assert np.abs(result.image - truth).mean() < np.abs(noisy - truth).mean()
    # The camera model runs twice (n2n.CAMERA_PASSES), the second pass on the first's output, and
    # keeps the second only if it changed the image by less than 0.4× what the first changed.
    model = n2n.pretrained("cpu", "camera")
    once = model.denoise(noisy, passes=1)
    twice = model.denoise(once, passes=1)
    ratio = np.sqrt(np.mean((twice - once) ** 2) / np.mean((once - noisy) ** 2))
    kept = 2 if ratio < n2n.CAMERA_SECOND_PASS_BELOW else 1
    assert result.config["passes"] == model.passes == 2 and result.config["passes_kept"] == kept
    np.testing.assert_allclose(result.image, twice if kept == 2 else once, atol=1e-5)
    np.testing.assert_allclose(model.denoise(noisy), result.image, atol=1e-5)
    assert model.kept == kept
    for keep_below, expected in ((0.0, once), (np.inf, twice)):  # never / always the second pass
        always = n2n.Denoiser(model.model, "cpu", 2, keep_below)
        np.testing.assert_allclose(always.denoise(noisy), expected, atol=1e-5)
    white = dp.denoise(noisy, noise="white", return_result=True)
    assert white.config["model"] == "n2n_gaussian_grey.pt"
    with pytest.raises(InputError, match="unknown noise 'pink'"):
        dp.denoise(noisy, noise="pink")


@pytest.fixture
def pairs(tmp_path):
    """Two PolyU-style pairs from two 'cameras': A_1_real.png / A_1_mean.png…"""
    folder = tmp_path / "pairs"
    rng = np.random.default_rng(0)
    for i, camera in enumerate(("Canon", "Sony")):
        clean = photo(48, i)
        noisy = noisy_copies(clean[None], np.array([4e-3]), rng, copies=1)[0][0]
        for suffix, image in (("mean", clean), ("real", noisy)):
            dp.write_image(
                folder / f"{camera}_{i}_{suffix}.png",
                (image.transpose(1, 2, 0) * 255).round().astype(np.uint8),
            )
    return folder


def test_the_real_suite_scores_pairs_per_camera_and_together(pairs, tmp_path):
    out = tmp_path / "bench"
    code = cli.main(
        [
            "bench",
            "real",
            "--images",
            str(pairs),
            "--methods",
            "input,nlm,n2n",
            "--no-probe",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "results.json").read_text())
    assert [(r["setting"], r["method"]) for r in report["rows"]] == [
        ("Canon", "input"),
        ("Canon", "nlm"),
        ("Canon", "n2n"),
        ("Sony", "input"),
        ("Sony", "nlm"),
        ("Sony", "n2n"),
    ]
    # Each n2n row says what its run decided: the noise kind auto chose, the passes kept.
    decided = [(r["noise"], r.get("passes_kept")) for r in report["rows"] if r["method"] == "n2n"]
    assert all(
        (noise == "camera" and kept in (1, 2)) or (noise == "white" and kept == 1) for noise, kept in decided
    )
    table = (out / "results.md").read_text()
    assert "### real Canon" in table and "### real: all settings together" in table


def test_a_folder_without_pairs_is_refused_with_the_names_it_expects(tmp_path):
    dp.write_image(tmp_path / "lonely_real.png", np.zeros((8, 8), np.uint8))
    assert (
        cli.main(
            ["bench", "real", "--images", str(tmp_path), "--methods", "input", "--out", str(tmp_path / "o")]
        )
        == 2
    )


# --- signal-dependent noise for scientists -------------------------------------------------------


def test_gain_and_read_noise_are_estimated_from_one_16_bit_frame():
    rng = np.random.default_rng(0)
    clean = np.tile(np.linspace(0.05, 0.9, 192), (192, 1))
    clean = np.stack([clean, clean.T], -1)  # two channels, pooled
    noisy = rng.poisson(clean / 2e-3) * 2e-3 + rng.normal(0, 0.02, clean.shape)
    frame = np.clip(np.round(noisy * 65535), 0, 65535).astype(np.uint16)
    a, b = estimate_poisson_gaussian(frame / 65535)
    assert a == pytest.approx(2e-3, rel=0.15) and np.sqrt(b) == pytest.approx(0.02, rel=0.15)
    with pytest.raises(InputError, match="too few unclipped pixels"):
        estimate_poisson_gaussian(np.zeros((16, 16)))


def test_the_poisson_deviance_seeks_the_mean_of_photon_counts():
    rng = np.random.default_rng(0)
    counts = torch.from_numpy(rng.poisson(3.0, 20000) / 10.0).float()  # mean 0.3
    guess = torch.full((1,), 0.5, requires_grad=True)
    optimiser = torch.optim.Adam([guess], lr=0.01)
    for _ in range(400):
        optimiser.zero_grad()
        poisson(guess.expand_as(counts), counts).backward()
        optimiser.step()
    assert float(guess.detach()) == pytest.approx(float(counts.mean()), abs=0.005)


def test_dip_fits_photon_counts_with_the_poisson_loss():
    rng = np.random.default_rng(0)
    clean = photo(32)[0] * 0.2
    counts = (rng.poisson(clean * 200) / 200).astype(np.float32)
    result = dp.restore(counts, loss="poisson", method="dip", iters=3)
    assert result.image.shape == counts.shape and len(result.history["loss"]) == 3
    assert min(result.history["loss"]) >= 0  # a deviance


def test_poisson_gaussian_noise_keeps_the_mean_and_grows_with_the_signal():
    noise = parse_noise("poisson-gaussian:10")
    flat = np.stack([np.full((1, 64, 64), v, np.float32) for v in (0.1, 0.8)])
    noisy, _ = noise.corrupt(flat, noise.levels(2, np.random.default_rng(0)), np.random.default_rng(1))
    means, variances = noisy.mean((1, 2, 3)), noisy.var((1, 2, 3))
    assert np.allclose(means, [0.1, 0.8], atol=0.01)
    assert 0.01 * 0.1 < variances[0] < variances[1] < 2 * 0.01 * 0.8  # a·x plus a small read term
    assert noise.loss == "l2" and "gain" in noise.describe()
