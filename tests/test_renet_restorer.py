"""LineSweep and ReNetRestorer: presets, shapes, identity start, saving, learning."""

import contextlib
import inspect
import json

import keras
import numpy as np
import pytest
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.layers import LineSweep
from keras_seqimage.models import MODELS, build_model
from keras_seqimage.models.renet_restorer import ReNetRestorer
from tests.helpers import assert_config_round_trip, assert_saving_round_trip

# One small shape for everything that runs eagerly (JAX compiles per shape).
SHAPE = (6, 4, 2)
UNITS = 4

# preset -> parameters of each sweep, total.
PRESET_COUNTS = {
    # Dense(96 -> 96) per sweep: 96 * 96 + 96.
    "linear_rows_columns": ([9_312, 9_312], 18_624),
    "linear_rows_columns_x2": ([9_312] * 4, 37_248),
}


def images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


@contextlib.contextmanager
def shapes_only():
    """Build models without initialising weights (fast); see test_autoencoders."""
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        keras.backend.clear_session()


def numpy(x):
    return keras.ops.convert_to_numpy(x)


# --- presets ------------------------------------------------------------------


def gru_sweep_params(units, features, steps_features=None):
    """Bidirectional GRU (reset_after: two bias rows) + line mix + head."""
    gru = 3 * units * (features + units) + 2 * 3 * units
    return (
        2 * gru + (features * features + features) + (2 * units * features + features)
    )


@pytest.mark.parametrize("preset", sorted(ReNetRestorer.presets))
def test_preset_parameter_counts(preset):
    expected = dict(PRESET_COUNTS)
    expected["gru_32_rows_columns"] = ([gru_sweep_params(32, 96)] * 2, None)
    expected["gru_16_rows_columns_x2"] = ([gru_sweep_params(16, 96)] * 4, 93_696)
    per_sweep, total = expected[preset]
    with shapes_only():
        model = ReNetRestorer.from_preset(preset)
        counts = [layer.count_params() for layer in model.layers if layer.weights]
        assert counts == per_sweep
        assert model.count_params() == (total or sum(per_sweep))
        assert model.image_shape == (32, 32, 3)


def test_every_preset_is_counted_and_in_the_factory():
    assert MODELS["renet_restorer"] is ReNetRestorer
    for preset in ReNetRestorer.presets:
        with shapes_only():
            model = build_model("renet_restorer", preset=preset, compile=False)
            expected = ReNetRestorer.from_preset(preset).count_params()
            assert model.count_params() == expected


def test_gru_32_preset_count_is_written_out():
    # 2 x (GRU 3*32*(96+32) + 192, both directions) + line mix 9,312 + head 6,240.
    assert gru_sweep_params(32, 96) == 2 * 12_480 + 9_312 + 6_240 == 40_512


# --- shapes -------------------------------------------------------------------


@settings(max_examples=12)
@given(
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    channels=st.integers(1, 3),
    sweeps=st.lists(st.sampled_from(["rows", "columns"]), min_size=1, max_size=3),
    units=st.sampled_from([0, UNITS]),
    cell=st.sampled_from(["gru", "lstm"]),
)
def test_output_shape_equals_input_shape(height, width, channels, sweeps, units, cell):
    shape = (height, width, channels)
    with shapes_only():
        model = ReNetRestorer(image_shape=shape, sweeps=sweeps, units=units, cell=cell)
        assert model.output_shape == (None, *shape)
        assert model.compute_output_shape((2, *shape)) == (2, *shape)


@pytest.mark.parametrize("order", ["rows", "columns"])
@pytest.mark.parametrize("units, linear", [(0, True), (UNITS, True), (UNITS, False)])
def test_sweep_starts_as_the_identity(order, units, linear):
    x = images((3, *SHAPE))
    sweep = LineSweep(order=order, units=units, linear=linear)
    np.testing.assert_allclose(numpy(sweep(x)), x, atol=1e-6)
    assert sweep.compute_output_shape((3, *SHAPE)) == (3, *SHAPE)


def test_linear_sweeps_are_a_separable_filter():
    """rows sweep: x @ kron(A_w^T, I_C) per row; columns sweep: A_h along columns."""
    rng = np.random.default_rng(1)
    height, width, channels = SHAPE
    a_w = rng.normal(size=(width, width)).astype("float32")
    a_h = rng.normal(size=(height, height)).astype("float32")
    model = ReNetRestorer(image_shape=SHAPE, units=0)
    rows, columns = model.get_layer("sweep_0_rows"), model.get_layer("sweep_1_columns")
    eye = np.eye(channels, dtype="float32")
    rows.line_mix.kernel.assign(np.kron(a_w.T, eye))
    columns.line_mix.kernel.assign(np.kron(a_h.T, eye))
    x = images((2, *SHAPE))
    expected = np.einsum("ij,bhjc->bhic", a_w, x)
    expected = np.einsum("ij,bjwc->biwc", a_h, expected)
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-4, atol=1e-4)


