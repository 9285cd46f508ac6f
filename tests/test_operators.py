"""Degradation operators: sizes, the DIP downsampling filters, adjoints, gradients, errors."""

import numpy as np
import pytest
import torch

from deepprior import operators
from deepprior.errors import InputError
from deepprior.operators import (
    Blur,
    Compose,
    Downsample,
    Identity,
    Lambda,
    Mask,
    Operator,
    as_operator,
    bicubic_taps,
    lanczos2_taps,
)

KERNEL = np.arange(15, dtype=np.float32).reshape(3, 5) / 105  # non-symmetric on purpose


def some_mask(h: int, w: int, channels: int = 1) -> np.ndarray:
    return np.random.default_rng(0).random((channels, h, w)) > 0.3


def all_operators() -> list[Operator]:
    return [
        Identity(),
        Mask(some_mask(12, 12)),
        Downsample(2),
        Downsample(3, "bicubic"),
        Downsample(4, "box"),
        Blur(KERNEL),
        Compose(Blur(KERNEL, "circular"), Downsample(3)),
    ]


@pytest.mark.parametrize("channels", [1, 3, 5])
@pytest.mark.parametrize("op", all_operators(), ids=lambda op: type(op).__name__)
def test_every_operator_gives_its_output_size(op, channels):
    x = torch.rand(2, channels, 12, 12)
    y = op(x)
    assert y.shape == (2, channels, *op.output_size((12, 12)))
    assert op.input_size(tuple(y.shape[-2:])) == (12, 12)


def test_downsample_sizes_for_even_and_odd_factors():
    assert Downsample(4)(torch.rand(1, 3, 64, 48)).shape == (1, 3, 16, 12)
    assert Downsample(3)(torch.rand(1, 1, 9, 15)).shape == (1, 1, 3, 5)
    assert Downsample(4).input_size((16, 12)) == (64, 48)


def test_lanczos2_taps_at_x4_are_dips():
    taps = lanczos2_taps(4)
    first = [-0.00107, -0.00975, -0.02038, -0.01488, 0.02459, 0.09866, 0.18312, 0.23971]
    assert len(taps) == 16
    np.testing.assert_allclose(taps[:8], first, atol=1e-5)
    np.testing.assert_allclose(taps, taps[::-1], atol=1e-12)


@pytest.mark.parametrize("taps", [lanczos2_taps, bicubic_taps])
@pytest.mark.parametrize("factor", [2, 3, 8])
def test_taps_sum_to_one_and_are_symmetric(taps, factor):
    t = taps(factor)
    assert len(t) == 4 * factor
    assert t.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(t, t[::-1], atol=1e-12)


@pytest.mark.parametrize("kernel", ["lanczos2", "bicubic", "box"])
def test_downsampling_a_constant_image_keeps_the_constant(kernel):
    y = Downsample(4, kernel)(torch.full((1, 3, 16, 16), 0.3))
    torch.testing.assert_close(y, torch.full((1, 3, 4, 4), 0.3))


def test_box_downsampling_averages_blocks():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    torch.testing.assert_close(Downsample(2, "box")(x), torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))


@pytest.mark.parametrize(
    "op",
    [
        Mask(some_mask(12, 12, channels=2)),
        Downsample(2),
        Downsample(3, "bicubic"),
        Downsample(4, "box"),
        Blur(KERNEL, "reflect"),
        Blur(KERNEL, "replicate"),
        Blur(KERNEL, "circular"),
        Blur(KERNEL, "zeros"),
        Compose(Blur(KERNEL), Mask(some_mask(12, 12)), Downsample(2)),
    ],
    ids=lambda op: type(op).__name__,
)
def test_adjoint_satisfies_the_inner_product_identity(op):
    x = torch.rand(2, 2, 12, 12, dtype=torch.float64)
    y = torch.rand(2, 2, *op.output_size((12, 12)), dtype=torch.float64)
    lhs = torch.sum(op(x) * y)
    rhs = torch.sum(x * op.adjoint(y, (12, 12)))
    assert lhs.item() == pytest.approx(rhs.item(), rel=1e-6)


def test_blur_with_a_delta_is_the_identity():
    delta = np.zeros((3, 5))
    delta[1, 2] = 1
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(Blur(delta)(x), x)


def test_blur_is_a_convolution_not_a_correlation():
    # A delta one pixel right of the kernel's centre moves the image one pixel right.
    shift = np.zeros((3, 3))
    shift[1, 2] = 1
    x = torch.rand(1, 1, 6, 6)
    y = Blur(shift, padding="circular")(x)
    torch.testing.assert_close(y, torch.roll(x, shifts=1, dims=-1))


