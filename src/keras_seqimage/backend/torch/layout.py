"""Memory layout of Keras variables on the torch backend (values unchanged).

A Keras variable's shape and values are its whole contract: the memory order
of the torch tensor behind it is free. `FastLSTM` keeps its kernels in
torch's `(4 * units, input_dim)` memory order behind Keras' `(input_dim,
4 * units)` shape, so the fused LSTM op reads them without a transposed copy;
the lean training step gives Adam's moment slots the same order as their
variable, which torch's fused Adam kernel needs (it walks memory, not
indices).
"""

import torch

from keras_seqimage.backend import compat


def transposed_strides(shape):
    """Strides of a 2-D tensor of `shape` stored as its contiguous transpose."""
    rows, _ = shape
    return (1, rows)


def set_memory_layout(variable, strides):
    """Store torch-backend Keras `variable` with `strides`, keeping its values.

    Does nothing if it has them already, or is uninitialised (created in a
    stateless scope). Otherwise the torch parameter is replaced, so layers that
    registered it with torch (`torch_params`) must register it again.
    """
    value = compat.variable_tensor(variable)
    if value is None or value.stride() == tuple(strides):
        return
    with torch.no_grad():
        relaid = torch.empty_strided(
            value.shape, strides, dtype=value.dtype, device=value.device
        )
        relaid.copy_(value)
    compat.set_variable_tensor(
        variable, torch.nn.Parameter(relaid, requires_grad=value.requires_grad)
    )
