"""Convolutional autoencoder, the CNN baseline of Wood (2024)."""

from collections.abc import Callable

import keras

from keras_seqimage._validation import (
    check_activation,
    check_image_shape,
    check_positive_int,
    check_positive_int_tuple,
    check_size_divisible,
)
from keras_seqimage.models._graph import apply_in_turn
from keras_seqimage.models._image_model import ImageModel


@keras.saving.register_keras_serializable(package="keras_seqimage")
class ConvAutoencoder(ImageModel):
    """Convolutional autoencoder: conv and pooling down, upsampling and conv up.

    With `filters=(f_0, ..., f_d)`: Conv2D(f_0) -> MaxPool2 -> Conv2D(f_1) ->
    MaxPool2 -> ... -> Conv2D(f_d) on the smallest grid, then d times
    UpSampling2 -> Conv2D, with `f_{d-1}, ..., f_1` filters and the last one
    with `channels` filters and `output_activation`. All convolutions use
    `kernel_size`, `"same"` padding and, except the last, `activation`. Height
    and width must be divisible by `2 ** d`; they may be `None` (any size,
    checked when called). Images in, images out.

    Presets (`ConvAutoencoder.presets`, `from_preset(name, **overrides)`):

    - `"conv_32_32"`: Wood's (2024) CNN baseline on 32x32x3, Conv2D(32, 3x3,
      relu) -> MaxPool2 -> Conv2D(32, 3x3, relu) -> UpSampling2 ->
      Conv2D(3, 3x3, sigmoid). 11,011 parameters. The source prints only the
      layer summary; ReLU and the sigmoid output (images in `[0, 1]`) are our
      choice, they do not change the count.

    Args:
        image_shape: tuple `(height, width, channels)`; height and width may
            be `None`. Defaults to `(32, 32, 3)`.
        filters: tuple of ints, filters of each encoder convolution; one
            pooling step between two entries. Defaults to `(32, 32)`.
        kernel_size: int, the size of every (square) kernel. Defaults to `3`.
        activation: activation of the hidden convolutions. Defaults to
            `"relu"`.
        output_activation: activation of the last convolution; `None` is
            linear. Defaults to `"sigmoid"`.
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
    >>> ConvAutoencoder.from_preset("conv_32_32").count_params()
    11011
    >>> model = ConvAutoencoder(image_shape=(6, 4, 2), filters=(4, 4))
    >>> images = np.random.rand(3, 6, 4, 2).astype("float32")
    >>> tuple(model(images).shape)
    (3, 6, 4, 2)
    >>> images[1, 2, 3, 0] = np.nan
    >>> model(images)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ConvAutoencoder expects `inputs` of finite values: ... inputs[1])

    Reference:
        F. S. Wood (2024), CNN, SimpleRNN and LSTM autoencoders on blurred
        CIFAR-10 (`docs/bibliography.md`).
    """

    presets = {
        "conv_32_32": {
            "image_shape": (32, 32, 3),
            "filters": (32, 32),
            "kernel_size": 3,
            "activation": "relu",
            "output_activation": "sigmoid",
        },
    }

    def __init__(
        self,
        image_shape: tuple[int | None, int | None, int] = (32, 32, 3),
        filters: tuple[int, ...] = (32, 32),
        kernel_size: int = 3,
        activation: str | Callable | None = "relu",
        output_activation: str | Callable | None = "sigmoid",
        **kwargs,
    ) -> None:
        image_shape = check_image_shape(
            "image_shape", image_shape, allow_none=(True, True)
        )
        filters = check_positive_int_tuple("filters", filters)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        activation = check_activation("activation", activation)
        output_activation = check_activation("output_activation", output_activation)
        check_size_divisible(
            "image_shape",
            image_shape,
            2 ** (len(filters) - 1),
            "2 ** (len(filters) - 1)",
        )

        # === Layers ===
        def conv(units, name, act=activation):
            return keras.layers.Conv2D(
                units, kernel_size, padding="same", activation=act, name=name
            )

        layers = []
        for i, units in enumerate(filters):
            if i:
                layers.append(keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
            layers.append(conv(units, name=f"encoder_conv_{i}"))
        for level in range(len(filters) - 1, 0, -1):
            layers.append(keras.layers.UpSampling2D(2, name=f"upsample_{level}"))
            if level > 1:
                layers.append(conv(filters[level - 1], f"decoder_conv_{level - 1}"))
        layers.append(conv(image_shape[2], name="head", act=output_activation))

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        outputs = apply_in_turn(layers, inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = activation
        self.output_activation = output_activation

    def size_divisor(self):
        return 2 ** (len(self.filters) - 1)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "output_activation": self.output_activation,
        }
