"""torch's own ops for the toolkit's hot paths, where `keras.ops` calls them anyway.

On the torch backend, `keras.ops.matmul(x, y)`, `add` and `reshape` of
float32 tensors on Keras' device are `torch.matmul`, `torch.add` and
`torch.reshape` after a symbolic-tensor check over the argument tree, dtype
resolution, a device check and, for numpy constants, a conversion at every
call. The hot paths (the blur, the row-sequence layers, `Dense` in
`FastModel`'s walk) run those ops a few dozen times per step, so
`native_ops(x)` hands them torch's functions for a float32 CPU tensor when
Keras' torch device is the CPU, and `keras.ops` for everything else: other
dtypes and devices (Keras may first move a tensor to its device, or make a
real tensor of a shape-only "meta" one, which only `keras.ops` does). The
same ops in the same order: the results are bit-identical either way.
"""

import functools
import types

import keras
import torch

from keras_seqimage.backend import compat
from keras_seqimage.backend.generic import KERAS_OPS, float_array


def native_ops(x):
    """`matmul`, `add`, `reshape` and `constant(array, dtype)` for tensor `x`.

    torch's own functions for a float32 torch tensor on the CPU with Keras'
    torch device the CPU (`constant` converting each read-only array once,
    `torch_constant`), else `KERAS_OPS`.
    """
    if (
        isinstance(x, torch.Tensor)
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and keras_device_is_cpu()
    ):
        return _torch_ops()
    return KERAS_OPS


def keras_device_is_cpu():
    """Whether Keras' torch device (where its tensors and logs live) is the CPU."""
    return torch.device(compat.torch_device()).type == "cpu"


def convert_to_tensor(x, dtype=None):
    """`keras.ops.convert_to_tensor(x, dtype)` on the torch backend, less its dispatch.

    For a tensor or variable, that op is the backend's `convert_to_tensor`
    (the variable's value, moved to Keras' device, cast) after a
    symbolic-tensor check over its argument tree. A `KerasTensor` still
    takes `keras.ops`.
    """
    if isinstance(x, keras.KerasTensor):
        return keras.ops.convert_to_tensor(x, dtype)
    return compat.torch_convert_to_tensor(x, dtype)


@functools.cache
def _torch_ops():
    """`native_ops` for torch's float32 CPU tensors (made once)."""
    return types.SimpleNamespace(
        matmul=torch.matmul,
        add=torch.add,
        reshape=torch.reshape,
        constant=torch_constant,
    )


_TORCH_CONSTANTS = {}
_TORCH_CONSTANTS_MAX = 64


def torch_constant(array, dtype):
    """`constant(array, dtype)` as a torch tensor on the CPU.

    A read-only array (the blur's cached filter matrices) is converted once
    per dtype: the entry keeps the array, so its `id` stays its own. The
    tensor never shares the array's memory (`float_array` copies a float64
    array to float32, and the shortcut is float32's).
    """
    if array.flags.writeable:
        return torch.as_tensor(float_array(array, dtype))
    key = (id(array), dtype)
    entry = _TORCH_CONSTANTS.get(key)
    if entry is None or entry[0] is not array:
        if len(_TORCH_CONSTANTS) >= _TORCH_CONSTANTS_MAX:
            _TORCH_CONSTANTS.clear()
        tensor = torch.as_tensor(float_array(array, dtype))
        entry = _TORCH_CONSTANTS[key] = (array, tensor)
    return entry[1]
