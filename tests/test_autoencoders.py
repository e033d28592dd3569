"""Autoencoders of sources 000, 001, 002: presets, shapes, saving, errors, learning."""

import contextlib
import inspect
import json

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.models.conv_autoencoder import ConvAutoencoder
from keras_seqimage.models.recurrent_autoencoder import (
    LSTMAutoencoder,
    SimpleRNNAutoencoder,
)
from keras_seqimage.ops import gaussian_filter
from tests.helpers import assert_config_round_trip, assert_saving_round_trip

RECURRENT = (LSTMAutoencoder, SimpleRNNAutoencoder)
# One small image shape and recurrent width for the models that run: JAX
# compiles initializers and recurrent loops once per shape, so shared shapes
# keep the JAX run short.
SHAPE = (6, 4, 2)
UNITS = 8

# (class, preset, parameters of each layer with weights, total): SPEC.md.
PRESET_COUNTS = [
    (LSTMAutoencoder, "lstm_sequence_128_64", [115_200, 49_408, 6_240], 170_848),
    (
        LSTMAutoencoder,
        "lstm_vector_512_256_sigmoid",
        [1_247_232, 787_456, 525_312, 135_552],
        2_695_552,
    ),
    (LSTMAutoencoder, "lstm_vector_128", [115_200, 131_584, 12_384], 259_168),
    (SimpleRNNAutoencoder, "simple_rnn_vector_128", [28_800, 32_896, 12_384], 74_080),
    (ConvAutoencoder, "conv_32_32", [896, 9_248, 867], 11_011),
]


def images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


@contextlib.contextmanager
def shapes_only():
    """Build models without initializing weights: symbolic shapes, fast.

    Keras keeps the uninitialized variables in a global list and would
    initialize them at the next stateless scope; `clear_session` drops them.
    """
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        keras.backend.clear_session()


def tiny(cls, image_shape=SHAPE, **kwargs):
    if cls is ConvAutoencoder:
        return cls(image_shape=image_shape, filters=(4, 4), **kwargs)
    return cls(image_shape=image_shape, encoder_units=(UNITS,), **kwargs)


# --- presets ------------------------------------------------------------------


@pytest.mark.parametrize("cls, preset, per_layer, total", PRESET_COUNTS)
def test_preset_parameter_counts(cls, preset, per_layer, total):
    with shapes_only():
        model = cls.from_preset(preset)
        assert model.count_params() == total
        assert [layer.count_params() for layer in model.layers if layer.weights] == (
            per_layer
        )
    assert model.image_shape == (32, 32, 3)


def test_every_preset_is_counted():
    counted = {(cls, preset) for cls, preset, _, _ in PRESET_COUNTS}
    for cls in (*RECURRENT, ConvAutoencoder):
        assert {(cls, preset) for preset in cls.presets} <= counted


def test_source_001_preset_has_a_sigmoid_recurrent_head():
    with shapes_only():
        model = LSTMAutoencoder.from_preset("lstm_vector_512_256_sigmoid")
    head = model.get_layer("head")
    assert isinstance(head, keras.layers.LSTM)
    assert head.activation is keras.activations.sigmoid


def test_from_preset_overrides():
    model = LSTMAutoencoder.from_preset(
        "lstm_vector_128",
        image_shape=SHAPE,
        encoder_units=(UNITS,),
        decoder_units=(UNITS,),
    )
    assert model.bottleneck == "vector"
    assert model.image_shape == SHAPE
    assert model(images((2, *SHAPE))).shape == (2, *SHAPE)


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
def test_unknown_preset_lists_the_valid_names(cls):
    valid = sorted(cls.presets)[0]
    with pytest.raises(ValueError, match=f"`preset` must be one of .*'{valid}'"):
        cls.from_preset("nope")


# --- shapes -------------------------------------------------------------------


