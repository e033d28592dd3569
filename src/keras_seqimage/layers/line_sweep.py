"""A ReNet-style sweep: every image row (or column) as one step of a sequence."""

import keras

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_known_image_size,
    check_non_negative_int,
    check_rank,
)
from keras_seqimage.layers.row_sequence import (
    ORDERS,
    ImageToRowSequence,
    RowSequenceToImage,
)

CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


@keras.saving.register_keras_serializable(package="keras_seqimage")
class LineSweep(keras.layers.Layer):
    """Images in, images out: each row (or column) is one step of a sequence.

    The layer reads the image as a sequence of lines (`ImageToRowSequence`:
    with `order="rows"` a 32x32x3 image is 32 steps of 96 features, with
    `order="columns"` 32 steps of one column each) and returns

        line_mix(lines) + head(Bidirectional(cell(units))(lines))

    written back as an image (`RowSequenceToImage`). Both terms act on every
    step with the same weights:

    - `line_mix` (`linear=True`) is a `Dense(line_features)` layer initialised
      to the identity: a learned linear filter along the line (and across
      channels). A rows sweep followed by a columns sweep can express any
      separable linear filter of the image, such as the exact inverse of a
      separable blur. With `linear=False` the lines pass through unchanged.
    - the recurrent term (`units > 0`) reads the lines in both directions, so
      every output line sees the whole image; its `Dense(line_features)`
      head starts at zero.

    So the untrained layer is the identity, and training learns a correction.
    Stacking a rows sweep and a columns sweep is the vertical/horizontal
    sweep pair of ReNet, with whole lines (not pixels) as the steps.

    Args:
        order: str, `"rows"` or `"columns"`: the lines read as steps.
            Defaults to `"rows"`.
        units: int >= 0, the units of each direction of the recurrent cell;
            0 leaves only the linear term. Defaults to `32`.
        cell: str, `"gru"` or `"lstm"`. Defaults to `"gru"`.
        linear: bool, add the identity-initialised linear line mix (else the
            lines themselves). Defaults to `True`.
        activation: activation of the recurrent cell. Defaults to `"tanh"`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D tensor `(batch, height, width, channels)`; height, width and
        channels must be known.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(2, 6, 4, 3).astype("float32")
    >>> sweep = LineSweep(order="columns", units=8)
    >>> restored = sweep(images)
    >>> tuple(restored.shape)
    (2, 6, 4, 3)
    >>> restored = keras.ops.convert_to_numpy(restored)
    >>> bool(np.allclose(restored, images, atol=1e-6))
    True

    Reference:
        F. Visin et al., "ReNet: A Recurrent Neural Network Based Alternative
        to Convolutional Networks", 2015 (row and column sweeps).
    """

    def __init__(
        self,
        order="rows",
        units=32,
        cell="gru",
        linear=True,
        activation="tanh",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.order = check_choice("order", order, ORDERS)
        self.units = check_non_negative_int("units", units)
        self.cell = check_choice("cell", cell, CELLS)
        self.linear = check_bool("linear", linear)
        self.activation = check_activation("activation", activation)
        if not self.linear and self.units == 0:
            raise ValueError(
                "`units` must be positive when `linear=False` (the layer would "
                f"be the identity). Received: units={units!r}, linear={linear!r}"
            )
        self.to_sequence = ImageToRowSequence(
            order=self.order, name="to_sequence", dtype=self.dtype_policy
        )
        self.line_mix = None
        self.recurrent = None
        self.head = None
        self.to_images = None

    def _line_shape(self, input_shape):
        name = self.__class__.__name__
        check_rank("inputs", input_shape, 4, name)
        check_known_image_size("inputs", input_shape, name)
        if input_shape[3] is None:
            raise ValueError(
                f"{name} needs a known number of channels. "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        _, height, width, channels = input_shape
        if self.order == "rows":
            return height, width * channels
        return width, height * channels

    def build(self, input_shape):
        steps, features = self._line_shape(input_shape)
        _, _, width, channels = input_shape
        policy = self.dtype_policy
        self.to_images = RowSequenceToImage(
            width=width,
            channels=channels,
            order=self.order,
            name="to_images",
            dtype=policy,
        )
        sequence_shape = (None, steps, features)
        if self.linear:
            self.line_mix = keras.layers.Dense(
                features,
                kernel_initializer="identity",
                name="line_mix",
                dtype=policy,
            )
            self.line_mix.build(sequence_shape)
        if self.units:
            cell = CELLS[self.cell](
                self.units,
                activation=self.activation,
                return_sequences=True,
                name=self.cell,
                dtype=policy,
            )
            self.recurrent = keras.layers.Bidirectional(
                cell, name="bidirectional", dtype=policy
            )
            self.recurrent.build(sequence_shape)
            self.head = keras.layers.Dense(
                features,
                kernel_initializer="zeros",
                name="head",
                dtype=policy,
            )
            self.head.build((None, steps, 2 * self.units))

    def call(self, inputs):
        lines = self.to_sequence(inputs)
        outputs = self.line_mix(lines) if self.linear else lines
        if self.units:
            outputs = outputs + self.head(self.recurrent(lines))
        return self.to_images(outputs)

    def compute_output_shape(self, input_shape):
        self._line_shape(input_shape)
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "order": self.order,
            "units": self.units,
            "cell": self.cell,
            "linear": self.linear,
            "activation": self.activation,
        }
