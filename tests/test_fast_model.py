"""`FastModel` is a functional `keras.Model` that trains and predicts alike.

Each test builds one graph of layers and wraps it both as `FastModel` and as
`keras.Model` (the same layer objects, or the same seeds), then compares. On
the torch backend that checks the lean step (the graph walk with the blur
and row layers, fused MSE and Adam, the lean batching) against Keras' step,
and the tests check the walk ran, so the comparison is not vacuous; on
TensorFlow and JAX it checks that `FastModel` is plain Keras there. CI runs
this file on all three backends (`make test`, `make test-torch`).
"""

import keras
import numpy as np
import pytest

from keras_seqimage.layers import (
    FastLSTM,
    GaussianBlurLayer,
    ImageToRowSequence,
    RowSequenceToImage,
)
from keras_seqimage.models import FastModel
from tests.helpers import assert_saving_round_trip, noisy_pairs

TORCH = keras.backend.backend() == "torch"
if TORCH:  # the fast path's modules import torch
    from keras_seqimage.backend.torch import trainer as _torch_train_step
SHAPE = (6, 5, 2)


def _data(seed=0, count=24):
    return noisy_pairs(SHAPE, seed, count)


def _rows_graph(blur=None):
    """Images -> blur -> rows -> FastLSTM -> Dense -> images: `(inputs, outputs)`."""
    images = keras.Input(SHAPE, name="images")
    return images, _restorer(GaussianBlurLayer(**(blur or {"sigma": 1.0}))(images))


def _restorer(images):
    """Rows -> FastLSTM -> Dense -> images, on the image tensor `images`."""
    _, width, channels = SHAPE
    x = FastLSTM(7, return_sequences=True)(ImageToRowSequence()(images))
    x = keras.layers.Dense(width * channels)(x)
    return RowSequenceToImage(width=width, channels=channels)(x)


def _conv_graph():
    images = keras.Input(SHAPE)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu")(images)
    return images, keras.layers.Conv2D(SHAPE[-1], 1)(x)


@pytest.fixture
def walks(monkeypatch):
    """How many training steps walked the graph (the lean forward pass)."""
    calls = []
    if not TORCH:
        return calls
    original = _torch_train_step._walk_graph

    def counting(*args, **kwargs):
        calls.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(_torch_train_step, "_walk_graph", counting)
    return calls


def _train(model_class, make_graph, epochs=2, **fit_kwargs):
    """History and weights of `model_class(*make_graph())` trained from seed 3."""
    keras.utils.set_random_seed(3)  # same initial weights for every class
    model = model_class(*make_graph())
    model.compile(keras.optimizers.Adam(), "mse")
    x, y = _data()
    fit_kwargs = {"batch_size": 8, "shuffle": False, "verbose": 0, **fit_kwargs}
    history = model.fit(x, y, epochs=epochs, **fit_kwargs)
    return model, history.history, model.get_weights()


def _assert_trains_like_keras_model(make_graph, **fit_kwargs):
    _assert_same_training(
        _train(FastModel, make_graph, **fit_kwargs),
        _train(keras.Model, make_graph, **fit_kwargs),
    )


