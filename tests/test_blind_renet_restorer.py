"""BlindReNetRestorer, BlurEstimator, BlurInterpolation: references, saving, fit."""

import inspect
import json

import keras
import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.baselines import separable_deconvolution
from keras_seqimage.layers import BlurEstimator, BlurInterpolation
from keras_seqimage.layers.blur_estimator import interpolation_weights, log_detail
from keras_seqimage.models import MODELS, BlindReNetRestorer, ReNetRestorer, build_model
from tests.helpers import assert_config_round_trip, assert_saving_round_trip

SHAPE = (8, 6, 2)


def images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def perturbed(model):
    rng = np.random.default_rng(3)
    for weight in model.weights:
        weight.assign(numpy(weight) + 0.05 * rng.normal(size=weight.shape))
    return model


# --- BlurEstimator and BlurInterpolation --------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_log_detail_matches_numpy(order):
    x = images((3, 5, 4, 2))
    dy, dx = np.diff(x, order, axis=1), np.diff(x, order, axis=2)
    expected = np.log((dy**2).mean((1, 2, 3)) + (dx**2).mean((1, 2, 3)) + 1e-8)
    np.testing.assert_allclose(numpy(log_detail(x, order=order)), expected, rtol=1e-5)


@settings(deadline=None, max_examples=25)
@given(
    grid=st.lists(st.floats(0.0, 4.0), min_size=2, max_size=5, unique=True).map(sorted),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
)
def test_interpolation_weights_reproduce_the_point(grid, fractions):
    """Linear interpolation: weights >= 0 sum to 1, at most 2 neighbours,
    and interpolating the grid itself gives back the point."""
    if min(np.diff(grid)) < 1e-3:
        return
    sigma = grid[0] + (grid[-1] - grid[0]) * np.asarray(fractions, "float32")
    weights = numpy(interpolation_weights(sigma, tuple(grid)))
    assert (weights >= 0).all() and ((weights > 1e-6).sum(axis=1) <= 2).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights @ np.asarray(grid), sigma, atol=1e-4)


@settings(deadline=None, max_examples=10)
@given(
    batch=st.integers(1, 3),
    count=st.integers(2, 4),
    seed=st.integers(0, 100),
)
def test_interpolation_blends_the_two_candidates_around_sigma(batch, count, seed):
    rng = np.random.default_rng(seed)
    sigmas = tuple(0.5 * k + 1.0 for k in range(count))
    candidates = [images((batch, 3, 4, 2), seed + k) for k in range(count)]
    sigma = rng.uniform(0.5, sigmas[-1] + 0.5, batch).astype("float32")
    blended = numpy(BlurInterpolation(sigmas)([sigma, *candidates]))
    for b in range(batch):
        s = np.clip(sigma[b], sigmas[0], sigmas[-1])
        k = min(int((s - sigmas[0]) / 0.5), count - 2)
        t = (s - sigmas[k]) / 0.5
        expected = (1 - t) * candidates[k][b] + t * candidates[k + 1][b]
        np.testing.assert_allclose(blended[b], expected, atol=1e-5)


@settings(deadline=None, max_examples=5)
@given(
    batch=st.integers(1, 3),
    height=st.integers(3, 5),
    width=st.integers(3, 5),
    seed=st.integers(0, 100),
)
def test_estimates_stay_in_the_range_of_sigmas(batch, height, width, seed):
    shape = (batch, height, width, 2)
    inputs = [images(shape, seed + k) for k in range(4)]
    estimator = BlurEstimator((0.5, 1.0, 3.0), units=3)
    estimator.build([shape] * 4)
    rng = np.random.default_rng(seed)
    for weight in estimator.weights:
        weight.assign(3 * rng.normal(size=weight.shape))
    estimate = numpy(estimator(inputs))
    assert estimate.shape == (batch,)
    assert (estimate >= 0.5).all() and (estimate <= 3.0).all()


