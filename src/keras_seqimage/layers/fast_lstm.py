"""`FastLSTM`: `keras.layers.LSTM` that runs PyTorch's fused LSTM kernel when it can."""

import keras

from keras_seqimage import backend
from keras_seqimage._validation import check_bool


def fused_lstm_supported(layer, mask=None, training=False):
    """Whether `layer` (a `FastLSTM`) runs through the fused kernel for this call.

    On the torch backend with its fast path on (`keras_seqimage.backend`),
    for the standard cell (tanh, sigmoid gates), not unrolled, no mask, no
    recurrent dropout, float32 or float64 weights and compute dtype (Keras'
    own cuDNN conditions, without the GPU). Input dropout is supported: it
    is applied to the sequence before the kernel, as Keras' cuDNN path does.
    """
    fast = backend.fast_path()
    return fast is not None and fast.fused_lstm_supported(layer, mask, training)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class FastLSTM(keras.layers.LSTM):
    """Long Short-Term Memory layer with a fused kernel on the torch backend.

    Exactly `keras.layers.LSTM` (same arguments, weights, initialisers,
    results and saved weights), except where it runs: on the torch backend,
    on CPU as well as GPU, the whole sequence goes through PyTorch's fused LSTM
    op (`torch._VF.lstm`, the kernel behind `torch.nn.LSTM`: oneDNN on CPU,
    cuDNN on GPU) with the Keras variables as its weights. Stock Keras uses
    that op only on CUDA and loops over time steps in Python on CPU. On torch
    the two kernels keep Keras' shapes and values but are stored in torch's
    memory order, so the op reads them without a transposed copy.

    The fused path is taken when the cell is the standard one (`tanh`
    activation, `sigmoid` recurrent activation), not unrolled, with no mask,
    no recurrent dropout and a float32 or float64 dtype policy; input dropout
    is supported. Everything else, and every other backend, calls
    `keras.layers.LSTM` (including its cuDNN paths on GPU). See
    `fused_lstm_supported`.

    Args:
        units: int, dimensionality of the output space.
        fused: bool, use the fused kernel where it applies. `False` always
            runs the stock Keras code (the reference path of the tests).
            Defaults to `True`.
        **kwargs: every other `keras.layers.LSTM` argument (`activation`,
            `return_sequences`, `go_backwards`, `dropout`, ...).

    Input shape:
        3D tensor `(batch, timesteps, features)`.

    Output shape:
        As `keras.layers.LSTM`: `(batch, timesteps, units)` with
        `return_sequences=True`, else `(batch, units)`; plus the final
        states with `return_state=True`.

    Example:

    >>> import numpy as np
    >>> layer = FastLSTM(8, return_sequences=True)
    >>> rows = np.random.rand(2, 5, 3).astype("float32")
    >>> tuple(layer(rows).shape)
    (2, 5, 8)
    >>> reference = keras.layers.LSTM(8, return_sequences=True)
    >>> reference.build((None, 5, 3))
    >>> reference.set_weights(layer.get_weights())
    >>> outputs = keras.ops.convert_to_numpy(layer(rows))
    >>> expected = keras.ops.convert_to_numpy(reference(rows))
    >>> bool(np.allclose(outputs, expected, atol=1e-6))
    True
    """

    # `call` needs nothing from `Layer.__call__` but an explicit `training`:
    # `FastModel`'s fast path may run it directly.
    supports_direct_call = True

    def __init__(self, units, fused=True, **kwargs):
        super().__init__(units, **kwargs)
        self.fused = check_bool("fused", fused)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        fast = backend.fast_path()
        if fast is not None and self.fused:
            # Keras' shape, values and saved weights are unchanged.
            fast.store_kernels_in_torch_order(self)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        fast = backend.fast_path()
        if (
            fast is not None
            and initial_state is None
            and not self.stateful
            and not (training and self.dropout)
        ):
            outputs = fast.fused_lstm_call(self, sequences, mask, training)
            if outputs is not None:
                return outputs
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        fast = backend.fast_path()
        if fast is not None:
            result = fast.fused_lstm_inner_loop(
                self, sequences, initial_state, mask, training
            )
            if result is not None:
                return result
        return super().inner_loop(
            sequences, initial_state, mask=mask, training=training
        )

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}
