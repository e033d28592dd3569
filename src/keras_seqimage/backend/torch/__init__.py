"""The torch backend's fast path (imported by the gate only, on torch).

What generic code calls, through `keras_seqimage.backend.fast_path()`:

- `train_step`, `predict_step`: `FastModel`'s leaner steps (`trainer.py`);
- `fit_arguments`, `predict_arrays`: its batching of numpy arrays and its
  callback list (`batches.py`, `callbacks.py`);
- `native_ops`: torch's own ops for the blur and the row-sequence layers
  (`native_ops.py`);
- `fused_lstm_*`, `store_kernels_in_torch_order`: `FastLSTM`'s fused kernel
  and its weights' memory order (`lstm.py`, `layout.py`).
"""

from keras_seqimage.backend.torch.batches import fit_arguments, predict_arrays
from keras_seqimage.backend.torch.lstm import (
    fused_lstm_call,
    fused_lstm_inner_loop,
    fused_lstm_supported,
    store_kernels_in_torch_order,
)
from keras_seqimage.backend.torch.native import native_ops
from keras_seqimage.backend.torch.trainer import (
    plan_for,
    torch_predict_step,
    torch_train_step,
)


def train_step(model, data):
    """`model`'s training step on `data`: Keras' step with the planned shortcuts."""
    return torch_train_step(model, data, plan=plan_for(model))


def predict_step(model, data):
    """`model`'s predict step as the planned walk, or `None`: Keras' step."""
    return torch_predict_step(model, data)


def values_at_hand(x):
    """Whether `x`'s values can be read now.

    Not for a "meta" tensor (shapes only: Keras' symbolic build on torch) or
    while `torch.compile` traces.
    """
    import torch

    if getattr(x, "is_meta", False):
        return False
    compiling = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return not (compiling and compiling())


__all__ = [
    "fit_arguments",
    "fused_lstm_call",
    "fused_lstm_inner_loop",
    "fused_lstm_supported",
    "native_ops",
    "predict_arrays",
    "predict_step",
    "store_kernels_in_torch_order",
    "train_step",
    "values_at_hand",
]
