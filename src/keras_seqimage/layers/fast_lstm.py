"""`FastLSTM`: `keras.layers.LSTM` that runs PyTorch's fused LSTM kernel when it can."""

import keras

from keras_seqimage._native_ops import convert_to_tensor
from keras_seqimage._torch_layout import set_memory_layout, transposed_strides
from keras_seqimage._validation import check_bool


def fused_lstm_supported(layer, mask=None, training=False):
    """Whether `layer` can run through the fused kernel for this call.

    True on the torch backend for the standard cell (tanh, sigmoid gates),
    not unrolled, no mask, no recurrent dropout, float32 or float64 weights
    and compute dtype (Keras' own cuDNN conditions, without the GPU). Input
    dropout is supported: it is applied to the sequence before the kernel,
    as Keras' cuDNN path does.
    """
    if keras.backend.backend() != "torch" or not layer.fused:
        return False
    if mask is not None or layer.unroll or layer.recurrent_dropout:
        return False
    cell = layer.cell
    if cell.activation not in (keras.activations.tanh, keras.ops.tanh):
        return False
    if cell.recurrent_activation not in (
        keras.activations.sigmoid,
        keras.ops.sigmoid,
    ):
        return False
    return layer.compute_dtype in ("float32", "float64") and (
        layer.variable_dtype == layer.compute_dtype
    )


def _torch_fused_lstm(sequences, h, c, kernel, recurrent_kernel, bias, backwards):
    """One LSTM layer through `torch._VF.lstm` (oneDNN on CPU, cuDNN on GPU).

    Keras stores `kernel` as `(input_dim, 4 * units)` with gates (i, f, c, o),
    torch as `(4 * units, input_dim)` with gates (i, f, g, o): the same order,
    so a transpose is the whole conversion. Keras' single bias becomes torch's
    `b_ih`, and `b_hh` is left out (`has_biases=False` drops both, so a zero
    `b_hh` is passed when there is a bias). Gradients flow to the Keras
    variables through the transposes.
    """
    import torch

    if backwards:
        sequences = torch.flip(sequences, dims=[1])
    params = [kernel.T, recurrent_kernel.T]
    if bias is not None:
        params += [bias, torch.zeros_like(bias)]
    outputs, h_n, c_n = torch._VF.lstm(
        sequences,
        (h.unsqueeze(0), c.unsqueeze(0)),
        params,
        bias is not None,  # has_biases
        1,  # num_layers
        0.0,  # dropout
        torch.is_grad_enabled(),  # train: keep what backward needs
        False,  # bidirectional
        True,  # batch_first
    )
    h_n, c_n = h_n.squeeze(0), c_n.squeeze(0)
    return h_n, outputs, [h_n, c_n]


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

    def __init__(self, units, fused=True, **kwargs):
        super().__init__(units, **kwargs)
        self.fused = check_bool("fused", fused)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        if keras.backend.backend() == "torch" and self.fused:
            self._store_kernels_in_torch_order()

    def _store_kernels_in_torch_order(self):
        """Back `kernel` `(input_dim, 4 * units)` with a contiguous transpose.

        Keras' shape, values and saved weights are unchanged; `kernel.T`, the
        op's `(4 * units, input_dim)` weight, is then contiguous, which saves
        a copy of each kernel and of its gradient at every step.
        """
        cell = self.cell
        for variable in (cell.kernel, cell.recurrent_kernel):
            set_memory_layout(variable, transposed_strides(variable.shape))
        if hasattr(cell, "_torch_params"):
            cell._track_variables()  # register the new torch parameters

    def call(self, sequences, initial_state=None, mask=None, training=False):
        # The common case straight to the kernel: `RNN.call`'s state set-up
        # (zero states through `keras.ops`, casts, dropout-mask bookkeeping)
        # costs about as much Python as the rest of the layer.
        if (
            initial_state is None
            and not self.stateful
            and not (training and self.dropout)
            and fused_lstm_supported(self, mask=mask, training=training)
        ):
            import torch

            sequences = convert_to_tensor(sequences, self.compute_dtype)
            zeros = torch.zeros(
                (sequences.shape[0], self.units),
                dtype=sequences.dtype,
                device=sequences.device,
            )
            last_output, outputs, states = self._fused_loop(sequences, zeros, zeros)
            output = outputs if self.return_sequences else last_output
            return (output, *states) if self.return_state else output
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not fused_lstm_supported(self, mask=mask, training=training):
            return super().inner_loop(
                sequences, initial_state, mask=mask, training=training
            )
        if training and self.dropout:
            dropout_mask = self.cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * keras.ops.expand_dims(dropout_mask, axis=1)
        return self._fused_loop(
            convert_to_tensor(sequences, self.compute_dtype),
            convert_to_tensor(initial_state[0]),
            convert_to_tensor(initial_state[1]),
        )

    def _fused_loop(self, sequences, h, c):
        """`(last_output, outputs, [h, c])` of the fused kernel (torch tensors)."""
        cell = self.cell
        bias = cell.bias if cell.use_bias else None
        return _torch_fused_lstm(
            sequences,
            h,
            c,
            convert_to_tensor(cell.kernel),
            convert_to_tensor(cell.recurrent_kernel),
            None if bias is None else convert_to_tensor(bias),
            self.go_backwards,
        )

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}
