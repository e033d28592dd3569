"""Row-sequence autoencoders of Ayob, Bhunu and Wood: LSTM and SimpleRNN."""

from collections.abc import Callable

import keras

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_image_shape,
    check_positive_int_tuple,
)
from keras_seqimage.layers._bidirectional import make_bidirectional
from keras_seqimage.layers.fast_lstm import FastLSTM
from keras_seqimage.layers.row_sequence import (
    ORDERS,
    ImageToRowSequence,
    RowSequenceToImage,
)
from keras_seqimage.models._graph import apply_in_turn
from keras_seqimage.models._image_model import ImageModel

BOTTLENECKS = ("sequence", "vector")
HEADS = ("dense", "recurrent")


def _head(head, recurrent_layer, features, activation, residual):
    """The last layer, `features` values per step (`head` names its kind).

    With `residual`, its weights start at zero: the untrained model returns
    its input (for an output activation with f(0) = 0).
    """
    arguments = {"activation": activation, "name": "head"}
    if residual:
        arguments.update(kernel_initializer="zeros", bias_initializer="zeros")
    if head == "dense":
        return keras.layers.Dense(features, **arguments)
    if residual:
        arguments["recurrent_initializer"] = "zeros"
    return recurrent_layer(features, return_sequences=True, **arguments)


class RecurrentAutoencoder(ImageModel):
    """Images in, images out, through recurrent layers that read image rows.

    The one implementation behind `LSTMAutoencoder` and `SimpleRNNAutoencoder`;
    a subclass only sets `recurrent_layer` (the Keras RNN layer class) and its
    `presets`. See `LSTMAutoencoder` for the arguments.
    """

    recurrent_layer = None

    def __init__(
        self,
        image_shape: tuple[int | None, int, int] = (32, 32, 3),
        encoder_units: tuple[int, ...] = (128, 64),
        decoder_units: tuple[int, ...] = (),
        bottleneck: str = "sequence",
        head: str = "dense",
        activation: str | Callable = "tanh",
        output_activation: str | Callable | None = None,
        bidirectional: bool = False,
        residual: bool = False,
        order: str = "rows",
        **kwargs,
    ) -> None:
        if self.recurrent_layer is None:
            raise TypeError(
                "RecurrentAutoencoder is a base class; use LSTMAutoencoder or "
                "SimpleRNNAutoencoder (or a subclass that sets `recurrent_layer`)."
            )
        bottleneck = check_choice("bottleneck", bottleneck, BOTTLENECKS)
        head = check_choice("head", head, HEADS)
        order = check_choice("order", order, ORDERS)
        # Only a row-by-row sequence model copes with an unknown row count:
        # RepeatVector needs it, and reading columns needs it as features.
        height_may_be_none = order == "rows" and bottleneck == "sequence"
        image_shape = check_image_shape(
            "image_shape", image_shape, allow_none=(height_may_be_none, False)
        )
        encoder_units = check_positive_int_tuple("encoder_units", encoder_units)
        decoder_units = check_positive_int_tuple(
            "decoder_units", decoder_units, allow_empty=True
        )
        bidirectional = check_bool("bidirectional", bidirectional)
        residual = check_bool("residual", residual)
        activation = check_activation("activation", activation)
        output_activation = check_activation("output_activation", output_activation)
        height, width, channels = image_shape
        steps, line = (height, width) if order == "rows" else (width, height)

        # === Layers ===
        def recurrent(units, name, return_sequences=True):
            layer = self.recurrent_layer(
                units,
                activation=activation,
                return_sequences=return_sequences,
                name=name,
            )
            if bidirectional:
                layer = make_bidirectional(layer, name=f"{name}_bidir")
            return layer

        layers = [ImageToRowSequence(order=order, name="to_sequence")]
        for i, units in enumerate(encoder_units):
            last = i == len(encoder_units) - 1
            keep_sequence = not (last and bottleneck == "vector")
            layers.append(recurrent(units, f"encoder_{i}", keep_sequence))
        if bottleneck == "vector":
            layers.append(keras.layers.RepeatVector(steps, name="repeat"))
        layers += [recurrent(n, f"decoder_{i}") for i, n in enumerate(decoder_units)]
        layers.append(
            _head(
                head, self.recurrent_layer, line * channels, output_activation, residual
            )
        )
        layers.append(
            RowSequenceToImage(
                width=width, channels=channels, order=order, name="to_images"
            )
        )

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        outputs = apply_in_turn(layers, inputs)
        if residual:
            outputs = keras.layers.Add(name="residual")([inputs, outputs])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.encoder_units = encoder_units
        self.decoder_units = decoder_units
        self.bottleneck = bottleneck
        self.head = head
        self.activation = activation
        self.output_activation = output_activation
        self.bidirectional = bidirectional
        self.residual = residual
        self.order = order

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "encoder_units": self.encoder_units,
            "decoder_units": self.decoder_units,
            "bottleneck": self.bottleneck,
            "head": self.head,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "bidirectional": self.bidirectional,
            "residual": self.residual,
            "order": self.order,
        }


