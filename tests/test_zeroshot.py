"""Zero-Shot Noise2Noise: the pair downsampler, exact tiling, the ensemble, a real denoising run,
pixel-shuffle downsampling for correlated noise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deepprior as dp
from deepprior import nets
from deepprior.errors import InputError
from deepprior.methods.ensemble import dihedral, undo_dihedral
from deepprior.methods.pixelshuffle import shuffle_down, shuffle_up
from deepprior.methods.tiles import tiled
from deepprior.methods.zeroshot import (
    ZSN2NConfig,
    ZSN2NFit,
    pair_downsample,
    zs_n2n_loss,
)
from deepprior.operators import Downsample
from deepprior.problem import Problem
from deepprior.registry import solve


def smooth_image(size=48, sigma=0.1, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth RGB test image and a noisy copy, (1, 3, size, size)."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    clean = torch.stack([0.5 + 0.3 * torch.sin(4 * xs), 0.5 + 0.3 * torch.cos(3 * ys), 0.3 + 0.4 * xs * ys])[
        None
    ]
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed)) * sigma
    return clean, clean + noise


def test_the_pair_downsampler_is_the_papers_strided_convolution():
    x = torch.rand(2, 3, 9, 12)
    kernels = [torch.tensor([[0, 0.5], [0.5, 0]]), torch.tensor([[0.5, 0], [0, 0.5]])]
    for view, kernel in zip(pair_downsample(x), kernels):
        expected = F.conv2d(x, kernel.expand(3, 1, 2, 2), stride=2, groups=3)
        torch.testing.assert_close(view, expected)
        assert view.shape == (2, 3, 4, 6)


def test_the_two_views_have_independent_noise_of_half_the_variance():
    noise = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(0))
    a, b = pair_downsample(noise)
    assert abs(a.var().item() - 0.5) < 0.02 and abs(b.var().item() - 0.5) < 0.02
    assert abs(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()) < 0.01


def correlated_noise(shape, std, seed=0) -> torch.Tensor:
    """Noise correlated over 3×3 pixels (a 3×3 box filter of white noise), of about ``std``."""
    white = torch.randn(*shape[:2], shape[2] + 2, shape[3] + 2, generator=torch.Generator().manual_seed(seed))
    return F.avg_pool2d(white, 3, stride=1) * 3 * std


def test_pixel_shuffle_sub_images_put_back_give_the_image_for_any_size():
    x = torch.rand(1, 3, 13, 10)
    for stride in (1, 2, 3, 4):
        views = shuffle_down(x, stride)
        assert views.shape == (stride**2, 3, -(-13 // stride), -(-10 // stride))
        torch.testing.assert_close(shuffle_up(views, stride, (13, 10)), x, rtol=0, atol=0)
    torch.testing.assert_close(shuffle_down(x, 3)[4, :, :4, :3], x[0, :, 1::3, 1::3])


def test_the_sub_images_of_correlated_noise_are_nearly_white():
    noise = correlated_noise((1, 1, 600, 600), 1.0)

    def neighbour_correlation(image: torch.Tensor) -> float:
        pairs = torch.stack([image[..., :, :-1].flatten(), image[..., :, 1:].flatten()])
        return torch.corrcoef(pairs)[0, 1].item()

    assert neighbour_correlation(noise) > 0.6
    assert abs(neighbour_correlation(shuffle_down(noise, 3))) < 0.02


def test_pixel_shuffle_lets_zero_shot_remove_correlated_noise_that_it_otherwise_keeps():
    clean, _ = smooth_image()
    noisy = clean + correlated_noise(clean.shape, 0.067)
    before = dp.psnr(noisy[0].permute(1, 2, 0).clamp(0, 1).numpy(), clean[0].permute(1, 2, 0).numpy())
    after = {}
    for stride in (1, 3):
        config = ZSN2NConfig(width=16, iters=300, lr=1e-2, crop=16, batch=4, shuffle=stride)
        after[stride] = dp.psnr(solve(Problem(y=noisy), config).image, clean[0].permute(1, 2, 0).numpy())
    assert after[1] < before + 1 and after[3] > before + 3, (before, after)


def test_the_camera_noise_preset_is_the_fast_one_on_3x3_sub_images():
    pd, fast = (dp.get_preset("denoise", name, method="zs-n2n") for name in ("pd", "fast"))
    assert pd.shuffle == 3 and fast.shuffle == 1 and pd.iters == fast.iters
    assert dp.denoise(torch.rand(3, 24, 24), method="zs-n2n", preset="pd", iters=2).shape == (3, 24, 24)
    with pytest.raises(InputError, match="shuffle"):
        ZSN2NConfig(shuffle=0)
    with pytest.raises(InputError, match="sub-images"):
        dp.denoise(np.zeros((9, 9)), method="zs-n2n", preset="pd")


def test_the_loss_is_zero_for_a_net_that_predicts_no_noise_on_a_constant_image():
    y = torch.full((1, 3, 8, 8), 0.4)
    assert zs_n2n_loss(lambda x: torch.zeros_like(x), y).item() == 0.0


def test_each_flip_or_rotation_is_undone_and_all_eight_differ():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    views = [dihedral(x, k) for k in range(8)]
    assert len({tuple(v.flatten().tolist()) + tuple(v.shape) for v in views}) == 8
    for k, view in enumerate(views):
        torch.testing.assert_close(undo_dihedral(view, k), x)


def test_tiled_inference_equals_the_whole_image_for_any_size():
    net = nets.build("tiny", 3, 3, {"width": 8}).eval()
    x = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        whole = net(x)
        for tile in (8, 16, 40):
            torch.testing.assert_close(tiled(net, x, tile, net.radius), whole, atol=1e-6, rtol=1e-5)


def test_a_short_run_removes_most_of_the_noise():
    clean, noisy = smooth_image()
    problem = Problem(y=noisy, reference=clean)
    result = solve(problem, ZSN2NConfig(width=16, iters=300, lr=1e-2, crop=32, batch=4))
    before = dp.psnr(noisy[0].permute(1, 2, 0).clamp(0, 1).numpy(), clean[0].permute(1, 2, 0).numpy())
    after = dp.psnr(result.image, clean[0].permute(1, 2, 0).numpy())
    assert after > before + 6, (before, after)
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.history["psnr"][-1][0] == 300 and result.config["method"] == "zs-n2n"


def test_resume_equals_an_uninterrupted_run(tmp_path):
    _, noisy = smooth_image(24)
    config = ZSN2NConfig(width=8, iters=12, crop=16, batch=2, augment=True)
    whole = solve(Problem(y=noisy), config)

    class StopAt6:
        def on_step(self, run):
            run.stop = run.iteration == 6

    run = ZSN2NFit(Problem(y=noisy), config)
    run.run([StopAt6()])
    run.save(tmp_path / "zs.ckpt")
    resumed = solve(Problem(y=noisy), config, resume=str(tmp_path / "zs.ckpt"))
    np.testing.assert_array_equal(resumed.image, whole.image)
    assert resumed.history["loss"] == whole.history["loss"]


def test_a_checkpoint_of_another_method_or_configuration_is_refused(tmp_path):
    _, noisy = smooth_image(16)
    run = ZSN2NFit(Problem(y=noisy), ZSN2NConfig(width=8, iters=2))
    run.run()
    run.save(tmp_path / "zs.ckpt")
    with pytest.raises(InputError, match="different configuration"):
        solve(Problem(y=noisy), ZSN2NConfig(width=4, iters=2), resume=str(tmp_path / "zs.ckpt"))
    with pytest.raises(InputError, match="written by a zs-n2n run, not a dip one"):
        solve(Problem(y=noisy), dp.get_preset("denoise", "fast", iters=2), resume=str(tmp_path / "zs.ckpt"))
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a deepprior checkpoint"):
        solve(Problem(y=noisy), ZSN2NConfig(width=8, iters=2), resume=str(tmp_path / "junk.ckpt"))


def test_zero_shot_denoises_only_and_needs_a_few_pixels():
    with pytest.raises(InputError, match="serves denoise only"):
        dp.get_preset("super-resolve", "fast", method="zs-n2n")
    with pytest.raises(InputError, match="identity"):
        ZSN2NFit(Problem(y=torch.rand(1, 3, 8, 8), operator=Downsample(2)), ZSN2NConfig())
    with pytest.raises(InputError, match="4×4"):
        dp.denoise(np.zeros((3, 9)), method="zs-n2n")
    with pytest.raises(InputError, match="even"):
        ZSN2NConfig(crop=31)


def test_the_api_gives_back_the_callers_layout_with_either_method():
    image = (np.random.default_rng(0).random((20, 18)) * 65535).astype(np.uint16)
    for method in ("zs-n2n", "dip"):
        result = dp.denoise(image, method=method, iters=2, return_result=True)
        assert result.image.shape == image.shape and result.image.dtype == np.uint16
        assert result.config["method"] == method
    config = dp.get_preset("denoise", "paper", method="zs-n2n", iters=2)
    assert config.iters == 2 and config.crop == 0 and not config.ensemble
    assert dp.denoise(torch.rand(3, 16, 16), preset=config).shape == (3, 16, 16)