def test_estimator_learns_from_the_detail_of_the_input():
    """Smooth inputs want candidate 0 (sigma 1), rough ones candidate 1 (2)."""
    rng = np.random.default_rng(0)
    n = 256
    smooth = scipy.ndimage.gaussian_filter(rng.random((n, 8, 8, 1)), (0, 2, 2, 0))
    rough = rng.random((n, 8, 8, 1))
    inputs = np.concatenate([smooth, rough]).astype("float32")
    first, second = inputs * 0.5, inputs * 2.0
    targets = np.concatenate([first[:n], second[n:]])
    x = keras.Input((8, 8, 1))
    c0, c1 = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    estimator = BlurEstimator((1.0, 2.0), units=8)
    sigma = estimator([x, c0, c1])
    model = keras.Model([x, c0, c1], BlurInterpolation((1.0, 2.0))([sigma, c0, c1]))
    model.compile(keras.optimizers.Adam(0.05), "mse")
    model.fit([inputs, first, second], targets, epochs=20, batch_size=64, verbose=0)
    estimate = numpy(estimator([inputs, first, second]))
    assert (estimate[:n] < 1.1).mean() > 0.95 and (estimate[n:] > 1.9).mean() > 0.95


@pytest.mark.parametrize(
    "layer, inputs, pattern",
    [
        ("estimator", [(2, 8, 6, 2)] * 2, r"of 3 tensors. Received"),
        ("estimator", [(2, 8, 6, 2)] * 2 + [(2, 8, 5, 2)], r"one shape.*8, 5, 2"),
        ("estimator", [(2, 8, 6)] * 3, r"rank 4.*\(2, 8, 6\)"),
        ("estimator", [(2, 2, 6, 2)] * 3, r"height and width >= 3.*\(2, 2, 6, 2\)"),
        ("interpolation", [(2,), (2, 8, 6, 2)], r"of 2 tensors. Received"),
        ("interpolation", [(2, 1)] + [(2, 8, 6, 2)] * 2, r"`sigma` of rank 1"),
    ],
)
def test_layers_reject_bad_inputs(layer, inputs, pattern):
    cls = BlurEstimator if layer == "estimator" else BlurInterpolation
    with pytest.raises(ValueError, match=pattern):
        cls((1.0, 2.0)).compute_output_shape(inputs)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(sigmas=(1.0,)), r"at least 2 strictly increasing.*sigmas=\(1\.0,\)"),
        (dict(sigmas=(2.0, 1.0)), r"Received: sigmas=\(2\.0, 1\.0\)"),
        (dict(sigmas=(1.0, 1.0)), r"Received: sigmas=\(1\.0, 1\.0\)"),
        (dict(sigmas=(-1.0, 1.0)), r"Received: sigmas=\(-1\.0, 1\.0\)"),
        (dict(sigmas="12"), r"Received: sigmas='12'"),
        (dict(units=0), r"`units` must be a positive integer. Received: units=0"),
        (dict(epsilon=-1.0), r"`epsilon` must be a finite number >= 0"),
    ],
)
def test_estimator_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BlurEstimator(**{"sigmas": (1.0, 2.0), **kwargs})


def test_layer_configs_round_trip():
    estimator = assert_config_round_trip(BlurEstimator([0.5, 1], 5, epsilon=1e-6))
    assert estimator.sigmas == (0.5, 1.0) and estimator.units == 5
    assert assert_config_round_trip(BlurInterpolation([1, 2, 3])).sigmas == (1, 2, 3)


# --- BlindReNetRestorer -------------------------------------------------------


def test_preset_parameter_count_and_factory():
    with keras.StatelessScope(initialize_variables=False):
        model = BlindReNetRestorer.from_preset("gru_16_sigma_1_to_2")
    probes = 3 * 2 * (96 * 96 + 96)  # two frozen Dense(96 -> 96) line mixes each
    estimator = (8 * 32 + 32) + (32 + 1)  # 2 x (3 + 1) features -> 32 -> 1
    experts = 3 * 93_696  # ReNetRestorer's linear_rows_columns_x2, units=16
    assert model.count_params() == probes + estimator + experts
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == estimator + experts
    keras.backend.clear_session()
    assert MODELS["blind_renet_restorer"] is BlindReNetRestorer
    compiled = build_model("blind_renet_restorer", input_shape=SHAPE, units=2)
    assert compiled.optimizer is not None and compiled.image_shape == SHAPE


