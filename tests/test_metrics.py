"""PSNR and SSIM against scikit-image, and the Keras metric classes."""

import warnings

import keras
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from keras_seqimage.metrics import PSNR, SSIM, PSNRLoss, psnr, ssim
from keras_seqimage.ops import gaussian_filter
from tests.helpers import assert_config_round_trip

ATOL = 1e-4


def sk_psnr(y_true, y_pred, data_range=1.0):
    """scikit-image's PSNR of each image, in float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # mse 0: divide by zero
        return np.array(
            [
                peak_signal_noise_ratio(
                    t.astype("float64"), p.astype("float64"), data_range=data_range
                )
                for t, p in zip(y_true, y_pred, strict=True)
            ]
        )


def sk_ssim(y_true, y_pred, data_range=1.0):
    """scikit-image's SSIM of each image with Wang et al.'s settings."""
    return np.array(
        [
            structural_similarity(
                t.astype("float64"),
                p.astype("float64"),
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=data_range,
                channel_axis=-1,
            )
            for t, p in zip(y_true, y_pred, strict=True)
        ]
    )


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def noisy_pair(rng, shape, noise=0.1):
    y_true = rng.random(shape).astype("float32")
    y_pred = np.clip(y_true + noise * rng.standard_normal(shape), 0, 1)
    return y_true, y_pred.astype("float32")


def compiled(fn):
    """`fn` traced as in a compiled train step: `jax.jit` or `tf.function`."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn


def assert_matches_skimage(
    y_true, y_pred, data_range=1.0, traced=False, ssim_atol=ATOL
):
    def both(y_true, y_pred):
        return (
            psnr(y_true, y_pred, data_range=data_range),
            ssim(y_true, y_pred, data_range=data_range),
        )

    actual_psnr, actual_ssim = map(
        to_numpy, (compiled(both) if traced else both)(y_true, y_pred)
    )
    assert actual_psnr.shape == actual_ssim.shape == (len(y_true),)
    np.testing.assert_allclose(
        actual_psnr, sk_psnr(y_true, y_pred, data_range), atol=ATOL, rtol=0
    )
    np.testing.assert_allclose(
        actual_ssim, sk_ssim(y_true, y_pred, data_range), atol=ssim_atol, rtol=0
    )


# --- agreement with scikit-image ------------------------------------------------
# Eager tests share a few shapes: the JAX backend compiles each op once per shape.


@pytest.mark.parametrize(
    "shape",
    [(1, 11, 11, 1), (2, 32, 32, 3), (2, 24, 48, 1), (1, 64, 20, 3), (2, 16, 16, 3)],
)
def test_matches_skimage_on_random_images(shape):
    y_true, y_pred = noisy_pair(np.random.default_rng(1), shape)
    assert_matches_skimage(y_true, y_pred)


@settings(deadline=None, max_examples=15)
@given(
    batch=st.integers(1, 3),
    height=st.integers(11, 40),
    width=st.integers(11, 40),
    channels=st.sampled_from([1, 3]),
    noise=st.floats(0.01, 0.5),
    seed=st.integers(0, 2**16),
)
def test_matches_skimage_on_drawn_shapes(batch, height, width, channels, noise, seed):
    # Traced (as in a train step), which also keeps JAX fast on new shapes.
    rng = np.random.default_rng(seed)
    y_true, y_pred = noisy_pair(rng, (batch, height, width, channels), noise)
    assert_matches_skimage(y_true, y_pred, traced=True)


def patches(image, height, width, count):
    """The first `count` (height, width) patches of `image`, as float32 in [0, 1]."""
    image = image.astype("float32") / 255.0
    if image.ndim == 2:
        image = image[..., None]
    rows, cols = image.shape[0] // height, image.shape[1] // width
    tiles = [
        image[i * height : (i + 1) * height, j * width : (j + 1) * width]
        for i in range(rows)
        for j in range(cols)
    ]
    step = len(tiles) // count
    return np.stack(tiles[::step][:count])


@pytest.mark.parametrize(
    "name, height, width, sigma",
    [
        ("astronaut", 64, 64, 1.0),
        ("astronaut", 32, 32, 2.0),
        ("camera", 24, 48, 1.5),
        ("camera", 64, 64, 0.7),
    ],
)
def test_matches_skimage_on_real_images(name, height, width, sigma):
    y_true = patches(getattr(skimage.data, name)(), height, width, count=8)
    y_pred = to_numpy(gaussian_filter(y_true, sigma=sigma))
    assert y_pred.shape == y_true.shape
    # Tighter for SSIM: bright, smooth camera patches lose ~3e-5 to float32
    # cancellation in E[x^2] - E[x]^2 unless the images are centred first.
    for i in range(0, 8, 2):
        assert_matches_skimage(y_true[i : i + 2], y_pred[i : i + 2], ssim_atol=5e-6)


