"""BlindReNetRestorer and BlurGate: shapes, references, saving, learning."""

import inspect
import json

import keras
import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.baselines import separable_deconvolution
from keras_seqimage.layers import BlurGate
from keras_seqimage.layers.blur_gate import interpolation_weights, log_detail
from keras_seqimage.models import MODELS, BlindReNetRestorer, build_model
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


# --- BlurGate -----------------------------------------------------------------


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
    height=st.integers(3, 5),
    width=st.integers(3, 5),
    count=st.integers(2, 4),
    seed=st.integers(0, 100),
)
def test_gate_blends_the_two_candidates_around_its_estimate(
    batch, height, width, count, seed
):
    shape = (batch, height, width, 2)
    inputs = [images(shape, seed + k) for k in range(count + 1)]
    sigmas = tuple(0.5 * k + 1.0 for k in range(count))
    gate = BlurGate(sigmas, units=3)
    gate.build([shape] * (count + 1))
    rng = np.random.default_rng(seed)
    for weight in gate.weights:
        weight.assign(rng.normal(size=weight.shape))
    estimate = numpy(gate.estimate_sigma(inputs))
    assert estimate.shape == (batch,)
    assert (estimate >= sigmas[0]).all() and (estimate <= sigmas[-1]).all()
    weights = numpy(gate.candidate_weights(inputs))
    np.testing.assert_allclose(weights @ np.asarray(sigmas), estimate, atol=1e-4)
    expected = np.einsum("bk,bkhwc->bhwc", weights, np.stack(inputs[1:], axis=1))
    np.testing.assert_allclose(numpy(gate(inputs)), expected, atol=1e-5)


def test_untrained_gate_returns_the_middle_candidate():
    x = images((2, *SHAPE))
    candidates = [x * 0.5, x + 1.0, x * 3.0]
    gate = BlurGate((1.0, 2.0, 3.0))
    np.testing.assert_allclose(numpy(gate([x, *candidates])), x + 1.0, atol=1e-6)
    np.testing.assert_allclose(numpy(gate.estimate_sigma([x, *candidates])), 2.0)


def test_gate_learns_to_estimate_from_the_detail_of_the_input():
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
    gate = BlurGate((1.0, 2.0), units=8)
    model = keras.Model([x, c0, c1], gate([x, c0, c1]))
    model.compile(keras.optimizers.Adam(0.05), "mse")
    model.fit([inputs, first, second], targets, epochs=20, batch_size=64, verbose=0)
    estimate = numpy(gate.estimate_sigma([inputs, first, second]))
    assert (estimate[:n] < 1.1).mean() > 0.95 and (estimate[n:] > 1.9).mean() > 0.95