@settings(deadline=None, max_examples=4)
@given(
    height=st.integers(3, 7),
    width=st.integers(3, 7),
    channels=st.integers(1, 3),
    sweeps=st.lists(st.sampled_from(["rows", "columns"]), max_size=2),
)
def test_output_shape_equals_input_shape(height, width, channels, sweeps):
    model = BlindReNetRestorer(
        image_shape=(height, width, channels),
        sigmas=(0.5, 1.0),
        sweeps=sweeps or ["rows"],
        units=0,  # recurrent experts: test_untrained_model_is_the_middle_...
    )
    x = images((2, height, width, channels))
    assert numpy(model(x)).shape == x.shape


@pytest.mark.parametrize("units", [0, 3])
def test_untrained_model_is_the_middle_separable_inverse(units):
    x = images((3, *SHAPE))
    model = BlindReNetRestorer(
        image_shape=SHAPE,
        sigmas=(0.8, 1.2, 1.6),
        sweeps=("rows", "columns"),
        units=units,
    )
    expected = separable_deconvolution(x, 1.2, 1e-3, clip=False)
    np.testing.assert_allclose(numpy(model(x)), expected, atol=1e-4)
    np.testing.assert_allclose(numpy(model.estimate_sigma(x)), 1.2, rtol=1e-6)


@pytest.mark.parametrize("train_experts", [True, False])
def test_probes_are_frozen_inverses_and_experts_train_if_asked(train_experts):
    x = images((2, *SHAPE))
    model = BlindReNetRestorer(
        image_shape=SHAPE,
        sigmas=(0.7, 1.4),
        units=2,
        sweeps=("columns",),
        train_experts=train_experts,
    )
    for k, sigma in enumerate((0.7, 1.4)):
        rows = model.get_layer(f"probe_{k}_rows")
        columns = model.get_layer(f"probe_{k}_columns")
        np.testing.assert_allclose(
            numpy(columns(rows(x))),
            separable_deconvolution(x, sigma, 1e-3, clip=False),
            atol=1e-4,
        )
        assert not rows.trainable_weights and not columns.trainable_weights
        expert = model.get_layer(f"expert_{k}_sweep_0_columns")
        assert bool(expert.trainable_weights) is train_experts
    assert model.get_layer("blur_estimator").trainable_weights


def test_load_experts_copies_per_sigma_models(tmp_path):
    x = images((2, *SHAPE))
    arguments = dict(image_shape=SHAPE, sweeps=("rows", "columns"), units=2)
    experts = [perturbed(ReNetRestorer(**arguments, init_sigma=s)) for s in (1, 2)]
    experts[1].save(tmp_path / "expert.keras")
    model = BlindReNetRestorer(**arguments, sigmas=(1.0, 2.0))
    assert model.load_experts([experts[0], tmp_path / "expert.keras"]) is model
    for k, expert in enumerate(experts):
        sigma = np.full(2, float(k + 1), "float32")
        outputs = [
            model.get_layer(f"expert_{j}_sweep_1_columns")(
                model.get_layer(f"expert_{j}_sweep_0_rows")(x)
            )
            for j in range(2)
        ]
        blended = model.get_layer("interpolation")([sigma, *outputs])
        np.testing.assert_allclose(numpy(blended), numpy(expert(x)), atol=1e-5)
    with pytest.raises(ValueError, match=r"list of 2 ReNetRestorer.*Received"):
        model.load_experts(experts[:1])
    other = ReNetRestorer(image_shape=SHAPE, sweeps=("rows", "columns"), units=3)
    with pytest.raises(ValueError, match=r"`models\[1\]` must be a ReNetRestorer"):
        model.load_experts([experts[0], other])


def blurred_pair(n, sigma, seed):
    """Smooth random images, blurred by scipy and rounded to 8 bits.

    On these the inverse of the right blur beats the others by 10x in MSE.
    """
    rng = np.random.default_rng(seed)
    clean = scipy.ndimage.gaussian_filter(rng.random((n, 12, 12, 1)), (0, 2, 2, 0))
    low = clean.min(axis=(1, 2, 3), keepdims=True)
    clean = (clean - low) / np.ptp(clean, axis=(1, 2, 3), keepdims=True)
    blurred = scipy.ndimage.gaussian_filter(clean, (0, sigma, sigma, 0))
    return (np.round(blurred * 255) / 255).astype("float32"), clean.astype("float32")


