"""Data-parallel training through each backend's own distribution API.

One function, `data_parallel_scope`, so an example or a user script can say
`with data_parallel_scope(args.distribute): build, compile, fit`. No gradient
averaging is written here: JAX uses `keras.distribution.DataParallel`,
TensorFlow `tf.distribute.MirroredStrategy`; both split each global batch
across the devices and combine the gradients themselves.
"""

import contextlib

import keras

from keras_seqimage._validation import check_bool
from keras_seqimage.backend import backend_module


def data_parallel_scope(enabled=True, devices=None):
    """A context manager that trains Keras models data-parallel.

    Build, compile and `fit` the model inside the returned context. The
    `batch_size` given to `fit` stays the global batch: each of `n` devices
    gets `batch_size / n` examples per step (keep it divisible by `n`).

    - JAX: `keras.distribution.DataParallel(devices).scope()`; `devices=None`
      means every device JAX sees (all GPUs, or the host CPU; start the
      process with `XLA_FLAGS=--xla_force_host_platform_device_count=N` for
      `N` virtual CPU devices).
    - TensorFlow: `tf.distribute.MirroredStrategy(devices).scope()`;
      `devices=None` means every GPU, or else every logical CPU device (one,
      unless the program split the CPU with
      `tf.config.set_logical_device_configuration`).
    - torch: not supported (Keras has no torch distribution API); a
      `ValueError` says so. Use the JAX or TensorFlow backend.

    Args:
        enabled: bool, `False` returns a context that does nothing, so a
            `--distribute` flag can be passed straight through. Defaults to
            `True`.
        devices: optional list of device names for the backend (JAX:
            `"gpu:0"` style names from `keras.distribution.list_devices()`;
            TensorFlow: `"/gpu:0"` style). Defaults to `None` (see above).

    Returns:
        A context manager.

    Example:

    >>> import keras
    >>> with data_parallel_scope(enabled=False):
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.count_params()
    4
    """
    enabled = check_bool("enabled", enabled)
    if devices is not None and (
        isinstance(devices, str) or not all(isinstance(d, str) for d in devices)
    ):
        raise ValueError(
            "`devices` must be None or a list of device names. "
            f"Received: devices={devices!r}"
        )
    if not enabled:
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "jax":
        if devices is None:
            devices = keras.distribution.list_devices()
        return keras.distribution.DataParallel(devices=list(devices)).scope()
    if backend == "tensorflow":
        return backend_module("tensorflow").mirrored_strategy_scope(devices)
    raise ValueError(
        "Data-parallel training needs the JAX or TensorFlow backend (Keras "
        "has no distribution API for torch). Set KERAS_BACKEND=jax or "
        f"KERAS_BACKEND=tensorflow. Received: backend={backend!r}"
    )


def device_count(devices=None):
    """How many devices `data_parallel_scope(devices=devices)` would use.

    Example:

    >>> device_count(["a", "b"])
    2
    """
    if devices is not None:
        return len(devices)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return backend_module("tensorflow").device_count()
    if backend == "jax":
        return len(keras.distribution.list_devices())
    return 1