@keras.saving.register_keras_serializable(package="keras_seqimage")
class LSTMAutoencoder(RecurrentAutoencoder):
    """LSTM autoencoder that reads an image as a sequence of rows.

    Inside, `ImageToRowSequence` turns `(height, width, channels)` images into
    `height` steps of `width * channels` features (`order="columns"` reads
    columns instead); stacked LSTM encoder layers; with
    `bottleneck="vector"` the last encoder layer returns only its final state,
    repeated once per row (`RepeatVector`), with `bottleneck="sequence"` every
    layer returns sequences; stacked LSTM decoder layers; a head that emits
    `width * channels` values per row; `RowSequenceToImage` gives images back.
    Images in, images out, so `model.fit(blurred, clean)` works on image
    arrays. Inputs are floats in `[0, 1]` of shape `(batch, *image_shape)`.

    Presets (`LSTMAutoencoder.presets`, `from_preset(name, **overrides)`),
    each on 32x32x3 images:

    - `"lstm_sequence_128_64"`: Ayob (2024), LSTM(128) -> LSTM(64), both
      returning sequences -> Dense(96) per row. 170,848 parameters.
    - `"lstm_vector_512_256_sigmoid"`: Bhunu (2024), LSTM(512) -> LSTM(256) ->
      RepeatVector(32) -> LSTM(256) -> LSTM(96, sigmoid) head. 2,695,552.
    - `"lstm_vector_128"`: Wood (2024), LSTM(128) -> RepeatVector(32) ->
      LSTM(128) -> Dense(96) per row. 259,168.

    Args:
        image_shape: tuple `(height, width, channels)`. Height may be `None`
            with `bottleneck="sequence"` and `order="rows"`. Defaults to
            `(32, 32, 3)`.
        encoder_units: tuple of ints, units of each encoder layer, at least
            one. Defaults to `(128, 64)`.
        decoder_units: tuple of ints, units of each decoder layer (may be
            empty). Defaults to `()`.
        bottleneck: str, `"sequence"` or `"vector"`. Defaults to `"sequence"`.
        head: str, `"dense"` (a Dense layer applied to each row, as
            `TimeDistributed(Dense)` in the sources) or `"recurrent"` (a last
            recurrent layer of `width * channels` units whose activation is
            `output_activation`, as in Bhunu's report). Defaults to `"dense"`.
        activation: activation of the encoder and decoder layers. Defaults
            to `"tanh"`.
        output_activation: activation of the head; `None` is linear.
            Defaults to `None`.
        bidirectional: bool, wrap every encoder and decoder layer (not the
            head) in `Bidirectional`, concatenating both directions.
            Defaults to `False`.
        residual: bool, return `inputs + head output`: the model predicts a
            correction. The head's weights then start at zero, so with a
            linear or `"tanh"` output activation the untrained model is the
            identity. Defaults to `False`.
        order: str, `"rows"` or `"columns"`. Defaults to `"rows"`.
        **kwargs: base model keyword arguments, such as `name`.

    Input shape:
        4D tensor `(batch, height, width, channels)`.
        The model's `image_shape` (a `ValueError` names any other size,
        channel count, rank or dtype, and an empty batch). NaN or inf is
        refused, or comes out NaN in a compiled step (`docs/faq.md`).

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> model = LSTMAutoencoder.from_preset("lstm_sequence_128_64")
    >>> model.count_params()
    170848
    >>> small = LSTMAutoencoder(image_shape=(6, 4, 2), encoder_units=(8,))
    >>> images = np.random.rand(3, 6, 4, 2).astype("float32")
    >>> tuple(small(images).shape)
    (3, 6, 4, 2)

    Reference:
        M. Ayob (2024), M. Bhunu (2024) and F. S. Wood (2024), reports on
        LSTM autoencoders for CIFAR-10 (`docs/bibliography.md`).
    """

    # `keras.layers.LSTM` that runs torch's fused kernel on the torch backend.
    recurrent_layer = FastLSTM
    presets = {
        "lstm_sequence_128_64": {
            "image_shape": (32, 32, 3),
            "encoder_units": (128, 64),
            "decoder_units": (),
            "bottleneck": "sequence",
            "head": "dense",
        },
        "lstm_vector_512_256_sigmoid": {
            "image_shape": (32, 32, 3),
            "encoder_units": (512, 256),
            "decoder_units": (256,),
            "bottleneck": "vector",
            "head": "recurrent",
            "output_activation": "sigmoid",
        },
        "lstm_vector_128": {
            "image_shape": (32, 32, 3),
            "encoder_units": (128,),
            "decoder_units": (128,),
            "bottleneck": "vector",
            "head": "dense",
        },
    }


