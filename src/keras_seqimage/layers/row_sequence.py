"""Images as sequences of rows (or columns), and back."""

import keras
from keras import ops

from keras_seqimage._validation import (
    check_choice,
    check_positive_int,
    check_rank,
)
from keras_seqimage.backend import native_ops

ORDERS = ("rows", "columns")
_AXIS_NAMES = {1: "height", 2: "width", 3: "channels"}


def _dim(x, axis):
    """Static size of `axis` when known, else the dynamic size."""
    return x.shape[axis] if x.shape[axis] is not None else ops.shape(x)[axis]


@keras.saving.register_keras_serializable(package="keras_seqimage")
class ImageToRowSequence(keras.layers.Layer):
    """Reads images as sequences of rows, channels interleaved within a row.

    With `order="rows"` (default) each time step is one image row of
    `width * channels` features, pixel by pixel with the channels of a pixel
    side by side (`r g b r g b ...`), as the source reports read CIFAR-10: a
    `32x32x3` image gives 32 steps of 96 features, identical to
    `images.reshape(-1, 32, 96)`. With `order="columns"` each step is one
    column of `height * channels` features. `RowSequenceToImage` is the exact
    inverse. No weights; batch size and sequence length may be unknown, the
    feature dimensions (width and channels for rows, height and channels for
    columns) must be known.

    Args:
        order: str, `"rows"` or `"columns"`. Defaults to `"rows"`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D tensor `(batch, height, width, channels)`.

    Output shape:
        `(batch, height, width * channels)` for rows,
        `(batch, width, height * channels)` for columns.

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(4, 32, 32, 3).astype("float32")
    >>> rows = ImageToRowSequence()(images)
    >>> tuple(rows.shape)
    (4, 32, 96)
    >>> bool(np.array_equal(np.asarray(rows), images.reshape(-1, 32, 96)))
    True
    """

    # `call` needs nothing from `Layer.__call__` but an explicit `training`:
    # `FastModel`'s fast path may run it directly.
    supports_direct_call = True

    def __init__(self, order: str = "rows", **kwargs) -> None:
        super().__init__(**kwargs)
        self.order = check_choice("order", order, ORDERS)

    def _checked_shape(self, input_shape):
        check_rank("inputs", input_shape, 4, self.__class__.__name__)
        feature_axis = 2 if self.order == "rows" else 1
        for axis in (feature_axis, 3):
            if input_shape[axis] is None:
                raise ValueError(
                    f"{self.__class__.__name__}(order={self.order!r}) needs a "
                    f"known {_AXIS_NAMES[axis]}: it sets the features per step, "
                    "so it must be known where the layer is traced. "
                    f"Received: inputs.shape={tuple(input_shape)}"
                )
        return input_shape

    def call(self, inputs):
        self._checked_shape(inputs.shape)
        if self.order == "columns":
            inputs = ops.transpose(inputs, (0, 2, 1, 3))
        steps, line, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        if steps is None:
            return ops.reshape(inputs, (_dim(inputs, 0), -1, line * channels))
        return native_ops(inputs).reshape(inputs, (-1, steps, line * channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = self._checked_shape(input_shape)
        if self.order == "rows":
            return (batch, height, width * channels)
        return (batch, width, height * channels)

    def get_config(self):
        return {**super().get_config(), "order": self.order}


@keras.saving.register_keras_serializable(package="keras_seqimage")
class RowSequenceToImage(keras.layers.Layer):
    """Turns a row (or column) sequence back into images; inverse of
    `ImageToRowSequence`.

    With `order="rows"` a `(batch, height, width * channels)` sequence becomes
    `(batch, height, width, channels)` images: each step's features are split
    pixel by pixel. With `order="columns"` the sequence has one step per image
    column, `width` steps of `height * channels` features, and the height is
    `features // channels`. No weights; batch size and sequence length may be
    unknown, the feature count must be known.

    Args:
        width: int, the image width.
        channels: int, the number of channels.
        order: str, `"rows"` or `"columns"`. Defaults to `"rows"`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        3D tensor `(batch, steps, features)`: `features == width * channels`
        for rows; `steps == width` and `features % channels == 0` for columns.

    Output shape:
        4D tensor `(batch, height, width, channels)`.

    Example:

    >>> import numpy as np
    >>> rows = np.random.rand(4, 32, 96).astype("float32")
    >>> images = RowSequenceToImage(width=32, channels=3)(rows)
    >>> tuple(images.shape)
    (4, 32, 32, 3)
    """

    # `call` needs nothing from `Layer.__call__` but an explicit `training`:
    # `FastModel`'s fast path may run it directly.
    supports_direct_call = True

    def __init__(
        self, width: int, channels: int, order: str = "rows", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.width = check_positive_int("width", width)
        self.channels = check_positive_int("channels", channels)
        self.order = check_choice("order", order, ORDERS)

    def _line_length(self, input_shape):
        """Pixels per step (width for rows, height for columns), checked."""
        name = self.__class__.__name__
        check_rank("inputs", input_shape, 3, name)
        steps, features = input_shape[1], input_shape[2]
        if features is None:
            raise ValueError(
                f"{name} needs a known feature dimension. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        if self.order == "rows":
            if features != self.width * self.channels:
                raise ValueError(
                    f"{name}(order='rows') expects width * channels = "
                    f"{self.width} * {self.channels} = "
                    f"{self.width * self.channels} features per step. "
                    f"Received: inputs.shape={tuple(input_shape)}"
                )
            return self.width
        if features % self.channels:
            raise ValueError(
                f"{name}(order='columns') expects a feature count divisible by "
                f"channels={self.channels}. Received: inputs.shape="
                f"{tuple(input_shape)}"
            )
        if steps is not None and steps != self.width:
            raise ValueError(
                f"{name}(order='columns') expects width={self.width} steps. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        return features // self.channels

    def call(self, inputs):
        line = self._line_length(inputs.shape)
        if self.order == "rows":
            steps = inputs.shape[1]
            if steps is None:
                shape = (_dim(inputs, 0), -1, line, self.channels)
            else:
                shape = (-1, steps, line, self.channels)
            return native_ops(inputs).reshape(inputs, shape)
        images = ops.reshape(inputs, (-1, self.width, line, self.channels))
        return ops.transpose(images, (0, 2, 1, 3))

    def compute_output_shape(self, input_shape):
        line = self._line_length(input_shape)
        if self.order == "rows":
            return (input_shape[0], input_shape[1], line, self.channels)
        return (input_shape[0], line, self.width, self.channels)

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "channels": self.channels,
            "order": self.order,
        }
