"""The Python API: numpy or torch in, the same layout out, for every task."""

import numpy as np
import pytest
import torch

import deepprior as dp

QUICK = {"iters": 2, "preset": "fast"}


def test_denoise_returns_the_callers_shape_and_dtype():
    rng = np.random.default_rng(0)
    for image in [
        (rng.random((20, 18)) * 255).astype(np.uint8),
        (rng.random((20, 18, 3)) * 65535).astype(np.uint16),
        rng.random((20, 18, 3)).astype(np.float32),
    ]:
        out = dp.denoise(image, sigma=25 / 255, **QUICK)
        assert out.shape == image.shape and out.dtype == image.dtype


def test_scientific_float_data_keeps_its_range():
    image = np.random.default_rng(0).normal(1000.0, 50.0, (16, 16)).astype(np.float32)
    out = dp.denoise(image, **QUICK)
    assert image.min() <= out.min() and out.max() <= image.max() and out.dtype == np.float32


def test_torch_tensors_come_back_as_tensors_of_the_same_shape():
    for shape in [(3, 16, 16), (1, 1, 16, 16), (16, 16)]:
        out = dp.denoise(torch.rand(shape), **QUICK)
        assert isinstance(out, torch.Tensor) and out.shape == shape


def test_a_result_carries_history_config_and_seed():
    res = dp.denoise(np.random.default_rng(0).random((16, 16, 3)), return_result=True, seed=5, **QUICK)
    assert res.seed == 5 and res.config["task"] == "denoise" and len(res.history["loss"]) == 2


def test_denoise_defaults_to_the_shipped_model_unless_a_fitting_run_is_asked_for():
    noisy = np.random.default_rng(0).random((24, 24, 3))
    with pytest.warns(UserWarning, match="above the 50/255"):  # uniform noise: σ far above 50/255
        assert dp.denoise(noisy, return_result=True).config["method"] == "n2n"
    assert dp.denoise(noisy, iters=2, return_result=True).config["method"] == "dip"
    with pytest.raises(dp.InputError, match="ensemble does not apply to the dip method"):
        dp.denoise(noisy, method="dip", ensemble=True, iters=2)
    with pytest.raises(dp.InputError, match="iters does not apply to the n2n method"):
        dp.denoise(noisy, method="n2n", iters=5)


def test_the_n2n_ensemble_is_on_by_default_for_images_up_to_a_size(monkeypatch):
    noisy = np.clip(0.5 + np.random.default_rng(0).normal(0, 0.1, (24, 24)), 0, 1)
    assert dp.denoise(noisy, return_result=True).config["ensemble"]
    monkeypatch.setattr(dp.n2n, "N2N_ENSEMBLE_MAX_PIXELS", 24 * 24 - 1)
    assert not dp.denoise(noisy, return_result=True).config["ensemble"]
    assert dp.denoise(noisy, ensemble=True, return_result=True).config["ensemble"]
    monkeypatch.undo()
    assert not dp.denoise(noisy, ensemble=False, return_result=True).config["ensemble"]


def test_restore_with_any_operator_or_a_users_callable():
    k = np.ones((3, 3)) / 9
    y = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    res = dp.restore(y, operator=dp.operators.Blur(k), **QUICK)
    assert res.image.shape == y.shape and res.config["task"] == "operator"
    res = dp.restore(y, operator=lambda x: x.mean(1, keepdim=True).expand_as(x), **QUICK)
    assert res.image.shape == y.shape


def test_restore_from_a_fraction_of_pixels_with_a_mask():
    rng = np.random.default_rng(0)
    y = rng.random((32, 32))
    mask = rng.random((32, 32)) > 0.5
    res = dp.restore(y, mask=mask, **QUICK)
    assert res.image.shape == (32, 32) and res.config["task"] == "restore" and res.config["method"] == "dip"
    # inpaint tells a mask of scattered known pixels from text and holes, and agrees
    assert dp.inpaint(y, mask, return_result=True, **QUICK).config["task"] == "restore"
    with pytest.raises(dp.InputError, match="either a mask or an operator"):
        dp.restore(y, dp.operators.Identity(), mask=mask)


