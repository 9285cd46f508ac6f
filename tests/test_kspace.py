"""MRI from undersampled k-space: sampling masks, the KSpace operator through ``dp.restore``, the
classical reconstructions, and Noise2Noise trained on pairs of undersampled spectra."""

import numpy as np
import pytest
import torch
from skimage.data import shepp_logan_phantom
from skimage.transform import resize

import deepprior as dp
from deepprior import kspace
from deepprior.errors import InputError
from deepprior.methods.noise2noise import N2NConfig, N2NModel, N2NTraining
from deepprior.metrics import psnr
from deepprior.noise import parse_noise
from deepprior.trainingdata import TrainingSet


def phantom(size: int = 64) -> np.ndarray:
    """The Shepp–Logan head phantom, (size, size) float64 in [0, 1]."""
    return resize(shepp_logan_phantom(), (size, size), anti_aliasing=True)


@pytest.mark.parametrize("kind", list(kspace.MASKS))
@pytest.mark.parametrize("factor", [2, 4, 8])
def test_each_mask_kind_reaches_its_acceleration(kind, factor):
    mask = kspace.sampling_mask(kind, (128, 96), factor, seed=factor)
    assert mask.shape == (128, 96) and mask.dtype == bool
    assert mask[64, 48]  # the zero frequency is always sampled
    assert abs(kspace.acceleration(mask) - factor) / factor < (0.1 if kind in ("random", "radial") else 0.05)


def test_cartesian_masks_sample_whole_lines_around_a_full_centre():
    mask = kspace.sampling_mask("equispaced", (64, 100), 4, centre=0.1, seed=0)
    assert (mask.all(0) | ~mask.any(0)).all()  # columns are sampled whole or not at all
    assert kspace.centre_fraction(mask) >= 0.1


@pytest.mark.parametrize(
    "kind, size, factor",
    [("spiral", (64, 64), 4), ("random", (63, 64), 4), ("cartesian", (64, 64), 0.5)],
)
def test_bad_masks_are_refused(kind, size, factor):
    with pytest.raises(InputError):
        kspace.sampling_mask(kind, size, factor)


def test_zero_filled_is_consistent_with_the_data_and_exact_when_fully_sampled():
    x = phantom()
    full = np.ones(x.shape, bool)
    assert np.allclose(kspace.zero_filled(kspace.fft2c(x), full), x)
    mask = kspace.sampling_mask("radial", x.shape, 6, seed=1)
    y = kspace.fft2c(x) * mask
    assert np.allclose(kspace.fft2c(kspace.zero_filled(y, mask)) * mask, y)
    assert np.allclose(kspace.consistent(np.zeros_like(x), y, mask), kspace.zero_filled(y, mask))


def test_the_operator_s_adjoint_is_its_transpose():
    op = kspace.KSpace(kspace.sampling_mask("cartesian", (32, 32), 3))
    x, y = torch.rand(1, 1, 32, 32, dtype=torch.float64), torch.randn(1, 2, 32, 32, dtype=torch.float64)
    lhs = (op(x).double() * y).sum()
    rhs = (x * op.adjoint(y, (32, 32)).double()).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-4)


def test_the_kspace_loss_is_the_error_on_the_target_s_sampled_frequencies():
    x, p = torch.rand(2, 1, 32, 32, dtype=torch.float64), torch.rand(2, 1, 32, 32, dtype=torch.float64)
    mask = torch.from_numpy(np.stack([kspace.sampling_mask("random", (32, 32), 3, seed=s) for s in (0, 1)]))
    known = mask[:, None].double()
    target = kspace.zero_filled(kspace.fft2c(x) * known, known)
    direct = (known * (kspace.fft2c(p) - kspace.fft2c(x)).abs() ** 2).sum() / p.numel()
    assert torch.allclose(kspace.kspace_l2(p, target, known), direct)


def test_tv_beats_zero_filling_on_a_phantom():
    x = phantom()
    mask = kspace.sampling_mask("cartesian", x.shape, 4, seed=0)
    y = kspace.fft2c(x) * mask
    filled = kspace.zero_filled(y, mask)
    tv = dp.restore(y, kspace.KSpace(mask), method="tv", config={"weight": 1e-3}).image
    assert psnr(np.clip(tv, 0, 1), x, data_range=1.0) > psnr(np.clip(filled, 0, 1), x, data_range=1.0) + 2


