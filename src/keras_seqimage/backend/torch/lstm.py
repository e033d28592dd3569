"""`FastLSTM`'s fused kernel: a whole LSTM layer in one call of torch's op.

Stock Keras runs torch's fused LSTM op (`torch._VF.lstm`, behind
`torch.nn.LSTM`: oneDNN on CPU, cuDNN on GPU) only on CUDA, and loops over
time steps in Python on the CPU. `FastLSTM` asks for it here on every
device; `None` from a function below means "not this call": the layer then
runs `keras.layers.LSTM`'s own code.
"""

import keras
import torch

from keras_seqimage.backend import compat
from keras_seqimage.backend.torch.layout import set_memory_layout, transposed_strides
from keras_seqimage.backend.torch.native import convert_to_tensor


def fused_lstm_supported(layer, mask=None, training=False):
    """Whether `layer` (a `FastLSTM`) can run through the fused kernel.

    For the standard cell (tanh, sigmoid gates), not unrolled, no mask, no
    recurrent dropout, float32 or float64 weights and compute dtype (Keras'
    own cuDNN conditions, without the GPU). Input dropout is supported: it
    is applied to the sequence before the kernel, as Keras' cuDNN path does.
    """
    if not layer.fused or mask is not None or layer.unroll or layer.recurrent_dropout:
        return False
    cell = layer.cell
    if cell.activation not in (keras.activations.tanh, keras.ops.tanh):
        return False
    if cell.recurrent_activation not in (keras.activations.sigmoid, keras.ops.sigmoid):
        return False
    return layer.compute_dtype in ("float32", "float64") and (
        layer.variable_dtype == layer.compute_dtype
    )


def store_kernels_in_torch_order(layer):
    """Back `kernel` `(input_dim, 4 * units)` with a contiguous transpose.

    Keras' shape, values and saved weights are unchanged; `kernel.T`, the
    op's `(4 * units, input_dim)` weight, is then contiguous, which saves a
    copy of each kernel and of its gradient at every step.
    """
    cell = layer.cell
    for variable in (cell.kernel, cell.recurrent_kernel):
        set_memory_layout(variable, transposed_strides(variable.shape))
    compat.retrack_torch_parameters(cell)


def fused_lstm_call(layer, sequences, mask, training):
    """`layer.call(sequences)` with zero initial states, or `None`.

    The common case straight to the kernel: `RNN.call`'s state set-up (zero
    states through `keras.ops`, casts, dropout-mask bookkeeping) costs about
    as much Python as the rest of the layer.
    """
    if not fused_lstm_supported(layer, mask=mask, training=training):
        return None
    sequences = convert_to_tensor(sequences, layer.compute_dtype)
    zeros = torch.zeros(
        (sequences.shape[0], layer.units),
        dtype=sequences.dtype,
        device=sequences.device,
    )
    last_output, outputs, states = fused_loop(layer, sequences, zeros, zeros)
    output = outputs if layer.return_sequences else last_output
    return (output, *states) if layer.return_state else output


def fused_lstm_inner_loop(layer, sequences, initial_state, mask, training):
    """`RNN.inner_loop`'s `(last_output, outputs, states)`, or `None`."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if not fused_lstm_supported(layer, mask=mask, training=training):
        return None
    if training and layer.dropout:
        dropout_mask = layer.cell.get_dropout_mask(sequences[:, 0, :])
        sequences = sequences * keras.ops.expand_dims(dropout_mask, axis=1)
    return fused_loop(
        layer,
        convert_to_tensor(sequences, layer.compute_dtype),
        convert_to_tensor(initial_state[0]),
        convert_to_tensor(initial_state[1]),
    )


def fused_loop(layer, sequences, h, c):
    """`(last_output, outputs, [h, c])` of the fused kernel (torch tensors)."""
    cell = layer.cell
    bias = cell.bias if cell.use_bias else None
    return fused_lstm(
        sequences,
        h,
        c,
        convert_to_tensor(cell.kernel),
        convert_to_tensor(cell.recurrent_kernel),
        None if bias is None else convert_to_tensor(bias),
        layer.go_backwards,
    )


def fused_lstm(sequences, h, c, kernel, recurrent_kernel, bias, backwards):
    """One LSTM layer through `torch._VF.lstm` (oneDNN on CPU, cuDNN on GPU).

    Keras stores `kernel` as `(input_dim, 4 * units)` with gates (i, f, c, o),
    torch as `(4 * units, input_dim)` with gates (i, f, g, o): the same order,
    so a transpose is the whole conversion. Keras' single bias becomes torch's
    `b_ih`, and `b_hh` is left out (`has_biases=False` drops both, so a zero
    `b_hh` is passed when there is a bias). Gradients flow to the Keras
    variables through the transposes.
    """
    if backwards:
        sequences = torch.flip(sequences, dims=[1])
    params = [kernel.T, recurrent_kernel.T]
    if bias is not None:
        params += [bias, torch.zeros_like(bias)]
    outputs, h_n, c_n = compat.fused_lstm_op()(
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