def test_compose_applies_in_the_order_given():
    x = torch.rand(1, 3, 16, 16)
    blur, down = Blur(KERNEL), Downsample(4)
    torch.testing.assert_close(Compose(blur, down)(x), down(blur(x)))
    assert Compose(blur, down).output_size((16, 16)) == (4, 4)
    assert Compose(Downsample(2), Downsample(3)).input_size((2, 2)) == (12, 12)


def test_mask_accepts_numpy_torch_bool_and_float():
    m = some_mask(4, 6)[0]
    for mask in (m, m.astype(np.float32), torch.from_numpy(m), torch.from_numpy(m)[None, None]):
        op = Mask(mask)
        torch.testing.assert_close(op(torch.ones(1, 3, 4, 6))[0, 1], torch.from_numpy(m).float())
        assert op.known_fraction == pytest.approx(m.mean())


def test_a_mask_with_transparency_is_refused_and_an_opaque_alpha_ignored():
    from deepprior.image import known_pixels

    mask = np.zeros((4, 4, 2), np.uint8)
    mask[:2, :, 0] = 255
    mask[..., 1] = 255  # opaque: the grey values are the mask
    assert known_pixels(mask, (4, 4)).sum() == 8
    mask[0, 0, 1] = 0
    with pytest.raises(InputError, match="transparency"):
        known_pixels(mask, (4, 4))


def test_mask_errors_name_the_problem():
    with pytest.raises(InputError, match="mask is 48×64 but the image is 50×64"):
        Mask(np.ones((64, 48)))(torch.rand(1, 3, 64, 50))
    with pytest.raises(InputError, match="only 0 .* and 1"):
        Mask(np.full((4, 4), 0.5))
    with pytest.raises(InputError, match="mask has 3 channels but the image has 1"):
        Mask(np.ones((3, 4, 4)))(torch.rand(1, 1, 4, 4))


@pytest.mark.parametrize("factor", [1, 0, -2, 2.0, 2.5, "4", True])
def test_downsample_factor_must_be_an_integer_of_at_least_2(factor):
    with pytest.raises(InputError, match="factor must be an integer ≥ 2"):
        Downsample(factor)


def test_downsample_errors_name_the_problem():
    with pytest.raises(InputError, match="the image is 50×64, not a multiple of the factor 4"):
        Downsample(4)(torch.rand(1, 3, 64, 50))
    with pytest.raises(InputError, match="unknown downsampling kernel 'gauss'"):
        Downsample(2, "gauss")


def test_blur_errors_name_the_problem():
    with pytest.raises(InputError, match="odd sizes"):
        Blur(np.ones((4, 4)) / 16)
    with pytest.raises(InputError, match="unknown padding 'mirror'"):
        Blur(KERNEL, "mirror")


def test_a_user_function_becomes_an_operator():
    def half_and_grey(x):  # any differentiable function on (B, C, H, W) tensors
        return torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 2)

    op = as_operator(half_and_grey)
    assert isinstance(op, Lambda)
    assert op.output_size((10, 14)) == (5, 7)
    assert op(torch.rand(1, 3, 10, 14)).shape == (1, 1, 5, 7)


def test_as_operator_passes_operators_and_maps_none_to_identity():
    down = Downsample(2)
    assert as_operator(down) is down
    assert isinstance(as_operator(None), Identity)
    with pytest.raises(InputError, match="must be callable"):
        as_operator("blur")


@pytest.mark.parametrize("op", all_operators() + [Lambda(lambda x: x**2)], ids=lambda op: type(op).__name__)
def test_gradients_flow_through_every_operator(op):
    x = torch.rand(1, 3, 12, 12, requires_grad=True)
    op(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape and x.grad.abs().sum() > 0


def test_a_large_image_is_filled_in_tiles_that_agree_with_the_whole_fill(monkeypatch):
    rows, cols = np.mgrid[0:150, 0:170] / 40
    image = torch.from_numpy(0.5 + 0.3 * np.sin(rows) * np.cos(cols)).float()[None, None]
    known = torch.from_numpy(np.random.default_rng(0).random((150, 170)) < 0.5).float()
    whole = Mask(known).fill(image * known)
    monkeypatch.setattr(operators, "FILL_TILE", 64)  # 150×170 is now "large": 4×3 tiles
    monkeypatch.setattr(operators, "FILL_OVERLAP", 16)
    tiled = Mask(known).fill(image * known)
    assert torch.equal(tiled * known, image * known)  # the known pixels untouched
    assert (tiled - whole).abs().max() < 1e-3  # biharmonic is local: the seams do not show
