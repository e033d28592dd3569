"""FastLSTM: the fused path equals keras.layers.LSTM (outputs, gradients, training).

The fused kernel exists on the torch backend only. CI runs pytest on TensorFlow
and JAX, so `test_torch_backend_subprocess` reruns this file with
`KERAS_BACKEND=torch` in a subprocess when torch is installed (skipped if not).
"""

import importlib.util

import keras
import numpy as np
import pytest

from keras_seqimage.layers import FastLSTM, fast_lstm
from keras_seqimage.models import LSTMAutoencoder
from tests.helpers import (
    assert_config_round_trip,
    assert_file_passes_on_torch,
    assert_saving_round_trip,
)

TORCH = keras.backend.backend() == "torch"
HAS_TORCH = importlib.util.find_spec("torch") is not None

CASES = [
    {"return_sequences": True},
    {},
    {"return_sequences": True, "go_backwards": True},
    {"return_sequences": True, "use_bias": False},
    {"return_state": True},
    {"return_sequences": True, "unit_forget_bias": False},
]


def _pair(units=6, features=5, steps=7, **kwargs):
    """A fused layer and a reference layer (`fused=False`) with equal weights."""
    fast = FastLSTM(units, **kwargs)
    reference = FastLSTM(units, fused=False, **kwargs)
    fast.build((None, steps, features))
    reference.build((None, steps, features))
    rng = np.random.default_rng(1)
    # Random (not initial) weights: a nonzero bias everywhere tests its layout.
    weights = [0.3 * rng.standard_normal(w.shape) for w in fast.get_weights()]
    fast.set_weights(weights)
    reference.set_weights(weights)
    return fast, reference