def test_exact_inverse_of_the_blur_is_representable():
    """Loaded with the inverse of scipy's reflect blur, the linear model deblurs."""
    height, width, channels = 8, 8, 3
    x = images((4, height, width, channels), seed=2)
    blurred = scipy.ndimage.gaussian_filter(x, sigma=(0, 1, 1, 0), mode="reflect")
    model = ReNetRestorer(image_shape=(height, width, channels), units=0)
    eye = np.eye(channels)
    for name, size in (("sweep_0_rows", width), ("sweep_1_columns", height)):
        blur = scipy.ndimage.gaussian_filter1d(np.eye(size), 1.0, axis=0)
        inverse = np.linalg.inv(blur)
        model.get_layer(name).line_mix.kernel.assign(
            np.kron(inverse.T, eye).astype("float32")
        )
    np.testing.assert_allclose(numpy(model(blurred)), x, atol=1e-3)


def test_lstm_and_column_sweeps_run_eagerly():
    sweeps = ("columns", "rows")
    model = ReNetRestorer(image_shape=SHAPE, sweeps=sweeps, units=UNITS, cell="lstm")
    head = model.get_layer("sweep_1_rows").head
    head.kernel.assign(np.full(head.kernel.shape, 0.1, "float32"))
    y = numpy(model(images((3, *SHAPE))))
    assert y.shape == (3, *SHAPE)
    assert np.isfinite(y).all()
    assert not np.allclose(y, images((3, *SHAPE)))


# --- saving and config --------------------------------------------------------


def perturbed(model):
    """Move every zero/identity-initialised weight so comparisons mean something."""
    rng = np.random.default_rng(3)
    for weight in model.weights:
        weight.assign(numpy(weight) + 0.05 * rng.normal(size=weight.shape))
    return model


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_saving_round_trip(cell, tmp_path):
    model = perturbed(ReNetRestorer(image_shape=SHAPE, units=UNITS, cell=cell))
    loaded = assert_saving_round_trip(model, images((2, *SHAPE)), tmp_path, atol=1e-5)
    assert loaded.get_config() == model.get_config()


def test_layer_saving_round_trip(tmp_path):
    inputs = keras.Input(SHAPE)
    model = keras.Model(inputs, LineSweep(order="columns", units=UNITS)(inputs))
    perturbed(model)
    assert_saving_round_trip(model, images((2, *SHAPE)), tmp_path, atol=1e-5)


@pytest.mark.parametrize("preset", sorted(ReNetRestorer.presets))
def test_config_round_trip_through_json(preset):
    with shapes_only():
        model = ReNetRestorer.from_preset(preset)
        assert_config_round_trip(model)
        config = json.loads(json.dumps(model.get_config()))
        assert ReNetRestorer.from_config(config).get_config() == model.get_config()


