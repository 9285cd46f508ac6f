"""The generator registry and the paper's skip network."""

import pytest
import torch

from deepprior import nets
from deepprior.errors import InputError
from deepprior.nets.layers import PointwiseConv


def test_default_skip_net_is_the_papers_size():
    net = nets.build("skip", 32, 3)
    assert sum(p.numel() for p in net.parameters()) == 2_217_831  # "2.2 M parameters"
    assert net.multiple == 32


@pytest.mark.parametrize("size", [(64, 64), (64, 96)])
def test_output_has_the_input_size_and_lies_in_0_1(size):
    net = nets.build("skip", 4, 3, {"channels_down": [8] * 5, "channels_up": [8] * 5})
    out = net(torch.rand(1, 4, *size))
    assert out.shape == (1, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_every_notebook_option_builds_and_runs():
    net = nets.build(
        "skip",
        1,
        1,
        {
            "channels_down": [4, 8, 8],
            "channels_up": [4, 8, 8],
            "channels_skip": [0, 2, 0],
            "kernel_down": 5,
            "kernel_up": [3, 1, 3],
            "upsample": ["nearest", "bilinear", "nearest"],
            "downsample": "avg",
            "padding": "zeros",
            "need_1x1_up": False,
            "batchnorm": False,
            "sigmoid": False,
        },
    )
    assert net(torch.rand(2, 1, 16, 24)).shape == (2, 1, 16, 24)


def test_bad_configurations_are_named():
    with pytest.raises(InputError, match="channels_up has 2 entries"):
        nets.build("skip", 3, 3, {"channels_up": [8, 8]})
    with pytest.raises(InputError, match="unknown parameters.*colour"):
        nets.build("skip", 3, 3, {"colour": 1})
    with pytest.raises(InputError, match="unknown network"):
        nets.build("resnet", 3, 3)


def test_pointwise_conv_equals_a_1x1_convolution():
    torch.manual_seed(0)
    conv = PointwiseConv(5, 7)
    x = torch.randn(2, 5, 6, 3)
    expected = torch.nn.functional.conv2d(x, conv.weight, conv.bias)
    torch.testing.assert_close(conv(x), expected)


def test_the_deep_decoder_grows_a_coarse_code_into_an_image():
    net = nets.build("decoder", 16, 3, {"width": 16, "depth": 3})
    assert net.code_stride == net.multiple == 8
    out = net(torch.rand(1, 16, 5, 7))
    assert out.shape == (1, 3, 40, 56) and 0 <= out.min() and out.max() <= 1
    assert sum(p.numel() for p in net.parameters()) == 4 * (16 * 16 + 16 + 2 * 16) + 16 * 3 + 3
