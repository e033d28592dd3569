"""Blanking a band of rows: the lower-half occlusion of the MNIST paper."""

import keras
from keras import ops

from keras_seqimage._validation import (
    check_float_dtype,
    check_rank,
    is_integer,
    is_number,
)


def _check_row_index(name, value):
    if value is not None and not is_integer(value):
        raise ValueError(
            f"`{name}` must be an integer row index or None. Received: {name}={value!r}"
        )
    return None if value is None else int(value)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class RowOcclusion(keras.layers.Layer):
    """Sets a band of rows to a fill value (by default the lower half).

    Rows `start:stop` along axis 1 are replaced by `fill_value`, with Python
    slice semantics (negative indices count from the end, out-of-range ends
    are clipped). `start=None` means `height // 2`, `stop=None` the last row:
    on a 28-row MNIST digit the default blanks rows 14..27, as in the paper.
    Axis 1 is the image height for images and the time axis for row
    sequences, so the layer works on both forms. Deterministic, active at
    inference as in training.

    Args:
        start: optional int, the first blanked row. Defaults to `None`
            (`height // 2`).
        stop: optional int, one past the last blanked row. Defaults to `None`
            (`height`).
        fill_value: float, the value written. Defaults to `0.0`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        Float tensor `(batch, height, width, channels)` or row sequence
        `(batch, steps, features)`; the height may be unknown.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> images = np.ones((1, 28, 28, 1), dtype="float32")
    >>> occluded = np.asarray(RowOcclusion()(images))
    >>> float(occluded[0, :14].min()), float(occluded[0, 14:].max())
    (1.0, 0.0)
    """

    def __init__(
        self,
        start: int | None = None,
        stop: int | None = None,
        fill_value: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.start = _check_row_index("start", start)
        self.stop = _check_row_index("stop", stop)
        if not is_number(fill_value):
            raise ValueError(
                f"`fill_value` must be a number. Received: fill_value={fill_value!r}"
            )
        self.fill_value = float(fill_value)

    def row_mask(self, height):
        """Boolean `(height,)` tensor, True on the blanked rows."""
        rows = ops.arange(height)
        start = height // 2 if self.start is None else self.start
        stop = height if self.stop is None else self.stop
        start = ops.where(start < 0, start + height, start)
        stop = ops.where(stop < 0, stop + height, stop)
        return ops.logical_and(rows >= start, rows < stop)

    def call(self, inputs):
        name = self.__class__.__name__
        check_rank("inputs", inputs.shape, (3, 4), name)
        check_float_dtype("inputs", inputs.dtype, name)
        height = inputs.shape[1]
        if height is None:
            height = ops.shape(inputs)[1]
        mask = self.row_mask(height)
        mask = ops.reshape(mask, (1, -1) + (1,) * (len(inputs.shape) - 2))
        fill = ops.cast(self.fill_value, inputs.dtype)
        return ops.where(mask, fill, inputs)

    def compute_output_shape(self, input_shape):
        check_rank("inputs", input_shape, (3, 4), self.__class__.__name__)
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "start": self.start,
            "stop": self.stop,
            "fill_value": self.fill_value,
        }
