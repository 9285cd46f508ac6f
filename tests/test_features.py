"""Feature inversion and activation maximisation through any torch model (here the shipped
Noise2Noise U-Net), by DIP or by the pixels under a TV prior."""

import numpy as np
import pytest
import torch

import deepprior as dp
from deepprior.errors import InputError
from deepprior.features import FeatureMap


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return dp.n2n.pretrained("cpu").model.net


def scene(size: int = 32) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size] / size
    return (0.5 + 0.4 * np.sin(6 * xs) * np.cos(4 * ys)).astype(np.float32)


def test_the_feature_map_is_an_operator_from_the_image_to_a_layer_s_output(net):
    op = FeatureMap(net, "down.1", channels=1, size=(32, 32))
    assert tuple(op(torch.rand(1, 1, 32, 32)).shape) == (1, 32, 16, 16)  # after one 2× pooling
    assert op.input_channels(32) == 1 and op.input_size((16, 16)) == (32, 32)


def test_an_unknown_layer_names_the_model_s_layers(net):
    with pytest.raises(InputError, match="down.0"):
        FeatureMap(net, "conv9", channels=1, size=(32, 32))


@pytest.mark.parametrize("method", ["dip", "tv"])
def test_inversion_brings_the_features_closer_and_leaves_the_model_as_it_was(net, method):
    before = [p.requires_grad for p in net.parameters()]
    res = dp.invert_features(net, scene(), layer="down.0", method=method, iters=40)
    assert res.image.shape == (32, 32) and res.config["method"] == method
    assert np.mean(res.history["loss"][-5:]) < 0.5 * res.history["loss"][0]
    assert [p.requires_grad for p in net.parameters()] == before and not net.training


def test_activation_maximisation_raises_the_unit_s_mean(net):
    res = dp.maximise_activation(net, "down.1", unit=5, size=(32, 32), channels=1, iters=30)
    op = FeatureMap(net, "down.1", channels=1, size=(32, 32))
    image = torch.from_numpy(res.image)[None, None]
    grey = torch.full_like(image, 0.5)
    assert op(image)[:, 5].mean() > op(grey)[:, 5].mean()
    with pytest.raises(InputError, match="units"):
        dp.maximise_activation(net, "down.1", unit=999, size=(32, 32), channels=1, iters=1)


def test_an_option_restore_does_not_share_is_refused(net):
    with pytest.raises(InputError, match="sigma"):
        dp.invert_features(net, scene(), layer="down.0", sigma=0.1)