def _assert_same_training(first, second):
    """Two `_train` results: equal histories and weights."""
    (_, first_logs, first_weights), (_, second_logs, second_weights) = first, second
    assert first_logs.keys() == second_logs.keys()
    for name in first_logs:
        np.testing.assert_allclose(first_logs[name], second_logs[name], rtol=1e-4)
    for got, want in zip(first_weights, second_weights, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_fast_model_is_the_functional_model_of_its_graph():
    inputs, outputs = _rows_graph()
    fast, plain = FastModel(inputs, outputs), keras.Model(inputs, outputs)
    assert isinstance(fast, keras.Model)
    assert fast.count_params() == plain.count_params() > 0
    x, _ = _data(count=5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(fast(x)), keras.ops.convert_to_numpy(plain(x))
    )
    np.testing.assert_array_equal(
        fast.predict(x, batch_size=2, verbose=0),
        plain.predict(x, batch_size=2, verbose=0),
    )


@pytest.mark.parametrize(
    "blur", [{"sigma": 1.0}, {"sigma_range": (0.5, 1.5), "seed": 1}], ids=str
)
def test_fast_model_trains_like_keras_model(blur, walks):
    _assert_trains_like_keras_model(lambda: _rows_graph(blur))
    # 2 epochs x 3 batches walked on torch; other backends compile Keras' step.
    assert len(walks) == (6 if TORCH else 0)


def test_fast_model_shuffles_and_validates_like_keras_model(walks):
    _assert_trains_like_keras_model(_rows_graph, shuffle=True, validation_split=0.25)
    assert len(walks) == (6 if TORCH else 0)


def test_graph_with_other_layers_trains_like_keras_model(walks):
    _assert_trains_like_keras_model(_conv_graph)
    assert walks == []  # Conv2D is not on the walk's list: Keras' forward


def test_fast_train_step_false_runs_keras_step(walks):
    keras.utils.set_random_seed(3)
    model = FastModel(*_rows_graph())
    model.compile("adam", "mse")
    model.fast_train_step = False
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert walks == []


def test_fast_model_saves_and_loads_as_fast_model(tmp_path):
    model = FastModel(*_rows_graph(), name="restorer")
    model.compile("adam", "mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_saving_round_trip(model, x[:4], tmp_path)
    assert loaded.name == "restorer"
    assert loaded.fast_train_step is True and loaded.fast_array_batches is True
    assert [type(layer) for layer in loaded.layers] == [
        type(layer) for layer in model.layers
    ]
    # The optimizer state came back too: the next epoch trains the same.
    for trained in (model, loaded):
        trained.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("call", ["fit", "predict"])
def test_wrong_input_shape_gets_keras_own_error(call):
    # After a first `fit`, so the model is built and a wrong batch reaches the
    # step itself (the walk must decline it), not only Keras' first build.
    x, y = _data()
    errors = []
    for model_class in (FastModel, keras.Model):
        model = model_class(*_rows_graph(), name="restorer")
        model.compile("adam", "mse")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        with pytest.raises(Exception) as error:  # noqa: B017 (Keras' own, compared)
            if call == "fit":
                model.fit(x[:, :, :4], y[:, :, :4], batch_size=8, verbose=0)
            else:
                model.predict(x[:, :, :4], batch_size=8, verbose=0)
        errors.append((type(error.value), str(error.value)))
    assert errors[0] == errors[1]
    # What Keras raises differs by backend (TensorFlow retraces with a relaxed
    # shape, JAX fails in the cell); torch's is the input-spec check.
    if TORCH:
        assert errors[0][0] is ValueError
        assert "incompatible" in errors[0][1] and "(8, 6, 4, 2)" in errors[0][1]


def test_fast_model_needs_inputs_and_outputs():
    with pytest.raises(TypeError, match="inputs"):
        FastModel()


@pytest.mark.parametrize("name", ["fast_train_step", "fast_array_batches"])
def test_fast_attributes_must_be_bool(name):
    model = FastModel(*_rows_graph())
    with pytest.raises(ValueError, match=rf"`{name}` must be True or False.*'yes'"):
        setattr(model, name, "yes")
    assert getattr(model, name) is True


def _nested_graph(inner="fast_model", depth=1):
    """Images -> blur -> a model nested `depth` deep: `(inputs, outputs)`.

    `inner` is the innermost model: a `FastModel` of `_restorer`'s layers,
    the toolkit's `LSTMAutoencoder`, or a `keras.Model` with a `Conv2D` (a
    graph the walk declines).
    """
    if inner == "lstm_autoencoder":
        from keras_seqimage.models import LSTMAutoencoder

        model = LSTMAutoencoder(image_shape=SHAPE, encoder_units=(7,))
    elif inner == "conv":
        model = keras.Model(*_conv_graph())
    else:
        images = keras.Input(SHAPE)
        model = FastModel(images, _restorer(images))
    for _ in range(depth - 1):
        images = keras.Input(SHAPE)
        model = keras.Model(images, model(images))
    images = keras.Input(SHAPE)
    return images, model(GaussianBlurLayer(sigma=1.0)(images))


def _symbolic(value):
    device = getattr(value, "device", None)
    return isinstance(value, keras.KerasTensor) or getattr(device, "type", "") == "meta"


@pytest.fixture
def layer_calls(monkeypatch):
    """Names of the layers (models too) whose `__call__` ran on data.

    Not on `keras.Input`s or on torch's shape-only "meta" tensors (Keras'
    symbolic build on torch).
    """
    calls = []
    original = keras.Layer.__call__

    def counting(self, *args, **kwargs):
        if not any(map(_symbolic, keras.tree.flatten(args))):
            calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Layer, "__call__", counting)
    return calls


@pytest.mark.parametrize(
    "inner, depth",
    [("fast_model", 1), ("lstm_autoencoder", 1), ("fast_model", 2)],
    ids=["fast_model", "lstm_autoencoder", "two_deep"],
)
def test_nested_model_trains_like_keras_model(inner, depth, walks, layer_calls):
    make_graph = lambda: _nested_graph(inner, depth)  # noqa: E731
    x, _ = _data(seed=1, count=10)
    fast = _train(FastModel, make_graph)
    fast_predictions = fast[0].predict(x, batch_size=4, verbose=0)
    fast_calls = list(layer_calls)
    layer_calls.clear()
    plain = _train(keras.Model, make_graph)
    _assert_same_training(fast, plain)
    np.testing.assert_allclose(
        fast_predictions, plain[0].predict(x, batch_size=4, verbose=0), atol=1e-6
    )
    if TORCH:
        assert len(walks) == 6  # 2 epochs x 3 batches
        # Keras' steps call every layer, the nested models and theirs, at each
        # of the 6 training and 3 predict steps: the blur, the nested models,
        # rows, FastLSTM, Dense, image. The walk went into the nested models
        # and called no layer's `__call__`.
        assert len(layer_calls) >= 9 * (depth + 5)
        assert fast_calls == []
    else:
        assert walks == []  # TensorFlow and JAX compile Keras' step


def test_nested_model_the_walk_declines_trains_like_keras_model(walks):
    _assert_trains_like_keras_model(lambda: _nested_graph("conv"))
    assert walks == []  # the nested model has a Conv2D: Keras' forward


@pytest.mark.skipif(
    not TORCH, reason="the walk is torch's; TensorFlow and JAX check when tracing"
)
def test_nested_toolkit_model_checks_its_inputs_in_the_walk(monkeypatch):
    from keras_seqimage.models import LSTMAutoencoder

    checked = []
    original = LSTMAutoencoder._check_inputs

    def counting(self, inputs):
        checked.append(tuple(inputs.shape))
        return original(self, inputs)

    monkeypatch.setattr(LSTMAutoencoder, "_check_inputs", counting)
    keras.utils.set_random_seed(3)
    model = FastModel(*_nested_graph("lstm_autoencoder"))
    model.compile("adam", "mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    # Once per step, as the toolkit model's own `call` checks (the walk or not).
    assert checked[-3:] == [(8, *SHAPE)] * 3


def test_fast_model_with_a_nested_toolkit_model_saves_and_loads(tmp_path):
    from keras_seqimage.models import LSTMAutoencoder

    model = FastModel(*_nested_graph("lstm_autoencoder"))
    model.compile("adam", "mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    loaded = assert_saving_round_trip(model, x[:4], tmp_path)
    inner = [layer for layer in loaded.layers if isinstance(layer, keras.Model)]
    assert [type(layer) for layer in inner] == [LSTMAutoencoder]
    # Loaded, it predicts through the walk on torch as the original does.
    np.testing.assert_allclose(
        loaded.predict(x, batch_size=8, verbose=0),
        model.predict(x, batch_size=8, verbose=0),
        atol=1e-6,
    )


def _outputs_and_weights(model, x):
    return model.predict(x, verbose=0), [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("refused", ["wrong shape", "uint8 into a toolkit model"])
def test_a_refused_call_leaves_the_trained_model_usable(refused, tmp_path):
    """fit, a refused predict, then predict / save / get_weights work the same.

    On JAX Keras' loops take the variables out of the model while they run; a
    batch refused inside the loop used to leave them empty.
    """
    from keras_seqimage.models import LSTMAutoencoder

    keras.utils.set_random_seed(1)
    if refused == "wrong shape":
        model = FastModel(*_rows_graph())
        bad = np.zeros((2, SHAPE[0], SHAPE[1] + 1, SHAPE[2]), "float32")
    else:
        model = LSTMAutoencoder(image_shape=SHAPE, encoder_units=(7, 4))
        bad = np.zeros((2, *SHAPE), "uint8")
    model.compile("adam", "mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before, weights = _outputs_and_weights(model, x)
    # Keras' own error for a plain graph (JAX: a TypeError from the LSTM cell).
    with pytest.raises((ValueError, TypeError)):
        model.predict(bad, verbose=0)
    with pytest.raises((ValueError, TypeError)):
        model.fit(bad, bad, verbose=0)
    after, weights_after = _outputs_and_weights(model, x)
    np.testing.assert_array_equal(after, before)
    for got, want in zip(weights_after, weights, strict=True):
        np.testing.assert_array_equal(got, want)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, atol=1e-6)
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