# Shapes drawn by hypothesis are checked symbolically (each new shape would
# cost a compilation under JAX); the eager calls below use fixed shapes.
@settings(max_examples=12)
@given(
    cls=st.sampled_from(RECURRENT),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    channels=st.integers(1, 3),
    bottleneck=st.sampled_from(["sequence", "vector"]),
    head=st.sampled_from(["dense", "recurrent"]),
    order=st.sampled_from(["rows", "columns"]),
    bidirectional=st.booleans(),
    residual=st.booleans(),
    decoder_units=st.sampled_from([(), (UNITS,)]),
)
def test_recurrent_output_shape_equals_input_shape(
    cls,
    height,
    width,
    channels,
    bottleneck,
    head,
    order,
    bidirectional,
    residual,
    decoder_units,
):
    shape = (height, width, channels)
    with shapes_only():
        model = cls(
            image_shape=shape,
            encoder_units=(UNITS,),
            decoder_units=decoder_units,
            bottleneck=bottleneck,
            head=head,
            order=order,
            bidirectional=bidirectional,
            residual=residual,
        )
        assert model.output_shape == (None, *shape)
        assert model.compute_output_shape((2, *shape)) == (2, *shape)


@settings(max_examples=12)
@given(
    levels=st.integers(0, 2),
    height_blocks=st.integers(1, 3),
    width_blocks=st.integers(1, 3),
    channels=st.integers(1, 4),
)
def test_conv_output_shape_equals_input_shape(
    levels, height_blocks, width_blocks, channels
):
    factor = 2**levels
    shape = (height_blocks * factor, width_blocks * factor, channels)
    with shapes_only():
        model = ConvAutoencoder(image_shape=shape, filters=(3,) * (levels + 1))
        assert model.output_shape == (None, *shape)
        assert model.compute_output_shape((2, *shape)) == (2, *shape)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (LSTMAutoencoder, dict(bottleneck="vector", decoder_units=(UNITS,))),
        (LSTMAutoencoder, dict(order="columns", bidirectional=True)),
        (SimpleRNNAutoencoder, dict(head="recurrent", residual=True)),
        (ConvAutoencoder, dict()),
    ],
)
def test_eager_call_returns_images_of_the_input_shape(cls, kwargs):
    y = keras.ops.convert_to_numpy(tiny(cls, **kwargs)(images((3, *SHAPE))))
    assert y.shape == (3, *SHAPE)
    assert np.isfinite(y).all()


@pytest.mark.parametrize("cls", RECURRENT)
def test_sequence_bottleneck_takes_any_height(cls):
    model = tiny(cls, image_shape=(None, *SHAPE[1:]))
    for height in (1, 7):
        x = images((2, height, *SHAPE[1:]))
        assert tuple(model(x).shape) == x.shape


def test_conv_takes_any_even_size_when_unknown():
    model = tiny(ConvAutoencoder, image_shape=(None, None, 2))
    for shape in ((2, *SHAPE), (1, 2, 8, 2)):
        assert tuple(model(images(shape)).shape) == shape


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize("head", ["dense", "recurrent"])
def test_residual_model_starts_as_the_identity(cls, head):
    model = tiny(cls, residual=True, head=head, bidirectional=True)
    x = images((3, *SHAPE))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), x)


def test_sigmoid_output_lies_in_unit_interval():
    model = tiny(LSTMAutoencoder, head="recurrent", output_activation="sigmoid")
    y = keras.ops.convert_to_numpy(model(images((2, *SHAPE)) * 10))
    assert y.min() >= 0 and y.max() <= 1


