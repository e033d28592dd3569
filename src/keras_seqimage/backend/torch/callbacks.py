"""`FastModel`'s callback list on torch: no work for batch hooks nobody has.

Keras' `CallbackList` calls every batch hook at every batch, whether or not a
callback implements it. With `fit`'s defaults at `verbose=0` (a `History`
only, which has no batch hook) that is still, per training batch:
`on_train_batch_begin` converting empty logs, and `on_train_batch_end`
handing the step's logs to a worker thread (Keras' asynchronous dispatch),
which converts them to Python floats and calls nothing. On a CPU whose cores
all run torch's kernels, that thread's wake-ups preempt a kernel thread:
a few context switches per step, against none without it.

`LeanCallbackList` is Keras' list, except that a batch hook is skipped
outright when no callback in the list overrides it (nor its
backward-compatible alias: `on_batch_begin` / `on_batch_end` for the
training hooks); Keras marks its no-op hooks, and the check is made at each
call, so a callback appended to the list later is called. Every hook a
callback does implement runs Keras' code, given the step's logs with their
CPU scalars already as Python floats (`cpu_scalars_as_floats`).

Keras also runs the batch-end hooks (a progress bar's, at `fit`'s default
`verbose`) in that worker thread whenever no callback of the caller's
implements them, so that converting a step's logs to Python floats does not
wait for an accelerator. With Keras' torch device the CPU there is nothing to
wait for, and the thread only costs its wake-ups: there `LeanCallbackList`
calls them in the calling thread, as Keras itself does for a callback that
has a batch hook, unless a callback declares itself `async_safe` (which asks
for the thread).
"""

import keras
import torch

from keras_seqimage.backend import compat
from keras_seqimage.backend.torch.native import keras_device_is_cpu

# Each batch hook of `CallbackList`, and the `Callback` hooks that implement
# it: a callback's `on_train_batch_begin` calls `on_batch_begin` by default.
BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


def _implemented(callback, hook):
    """Whether `callback` overrides `hook` (Keras' own no-op test)."""
    # Keras' `utils.default` marks the base class' no-op hooks.
    return not compat.is_default_hook(getattr(callback, hook))


def cpu_scalars_as_floats(logs):
    """`logs` with each 0-d floating CPU torch tensor as its Python float.

    The float Keras' `pythonify_logs` would make of it (through numpy: 114
    several times slower right after the step's kernels); nested dicts
    likewise, every other value as it is, for Keras to convert. Nothing here
    waits for an accelerator.
    """
    if not isinstance(logs, dict):
        return logs
    return {key: _cpu_scalar_as_float(value) for key, value in logs.items()}


def _cpu_scalar_as_float(value):
    if isinstance(value, dict):
        return cpu_scalars_as_floats(value)
    if (
        isinstance(value, torch.Tensor)
        and value.device.type == "cpu"
        and value.dim() == 0
        and value.dtype.is_floating_point
    ):
        return float(value)
    return value


def _skip_unimplemented(name):
    def hook(self, batch, logs=None):
        if any(
            _implemented(callback, method)
            for callback in self.callbacks
            for method in BATCH_HOOKS[name]
        ):
            logs = cpu_scalars_as_floats(logs)
            getattr(keras.callbacks.CallbackList, name)(self, batch, logs)

    hook.__name__ = name
    hook.__doc__ = f"`CallbackList.{name}`, skipped when no callback has it."
    return hook


class LeanCallbackList(keras.callbacks.CallbackList):
    """`keras.callbacks.CallbackList` minus the batch hooks no callback has.

    And, on the CPU, minus the worker thread for the batch-end hooks unless a
    callback is `async_safe`.
    """

    def _configure_async_dispatch(self, callbacks):
        super()._configure_async_dispatch(callbacks)
        if not any(getattr(c, "async_safe", False) for c in callbacks or ()):
            if keras_device_is_cpu():
                compat.run_batch_hooks_in_caller(self)

    on_train_batch_begin = _skip_unimplemented("on_train_batch_begin")
    on_train_batch_end = _skip_unimplemented("on_train_batch_end")
    on_test_batch_begin = _skip_unimplemented("on_test_batch_begin")
    on_test_batch_end = _skip_unimplemented("on_test_batch_end")
    on_predict_batch_begin = _skip_unimplemented("on_predict_batch_begin")
    on_predict_batch_end = _skip_unimplemented("on_predict_batch_end")


def fit_callbacks(model, callbacks, verbose, epochs, steps_per_epoch, num_batches):
    """The list Keras' torch `fit` would make of `callbacks`, as a lean one.

    `steps_per_epoch` is `fit`'s argument and `num_batches` the number of
    batches of the data (`None`: unknown). A `CallbackList` passed in is the
    caller's own and is returned as is.
    """
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks
    # Keras' `fit` caps `epochs` before it makes the list.
    max_epochs = getattr(keras.config, "max_epochs", lambda: None)()
    if max_epochs and max_epochs < epochs:
        epochs = max_epochs
    return LeanCallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=keras_fit_steps(steps_per_epoch, num_batches),
        model=model,
    )


def keras_fit_steps(steps_per_epoch, num_batches):
    """The `steps` Keras' `fit` gives its callbacks (its epoch iterator's).

    `steps_per_epoch` if given, else the data's `num_batches`; a
    `keras.config.max_steps_per_epoch` cap replaces both when it is smaller
    than `steps_per_epoch` or that is not given, as Keras' `EpochIterator`
    does.
    """
    max_steps = getattr(keras.config, "max_steps_per_epoch", lambda: None)()
    if max_steps and (not steps_per_epoch or max_steps < steps_per_epoch):
        steps_per_epoch = max_steps
    return steps_per_epoch or num_batches