def test_dip_restores_through_the_spectrum_and_gives_a_real_image_on_its_scale():
    x = 500 * phantom(32)  # any scale: the image comes back on the spectrum's
    mask = kspace.sampling_mask("random", x.shape, 3, seed=0)
    spectrum = kspace.fft2c(x) * mask
    res = dp.restore(spectrum, kspace.KSpace(mask), iters=60, reference=x)
    assert res.image.shape == (32, 32) and res.image.dtype == np.float32
    assert res.history["loss"][-1] < res.history["loss"][0] / 4
    assert 0.2 * x.max() < res.image.max() < 2 * x.max()
    assert res.history["psnr"][-1][1] > res.history["psnr"][0][1]


def test_a_spectrum_with_no_mask_operator_is_refused():
    spectrum = kspace.fft2c(phantom(32))
    with pytest.raises(InputError, match="KSpace"):
        dp.restore(spectrum, iters=1)


def test_kspace_noise_pairs_are_two_independent_samplings():
    noise = parse_noise("kspace:4")
    x = phantom(32)[None, None].astype(np.float32)
    (first, m1), (second, m2) = noise.pair(
        x, noise.levels(1, np.random.default_rng(0)), np.random.default_rng(0)
    )
    assert first.shape == x.shape and m1.shape == (1, 1, 32, 32)
    assert not np.array_equal(m1, m2) and noise.loss == "kspace"
    with pytest.raises(InputError, match="accelerations"):
        parse_noise("kspace:0.5")


def test_noise2noise_for_mri_learns_from_undersampled_targets_and_reconstructs(tmp_path):
    images = [phantom(32)[None].astype(np.float32) * s for s in (0.6, 0.8, 1.0)]
    cfg = N2NConfig(noise="kspace:3-4", crop=32, batch=2, width=8, depth=2, iters=30, val_every=30, lr=3e-3)
    run = N2NTraining(TrainingSet(images=images), cfg)
    run.run()
    losses = run.history["loss"]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    path = tmp_path / "mri.pt"
    run.export().save(path)
    mask = kspace.sampling_mask("random", (32, 32), 4, seed=5)
    spectrum = kspace.fft2c(images[1][0]) * mask
    out = dp.n2n.load(path, "cpu").reconstruct(spectrum, mask)
    assert np.allclose(kspace.fft2c(out) * mask, spectrum, atol=1e-4)  # the data kept


def test_the_command_line_simulates_a_scan_and_reconstructs_it(tmp_path, capsys):
    from deepprior import cli
    from deepprior.imageio import write_image

    slice_png = write_image(tmp_path / "slice.png", (phantom(64) * 65535).astype(np.uint16))
    scan = tmp_path / "scan.npz"
    assert cli.main(["mri", "simulate", str(slice_png), "-o", str(scan), "--mask", "cartesian"]) == 0
    assert "acceleration 4.00, centre fraction" in capsys.readouterr().out
    out = tmp_path / "out.tif"
    args = ["mri", "reconstruct", str(scan), "-o", str(out), "--method", "tv", "--reference", str(slice_png)]
    assert cli.main(args) == 0
    assert "PSNR" in capsys.readouterr().out and dp.read_image(out).dtype == np.float32
    assert cli.main(args) == 2  # the output exists
    assert cli.main(["mri", "reconstruct", str(slice_png), "-o", str(tmp_path / "x.tif")]) == 2
    assert "not a scan file" in capsys.readouterr().err


def test_evaluating_an_mri_model_puts_the_measured_frequencies_back(tmp_path):
    class Blank(torch.nn.Module):  # a "model" that sees nothing: only the data are left
        multiple = 1

        def forward(self, x):
            return x * 0

    dp.write_image(tmp_path / "slice.tif", phantom().astype(np.float32))
    test = dp.n2n.noisy_test_set(tmp_path, "kspace:4")
    assert test[0].sampled is not None and kspace.acceleration(test[0].sampled) > 3
    blank = dp.n2n.Denoiser(N2NModel(Blank(), {"channels": 1}), "cpu")
    row = dp.n2n.evaluate(blank, test, window=0)["images"][0]
    assert row["psnr"] == pytest.approx(row["noisy_psnr"], abs=1e-4)  # zero-filled: the data alone
