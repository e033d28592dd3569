"""`FastModel`'s leaner batching of numpy arrays in `fit` and `predict` on torch.

Keras' `fit` on the torch backend batches numpy arrays through a
`torch.utils.data.DataLoader` whose sampler yields each batch as a list of
Python ints, gathers `x` and `y` with numpy fancy indexing and converts each
to a tensor, a measurable share of a small model's step (see
`docs/performance.md`). `array_batches` is the same batches for less:

- the same order: with `shuffle=True` the permutation is drawn exactly as
  Keras' `RandomSampler` draws it (a seed from torch's global generator,
  then `torch.randperm`), so `keras.utils.set_random_seed` gives the same
  batches, in the same order, either way; with `shuffle=False`, batches in
  order;
- cheaper batches: `index_select` on tensors that share the arrays' memory
  (no copy of the arrays), or plain slices (views) in order.

`predict` gathers each batch the same way (a copy made from a list of
ints), keeps each batch's output, copies every one to numpy and then
concatenates the copies: work beyond calling the model on slices.
`predict_arrays` runs the same loop (Keras' `predict_function`, callbacks
and progress bar) on slices of the array and copies each batch's output
once, into the array returned.

Both loops run their callbacks as a `LeanCallbackList` (Keras' list, minus
the batch hooks no callback implements; see `_torch_callbacks`), and so does
`fit` on a `keras.utils.PyDataset` (such as `datasets.CorruptedPairs`),
which keeps Keras' batching.

`FastModel.fit` uses `array_batches` on the torch backend unless the model's
`fast_array_batches` attribute is `False`, for the plain case only: `x` and
`y` numpy arrays of floatx (Keras casts other floats to floatx first), the
same length, no `sample_weight`, `class_weight` or `steps_per_epoch`, and
`shuffle` `True` or `False`. A `validation_split` is split off as Keras
does (the last samples, before any shuffling) and passed on as
`validation_data`. Anything else goes to Keras unchanged, which also raises
its own errors for bad input.
"""

import inspect
import math

import keras
import numpy as np
import torch

from keras_seqimage._validation import is_number
from keras_seqimage.backend.torch.callbacks import LeanCallbackList, fit_callbacks

KERAS_DEFAULT_BATCH_SIZE = 32


def fit_arguments(model, fit, args, kwargs):
    """`fit`'s arguments with numpy `x`, `y` replaced by `array_batches`.

    `fit` is Keras' `Model.fit` of `model` (its signature names the
    arguments); the callbacks become the list Keras would make, as a
    `LeanCallbackList`. A `keras.utils.PyDataset` `x` keeps Keras' batching
    with the lean callback list; any other call returns `(args, kwargs)`
    unchanged.
    """
    bound = inspect.signature(fit).bind(*args, **kwargs)
    arguments = bound.arguments
    x, y = arguments.get("x"), arguments.get("y")
    shuffle = arguments.get("shuffle", True)
    batch_size = arguments.get("batch_size") or KERAS_DEFAULT_BATCH_SIZE
    plain = (
        _plain_array(x)
        and _plain_array(y)
        and len(x) == len(y)
        and _plain_batch_size(batch_size)
        and isinstance(shuffle, bool)
        and arguments.get("sample_weight") is None
        and arguments.get("class_weight") is None
        and arguments.get("steps_per_epoch") is None
    )
    validation_split = arguments.get("validation_split")
    if plain and validation_split and arguments.get("validation_data") is None:
        # Keras' `train_validation_split`: the last samples validate.
        split_at = (
            math.floor(len(x) * (1.0 - validation_split))
            if is_number(validation_split)
            else 0
        )
        plain = 0 < split_at < len(x)  # else Keras raises its error
        arguments["validation_data"] = (x[split_at:], y[split_at:])
        x, y = x[:split_at], y[:split_at]
    if not plain:
        return _dataset_fit_arguments(model, bound, args, kwargs)
    arguments.pop("validation_split", None)
    arguments["x"] = batches = array_batches(x, y, batch_size, shuffle)
    arguments["callbacks"] = _lean_fit_callbacks(model, arguments, len(batches))
    arguments["y"] = None
    # Keras validates in batches of `validation_batch_size or batch_size`.
    arguments["validation_batch_size"] = arguments.get(
        "validation_batch_size"
    ) or arguments.get("batch_size")
    arguments["batch_size"] = None
    # The batches are shuffled already; Keras warns about `shuffle=True`.
    arguments["shuffle"] = False
    return bound.args, bound.kwargs


def _lean_fit_callbacks(model, arguments, num_batches):
    return fit_callbacks(
        model,
        arguments.get("callbacks"),
        verbose=arguments.get("verbose", "auto"),
        epochs=arguments.get("epochs", 1),
        steps_per_epoch=arguments.get("steps_per_epoch"),
        num_batches=num_batches,
    )