def test_learns_to_tell_the_blurs_apart():
    """Trained on two blurs, the estimates separate them."""
    (x1, y1), (x2, y2) = blurred_pair(256, 1.0, 0), blurred_pair(256, 2.0, 1)
    x, y = np.concatenate([x1, x2]), np.concatenate([y1, y2])
    model = BlindReNetRestorer(
        image_shape=(12, 12, 1),
        sigmas=(1.0, 1.5, 2.0),
        sweeps=("rows",),
        units=0,
        estimator_units=8,
        train_experts=False,
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=64, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.7 * before, (before, after)
    estimate_1, estimate_2 = (numpy(model.estimate_sigma(v)) for v in (x1, x2))
    # Untrained, every estimate is 1.5.
    assert np.median(estimate_1) < 1.25 and np.median(estimate_2) > 1.75, (
        np.median(estimate_1),
        np.median(estimate_2),
    )


def test_saving_round_trip(tmp_path):
    model = perturbed(BlindReNetRestorer(image_shape=SHAPE, units=2, sweeps=("rows",)))
    x = images((2, *SHAPE))
    loaded = assert_saving_round_trip(model, x, tmp_path, atol=1e-5)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        numpy(loaded.estimate_sigma(x)), numpy(model.estimate_sigma(x)), atol=1e-6
    )


def test_config_holds_every_constructor_argument_and_survives_json():
    model = BlindReNetRestorer(
        image_shape=SHAPE,
        sigmas=[0.5, np.float64(1.0), 2],
        init_balance=0.01,
        init_regularizer="identity",
        estimator_units=np.int64(4),
        sweeps=["columns"],
        units=2,
        cell="lstm",
        activation="relu",
        train_experts=False,
    )
    config = model.get_config()
    assert config["sigmas"] == (0.5, 1.0, 2.0) and config["estimator_units"] == 4
    assert config["train_experts"] is False
    for key, value in config.items():
        assert getattr(model, key) == value, key
    arguments = set(inspect.signature(BlindReNetRestorer.__init__).parameters)
    assert set(config) == arguments - {"self", "kwargs"} | {"name", "trainable"}
    clone = BlindReNetRestorer.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(sigmas=(1.0,)), r"at least 2 strictly.*Received: sigmas=\(1\.0,\)"),
        (dict(sigmas=(2.0, 1.0)), r"Received: sigmas=\(2\.0, 1\.0\)"),
        (dict(sigmas=(1.0, -2.0)), r"Received: sigmas=\(1\.0, -2\.0\)"),
        (dict(sigmas=1.0), r"Received: sigmas=1\.0"),
        (dict(sweeps=("rows", "diag")), r"`sweeps` must be a non-empty.*'diag'"),
        (dict(sweeps=()), r"`sweeps` must be a non-empty tuple"),
        (dict(estimator_units=0), r"`estimator_units` must be a positive integer"),
        (dict(init_balance=-1), r"`init_balance` must be a finite number >= 0"),
        (dict(init_regularizer="tv"), r"`init_regularizer` must be one of"),
        (dict(cell="rnn"), r"`cell` must be one of"),
        (dict(image_shape=(2, 6, 2)), r"height and width >= 3.*\(2, 6, 2\)"),
        (dict(train_experts="no"), r"`train_experts` must be True or False"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BlindReNetRestorer(**{"image_shape": SHAPE, **kwargs})


def test_wrong_input_shape():
    model = BlindReNetRestorer(image_shape=SHAPE, units=0, sweeps=("rows",))
    with pytest.raises(ValueError, match=r"Received: inputs\.shape=\(2, 8, 6, 3\)"):
        model(np.zeros((2, 8, 6, 3), "float32"))
    with pytest.raises(ValueError, match=r"Received: inputs\.shape=\(2, 8, 6, 3\)"):
        model.estimate_sigma(np.zeros((2, 8, 6, 3), "float32"))
