"""Data parallelism on TensorFlow: `tf.distribute.MirroredStrategy`.

Keras 3's distribution API covers JAX only; on TensorFlow, Keras' own
`fit` runs under a `tf.distribute` strategy's scope.
"""

import tensorflow as tf


def _devices():
    """TensorFlow's logical GPUs, or its CPUs where it sees none."""
    logical = tf.config.list_logical_devices("GPU")
    return logical or tf.config.list_logical_devices("CPU")


def mirrored_strategy_scope(devices=None):
    """The scope of a `MirroredStrategy` over `devices` (`None`: every GPU)."""
    if devices is None:
        devices = [device.name for device in _devices()]
    return tf.distribute.MirroredStrategy(devices=list(devices)).scope()


def device_count():
    """How many devices `mirrored_strategy_scope()` would use."""
    return len(_devices())
