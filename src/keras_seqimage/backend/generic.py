"""The `keras.ops` namespace that `native_ops` hands out off the fast path."""

import types

import keras
import numpy as np


def constant(array, dtype):
    """A numpy float64 array as a tensor of `dtype` (no float64 on JAX)."""
    return keras.ops.convert_to_tensor(float_array(array, dtype), dtype=dtype)


def float_array(array, dtype):
    """`array` as float64 for a float64 `dtype`, else float32."""
    return np.asarray(array, "float64" if dtype == "float64" else "float32")


#: `native_ops` for every tensor the backend's fast path does not take.
KERAS_OPS = types.SimpleNamespace(
    matmul=keras.ops.matmul,
    add=keras.ops.add,
    reshape=keras.ops.reshape,
    constant=constant,
)
