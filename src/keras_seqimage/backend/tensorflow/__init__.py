"""The TensorFlow backend's own code: its distribution strategy, devices, eagerness."""

from keras_seqimage.backend.tensorflow.distribution import (
    device_count,
    mirrored_strategy_scope,
)
from keras_seqimage.backend.tensorflow.eager import values_at_hand

__all__ = ["device_count", "mirrored_strategy_scope", "values_at_hand"]
