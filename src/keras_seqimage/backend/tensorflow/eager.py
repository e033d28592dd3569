"""Whether a TensorFlow tensor's values can be read now."""

import tensorflow as tf


def values_at_hand(x):
    """Whether `x`'s values can be read now (eager, not inside a `tf.function`)."""
    return tf.executing_eagerly() and not tf.is_symbolic_tensor(x)
