"""Quality scores: luma conversion, PSNR and SSIM as in the literature and scikit-image."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from deepprior.errors import InputError
from deepprior.metrics import psnr, psnr_tensor, rgb_to_y, shave, ssim


def images(shape=(16, 20, 3), seed=0):
    """A clean image and a noisy copy, float in [0, 1]."""
    rng = np.random.default_rng(seed)
    clean = rng.random(shape)
    return np.clip(clean + rng.normal(0, 0.05, shape), 0, 1), clean


def test_rgb_to_y_uses_matlabs_studio_range():
    assert rgb_to_y(np.ones((2, 2, 3))) == pytest.approx(np.full((2, 2), 235 / 255))
    assert rgb_to_y(np.zeros((2, 2, 3), np.uint8)) == pytest.approx(np.full((2, 2), 16 / 255))
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == pytest.approx(235 / 255)


def test_rgb_to_y_returns_grey_images_as_float():
    grey = np.array([[0, 255]], np.uint8)
    np.testing.assert_array_equal(rgb_to_y(grey), [[0.0, 1.0]])
    with pytest.raises(InputError, match="3 channels"):
        rgb_to_y(np.zeros((2, 2, 4)))


def test_a_constant_error_of_0_1_is_20_db():
    reference = np.full((8, 8), 0.5)
    assert psnr(reference + 0.1, reference) == pytest.approx(20.0)
    assert psnr(reference, reference) == float("inf")


@pytest.mark.parametrize(
    "dtype, scale", [(np.float64, 1), (np.float32, 1), (np.uint8, 255), (np.uint16, 65535)]
)
def test_psnr_equals_skimage(dtype, scale):
    noisy, clean = (np.round(im * scale).astype(dtype) if scale > 1 else im.astype(dtype) for im in images())
    assert psnr(noisy, clean) == pytest.approx(peak_signal_noise_ratio(clean, noisy), rel=1e-6)


def test_data_range_scales_images_on_another_range():
    noisy, clean = images()
    assert psnr(noisy * 255, clean * 255, data_range=255) == pytest.approx(psnr(noisy, clean))


def test_a_float_result_can_be_scored_against_a_uint8_reference():
    reference = np.full((8, 8, 3), 128, np.uint8)
    assert psnr(np.full((8, 8, 3), 128 / 255), reference) == float("inf")


def test_border_ignores_exactly_that_many_pixels():
    assert shave(np.zeros((10, 12, 3)), 2).shape == (6, 8, 3)
    assert shave(np.zeros((10, 12)), 0).shape == (10, 12)
    reference = np.zeros((10, 10))
    image = reference.copy()
    image[2, 2:8] = 1  # errors on row 2 only: inside a border of 3, not of 2
    assert psnr(image, reference, border=3) == float("inf")
    assert psnr(image, reference, border=2) < float("inf")


def test_y_channel_scores_the_luma_only():
    reference = np.full((8, 8, 3), 0.5)
    image = reference.copy()
    image[..., 2] += 0.1  # a blue error: small in luma (weight 24.966 / 255)
    rgb, y = psnr(image, reference), psnr(image, reference, y_channel=True)
    assert rgb == pytest.approx(10 * np.log10(3 / 0.1**2))
    assert y == pytest.approx(-20 * np.log10(0.1 * 24.966 / 255))
    assert y > rgb


def test_mismatched_sizes_are_named():
    with pytest.raises(InputError, match="image is 20×16×3 but the reference is 20×16"):
        psnr(np.zeros((16, 20, 3)), np.zeros((16, 20)))
    with pytest.raises(InputError, match="border of 5 leaves nothing of a 10×10 image"):
        psnr(np.zeros((10, 10)), np.zeros((10, 10)), border=5)


def test_ssim_of_identical_images_is_1_and_drops_with_noise():
    noisy, clean = images((32, 32, 3))
    assert ssim(clean, clean) == pytest.approx(1.0)
    assert ssim(noisy, clean) < 0.99
    assert ssim(noisy, clean, y_channel=True, border=4) < 0.99


def test_ssim_needs_a_window_of_pixels():
    with pytest.raises(InputError, match="at least 11×11"):
        ssim(np.zeros((16, 16)), np.zeros((16, 16)), border=3)


def test_psnr_tensor_agrees_with_psnr():
    noisy, clean = images((16, 20, 3))
    to_tensor = lambda im: torch.from_numpy(im).float().permute(2, 0, 1)[None]  # noqa: E731
    value = psnr_tensor(to_tensor(noisy), to_tensor(clean))
    assert value.dim() == 0
    assert value.item() == pytest.approx(psnr(noisy.astype(np.float32), clean.astype(np.float32)), abs=1e-3)
    assert psnr_tensor(to_tensor(clean), to_tensor(clean)).item() == float("inf")