# --- saving and config --------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (
            LSTMAutoencoder,
            dict(bottleneck="vector", head="recurrent", bidirectional=True),
        ),
        (SimpleRNNAutoencoder, dict(order="columns", residual=True)),
        (ConvAutoencoder, dict(output_activation=None)),
    ],
)
def test_saving_round_trip(cls, kwargs, tmp_path):
    model = tiny(cls, **kwargs)
    if kwargs.get("residual"):
        # Move the zero-initialized head so the comparison is not trivial.
        model.get_layer("head").kernel.assign(
            np.ones(model.get_layer("head").kernel.shape, "float32") * 0.01
        )
    loaded = assert_saving_round_trip(model, images((2, *SHAPE)), tmp_path)
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
@pytest.mark.parametrize("preset", [0, -1])
def test_config_round_trip_through_json(cls, preset):
    with shapes_only():
        model = cls.from_preset(sorted(cls.presets)[preset])
        clone = assert_config_round_trip(model)
        # JSON turns tuples into lists; the constructor turns them back.
        config = json.loads(json.dumps(model.get_config()))
        assert cls.from_config(config).get_config() == model.get_config()
    assert clone.count_params() == model.count_params()


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
def test_config_holds_every_constructor_argument(cls):
    with shapes_only():
        model = tiny(cls, output_activation="tanh")
    config = model.get_config()
    assert config["image_shape"] == SHAPE
    assert config["output_activation"] == "tanh"
    for key, value in config.items():
        assert getattr(model, key) == value, key
    arguments = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    assert set(config) == arguments | {"name", "trainable"}


def test_numpy_integers_are_accepted_and_stored_as_python_ints():
    with shapes_only():
        model = LSTMAutoencoder(
            image_shape=tuple(np.int64(d) for d in SHAPE),
            encoder_units=[np.int32(UNITS)],
        )
    assert model.image_shape == SHAPE
    assert model.encoder_units == (UNITS,)
    json.dumps(model.get_config())


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
@pytest.mark.parametrize(
    "image_shape", [(32, 32), (32, 32, 3, 1), (32, 32, 0), (32, 32, None), "32x32"]
)
def test_bad_image_shape(cls, image_shape):
    with pytest.raises(ValueError, match=r"`image_shape` must be .*Received: image_"):
        cls(image_shape=image_shape)


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(encoder_units=()), r"`encoder_units` must be a non-empty tuple"),
        (dict(encoder_units=(8, 0)), r"Received: encoder_units=\(8, 0\)"),
        (dict(encoder_units=8), r"Received: encoder_units=8"),
        (dict(decoder_units=(-1,)), r"`decoder_units` must be a tuple.*\(-1,\)"),
        (dict(bottleneck="latent"), r"`bottleneck` must be one of .*'latent'"),
        (dict(head="conv"), r"`head` must be one of .*Received: head='conv'"),
        (dict(order="diagonal"), r"`order` must be one of .*'diagonal'"),
        (dict(bidirectional=1), r"`bidirectional` must be True or False"),
        (dict(residual="yes"), r"Received: residual='yes'"),
        (dict(activation="tanhh"), r"`activation` must be a Keras activation"),
        (dict(output_activation="sigmoidd"), r"Received: output_activation="),
    ],
)
def test_bad_recurrent_arguments(cls, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**{"image_shape": (4, 4, 1), **kwargs})


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize(
    "kwargs",
    [dict(bottleneck="vector"), dict(order="columns")],
)
def test_unknown_height_needs_rows_and_sequence_bottleneck(cls, kwargs):
    with pytest.raises(ValueError, match=r"height.*Received: image_shape=\(None, 4"):
        cls(image_shape=(None, 4, 1), **kwargs)


