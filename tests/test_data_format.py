"""`data_format`: channels-first images are blurred along height and width."""

import warnings

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi

from keras_seqimage import Degradation, degrade
from keras_seqimage.layers import DegradationLayer, GaussianBlurLayer


def _images(shape=(2, 16, 20, 3)):
    return np.random.default_rng(0).uniform(size=shape).astype("float32")


def test_gaussian_blur_layer_channels_first():
    images = _images()
    nchw = np.transpose(images, (0, 3, 1, 2))
    layer = GaussianBlurLayer(sigma=(1.0, 2.0), data_format="channels_first")
    out = keras.ops.convert_to_numpy(layer(nchw))
    expected = ndi.gaussian_filter(images, (0, 1.0, 2.0, 0))
    np.testing.assert_allclose(np.transpose(out, (0, 2, 3, 1)), expected, atol=1e-5)
    assert layer.compute_output_shape((None, 3, 16, 20)) == (None, 3, 16, 20)
    again = GaussianBlurLayer.from_config(layer.get_config())
    assert again.data_format == "channels_first"


def test_degradation_layer_channels_first():
    images = _images()
    nchw = np.transpose(images, (0, 3, 1, 2))
    last = DegradationLayer(sigma=1.5, noise=0.0, seed=3)(images)
    first = DegradationLayer(sigma=1.5, noise=0.0, seed=3, data_format="channels_first")
    out = keras.ops.convert_to_numpy(first(nchw))
    np.testing.assert_allclose(
        np.transpose(out, (0, 2, 3, 1)), keras.ops.convert_to_numpy(last), atol=1e-6
    )
    assert first.get_config()["data_format"] == "channels_first"


def test_degrade_channels_first_replays_the_same_draws():
    images = _images()
    last, params = degrade(images, sigma_range=(1.0, 2.0), noise=0.01, seed=4)
    first, first_params = degrade(
        np.transpose(images, (0, 3, 1, 2)),
        sigma_range=(1.0, 2.0),
        noise=0.01,
        seed=4,
        data_format="channels_first",
    )
    np.testing.assert_array_equal(first_params["sigma_h"], params["sigma_h"])
    assert first.shape == (2, 3, 16, 20)
    # The noise field is drawn in the channels-last layout, so the two agree.
    np.testing.assert_allclose(np.transpose(first, (0, 2, 3, 1)), last, atol=1e-6)
    one, _ = Degradation(sigma=1.0)(
        np.transpose(images[0], (2, 0, 1)), seed=0, data_format="channels_first"
    )
    assert one.shape == (3, 16, 20)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: GaussianBlurLayer(sigma=1.0)(x),
        lambda x: DegradationLayer(sigma=1.0)(x),
        lambda x: degrade(x, sigma=1.0, seed=0),
    ],
    ids=["GaussianBlurLayer", "DegradationLayer", "degrade"],
)
def test_channels_first_data_as_channels_last_warns(call):
    nchw = np.transpose(_images(), (0, 3, 1, 2))  # (2, 3, 16, 20)
    with pytest.warns(UserWarning, match=r"data_format='channels_first'"):
        call(nchw)


def test_valid_channels_last_data_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianBlurLayer(sigma=1.0)(_images((2, 8, 8, 3)))
        GaussianBlurLayer(sigma=1.0)(_images((2, 3, 8, 4)))  # 3 rows, RGBA
        degrade(_images((8, 8, 1)), sigma=1.0, seed=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianBlurLayer(data_format="NCHW"),
        lambda: DegradationLayer(data_format="channels-first"),
        lambda: degrade(_images(), data_format="first"),
    ],
)
def test_bad_data_format(make):
    with pytest.raises(ValueError, match=r"`data_format` must be one of"):
        make()
