"""The photo degradation: `degrade`, `Degradation` and `DegradationLayer`.

Numbers against scipy (the blur), the noise's statistics, 8-bit levels, seeds
and exact replays from `params`, the layer against the function, config and
`.keras` round trips, and the errors.
"""

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage import Degradation, DegradationLayer, degrade


def _images(shape=(3, 20, 24, 3), seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


@pytest.mark.parametrize("sigma", [0.0, 1.0, 2.5, (1.0, 3.0), (0.0, 2.0)])
def test_blur_matches_scipy(sigma):
    images = _images()
    s_h, s_w = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    degraded, params = degrade(images, sigma=sigma, seed=0)
    expected = ndi.gaussian_filter(images, sigma=(0, s_h, s_w, 0), mode="reflect")
    np.testing.assert_allclose(degraded, expected, atol=1e-5)
    np.testing.assert_array_equal(params["sigma_h"], np.full(3, s_h, "float32"))
    np.testing.assert_array_equal(params["sigma_w"], np.full(3, s_w, "float32"))
    np.testing.assert_array_equal(params["noise"], np.zeros(3, "float32"))


def test_drawn_blur_matches_scipy_per_image():
    images = _images()
    degraded, params = degrade(images, sigma_range=(0.5, 3.0), anisotropic=True, seed=3)
    for i in range(len(images)):
        s = (0, params["sigma_h"][i], params["sigma_w"][i])
        expected = ndi.gaussian_filter(images[i], sigma=(*s[1:], 0))
        np.testing.assert_allclose(degraded[i], expected, atol=1e-5)
    assert not np.allclose(params["sigma_h"], params["sigma_w"])


def test_draws_lie_in_their_ranges_and_isotropic_means_equal_axes():
    _, params = degrade(
        _images((64, 12, 12, 1)),
        sigma_range=(1.0, 3.0),
        noise_range=(0.0, 0.02),
        seed=5,
    )
    assert params["sigma_h"].min() >= 1.0 and params["sigma_h"].max() <= 3.0
    assert params["noise"].min() >= 0.0 and params["noise"].max() <= 0.02
    np.testing.assert_array_equal(params["sigma_h"], params["sigma_w"])
    assert params["sigma_h"].std() > 0.3  # drawn, not constant


def test_noise_has_the_requested_standard_deviation():
    images = np.full((2, 64, 64, 3), 0.5, "float32")
    degraded, _ = degrade(images, sigma=0.0, noise=0.05, clip=False, seed=1)
    residual = degraded - images
    assert abs(residual.std() - 0.05) < 0.002
    assert abs(residual.mean()) < 0.002


def test_quantize_gives_8_bit_levels_in_range():
    degraded, _ = degrade(_images(), sigma=1.0, noise=0.05, quantize=True, seed=2)
    assert degraded.min() >= 0.0 and degraded.max() <= 1.0
    levels = degraded * 255.0
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)


def test_seed_and_params_replay_exactly():
    recipe = Degradation(
        sigma_range=(1.0, 3.0), anisotropic=True, noise_range=(0.0, 0.02), quantize=True
    )
    images = _images()
    first, params = recipe(images, seed=11)
    again, params_again = recipe(images, seed=11)
    replay, _ = recipe(images, params=params)
    other, _ = recipe(images, seed=12)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, replay)
    for key in ("sigma_h", "sigma_w", "noise"):
        np.testing.assert_array_equal(params[key], params_again[key])
    assert params["seed"] == 11
    assert not np.array_equal(first, other)


def test_without_a_seed_the_call_is_still_replayable():
    images = _images()
    first, params = degrade(images, sigma_range=(1, 2), noise=0.01)
    assert isinstance(params["seed"], int)
    replay, _ = degrade(images, sigma_range=(1, 2), noise=0.01, params=params)
    np.testing.assert_array_equal(first, replay)


def test_params_override_the_levels_with_the_same_noise_pattern():
    images = _images()
    low, params = degrade(images, sigma=1.0, noise=0.01, clip=False, seed=4)
    params = {**params, "noise": params["noise"] * 2}
    high, _ = degrade(images, sigma=1.0, noise=0.01, clip=False, params=params)
    blurred = ndi.gaussian_filter(images, sigma=(0, 1, 1, 0))
    np.testing.assert_allclose(high - blurred, 2 * (low - blurred), atol=1e-5)


def test_a_single_image_keeps_its_rank():
    image = _images((10, 11, 2))
    degraded, params = degrade(image, sigma=1.0, noise=0.01, seed=0)
    assert degraded.shape == image.shape and degraded.dtype == np.float32
    assert params["noise"].shape == (1,)