@pytest.mark.parametrize("cls", RECURRENT)
def test_unknown_width_is_rejected(cls):
    with pytest.raises(ValueError, match=r"Received: image_shape=\(4, None, 1\)"):
        cls(image_shape=(4, None, 1))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(image_shape=(31, 32, 3)), r"divisible by 2 .* = 2.*\(31, 32, 3\)"),
        (dict(image_shape=(8, 6, 1), filters=(4, 4, 4)), r"= 4.*\(8, 6, 1\)"),
        (dict(filters=()), r"`filters` must be a non-empty tuple"),
        (dict(kernel_size=0), r"`kernel_size` must be a positive integer"),
        (dict(activation="nope"), r"Received: activation='nope'"),
    ],
)
def test_bad_conv_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ConvAutoencoder(**kwargs)


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
@pytest.mark.parametrize(
    "shape, pattern",
    [
        ((2, 6, 4), r"rank 4\. Received: inputs\.shape=\(2, 6, 4\)"),
        ((2, 6, 4, 2, 1), r"rank 4\. Received: inputs\.shape=\(2, 6, 4, 2, 1\)"),
        ((2, 6, 4, 3), r"\(batch, 6, 4, 2\)\. Received: inputs\.shape=\(2, 6, 4, 3\)"),
        ((2, 8, 4, 2), r"\(batch, 6, 4, 2\)\. Received: inputs\.shape=\(2, 8, 4, 2\)"),
    ],
)
def test_wrong_input_shape(cls, shape, pattern):
    model = tiny(cls)
    with pytest.raises(ValueError, match=pattern):
        model(np.zeros(shape, "float32"))


@pytest.mark.parametrize("cls", [*RECURRENT, ConvAutoencoder])
def test_integer_images_are_rejected(cls):
    model = tiny(cls)
    with pytest.raises(ValueError, match=r"floats in \[0, 1\].*dtype=uint8"):
        model(np.zeros((1, *SHAPE), "uint8"))


def test_conv_with_unknown_size_rejects_odd_input():
    model = tiny(ConvAutoencoder, image_shape=(None, None, 2))
    with pytest.raises(ValueError, match=r"divisible by 2\. .*\(1, 5, 4, 2\)"):
        model(np.zeros((1, 5, 4, 2), "float32"))


# --- learning -----------------------------------------------------------------


def deblur_data(n, seed, size=16):
    """Smooth random images (4x4 noise, bilinear upsampled) and their blur."""
    low = np.random.default_rng(seed).random((n, size // 4, size // 4, 1))
    clean = keras.ops.image.resize(low.astype("float32"), (size, size))
    clean = np.clip(keras.ops.convert_to_numpy(clean), 0, 1)
    blurred = keras.ops.convert_to_numpy(gaussian_filter(clean, sigma=1.0))
    return blurred, clean


@pytest.fixture(scope="module")
def deblur():
    return deblur_data(512, seed=0), deblur_data(128, seed=1)


def fit(model, data, epochs):
    (x, y), (x_val, y_val) = data
    model.compile(keras.optimizers.Adam(3e-3), "mse")
    before = model.evaluate(x_val, y_val, verbose=0)
    history = model.fit(
        x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0
    )
    return before, history.history["val_loss"][-1]


def test_lstm_learns_beyond_the_best_constant(deblur):
    # Validation MSE falls at least 10x and ends at least 3x below the pixel
    # variance of the targets (the MSE of the best constant prediction).
    model = LSTMAutoencoder(image_shape=(16, 16, 1), encoder_units=(32,))
    before, after = fit(model, deblur, epochs=8)
    variance = deblur[1][1].var()
    assert after < before / 10, (before, after)
    assert after < variance / 3, (after, variance)


def test_residual_lstm_deblurs_better_than_the_blurred_input(deblur):
    # Starts at the identity (MSE of the blurred input), ends 2x below it.
    model = LSTMAutoencoder(image_shape=(16, 16, 1), encoder_units=(32,), residual=True)
    before, after = fit(model, deblur, epochs=4)
    x_val, y_val = deblur[1]
    identity = np.mean((x_val - y_val) ** 2)
    np.testing.assert_allclose(before, identity, rtol=1e-5)
    assert after < identity / 2, (after, identity)


def test_conv_learns_beyond_the_best_constant(deblur):
    model = ConvAutoencoder(image_shape=(16, 16, 1), filters=(8, 8))
    before, after = fit(model, deblur, epochs=8)
    variance = deblur[1][1].var()
    assert after < before / 5, (before, after)
    assert after < variance / 5, (after, variance)
