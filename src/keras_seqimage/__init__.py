"""keras-seqimage: Keras 3 tools for treating images as sequences of rows."""

from keras_seqimage import layers, ops
from keras_seqimage.layers import *  # noqa: F403

__version__ = "0.1.0"

__all__ = ["layers", "ops", "__version__", *layers.__all__]
