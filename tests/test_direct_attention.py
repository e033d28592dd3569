"""Source 004: DirectAttentionLSTMDecoder, ConvEncoder and the two 004 models."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.layers.direct_attention_lstm_decoder import (
    DirectAttentionLSTMDecoder,
)
from keras_seqimage.models.cnn_lstm_direct_attention import CNNLSTMDirectAttention
from keras_seqimage.models.conv_encoder import ConvEncoder
from keras_seqimage.models.conv_encoder_decoder import ConvEncoderDecoder
from tests.helpers import assert_config_round_trip, assert_saving_round_trip

TINY = {
    "image_shape": (8, 8, 1),
    "filters": (2, 4),
    "thought_size": 3,
    "units": 4,
    "num_layers": 2,
}


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _rand(*shape):
    return np.random.rand(*shape).astype("float32")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _lstm_params(units, input_size):
    """Kernel, recurrent kernel and bias of the four gates."""
    return 4 * units * (input_size + units + 1)


# --------------------------------------------------------------------- decoder


@settings(max_examples=3, deadline=None)
@given(
    batch=st.integers(1, 3),
    steps=st.integers(1, 6),
    features=st.integers(1, 5),
    thought=st.integers(1, 5),
    num_layers=st.integers(1, 2),
)
def test_decoder_output_shape(batch, steps, features, thought, num_layers):
    decoder = DirectAttentionLSTMDecoder(units=3, num_layers=num_layers)
    inputs = [_rand(batch, thought), _rand(batch, steps, features)]
    outputs = _np(decoder(inputs))
    assert outputs.shape == (batch, steps, features)
    assert decoder.compute_output_shape(
        [(batch, thought), (batch, steps, features)]
    ) == (batch, steps, features)
    assert ((outputs > 0) & (outputs < 1)).all()  # sigmoid rows


def test_decoder_unknown_batch_and_length():
    vector = keras.Input(shape=(3,))
    rows = keras.Input(shape=(None, 4))
    outputs = DirectAttentionLSTMDecoder(units=4, num_layers=2)([vector, rows])
    assert tuple(outputs.shape) == (None, None, 4)
    model = keras.Model([vector, rows], outputs)
    assert _np(model([_rand(2, 3), _rand(2, 6, 4)])).shape == (2, 6, 4)


def test_decoder_matches_numpy_recurrence():
    """Bottom layer reads [x_t, v, y_{t-1}], y_0 = 0, zero states, sigmoid out."""
    units, layers, features, thought, steps = 4, 2, 3, 2, 5
    decoder = DirectAttentionLSTMDecoder(units=units, num_layers=layers)
    vector, rows = _rand(2, thought), _rand(2, steps, features)
    actual = _np(decoder([vector, rows]))

    weights = [
        [_np(w) for w in (c.kernel, c.recurrent_kernel, c.bias)]
        for c in decoder.cell.lstm_cells
    ]
    dense_w, dense_b = (_np(w) for w in decoder.cell.output_dense.weights)
    h = [np.zeros((2, units))] * layers
    c = [np.zeros((2, units))] * layers
    y = np.zeros((2, features))
    expected = []
    for t in range(steps):
        x = np.concatenate([rows[:, t], vector, y], axis=-1)
        for k, (kernel, recurrent, bias) in enumerate(weights):
            z = x @ kernel + h[k] @ recurrent + bias
            i, f, g, o = np.split(z, 4, axis=-1)  # Keras gate order
            c[k] = _sigmoid(f) * c[k] + _sigmoid(i) * np.tanh(g)
            h[k] = _sigmoid(o) * np.tanh(c[k])  # standard cell: o_t, not i_t
            x = h[k]
        y = _sigmoid(x @ dense_w + dense_b)
        expected.append(y)
    np.testing.assert_allclose(actual, np.stack(expected, 1), atol=1e-5)


def test_decoder_is_causal():
    """Changing corrupted row t changes outputs at steps >= t only."""
    decoder = DirectAttentionLSTMDecoder(units=4, num_layers=2)
    # Sample 0 is the original; sample t + 1 has row t changed. One call.
    rows = np.repeat(_rand(1, 6, 4), 7, axis=0)
    for t in range(6):
        rows[t + 1, t] += 1.0
    outputs = _np(decoder([np.repeat(_rand(1, 3), 7, axis=0), rows]))
    before = outputs[0]
    for t in range(6):
        after = outputs[t + 1]
        np.testing.assert_allclose(after[:t], before[:t], atol=1e-7)
        assert np.abs(after[t:] - before[t:]).max(axis=-1).min() > 1e-5


def test_training_is_free_running():
    """No target enters the decoder: with no dropout, training mode gives the
    same rows as inference (the previous output fed back is the model's own)."""
    decoder = DirectAttentionLSTMDecoder(units=4, num_layers=2)
    inputs = [_rand(2, 3), _rand(2, 6, 4)]
    np.testing.assert_allclose(
        _np(decoder(inputs, training=True)),
        _np(decoder(inputs, training=False)),
        atol=1e-6,
    )
    model = CNNLSTMDirectAttention(**TINY)
    assert len(model.inputs) == 1  # the corrupted image alone
    images = _rand(3, 8, 8, 1)
    np.testing.assert_allclose(
        _np(model(images, training=True)), _np(model(images)), atol=1e-6
    )


def test_dropout_is_active_in_training_only():
    decoder = DirectAttentionLSTMDecoder(
        units=4, num_layers=2, dropout=0.5, recurrent_dropout=0.5, seed=1
    )
    inputs = [_rand(2, 3), _rand(2, 6, 4)]
    inference = _np(decoder(inputs))
    np.testing.assert_array_equal(_np(decoder(inputs)), inference)
    assert np.abs(_np(decoder(inputs, training=True)) - inference).max() > 1e-4


def test_decoder_parameter_count():
    # units 8, 2 layers, 6 features, thought 4: the bottom layer reads
    # 6 + 4 + 6 = 16 values: 4 * 8 * (16 + 8 + 1) = 800; the second reads
    # h (8): 4 * 8 * (8 + 8 + 1) = 544; the output Dense 8 * 6 + 6 = 54.
    decoder = DirectAttentionLSTMDecoder(units=8, num_layers=2)
    decoder.build([(None, 4), (None, 10, 6)])
    assert decoder.count_params() == 800 + 544 + 54 == 1398
    assert _lstm_params(8, 16) + _lstm_params(8, 8) + 54 == 1398


def test_default_size_parameter_counts():
    """The "paper" preset: Table 1 encoder, five 128-unit layers on MNIST."""
    model = CNNLSTMDirectAttention.from_preset("paper")
    counts = [layer.count_params() for layer in model.encoder.convs]
    assert counts == [5 * 5 * 1 * 32 + 32, 5 * 5 * 32 * 64 + 64] == [832, 51_264]
    assert model.encoder.dense.count_params() == 7 * 7 * 64 * 100 + 100 == 313_700
    assert model.encoder.count_params() == 365_796
    # Bottom LSTM reads 28 + 100 + 28 = 156 values: 4 * 128 * (156 + 128 + 1)
    # = 145,920; four more read h: 4 * 128 * 257 = 131,584 each; the output
    # Dense 128 * 28 + 28 = 3,612.
    assert model.decoder.count_params() == 145_920 + 4 * 131_584 + 3_612 == 675_868
    assert model.count_params() == 1_041_664
    assert (model.num_layers, model.units, model.dropout) == (5, 128, 0.25)


def test_kernel_l2_adds_one_penalty_per_weight_matrix():
    decoder = DirectAttentionLSTMDecoder(units=4, num_layers=3, kernel_l2=0.01)
    decoder([_rand(2, 3), _rand(2, 6, 4)])
    assert len(decoder.losses) == 3 * 2 + 1  # kernels, recurrent kernels, Dense
    expected = 0.01 * sum(
        float(np.sum(_np(w) ** 2))
        for w in decoder.trainable_weights
        if "bias" not in w.path
    )
    actual = float(sum(_np(x) for x in decoder.losses))
    assert math.isclose(actual, expected, rel_tol=1e-5)


# --------------------------------------------------------------------- encoder


def test_conv_encoder_on_cifar_shapes():
    encoder = ConvEncoder()
    vector = _np(encoder(_rand(2, 32, 32, 3)))
    assert vector.shape == (2, 100) and np.abs(vector).max() < 1
    assert encoder.count_params() == 2_432 + 51_264 + 409_700
    assert encoder.compute_output_shape((None, 32, 32, 3)) == (None, 100)


# ------------------------------------------------------------------ baseline


def test_conv_encoder_decoder_parameter_count():
    model = ConvEncoderDecoder()
    # conv 1@5x5 -> 32, conv 32 -> 64, deconv 64 -> 32, deconv 32 -> 1
    assert [layer.count_params() for layer in model.layers[1:]] == [
        832,
        0,
        51_264,
        0,
        51_232,
        801,
    ]
    assert model.count_params() == 104_129
    assert ConvEncoderDecoder.from_preset("paper_cifar10").count_params() == 107_331


def test_conv_encoder_decoder_any_size_divisible_by_four():
    model = ConvEncoderDecoder(image_shape=(None, None, 1), filters=(2, 4))
    assert _np(model(_rand(2, 12, 8, 1))).shape == (2, 12, 8, 1)


# ------------------------------------------------------- saving and configs


def test_decoder_saving_in_functional_model(tmp_path):
    vector = keras.Input(shape=(3,))
    rows = keras.Input(shape=(6, 4))
    outputs = DirectAttentionLSTMDecoder(
        units=4, num_layers=2, dropout=0.1, kernel_l2=1e-4
    )([vector, rows])
    model = keras.Model([vector, rows], outputs)
    assert_saving_round_trip(model, [_rand(2, 3), _rand(2, 6, 4)], tmp_path)


def test_encoder_saving_in_functional_model(tmp_path):
    images = keras.Input(shape=(8, 8, 1))
    model = keras.Model(images, ConvEncoder(filters=(2, 4), thought_size=3)(images))
    assert_saving_round_trip(model, _rand(2, 8, 8, 1), tmp_path)


@pytest.mark.parametrize(
    "model",
    [
        lambda: CNNLSTMDirectAttention(**TINY, dropout=0.25, kernel_l2=1e-5),
        lambda: ConvEncoderDecoder(image_shape=(8, 8, 1), filters=(2, 4)),
    ],
    ids=["cnn_lstm", "cnn_cnn"],
)
def test_model_saving_round_trip(model, tmp_path):
    model = model()
    loaded = assert_saving_round_trip(model, _rand(2, 8, 8, 1), tmp_path)
    assert loaded.get_config() == model.get_config()


def test_configs_round_trip():
    assert_config_round_trip(
        DirectAttentionLSTMDecoder(
            units=5,
            num_layers=3,
            output_activation=None,
            dropout=0.25,
            recurrent_dropout=0.1,
            kernel_l2=1e-4,
            seed=3,
        )
    )
    assert_config_round_trip(
        ConvEncoder(filters=(4, 8, 16), kernel_size=3, thought_size=7)
    )
    for model in (
        CNNLSTMDirectAttention(**TINY, output_activation="linear", seed=2),
        ConvEncoderDecoder(image_shape=(None, 8, 3), kernel_l2=0.1),
    ):
        config = model.get_config()
        clone = type(model).from_config(config)
        assert clone.get_config() == config
        assert clone.count_params() == model.count_params()


def test_from_preset_overrides():
    model = CNNLSTMDirectAttention.from_preset(
        "paper", image_shape=(8, 8, 1), units=4, num_layers=1
    )
    assert (model.image_shape, model.units, model.dropout) == ((8, 8, 1), 4, 0.25)


# --------------------------------------------------------------------- errors


def _decoder(**kwargs):
    return lambda: DirectAttentionLSTMDecoder(**kwargs)


def _call_decoder(inputs, built_with=None):
    def run():
        decoder = DirectAttentionLSTMDecoder(units=4, num_layers=2)
        if built_with is not None:
            decoder.build([x.shape for x in built_with])
        decoder(inputs)

    return run


VECTOR, ROWS = np.zeros((2, 3), "float32"), np.zeros((2, 6, 4), "float32")


@pytest.mark.parametrize(
    "fn, match",
    [
        (_decoder(units=0), r"`units` must be a positive integer.*units=0"),
        (_decoder(num_layers=2.0), r"`num_layers` must be .*num_layers=2.0"),
        (_decoder(output_activation="nope"), r"`output_activation`.*'nope'"),
        (_decoder(dropout=1.0), r"`dropout` must be in the range \[0, 1\).*1.0"),
        (_decoder(recurrent_dropout=-0.1), r"`recurrent_dropout`.*-0.1"),
        (_decoder(kernel_l2=float("nan")), r"`kernel_l2` must be .*nan"),
        (_decoder(seed="1"), r"`seed` must be None or an int.*seed='1'"),
        (_call_decoder(ROWS), r"`inputs` as a list"),
        (_call_decoder([VECTOR, VECTOR, ROWS]), r"`inputs` as a list"),
        (_call_decoder([ROWS, ROWS]), r"`thought_vector` of rank 2.*\(2, 6, 4\)"),
        (_call_decoder([VECTOR, VECTOR]), r"`corrupted_rows` of rank 3.*\(2, 3\)"),
        (
            _call_decoder([np.zeros((3, 3), "float32"), ROWS]),
            r"same batch size.*thought_vector.shape=\(3, 3\)",
        ),
        (
            _call_decoder([np.zeros((2, 7), "float32"), ROWS], [VECTOR, ROWS]),
            r"thought vector of size 3.*thought_vector.shape=\(2, 7\)",
        ),
        (
            _call_decoder([VECTOR, np.zeros((2, 6, 5), "float32")], [VECTOR, ROWS]),
            r"rows of 4 features.*corrupted_rows.shape=\(2, 6, 5\)",
        ),
        (
            lambda: DirectAttentionLSTMDecoder()(
                [keras.Input((None,)), keras.Input((4, 5))]
            ),
            r"known thought vector size.*thought_vector.shape=\(None, None\)",
        ),
        (
            lambda: DirectAttentionLSTMDecoder()(
                [keras.Input((3,)), keras.Input((4, None))]
            ),
            r"known number of features.*corrupted_rows.shape",
        ),
        (lambda: ConvEncoder(filters=()), r"`filters` must be a non-empty tuple"),
        (lambda: ConvEncoder(kernel_size=0), r"`kernel_size`.*kernel_size=0"),
        (lambda: ConvEncoder(thought_size=-1), r"`thought_size`.*thought_size=-1"),
        (
            lambda: ConvEncoder()(np.zeros((1, 3, 8, 1), "float32")),
            r"height and width >= 4.*inputs.shape=\(1, 3, 8, 1\)",
        ),
        (
            lambda: ConvEncoder()(keras.Input((None, 8, 1))),
            r"known height.*inputs.shape=\(None, None, 8, 1\)",
        ),
        (lambda: ConvEncoder()(VECTOR), r"`inputs` of rank 4.*\(2, 3\)"),
        (
            lambda: CNNLSTMDirectAttention(image_shape=(28, 28)),
            r"`image_shape` must be a tuple \(height, width, channels\)",
        ),
        (
            lambda: CNNLSTMDirectAttention(image_shape=(28, None, 1)),
            r"`image_shape` must be .*image_shape=\(28, None, 1\)",
        ),
        (
            lambda: CNNLSTMDirectAttention(image_shape=(3, 28, 1)),
            r"`image_shape` must have height and width >= .* = 4.*\(3, 28, 1\)",
        ),
        (
            lambda: CNNLSTMDirectAttention.from_preset("pape"),
            r"`preset` must be one of \['paper', 'paper_cifar10', 'small'\]",
        ),
        (
            lambda: CNNLSTMDirectAttention(**TINY)(np.zeros((2, 8, 9, 1), "float32")),
            r"CNNLSTMDirectAttention expects `inputs` of shape .*\(2, 8, 9, 1\)",
        ),
        (
            lambda: ConvEncoderDecoder(image_shape=(30, 28, 1)),
            r"`image_shape` must have a height and width divisible by .* = 4.*"
            r"image_shape=\(30, 28, 1\)",
        ),
        (
            lambda: ConvEncoderDecoder(image_shape=(None, None, 1))(
                np.zeros((1, 10, 12, 1), "float32")
            ),
            r"divisible by 4.*inputs.shape=\(1, 10, 12, 1\)",
        ),
        (lambda: ConvEncoderDecoder(filters=[]), r"`filters` must be a non-empty"),
        (lambda: ConvEncoderDecoder(kernel_l2=-1), r"`kernel_l2` .*kernel_l2=-1"),
        (
            lambda: ConvEncoderDecoder.from_preset("cnn"),
            r"`preset` must be one of \['paper', 'paper_cifar10'\]",
        ),
    ],
)
def test_errors(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


# ------------------------------------------------------------------- learning


def _strokes(n, size=16, seed=0):
    """Digit-like smooth strokes in [0, 1]: a ring, a slanted bar or a cross."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype("float32") / (size - 1)
    images = np.zeros((n, size, size, 1), "float32")
    for k in range(n):
        kind = rng.integers(3)
        cy, cx = 0.5 + rng.uniform(-0.08, 0.08, 2)
        width = rng.uniform(0.06, 0.09)
        if kind == 0:
            radius = rng.uniform(0.25, 0.35)
            d = np.abs(np.hypot((yy - cy) / 1.2, xx - cx) - radius)
        elif kind == 1:
            d = np.abs(xx - cx - rng.uniform(-0.1, 0.1) * (yy - 0.5))
            d = np.where(np.abs(yy - 0.5) < 0.4, d, 1.0)
        else:
            d = np.minimum(
                np.abs((yy - cy) - (xx - cx)), np.abs((yy - cy) + (xx - cx))
            ) / np.sqrt(2)
            inside = np.maximum(np.abs(yy - cy), np.abs(xx - cx)) < 0.35
            d = np.where(inside, d, 1.0)
        images[k, :, :, 0] = np.exp(-((d / width) ** 2))
    return images


def _lower_half_blanked(images, seed):
    """Source 004's corruption: lower half set to 0, then white noise."""
    rng = np.random.default_rng(seed)
    corrupted = images.copy()
    corrupted[:, images.shape[1] // 2 :] = 0.0
    corrupted += rng.normal(0.0, 0.1, corrupted.shape)
    return np.clip(corrupted, 0.0, 1.0).astype("float32")


@pytest.mark.parametrize(
    "name, make, learning_rate",
    [
        (
            "cnn_lstm",
            lambda: CNNLSTMDirectAttention(
                image_shape=(16, 16, 1),
                filters=(8, 16),
                thought_size=32,
                units=32,
                num_layers=2,
            ),
            5e-3,
        ),
        (
            "cnn_cnn",
            lambda: ConvEncoderDecoder(image_shape=(16, 16, 1), filters=(8, 16)),
            2e-3,
        ),
    ],
)
def test_learns_to_fill_the_lower_half(name, make, learning_rate):
    clean = _strokes(480)
    corrupted = _lower_half_blanked(clean, seed=100)
    x_train, y_train = corrupted[:384], clean[:384]
    x_val, y_val = corrupted[384:], clean[384:]
    model = make()
    model.compile(keras.optimizers.Adam(learning_rate), "mse")
    before = model.evaluate(x_val, y_val, verbose=0)
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=10,
        batch_size=16,
        verbose=0,
    )
    after = history.history["val_loss"][-1]
    assert after < before / 2, (name, before, after)
    if name == "cnn_lstm":
        # It uses its input: better than the best input-blind guess, the mean
        # training image.
        mean_image_mse = float(np.mean((y_train.mean(0) - y_val) ** 2))
        assert after < mean_image_mse, (before, after, mean_image_mse)


def test_conv_encoder_decoder_output_activation():
    linear = ConvEncoderDecoder(image_shape=(8, 8, 1), filters=(2, 4))
    assert linear.get_layer("head").activation is keras.activations.linear
    squashed = ConvEncoderDecoder(
        image_shape=(8, 8, 1), filters=(2, 4), output_activation="sigmoid"
    )
    outputs = _np(squashed(_rand(2, 8, 8, 1)))
    assert ((outputs > 0) & (outputs < 1)).all()
    assert squashed.get_config()["output_activation"] == "sigmoid"
    with pytest.raises(ValueError, match="Received: output_activation="):
        ConvEncoderDecoder(output_activation="sigmoidd")