@pytest.mark.parametrize("data_range", [2.0, 255.0])
def test_data_range_matches_skimage(data_range):
    y_true, y_pred = noisy_pair(np.random.default_rng(2), (2, 32, 32, 3))
    assert_matches_skimage(y_true * data_range, y_pred * data_range, data_range)


def test_identical_images():
    y_true = np.random.default_rng(3).random((2, 16, 16, 3)).astype("float32")
    values = to_numpy(psnr(y_true, y_true))
    assert np.all(np.isposinf(values)), values
    assert np.all(np.isposinf(sk_psnr(y_true, y_true)))
    np.testing.assert_allclose(to_numpy(ssim(y_true, y_true)), 1.0, atol=1e-6)


# --- argument checks ------------------------------------------------------------


@pytest.mark.parametrize("fn", [psnr, ssim])
def test_rank_error(fn):
    images = np.zeros((2, 16, 16, 1), "float32")
    with pytest.raises(ValueError, match=r"Received: y_true.shape=\(16, 16, 1\)"):
        fn(images[0], images)
    with pytest.raises(ValueError, match=r"Received: y_pred.shape=\(2, 16, 16\)"):
        fn(images, images[..., 0])


@pytest.mark.parametrize("fn", [psnr, ssim])
def test_shape_mismatch_error(fn):
    y_true = np.zeros((2, 16, 16, 1), "float32")
    y_pred = np.zeros((2, 16, 17, 1), "float32")
    with pytest.raises(ValueError, match=r"y_pred.shape=\(2, 16, 17, 1\)"):
        fn(y_true, y_pred)


@pytest.mark.parametrize("fn", [psnr, ssim])
@pytest.mark.parametrize("data_range", [0, -1.0, float("nan"), "1"])
def test_data_range_error(fn, data_range):
    images = np.zeros((1, 16, 16, 1), "float32")
    with pytest.raises(ValueError, match=r"Received: data_range="):
        fn(images, images, data_range=data_range)


@pytest.mark.parametrize("fn", [psnr, ssim])
def test_integer_dtype_error(fn):
    images = np.zeros((1, 16, 16, 1), "uint8")
    with pytest.raises(ValueError, match=r"Received: y_true.dtype=uint8"):
        fn(images, images.astype("float32"))
    with pytest.raises(ValueError, match=r"Received: y_pred.dtype=int32"):
        fn(images.astype("float32"), images.astype("int32"))


@pytest.mark.parametrize("shape", [(1, 10, 16, 1), (1, 16, 10, 3), (2, 5, 5, 1)])
def test_ssim_too_small_error(shape):
    images = np.zeros(shape, "float32")
    with pytest.raises(ValueError, match=r"at least 11x11.*y_true.shape="):
        ssim(images, images)


def test_psnr_accepts_small_images():
    y_true, y_pred = noisy_pair(np.random.default_rng(4), (2, 3, 5, 1))
    np.testing.assert_allclose(
        to_numpy(psnr(y_true, y_pred)), sk_psnr(y_true, y_pred), atol=ATOL
    )


@pytest.mark.parametrize("cls", [PSNR, SSIM])
@pytest.mark.parametrize("data_range", [0.0, -2, "1"])
def test_metric_data_range_error(cls, data_range):
    with pytest.raises(ValueError, match=r"Received: data_range="):
        cls(data_range=data_range)


# --- the Keras metric classes ---------------------------------------------------


@pytest.mark.parametrize("cls, name", [(PSNR, "psnr"), (SSIM, "ssim")])
def test_metric_config_round_trip(cls, name):
    metric = cls(data_range=255.0)
    assert metric.name == name
    config = assert_config_round_trip(metric).get_config()
    assert config["data_range"] == 255.0
    assert config["name"] == name
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert type(restored) is cls
    assert restored.data_range == 255.0


def test_metric_classes_average_per_image_values():
    rng = np.random.default_rng(5)
    y_true, y_pred = noisy_pair(rng, (4, 24, 48, 1))
    weights = np.array([1.0, 0.0, 2.0, 0.5], "float32")
    for cls, oracle in ((PSNR, sk_psnr), (SSIM, sk_ssim)):
        metric = cls()
        metric.update_state(y_true[:2], y_pred[:2])
        metric.update_state(y_true[2:], y_pred[2:])
        expected = oracle(y_true, y_pred)
        np.testing.assert_allclose(float(metric.result()), expected.mean(), atol=ATOL)
        metric.reset_state()
        metric.update_state(y_true[:2], y_pred[:2], sample_weight=weights[:2])
        metric.update_state(y_true[2:], y_pred[2:], sample_weight=weights[2:])
        np.testing.assert_allclose(
            float(metric.result()),
            np.average(expected, weights=weights),
            atol=ATOL,
        )