def _dataset_fit_arguments(model, bound, args, kwargs):
    """`fit`'s arguments with a lean callback list for a `PyDataset` `x`.

    The dataset keeps Keras' batching; only the callbacks become the list
    Keras would make, as a `LeanCallbackList`. Any other `x`, or a dataset
    whose `num_batches` raises (Keras reports that itself), leaves `args`
    and `kwargs` as they are.
    """
    arguments = bound.arguments
    if not isinstance(arguments.get("x"), keras.utils.PyDataset):
        return args, kwargs
    try:
        num_batches = arguments["x"].num_batches
    except Exception:
        return args, kwargs
    arguments["callbacks"] = _lean_fit_callbacks(model, arguments, num_batches)
    return bound.args, bound.kwargs


def predict_arrays(
    model, x, batch_size=None, verbose="auto", steps=None, callbacks=None
):
    """`model.predict(...)` for a numpy `x` of floatx, or `None`: not the case.

    The plain case is Keras' `predict` arguments with `steps` and
    `callbacks` `None` and a model with one float16, float32 or float64
    output; the loop is Keras' torch `predict` loop over slices of `x` (the
    same batches in the same order), each batch's output copied once into
    the array returned.
    """
    batch_size = batch_size or KERAS_DEFAULT_BATCH_SIZE
    if not (
        _plain_array(x)
        and _plain_batch_size(batch_size)
        and steps is None
        and callbacks is None
        and len(model.outputs) == 1
        and keras.backend.standardize_dtype(model.outputs[0].dtype)
        in ("float16", "float32", "float64")
    ):
        return None
    starts = range(0, len(x), batch_size)
    callbacks = LeanCallbackList(
        None,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=1,
        steps=len(starts),
        model=model,
    )
    model.eval()
    model.make_predict_function()
    model.stop_predicting = False
    callbacks.on_predict_begin()
    images = _shared_tensor(x)
    outputs, done = None, 0
    for step, start in enumerate(starts):
        callbacks.on_predict_batch_begin(step)
        batch = _as_batch((images[start : start + batch_size],))
        # Keras' predict function takes `steps_per_execution` batches.
        batch_outputs = model.predict_function([batch])
        if outputs is None:
            shape = (len(x), *batch_outputs.shape[1:])
            outputs = torch.empty(shape, dtype=batch_outputs.dtype)
        done = start + len(batch_outputs)
        outputs[start:done].copy_(batch_outputs)
        callbacks.on_predict_batch_end(step, {"outputs": batch_outputs})
        if model.stop_predicting:
            break
    callbacks.on_predict_end()
    return outputs[:done].numpy()


def array_batches(x, y, batch_size, shuffle):
    """A `DataLoader` of `(x, y)` batches as Keras' `fit` makes them."""
    x, y = _shared_tensor(x), _shared_tensor(y)
    sampler = _BatchIndices(len(x), batch_size, shuffle)
    return torch.utils.data.DataLoader(
        _Batches(x, y, len(sampler)),
        batch_size=None,  # the sampler yields whole batches
        sampler=sampler,
        collate_fn=_as_batch,
    )


def _plain_array(x):
    """A non-empty numpy array of floatx (Keras casts other floats first)."""
    return (
        isinstance(x, np.ndarray)
        and x.dtype == keras.config.floatx()
        and x.ndim >= 1
        and len(x) > 0
    )


def _plain_batch_size(batch_size):
    return isinstance(batch_size, int) and batch_size > 0


def _shared_tensor(array):
    """A torch tensor on `array`'s memory (copied only if not contiguous)."""
    return torch.from_numpy(np.ascontiguousarray(array))


def _as_batch(batch):
    """The dataset's `(x, y)` on Keras' device (a no-op on the CPU)."""
    return tuple(keras.ops.convert_to_tensor(tensor) for tensor in batch)


class _Batches:
    """`(x, y)` rows for one batch's indices: a slice or an index tensor."""

    def __init__(self, x, y, num_batches):
        self.x, self.y, self.num_batches = x, y, num_batches

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.x[index], self.y[index]
        return self.x.index_select(0, index), self.y.index_select(0, index)

    def __len__(self):
        return self.num_batches


class _BatchIndices:
    """Each batch's indices: permuted as `RandomSampler` does, or in order."""

    def __init__(self, num_samples, batch_size, shuffle):
        self.num_samples, self.batch_size = num_samples, batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-self.num_samples // self.batch_size)

    def __iter__(self):
        starts = range(0, self.num_samples, self.batch_size)
        if not self.shuffle:
            for start in starts:
                yield slice(start, min(start + self.batch_size, self.num_samples))
            return
        # `torch.utils.data.RandomSampler.__iter__` without a generator.
        seed = int(torch.empty((), dtype=torch.int64).random_().item())
        generator = torch.Generator()
        generator.manual_seed(seed)
        permutation = torch.randperm(self.num_samples, generator=generator)
        for start in starts:
            yield permutation[start : start + self.batch_size]