@settings(deadline=None, max_examples=15)
@given(
    batch=st.integers(1, 3),
    height=st.integers(1, 17),
    width=st.integers(1, 17),
    channels=st.integers(1, 4),
    quantize=st.booleans(),
    anisotropic=st.booleans(),
)
def test_shapes_and_range_hold_for_any_size(
    batch, height, width, channels, quantize, anisotropic
):
    images = _images((batch, height, width, channels))
    degraded, params = degrade(
        images,
        sigma_range=(0.0, 2.0),
        anisotropic=anisotropic,
        noise_range=(0.0, 0.05),
        quantize=quantize,
        seed=0,
    )
    assert degraded.shape == images.shape
    assert np.isfinite(degraded).all()
    assert degraded.min() >= 0.0 and degraded.max() <= 1.0
    assert all(params[k].shape == (batch,) for k in ("sigma_h", "sigma_w", "noise"))


def test_layer_equals_the_function_for_a_fixed_recipe():
    images = _images()
    kwargs = {"sigma": (1.0, 2.0), "noise": 0.02, "quantize": True}
    layer = DegradationLayer(seed=9, **kwargs)
    expected, _ = degrade(images, seed=9, **kwargs)
    np.testing.assert_array_equal(np.asarray(layer(images)), expected)


def test_layer_with_drawn_levels_agrees_with_the_function_on_its_params():
    images = _images()
    layer = DegradationLayer(
        sigma_range=(1.0, 3.0),
        anisotropic=True,
        noise_range=(0.0, 0.02),
        seed=9,
        return_params=True,
    )
    degraded, params = layer(images)
    params = {k: np.asarray(v) for k, v in params.items()}
    expected, _ = degrade(
        images, sigma_range=(1.0, 3.0), noise=0.02, params={**params, "seed": 9}
    )
    np.testing.assert_allclose(np.asarray(degraded), expected, atol=1e-5)
    second = np.asarray(layer(images)[0])
    assert not np.allclose(second, np.asarray(degraded))  # new draws each call


def test_layer_in_a_model_trains_saves_and_loads(tmp_path):
    inputs = keras.Input((16, 16, 3))
    degraded = DegradationLayer(
        sigma_range=(1.0, 2.0), noise=0.01, quantize=True, seed=0
    )(inputs)
    outputs = keras.layers.Conv2D(3, 3, padding="same")(degraded)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    clean = _images((8, 16, 16, 3))
    model.fit(clean, clean, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.layers[1]
    assert isinstance(layer, DegradationLayer)
    assert layer.get_config() == model.layers[1].get_config()
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_config_round_trips():
    layer = DegradationLayer(
        sigma=(1.0, 2.0),
        sigma_range=(0.5, 3.0),
        anisotropic=True,
        noise=0.01,
        noise_range=(0.0, 0.02),
        quantize=True,
        clip=False,
        mode="mirror",
        truncate=3.0,
        seed=4,
        return_params=True,
        name="degrade",
    )
    config = layer.get_config()
    rebuilt = DegradationLayer.from_config(config)
    assert rebuilt.get_config() == config
    recipe = Degradation(sigma=(1.0, 2.0), noise_range=(0.0, 0.02))
    assert Degradation.from_config(recipe.get_config()) == recipe
    symbolic = layer(keras.Input((8, 8, 1)))
    assert tuple(symbolic[0].shape) == (None, 8, 8, 1)
    assert tuple(symbolic[1]["noise"].shape) == (None,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": -1.0}, r"`sigma` must be a finite number >= 0. Received: sigma=-1"),
        ({"sigma_range": (3.0, 1.0)}, r"`sigma_range` must satisfy low <= high"),
        ({"sigma_range": 2.0}, r"`sigma_range` must be None or a pair"),
        ({"noise": float("nan")}, r"`noise` must be a finite number >= 0"),
        ({"noise_range": (0.0,)}, r"`noise_range` must be None or a pair"),
        ({"quantize": "yes"}, r"`quantize`.*Received: quantize='yes'"),
        ({"mode": "edge"}, r"`mode`.*Received: mode='edge'"),
        ({"truncate": 0.0}, r"`truncate` must be > 0"),
        ({"seed": -1}, r"`seed` must be a non-negative integer. Received: seed=-1"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        degrade(_images(), **kwargs)


def test_bad_images_and_params_raise():
    with pytest.raises(ValueError, match=r"images.dtype=uint8"):
        degrade(np.zeros((2, 8, 8, 3), "uint8"))
    with pytest.raises(ValueError, match=r"images.shape=\(8, 8\)"):
        degrade(np.zeros((8, 8), "float32"))
    with pytest.raises(ValueError, match=r"`params` must be a dict with the keys"):
        degrade(_images(), params={"sigma_h": [1.0]})
    bad = {"sigma_h": [1.0], "sigma_w": [1.0], "noise": [0.0], "seed": 0}
    with pytest.raises(ValueError, match=r"params\['sigma_h'\]` must hold 3"):
        degrade(_images(), params=bad)
    with pytest.raises(ValueError, match=r"`return_params`.*Received"):
        DegradationLayer(return_params=1)
    with pytest.raises(ValueError, match=r"inputs.dtype=int32|`inputs`"):
        DegradationLayer()(np.zeros((1, 8, 8, 1), "int32"))