def test_config_holds_every_constructor_argument():
    with shapes_only():
        model = ReNetRestorer(
            image_shape=SHAPE, sweeps=["columns"], units=np.int64(3), cell="lstm"
        )
    config = model.get_config()
    assert config["sweeps"] == ("columns",) and config["units"] == 3
    for key, value in config.items():
        assert getattr(model, key) == value, key
    arguments = set(inspect.signature(ReNetRestorer.__init__).parameters)
    assert set(config) == arguments - {"self", "kwargs"} | {"name", "trainable"}
    layer_config = LineSweep(order="columns", units=2).get_config()
    layer_arguments = set(inspect.signature(LineSweep.__init__).parameters)
    assert layer_arguments - {"self", "kwargs"} <= set(layer_config)
    assert_config_round_trip(LineSweep(order="columns", units=2, linear=False))


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(sweeps=()), r"`sweeps` must be a non-empty tuple.*Received: sweeps=\(\)"),
        (dict(sweeps=("rows", "diag")), r"Received: sweeps=\('rows', 'diag'\)"),
        (dict(sweeps="rows"), r"Received: sweeps='rows'"),
        (dict(units=-1), r"`units` must be a non-negative integer.*units=-1"),
        (dict(units=2.0), r"Received: units=2\.0"),
        (dict(units=True), r"Received: units=True"),
        (dict(cell="rnn"), r"`cell` must be one of \['gru', 'lstm'\].*'rnn'"),
        (dict(linear=1), r"`linear` must be True or False"),
        (dict(activation="tanhh"), r"Received: activation='tanhh'"),
        (dict(image_shape=(None, 4, 2)), r"`image_shape` must be .*\(None, 4, 2\)"),
        (dict(units=0, linear=False), r"`units` must be positive when `linear=False`"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ReNetRestorer(**{"image_shape": SHAPE, **kwargs})


@pytest.mark.parametrize(
    "shape, pattern",
    [
        ((2, 6, 4), r"rank 4\. Received: inputs\.shape=\(2, 6, 4\)"),
        ((2, 6, 4, 3), r"\(batch, 6, 4, 2\)\. Received: inputs\.shape=\(2, 6, 4, 3\)"),
    ],
)
def test_wrong_input_shape(shape, pattern):
    model = ReNetRestorer(image_shape=SHAPE, units=0)
    with pytest.raises(ValueError, match=pattern):
        model(np.zeros(shape, "float32"))


def test_sweep_needs_known_line_size():
    with pytest.raises(ValueError, match=r"known image width.*\(None, 6, None, 2\)"):
        LineSweep().compute_output_shape((None, 6, None, 2))
    with pytest.raises(ValueError, match=r"rank 4.*\(2, 6, 4\)"):
        LineSweep().compute_output_shape((2, 6, 4))


# --- learning -----------------------------------------------------------------


def deblur_data(n, seed, size=8):
    """Random smooth images (bilinear from 4x4 noise) and their blur."""
    low = np.random.default_rng(seed).random((n, 4, 4, 2)).astype("float32")
    clean = np.clip(numpy(keras.ops.image.resize(low, (size, size))), 0, 1)
    blurred = scipy.ndimage.gaussian_filter(clean, sigma=(0, 1, 1, 0), mode="reflect")
    return blurred.astype("float32"), clean


@pytest.mark.parametrize("units", [0, UNITS])
def test_a_few_steps_reduce_the_deblurring_loss(units):
    x, y = deblur_data(256, seed=0)
    x_val, y_val = deblur_data(64, seed=1)
    model = ReNetRestorer(image_shape=x.shape[1:], units=units)
    model.compile(keras.optimizers.Adam(3e-3), "mse")
    before = model.evaluate(x_val, y_val, verbose=0)
    model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    after = model.evaluate(x_val, y_val, verbose=0)
    # The untrained model returns the blurred input: training must beat it.
    assert after < 0.7 * before, (before, after)


# --- deconvolution initialisation ---------------------------------------------


def scipy_inverse(size, sigma, balance):
    """(H^T H + balance L^T L)^-1 H^T from scipy's blur and np.pad's symmetric."""
    h = scipy.ndimage.gaussian_filter1d(np.eye(size), sigma, axis=0, mode="reflect")
    padded = np.pad(np.eye(size), ((1, 1), (0, 0)), mode="symmetric")
    lap = 2 * padded[1:-1] - padded[:-2] - padded[2:]
    return np.linalg.solve(h.T @ h + balance * lap.T @ lap, h.T)


@pytest.mark.parametrize(
    "sweeps, units, sigma",
    [
        (("rows", "columns"), 0, 1.0),
        (("columns", "rows", "columns", "rows"), 0, (1.5, 0.7)),
        (("rows", "columns"), UNITS, 1.0),
    ],
)
def test_deconvolution_init_is_the_separable_regularized_inverse(sweeps, units, sigma):
    """Untrained: D_h X D_w^T per channel; later sweeps are the identity."""
    height, width, channels = 7, 5, 2
    sigma_h, sigma_w = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    model = ReNetRestorer(
        image_shape=(height, width, channels),
        sweeps=sweeps,
        units=units,
        init_sigma=sigma,
        init_balance=1e-2,
    )
    x = images((3, height, width, channels), seed=4)
    d_h, d_w = scipy_inverse(height, sigma_h, 1e-2), scipy_inverse(width, sigma_w, 1e-2)
    expected = np.einsum("ij,bjwc,kw->bikc", d_h, x, d_w)
    np.testing.assert_allclose(numpy(model(x)), expected, atol=1e-5)


def test_deconvolution_init_with_balance_zero_inverts_scipys_blur():
    x = images((4, 32, 32, 3), seed=5)
    blurred = scipy.ndimage.gaussian_filter(x, sigma=(0, 1, 1, 0), mode="reflect")
    model = ReNetRestorer(units=0, init_sigma=1.0, init_balance=0.0)
    # float32 weights and sums, and the inverse's norm is about 67 per axis: the
    # largest error was 2.9e-5 on TF and torch, 2.04e-4 on JAX (XLA, an AVX-512 CPU);
    # the blur itself moves pixels by 0.21 on average.
    restored = numpy(model(blurred))
    np.testing.assert_allclose(restored, x, atol=1e-3)
    assert np.abs(restored - x).mean() < 1e-4


@settings(max_examples=10, deadline=None)
@given(
    order=st.sampled_from(["rows", "columns"]),
    size=st.integers(1, 9),
    sigma=st.one_of(st.just(0.0), st.floats(0.3, 2.0)),
    balance=st.sampled_from([1e-4, 1e-2, 1.0]),
)
def test_sweep_init_applies_the_inverse_along_its_lines(order, size, sigma, balance):
    shape = (size, 3, 2) if order == "columns" else (3, size, 2)
    x = images((1, *shape), seed=size)
    sweep = LineSweep(order=order, units=0, init_sigma=sigma, init_balance=balance)
    inverse = scipy_inverse(size, sigma, balance) if sigma else None
    if inverse is None:  # sigma 0: no blur, (I + balance L^T L)^-1
        inverse = scipy_inverse(size, 1e-9, balance)
    axis = "ij,bjwc->biwc" if order == "columns" else "ij,bhjc->bhic"
    expected = np.einsum(axis, inverse, x)
    np.testing.assert_allclose(numpy(sweep(x)), expected, atol=1e-5)


def test_deconvolution_init_saving_and_config_round_trip(tmp_path):
    model = ReNetRestorer(
        image_shape=SHAPE,
        units=UNITS,
        init_sigma=(1.0, 0.5),
        init_balance=0.01,
        init_regularizer="identity",
    )
    config = model.get_config()
    assert config["init_sigma"] == (1.0, 0.5) and config["init_balance"] == 0.01
    assert config["init_regularizer"] == "identity"
    from_json = ReNetRestorer.from_config(json.loads(json.dumps(config)))
    assert from_json.get_config() == config
    # Trained weights, not the initialisation, come back from a saved file.
    loaded = assert_saving_round_trip(
        perturbed(model), images((2, *SHAPE)), tmp_path, atol=1e-5
    )
    assert loaded.get_config() == config
    assert ReNetRestorer(image_shape=SHAPE).get_config()["init_sigma"] is None


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(init_sigma=-1.0), r"`init_sigma` must be None, a number >= 0.*=-1\.0"),
        (dict(init_sigma="1"), r"Received: init_sigma='1'"),
        (
            dict(init_sigma=(1.0, 2.0, 3.0)),
            r"Received: init_sigma=\(1\.0, 2\.0, 3\.0\)",
        ),
        (dict(init_sigma=1.0, init_balance=-1), r"`init_balance` must be a finite"),
        (dict(init_sigma=1.0, init_balance=None), r"Received: init_balance=None"),
        (dict(init_regularizer="tv"), r"`init_regularizer` must be one of .*'tv'"),
        (
            dict(init_sigma=1.0, units=UNITS, linear=False),
            r"needs `linear=True`. Received: init_sigma=1\.0, linear=False",
        ),
    ],
)
def test_bad_deconvolution_init_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ReNetRestorer(**{"image_shape": SHAPE, **kwargs})
    with pytest.raises(ValueError, match=pattern):
        LineSweep(**{"units": UNITS, **kwargs})