def _numpy(outputs):
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [keras.ops.convert_to_numpy(o) for o in outputs]


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts calls of the fused kernel (so a test knows it ran)."""
    calls = []
    if not TORCH:
        return calls
    from keras_seqimage.backend.torch import lstm

    original = lstm.fused_lstm

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(lstm, "fused_lstm", counting)
    return calls


def test_is_a_keras_lstm_with_the_same_weights():
    layer = FastLSTM(8, return_sequences=True)
    layer.build((None, 4, 3))
    stock = keras.layers.LSTM(8, return_sequences=True)
    stock.build((None, 4, 3))
    assert isinstance(layer, keras.layers.LSTM)
    assert [w.shape for w in layer.weights] == [w.shape for w in stock.weights]
    assert layer.count_params() == stock.count_params() == 4 * 8 * (3 + 8 + 1)


@pytest.mark.parametrize("kwargs", CASES)
def test_same_outputs_as_keras_lstm(kwargs, fused_calls):
    fast, reference = _pair(**kwargs)
    x = np.random.default_rng(2).standard_normal((4, 7, 5)).astype("float32")
    for got, want in zip(_numpy(fast(x)), _numpy(reference(x)), strict=True):
        np.testing.assert_allclose(got, want, atol=2e-6, rtol=1e-5)
    # The fused kernel ran exactly on the torch backend, never elsewhere.
    assert len(fused_calls) == (1 if TORCH else 0)


def test_fallback_when_fused_cannot_apply(fused_calls):
    x = np.random.default_rng(3).standard_normal((2, 4, 3)).astype("float32")
    for kwargs in (
        {"activation": "relu"},
        {"recurrent_activation": "hard_sigmoid"},
        {"recurrent_dropout": 0.5},
        {"unroll": True},
    ):
        fast, reference = _pair(units=4, features=3, steps=4, **kwargs)
        assert not fast_lstm.fused_lstm_supported(fast)
        np.testing.assert_allclose(
            _numpy(fast(x))[0], _numpy(reference(x))[0], atol=1e-6
        )
    assert fused_calls == []


def test_initial_state_and_stateful_layers_match_keras_lstm(fused_calls):
    # Both skip FastLSTM's shortcut in `call` for Keras' state set-up, then run
    # the fused kernel from `inner_loop`.
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    states = [rng.standard_normal((2, 5)).astype("float32") for _ in range(2)]
    fast, reference = _pair(units=5, features=3, steps=4, return_sequences=True)
    np.testing.assert_allclose(
        _numpy(fast(x, initial_state=states))[0],
        _numpy(reference(x, initial_state=states))[0],
        atol=2e-6,
    )
    # Stateful: the batch size is part of the state, so built with it.
    fast = FastLSTM(5, stateful=True)
    reference = FastLSTM(5, stateful=True, fused=False)
    for layer in (fast, reference):
        layer.build((2, 4, 3))
    reference.set_weights(fast.get_weights())
    for _ in range(2):  # the second call starts from the first call's states
        np.testing.assert_allclose(
            _numpy(fast(x))[0], _numpy(reference(x))[0], atol=2e-6
        )
    assert len(fused_calls) == (3 if TORCH else 0)


def test_masked_input_uses_the_stock_path(fused_calls):
    fast, reference = _pair(units=4, features=3, steps=4, return_sequences=True)
    x = np.random.default_rng(4).standard_normal((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    np.testing.assert_allclose(
        _numpy(fast(x, mask=mask))[0],
        _numpy(reference(x, mask=mask))[0],
        atol=1e-6,
    )
    assert fused_calls == []


@pytest.mark.skipif(not TORCH, reason="gradients through the fused op: torch")
@pytest.mark.parametrize("kwargs", CASES)
def test_same_gradients_as_keras_lstm(kwargs, fused_calls):
    import torch

    fast, reference = _pair(**kwargs)
    x = np.random.default_rng(5).standard_normal((4, 7, 5)).astype("float32")
    grads = []
    for layer in (fast, reference):
        inputs = torch.tensor(x, requires_grad=True)
        outputs = layer(inputs)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        # A weighted sum, so every output position has its own gradient.
        loss = sum(
            (o * torch.linspace(-1, 1, o.numel()).view(o.shape)).sum() for o in outputs
        )
        variables = [v.value for v in layer.trainable_variables]
        grads.append(torch.autograd.grad(loss, [inputs, *variables]))
    for got, want in zip(*grads, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5, rtol=1e-4)
    assert len(fused_calls) == 1


def test_training_steps_match_keras_lstm(fused_calls):
    fast, reference = _pair(units=6, features=5, steps=7, return_sequences=True)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 7, 5)).astype("float32")
    y = rng.standard_normal((16, 7, 6)).astype("float32")
    losses = []
    for layer in (fast, reference):
        model = keras.Sequential([keras.Input((7, 5)), layer])
        model.compile(keras.optimizers.Adam(1e-2), "mse")
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        losses.append(history.history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    for a, b in zip(fast.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # 2 epochs x 2 batches (plus Keras' symbolic build on torch).
    assert (len(fused_calls) >= 4) if TORCH else (fused_calls == [])


def test_input_dropout_in_training_keeps_shapes_and_is_off_at_inference():
    fast, reference = _pair(units=4, features=3, steps=4, dropout=0.5)
    x = np.random.default_rng(7).standard_normal((2, 4, 3)).astype("float32")
    assert _numpy(fast(x, training=True))[0].shape == (2, 4)
    np.testing.assert_allclose(_numpy(fast(x))[0], _numpy(reference(x))[0], atol=1e-6)


def test_config_and_saving_round_trip(tmp_path):
    layer = FastLSTM(5, return_sequences=True, fused=False, name="rows")
    clone = assert_config_round_trip(layer)
    assert clone.fused is False and clone.units == 5
    model = keras.Sequential([keras.Input((4, 3)), FastLSTM(5), keras.layers.Dense(2)])
    x = np.random.default_rng(8).standard_normal((2, 4, 3)).astype("float32")
    loaded = assert_saving_round_trip(model, x, tmp_path)
    assert isinstance(loaded.layers[0], FastLSTM) and loaded.layers[0].fused


@pytest.mark.skipif(not TORCH, reason="the memory order is torch's")
def test_kernels_keep_keras_shapes_and_values_in_torch_memory_order():
    fast, reference = _pair(units=6, features=5)
    for kernel in (fast.cell.kernel, fast.cell.recurrent_kernel):
        assert kernel.value.stride() == (1, kernel.shape[0])  # kernel.T: contiguous
    # `fused=False` is the stock layer, Keras' own memory order included.
    assert reference.cell.kernel.value.is_contiguous()
    for got, want in zip(fast.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    # torch's view of each module holds the tensors its Keras variables hold.
    model = keras.Sequential([keras.Input((7, 5)), fast])
    for module in (fast.cell, fast, model):
        parameters = {id(p) for p in module.parameters()}
        assert parameters == {id(v.value) for v in module.variables}, module


@pytest.mark.skipif(not TORCH, reason="the fused path's conversions are torch's")
def test_fused_path_converts_as_keras_ops_does():
    """The fast path's `convert_to_tensor` is `keras.ops`' without its dispatch."""
    import torch

    from keras_seqimage.backend.torch import native as _native_ops

    layer, _ = _pair()
    kernel = layer.cell.kernel
    assert _native_ops.convert_to_tensor(kernel) is keras.ops.convert_to_tensor(kernel)
    halves = torch.ones(2, 3, dtype=torch.float16)
    assert _native_ops.convert_to_tensor(halves, "float32").dtype == torch.float32
    symbolic = _native_ops.convert_to_tensor(keras.KerasTensor((2, 3)), "float32")
    assert isinstance(symbolic, keras.KerasTensor)


def test_autoencoder_uses_fast_lstm_with_unchanged_parameter_count():
    model = LSTMAutoencoder.from_preset("lstm_sequence_128_64")
    recurrent = [layer for layer in model.layers if isinstance(layer, FastLSTM)]
    assert [layer.units for layer in recurrent] == [128, 64]
    assert model.count_params() == 170_848


def test_fused_must_be_bool():
    with pytest.raises(ValueError, match=r"`fused` must be .*Received: fused='yes'"):
        FastLSTM(4, fused="yes")


@pytest.mark.skipif(TORCH, reason="already running on the torch backend")
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_backend_subprocess():
    """Run this file on the torch backend, where the fused path exists."""
    assert_file_passes_on_torch(__file__)