@keras.saving.register_keras_serializable(package="keras_seqimage")
class SimpleRNNAutoencoder(RecurrentAutoencoder):
    """SimpleRNN autoencoder that reads an image as a sequence of rows.

    The `LSTMAutoencoder` architecture and arguments with `SimpleRNN` layers
    (the `"recurrent"` head is a SimpleRNN too); see there.

    Presets (`SimpleRNNAutoencoder.presets`), on 32x32x3 images:

    - `"simple_rnn_vector_128"`: Wood's (2024) RNN baseline, SimpleRNN(128) ->
      RepeatVector(32) -> SimpleRNN(128) -> Dense(96) per row. 74,080
      parameters.

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to
            `(32, 32, 3)`.
        encoder_units: tuple of ints. Defaults to `(128, 64)`.
        decoder_units: tuple of ints, may be empty. Defaults to `()`.
        bottleneck: str, `"sequence"` or `"vector"`. Defaults to `"sequence"`.
        head: str, `"dense"` or `"recurrent"`. Defaults to `"dense"`.
        activation: activation of the recurrent layers. Defaults to `"tanh"`.
        output_activation: activation of the head. Defaults to `None`.
        bidirectional: bool. Defaults to `False`.
        residual: bool. Defaults to `False`.
        order: str, `"rows"` or `"columns"`. Defaults to `"rows"`.
        **kwargs: base model keyword arguments, such as `name`.

    Input shape:
        4D tensor `(batch, height, width, channels)`.
        The model's `image_shape` (a `ValueError` names any other size,
        channel count, rank or dtype, and an empty batch). NaN or inf is
        refused, or comes out NaN in a compiled step (`docs/faq.md`).

    Output shape:
        Same as the input.

    Example:

    >>> SimpleRNNAutoencoder.from_preset("simple_rnn_vector_128").count_params()
    74080
    """

    recurrent_layer = keras.layers.SimpleRNN
    presets = {
        "simple_rnn_vector_128": {
            "image_shape": (32, 32, 3),
            "encoder_units": (128,),
            "decoder_units": (128,),
            "bottleneck": "vector",
            "head": "dense",
        },
    }