@pytest.mark.parametrize("build", ["line_sweep", "lstm_autoencoder"])
def test_bidirectional_layers_build_inside_a_keras_loading_scope(build, monkeypatch):
    """Keras' loading scope shares objects by `id()`, which a new template
    layer can take over from a garbage-collected one. Simulate that collision
    (every shared-id lookup returns an old forward layer): our layers still
    build, because they copy their templates outside the sharing scope.
    """
    serialization_lib = pytest.importorskip("keras.src.saving.serialization_lib")
    old_forward = keras.layers.GRU(2, return_sequences=True)
    monkeypatch.setattr(serialization_lib, "get_shared_object", lambda _: old_forward)
    with serialization_lib.ObjectSharingScope():
        with pytest.raises(ValueError, match="different `go_backwards`"):
            keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True))
        if build == "line_sweep":
            sweep = LineSweep(order="rows", units=2)
            sweep.build((None, *SHAPE))
            layers = [sweep.recurrent]
        else:
            model = MODELS["lstm_autoencoder"](
                image_shape=SHAPE, encoder_units=(4,), bidirectional=True
            )
            layers = [
                layer
                for layer in model.layers
                if isinstance(layer, keras.layers.Bidirectional)
            ]
    assert layers
    for layer in layers:
        assert layer.forward_layer is not old_forward
        assert layer.backward_layer.go_backwards
        assert not layer.forward_layer.go_backwards