@pytest.mark.parametrize(
    "inputs, pattern",
    [
        ([(2, 8, 6, 2), (2, 8, 6, 2)], r"of 3 tensors \(K = len\(sigmas\) = 2\)"),
        ([(2, 8, 6, 2)] * 2 + [(2, 8, 5, 2)], r"one shape.*\(2, 8, 5, 2\)"),
        ([(2, 8, 6)] * 3, r"rank 4.*\(2, 8, 6\)"),
        ([(2, 2, 6, 2)] * 3, r"height and width >= 3.*\(2, 2, 6, 2\)"),
    ],
)
def test_gate_rejects_bad_inputs(inputs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BlurGate((1.0, 2.0)).compute_output_shape(inputs)


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
def test_gate_rejects_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BlurGate(**{"sigmas": (1.0, 2.0), **kwargs})


def test_gate_config_round_trip():
    gate = assert_config_round_trip(BlurGate([0.5, 1], units=5, epsilon=1e-6))
    assert gate.sigmas == (0.5, 1.0) and gate.units == 5 and gate.epsilon == 1e-6


# --- BlindReNetRestorer -------------------------------------------------------


def test_preset_parameter_count_and_factory():
    model = BlindReNetRestorer.from_preset("gru_16_sigma_1_to_2")
    branches = 5 * 2 * (96 * 96 + 96)  # two Dense(96 -> 96) line mixes each
    gate = (12 * 32 + 32) + (32 + 1)  # 2 x (5 + 1) features -> 32 -> 1
    refinement = 93_696  # as ReNetRestorer's gru_16_rows_columns_x2
    assert model.count_params() == branches + gate + refinement
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == gate + refinement  # the branches stay the inverses
    assert MODELS["blind_renet_restorer"] is BlindReNetRestorer
    compiled = build_model("blind_renet_restorer", input_shape=SHAPE, units=2)
    assert compiled.optimizer is not None and compiled.image_shape == SHAPE


@settings(deadline=None, max_examples=6)
@given(
    height=st.integers(3, 7),
    width=st.integers(3, 7),
    channels=st.integers(1, 3),
    sweeps=st.lists(st.sampled_from(["rows", "columns"]), max_size=2),
)
def test_output_shape_equals_input_shape(height, width, channels, sweeps):
    model = BlindReNetRestorer(
        image_shape=(height, width, channels), sigmas=(0.5, 1.0), sweeps=sweeps, units=2
    )
    x = images((2, height, width, channels))
    assert numpy(model(x)).shape == x.shape


@pytest.mark.parametrize("units", [0, 3])
def test_untrained_model_is_the_middle_separable_inverse(units):
    x = images((3, *SHAPE))
    sigmas = (0.8, 1.2, 1.6)
    model = BlindReNetRestorer(image_shape=SHAPE, sigmas=sigmas, units=units)
    expected = separable_deconvolution(x, 1.2, 1e-3, clip=False)
    np.testing.assert_allclose(numpy(model(x)), expected, atol=1e-4)
    np.testing.assert_allclose(numpy(model.estimate_sigma(x)), 1.2, rtol=1e-6)
    np.testing.assert_allclose(numpy(model.branch_weights(x)), [[0, 1, 0]] * 3)


def test_branches_are_the_inverses_and_stay_frozen_unless_asked():
    x = images((2, *SHAPE))
    for train_branches in (False, True):
        model = BlindReNetRestorer(
            image_shape=SHAPE,
            sigmas=(0.7, 1.4),
            units=0,
            sweeps=(),
            train_branches=train_branches,
        )
        for k, sigma in enumerate((0.7, 1.4)):
            rows = model.get_layer(f"branch_{k}_rows")
            columns = model.get_layer(f"branch_{k}_columns")
            np.testing.assert_allclose(
                numpy(columns(rows(x))),
                separable_deconvolution(x, sigma, 1e-3, clip=False),
                atol=1e-4,
            )
            assert rows.trainable is columns.trainable is train_branches
            assert bool(rows.trainable_weights) is train_branches


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
    """Trained on two blurs, the gate's estimates separate them."""
    (x1, y1), (x2, y2) = blurred_pair(256, 1.0, 0), blurred_pair(256, 2.0, 1)
    x, y = np.concatenate([x1, x2]), np.concatenate([y1, y2])
    model = BlindReNetRestorer(
        image_shape=(12, 12, 1), sigmas=(1.0, 1.5, 2.0), sweeps=(), gate_units=8
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
        gate_units=np.int64(4),
        sweeps=["columns"],
        units=2,
        cell="lstm",
        activation="relu",
        train_branches=True,
    )
    config = model.get_config()
    assert config["sigmas"] == (0.5, 1.0, 2.0) and config["gate_units"] == 4
    assert config["train_branches"] is True
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
        (dict(sweeps=("rows", "diag")), r"`sweeps` must be a tuple.*'diag'"),
        (dict(gate_units=0), r"`gate_units` must be a positive integer"),
        (dict(init_balance=-1), r"`init_balance` must be a finite number >= 0"),
        (dict(init_regularizer="tv"), r"`init_regularizer` must be one of"),
        (dict(cell="rnn"), r"`cell` must be one of"),
        (dict(image_shape=(2, 6, 2)), r"height and width >= 3.*\(2, 6, 2\)"),
        (dict(train_branches="no"), r"`train_branches` must be True or False"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        BlindReNetRestorer(**{"image_shape": SHAPE, **kwargs})


def test_wrong_input_shape():
    model = BlindReNetRestorer(image_shape=SHAPE, units=0, sweeps=())
    with pytest.raises(ValueError, match=r"Received: inputs\.shape=\(2, 8, 6, 3\)"):
        model(np.zeros((2, 8, 6, 3), "float32"))
    with pytest.raises(ValueError, match=r"Received: inputs\.shape=\(2, 8, 6, 3\)"):
        model.estimate_sigma(np.zeros((2, 8, 6, 3), "float32"))