def test_a_keep_mask_is_filled_in_by_the_shipped_bernoulli_model_by_default():
    rows, cols = np.mgrid[0:64, 0:64] / 64
    clean = np.stack([0.5 + 0.4 * np.sin(6 * rows + 3 * cols), rows, 1 - cols], -1).astype(np.float32)
    keep = np.random.default_rng(1).random((64, 64)) < 0.3
    observed = clean * keep[..., None]
    res = dp.restore(observed, mask=keep, return_result=True)
    assert res.config["method"] == "n2n" and res.config["model"] == "n2n_bernoulli_grey.pt"
    assert dp.n2n.SHIPPED["bernoulli"].stat().st_size < 4 * 2**20  # a few MB at most, in the wheel
    assert np.array_equal(res.image[keep], observed[keep])  # the known pixels stay exact
    assert dp.psnr(res.image, clean) > dp.psnr(observed, clean) + 15  # the unknown ones filled in
    assert dp.inpaint(observed, keep, return_result=True).config["method"] == "n2n"  # the same rule
    hole = np.ones((64, 64), bool)
    hole[8:48, 8:48] = False
    with pytest.raises(dp.InputError, match="n2n method serves"):
        dp.inpaint(observed, hole, method="n2n")  # a large hole is DIP's


def test_text_on_a_photo_is_filled_in_by_the_bernoulli_model_in_boxes_around_it():
    rows, cols = np.mgrid[0:160, 0:200] / 160
    clean = np.stack([0.5 + 0.4 * np.sin(9 * rows + 4 * cols), rows, 1 - cols / 2], -1).astype(np.float32)
    text = np.ones((160, 200), bool)
    text[60:63, 70:110] = text[70:90, 100:102] = False  # two strokes
    observed = clean * text[..., None]
    res = dp.inpaint(observed, text, return_result=True)
    assert res.config["method"] == "n2n" and res.config["crops"] == [[28, 38, 94, 104]]
    assert np.array_equal(res.image[text], observed[text])  # every known pixel as it was
    assert dp.psnr(res.image, clean) > dp.psnr(observed, clean) + 15
    whole = dp.inpaint(observed, text, crop=False, return_result=True)  # the whole image at once
    assert "crops" not in whole.config and np.abs(whole.image - res.image).max() < 0.02


@pytest.mark.parametrize("preset", ["fast", "paper"])
def test_super_resolve_inpaint_dejpeg_flash(preset):
    rng = np.random.default_rng(0)
    small = (rng.random((8, 10, 3)) * 255).astype(np.uint8)
    quick = {"iters": 2, "preset": preset}
    assert dp.super_resolve(small, 4, **quick).shape == (32, 40, 3)
    image = rng.random((16, 16, 3))
    mask = np.ones((16, 16), bool)
    mask[3:5] = False
    assert dp.inpaint(image, mask, **quick).shape == image.shape
    assert dp.dejpeg(image, **quick).shape == image.shape
    assert dp.flash_no_flash(image, image, **quick).shape == image.shape
    with pytest.raises(dp.InputError, match="integer ≥ 2"):
        dp.super_resolve(small, 2.5)
    with pytest.raises(dp.InputError, match="flash image is 8×8 but the no-flash image is 16×16"):
        dp.flash_no_flash(image[:8, :8], image)


def test_inpaint_picks_the_net_from_the_mask():
    image = np.random.default_rng(0).random((64, 64, 3))
    thin, hole = np.ones((64, 64), bool), np.ones((64, 64), bool)
    thin[30:33] = False
    hole[10:50, 10:50] = False
    assert dp.inpaint(image, thin, return_result=True, **QUICK).config["task"] == "inpaint"
    assert dp.inpaint(image, hole, return_result=True, **QUICK).config["task"] == "inpaint-holes"


def test_presets_are_the_papers_settings():
    cfg = dp.get_preset("denoise", "paper", sigma=50)
    assert (cfg.iters, cfg.lr, cfg.reg_noise_std, cfg.input_channels) == (3000, 0.01, 1 / 20, 32)
    sr8 = dp.get_preset("super-resolve", "paper", factor=8)
    assert (sr8.iters, sr8.reg_noise_std) == (4000, 0.05)
    restore = dp.get_preset("restore", "paper")
    assert (restore.iters, restore.lr) == (11000, 0.001)
    flash = dp.get_preset("flash-no-flash", "paper")
    assert flash.input == "guide" and flash.net_params["upsample"][:2] == ["nearest", "nearest"]


def test_an_operator_that_does_not_produce_the_observation_is_named():
    y = np.random.default_rng(0).random((16, 16, 3))
    with pytest.raises(dp.InputError, match=r"operator maps a \(1, 3, 16, 16\) image to \(1, 3, 8, 8\)"):
        dp.restore(y, operator=lambda x: x[..., ::2, ::2], **QUICK)
