"""The TensorFlow backend's own code: its distribution strategy and devices."""

from keras_seqimage.backend.tensorflow.distribution import (
    device_count,
    mirrored_strategy_scope,
)

__all__ = ["device_count", "mirrored_strategy_scope"]
