"""torch's own ops for the toolkit's hot paths, where `keras.ops` calls them anyway.

On the torch backend, `keras.ops.matmul(x, y)`, `add` and `reshape` of
float32 tensors on Keras' device are `torch.matmul`, `torch.add` and
`torch.reshape` after 15-50 microseconds of Python each (a symbolic-tensor
check over the argument tree, dtype resolution, a device check, converting
numpy constants at every call). In a step of source 000's model those ops run
a few dozen times; `native_ops(x)` hands the hot paths (the blur, the
row-sequence layers, `Dense` in `FastModel`'s walk) the torch functions for
a float32 CPU tensor when Keras' torch device is the CPU, and `keras.ops`
for everything else: other backends, dtypes and devices (Keras may first
move a tensor to its device, or make a real tensor of a shape-only "meta"
one, which only `keras.ops` does). The same ops in the same order: the
results are bit-identical either way.
"""

import functools
import types

import keras
import numpy as np


def native_ops(x):
    """`matmul`, `add`, `reshape` and `constant(array, dtype)` for tensor `x`.

    torch's own functions for a float32 torch tensor on the CPU with Keras'
    torch device the CPU (`constant` converting each read-only array once,
    `torch_constant`), else `KERAS_OPS`.
    """
    if keras.backend.backend() == "torch":
        import torch

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
    import torch
    from keras.src.backend.torch.core import get_device

    return torch.device(get_device()).type == "cpu"


def convert_to_tensor(x, dtype=None):
    """`keras.ops.convert_to_tensor(x, dtype)` on the torch backend, less its dispatch.

    For a tensor or variable, that op is the backend's `convert_to_tensor`
    (the variable's value, moved to Keras' device, cast) after a
    symbolic-tensor check over its argument tree: about 20 microseconds of
    Python, four times per `FastLSTM` call. A `KerasTensor` still takes
    `keras.ops`. Torch only (`FastLSTM`'s fused path).
    """
    if isinstance(x, keras.KerasTensor):
        return keras.ops.convert_to_tensor(x, dtype)
    from keras.src.backend.torch.core import convert_to_tensor as torch_convert

    return torch_convert(x, dtype)


def constant(array, dtype):
    """A numpy float64 array as a tensor of `dtype` (no float64 on JAX)."""
    return keras.ops.convert_to_tensor(float_array(array, dtype), dtype=dtype)


def float_array(array, dtype):
    return np.asarray(array, "float64" if dtype == "float64" else "float32")


# `native_ops` for every tensor but torch's float32 CPU ones.
KERAS_OPS = types.SimpleNamespace(
    matmul=keras.ops.matmul,
    add=keras.ops.add,
    reshape=keras.ops.reshape,
    constant=constant,
)


@functools.cache
def _torch_ops():
    """`native_ops` for torch's float32 CPU tensors (made once; torch imported here)."""
    import torch

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
    import torch

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
