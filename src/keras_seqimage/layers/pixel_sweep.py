"""A ReNet sweep with one pixel per step: images of any size."""

import keras
from keras import ops

from keras_seqimage._validation import check_choice, check_positive_int, check_rank
from keras_seqimage.layers._bidirectional import make_bidirectional
from keras_seqimage.layers.line_sweep import CELLS

SWEEP_ORDERS = ("rows", "columns")


@keras.saving.register_keras_serializable(package="keras_seqimage")
class PixelSweep(keras.layers.Layer):
    """A bidirectional recurrent sweep along every row (or column), pixel by pixel.

    Each row of the feature map is read as a sequence of its pixels, once
    left to right and once right to left, by one recurrent cell shared by
    all rows (`order="columns"`: each column, top to bottom and back). Every
    output pixel so sees its whole row, at a cost linear in the pixel count
    and with no weight tied to the image size: unlike `LineSweep`, whose
    steps are whole lines, the layer takes images of any height and width.
    A rows sweep followed by a columns sweep is a ReNet layer (each output
    pixel sees the whole image), which is why restorers use it where a
    stack of small convolutions would need many layers to see far.

    Args:
        units: int > 0, the units of each direction of the cell; the output
            has `2 * units` channels. Defaults to `16`.
        order: `"rows"` or `"columns"`, the lines read as sequences.
            Defaults to `"rows"`.
        cell: `"gru"` or `"lstm"`. Defaults to `"gru"`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D tensor `(batch, height, width, channels)`; height and width may be
        unknown, channels must be known.

    Output shape:
        4D tensor `(batch, height, width, 2 * units)`.

    Example:

    >>> import numpy as np
    >>> sweep = PixelSweep(units=4, order="columns")
    >>> tuple(sweep(np.zeros((2, 5, 7, 3), "float32")).shape)
    (2, 5, 7, 8)
    >>> tuple(sweep(np.zeros((1, 9, 2, 3), "float32")).shape)
    (1, 9, 2, 8)

    Reference:
        F. Visin et al., "ReNet: A Recurrent Neural Network Based Alternative
        to Convolutional Networks", 2015.
    """

    supports_direct_call = True

    def __init__(self, units=16, order="rows", cell="gru", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.order = check_choice("order", order, SWEEP_ORDERS)
        self.cell = check_choice("cell", cell, tuple(CELLS))
        # The recurrent layers compute in this layer's dtype policy.
        self.recurrent = make_bidirectional(
            CELLS[self.cell](
                self.units, return_sequences=True, dtype=self.dtype_policy
            ),
            name="recurrent",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        check_rank("inputs", input_shape, 4, "PixelSweep")
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                "PixelSweep needs a known number of channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.recurrent.build((None, None, channels))

    def call(self, inputs):
        lines = inputs
        if self.order == "columns":
            lines = ops.transpose(lines, (0, 2, 1, 3))
        shape = ops.shape(lines)
        steps = ops.reshape(lines, (-1, shape[2], lines.shape[-1]))
        swept = self.recurrent(steps)
        swept = ops.reshape(swept, (shape[0], shape[1], shape[2], 2 * self.units))
        if self.order == "columns":
            swept = ops.transpose(swept, (0, 2, 1, 3))
        return swept

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:3], 2 * self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "order": self.order,
            "cell": self.cell,
        }