def test_psnr_metric_identical_images_never_nan():
    rng = np.random.default_rng(6)
    y_true, y_pred = noisy_pair(rng, (2, 24, 48, 1))
    y_pred[1] = y_true[1]  # the second image is restored exactly
    metric = PSNR()
    # Zero weight on the exact image: it is left out, the mean stays finite.
    metric.update_state(y_true, y_pred, sample_weight=np.array([1.0, 0.0]))
    np.testing.assert_allclose(
        float(metric.result()), sk_psnr(y_true[:1], y_pred[:1])[0], atol=ATOL
    )
    # Counted: the mean is +inf, not NaN.
    metric.update_state(y_true, y_pred)
    assert np.isposinf(float(metric.result()))
    metric.reset_state()
    metric.update_state(y_true[:1], y_pred[:1])
    assert np.isfinite(float(metric.result()))


def test_metrics_in_compile_fit_evaluate(tmp_path):
    rng = np.random.default_rng(7)
    y_true = rng.random((10, 16, 16, 1)).astype("float32")
    x = to_numpy(gaussian_filter(y_true, sigma=1.0))
    model = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Conv2D(1, 3, padding="same")]
    )
    model.compile(optimizer="adam", loss="mse", metrics=[PSNR(), SSIM()])
    history = model.fit(x, y_true, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["psnr"][0])
    assert np.isfinite(history.history["ssim"][0])

    # batch_size 4 does not divide 10: the mean is still over images.
    results = model.evaluate(x, y_true, batch_size=4, verbose=0, return_dict=True)
    y_pred = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(
        results["psnr"], sk_psnr(y_true, y_pred).mean(), atol=1e-3
    )
    np.testing.assert_allclose(
        results["ssim"], sk_ssim(y_true, y_pred).mean(), atol=ATOL
    )

    # The compiled metrics come back from a .keras file without custom objects.
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    reloaded = loaded.evaluate(x, y_true, batch_size=4, verbose=0, return_dict=True)
    for name in ("psnr", "ssim"):
        np.testing.assert_allclose(reloaded[name], results[name], atol=1e-5)


# --- PSNRLoss -------------------------------------------------------------------


@settings(deadline=None, max_examples=15)
@given(
    batch=st.integers(1, 4),
    size=st.integers(1, 6),
    noise=st.floats(1e-3, 0.5),
    data_range=st.sampled_from([1.0, 2.0, 255.0]),
    seed=st.integers(0, 1000),
)
def test_psnr_loss_is_minus_the_mean_skimage_psnr(batch, size, noise, data_range, seed):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((batch, size, size, 2)) * data_range).astype("float32")
    y_pred = y_true + noise * data_range * rng.normal(size=y_true.shape)
    y_pred = y_pred.astype("float32")
    loss = PSNRLoss(data_range=data_range)
    expected = -sk_psnr(y_true, y_pred, data_range)
    # float32 differences of values up to 255: relative, not absolute, agreement.
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected.mean(), rtol=1e-4)
    per_image = PSNRLoss(data_range=data_range, reduction=None)(y_true, y_pred)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(per_image), expected, rtol=1e-4
    )


def test_psnr_loss_is_finite_on_identical_images():
    y = np.full((2, 4, 4, 1), 0.5, "float32")
    assert float(PSNRLoss()(y, y)) == pytest.approx(-100.0)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(data_range=0), r"`data_range` must be .*Received: data_range=0"),
        (dict(epsilon=0.0), r"`epsilon` must be .*Received: epsilon=0\.0"),
    ],
)
def test_psnr_loss_argument_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        PSNRLoss(**kwargs)


def test_psnr_loss_shape_error_names_the_arguments():
    with pytest.raises(ValueError, match=r"PSNRLoss expects `y_true` and `y_pred`"):
        PSNRLoss()(np.zeros((2, 4, 4, 1), "float32"), np.zeros((2, 4, 5, 1), "float32"))


def test_psnr_loss_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((64, 4, 4, 1)).astype("float32")
    y = np.clip(0.5 * x + 0.2, 0, 1).astype("float32")
    inputs = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(1, kernel_initializer="zeros")  # same start everywhere
    model = keras.Model(inputs, dense(inputs))
    # A larger step makes Adam oscillate on the log-scale loss.
    model.compile(keras.optimizers.Adam(0.01), PSNRLoss(epsilon=1e-8))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, batch_size=16, shuffle=False, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before - 10.0, (before, after)  # 14.5 dB better on each backend
    config = assert_config_round_trip(PSNRLoss(2.0, 1e-6)).get_config()
    assert config["data_range"] == 2.0 and config["epsilon"] == 1e-6
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(after, rel=1e-5)
    assert isinstance(loaded.loss, PSNRLoss) and loaded.loss.epsilon == 1e-8
