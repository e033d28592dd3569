"""Haque et al.'s CNN-LSTM encoder-decoder with direct attention."""

from collections.abc import Callable

import keras

from keras_seqimage._validation import (
    check_image_shape,
    check_positive_int_tuple,
)
from keras_seqimage.layers.direct_attention_lstm_decoder import (
    DirectAttentionLSTMDecoder,
)
from keras_seqimage.layers.row_sequence import ImageToRowSequence, RowSequenceToImage
from keras_seqimage.models._image_model import ImageModel
from keras_seqimage.models.conv_encoder import ConvEncoder

_PAPER = {
    "filters": (32, 64),
    "kernel_size": 5,
    "thought_size": 100,
    "units": 128,
    "num_layers": 5,
    "dropout": 0.25,
    "kernel_l2": 1e-5,
}


def _check_image_size(image_shape, filters):
    """Each of the encoder's poolings halves the image: it must stay >= 1."""
    smallest = 2 ** len(filters)
    if image_shape[0] < smallest or image_shape[1] < smallest:
        raise ValueError(
            f"`image_shape` must have height and width >= 2 ** len(filters) "
            f"= {smallest}. Received: image_shape={image_shape}"
        )


@keras.saving.register_keras_serializable(package="keras_seqimage")
class CNNLSTMDirectAttention(ImageModel):
    """CNN encoder + multi-layer LSTM decoder with direct attention.

    Images `(batch, H, W, C)` in `[0, 1]` go two ways: a `ConvEncoder` turns
    them into a thought vector `v`, and `ImageToRowSequence` reads them as `H`
    rows of `W * C` features. A `DirectAttentionLSTMDecoder` then writes the
    restored image row by row, reading at step `t` the corrupted row `x_t`,
    `v` and its own previous output row; `RowSequenceToImage` turns the rows
    back into images. Inference is free-running: the model's only input is
    the corrupted image.

    The paper trains with an RMSE loss, an L2 weight penalty, dropout 0.25
    and Adam; the `"paper"` preset sets dropout and the penalty (whose
    weight the paper does not give: `1e-5` is our choice), the loss is the
    caller's (the model is not compiled).

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to
            `(28, 28, 1)` (MNIST).
        filters: tuple of ints, the encoder's convolution filters. Defaults
            to `(32, 64)`.
        kernel_size: int, the encoder's kernel side. Defaults to `5`.
        thought_size: int, the size of the thought vector. Defaults to `100`.
        units: int, hidden size of each decoder LSTM layer. Defaults to `128`.
        num_layers: int, number of decoder LSTM layers. Defaults to `5`.
        output_activation: activation of the output rows; `None` is linear.
            Defaults to `None`. The paper's decoder ends in a sigmoid, but
            trained with MSE on half-blanked MNIST the sigmoid version
            collapsed to one mean digit for every input (validation loss 0.069
            after 40 epochs, output identical across images), where the
            linear output trains (0.057 after 4 epochs); pass `"sigmoid"` for
            the paper's decoder.
        dropout: float in `[0, 1)`, dropout on the inputs of every decoder
            LSTM layer. Defaults to `0.0`.
        recurrent_dropout: float in `[0, 1)`, dropout on the decoder's
            recurrent states. Defaults to `0.0`.
        kernel_l2: float >= 0, L2 penalty on every kernel of the encoder and
            the decoder. Defaults to `0.0`.
        seed: optional int, the seed of the dropout masks. Defaults to `None`.
        **kwargs: `keras.Model` keyword arguments, such as `name`.

    Input shape:
        4D float tensor `(batch, height, width, channels)`, values in `[0, 1]`.
        The model's `image_shape` (a `ValueError` names any other size,
        channel count, rank or dtype, and an empty batch). NaN or inf is
        refused, or comes out NaN in a compiled step (`docs/faq.md`).

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> model = CNNLSTMDirectAttention(
    ...     image_shape=(16, 16, 1), filters=(4, 8), thought_size=8, units=8,
    ...     num_layers=2,
    ... )
    >>> restored = model(np.random.rand(2, 16, 16, 1).astype("float32"))
    >>> tuple(restored.shape)
    (2, 16, 16, 1)
    >>> CNNLSTMDirectAttention.from_preset("paper").count_params()
    1041664

    Reference:
        K. N. Haque, M. A. Yousuf, R. Rana, "Image denoising and restoration
        with CNN-LSTM Encoder Decoder with Direct Attention", 2018.
    """

    presets = {
        # Table 1 encoder, five decoder layers, dropout 0.25: 365,796 encoder
        # + 675,868 decoder = 1,041,664 parameters.
        "paper": {"image_shape": (28, 28, 1), **_PAPER},
        # The same on CIFAR-10 (32 rows of 96 features): 463,396 + 754,272
        # = 1,217,668 parameters.
        "paper_cifar10": {"image_shape": (32, 32, 3), **_PAPER},
        # Two small decoder layers, for quick CPU runs: 63,456 + 74,012
        # = 137,468 parameters.
        "small": {
            "image_shape": (28, 28, 1),
            "filters": (16, 32),
            "thought_size": 32,
            "units": 64,
            "num_layers": 2,
        },
    }

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (28, 28, 1),
        filters: tuple[int, ...] = (32, 64),
        kernel_size: int = 5,
        thought_size: int = 100,
        units: int = 128,
        num_layers: int = 5,
        output_activation: str | Callable | None = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_l2: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        image_shape = check_image_shape("image_shape", image_shape)
        filters = check_positive_int_tuple("filters", filters)
        _check_image_size(image_shape, filters)
        _, width, channels = image_shape

        # === Layers ===
        # The encoder and the decoder check their own arguments.
        encoder = ConvEncoder(
            filters=filters,
            kernel_size=kernel_size,
            thought_size=thought_size,
            kernel_l2=kernel_l2,
            name="encoder",
        )
        decoder = DirectAttentionLSTMDecoder(
            units=units,
            num_layers=num_layers,
            output_activation=output_activation,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            kernel_l2=kernel_l2,
            seed=seed,
            name="decoder",
        )
        to_rows = ImageToRowSequence(name="to_rows")
        to_image = RowSequenceToImage(width, channels, name="to_image")

        # === Functional Model ===
        images = keras.Input(shape=image_shape, name="images")
        thought = encoder(images)
        restored_rows = decoder([thought, to_rows(images)])
        restored = to_image(restored_rows)
        super().__init__(inputs=images, outputs=restored, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = encoder.kernel_size
        self.thought_size = encoder.thought_size
        self.units = decoder.units
        self.num_layers = decoder.num_layers
        self.output_activation = decoder.output_activation
        self.dropout = decoder.dropout
        self.recurrent_dropout = decoder.recurrent_dropout
        self.kernel_l2 = decoder.kernel_l2
        self.seed = decoder.seed
        # Not config: the two halves, at hand as `model.encoder(images)`.
        self.encoder = encoder
        self.decoder = decoder

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "thought_size": self.thought_size,
            "units": self.units,
            "num_layers": self.num_layers,
            "output_activation": self.output_activation,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_l2": self.kernel_l2,
            "seed": self.seed,
        }
