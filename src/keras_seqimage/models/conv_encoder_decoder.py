"""Haque et al.'s baseline: a convolutional encoder-decoder ("CNN-CNN")."""

import keras

from keras_seqimage._validation import (
    check_activation,
    check_finite_non_negative,
    check_image_shape,
    check_positive_int,
    check_positive_int_tuple,
    check_size_divisible,
)
from keras_seqimage.models._graph import apply_in_turn
from keras_seqimage.models._image_model import ImageModel


@keras.saving.register_keras_serializable(package="keras_seqimage")
class ConvEncoderDecoder(ImageModel):
    """Convolutional encoder-decoder with symmetric transposed convolutions.

    The "CNN-CNN" baseline of Haque et al.: for each entry of `filters` a
    `kernel_size` convolution (`"same"`, ReLU) and 2x2 max pooling; then, in
    mirror order, stride-2 transposed convolutions (`"same"`), each undoing
    one pooling: with the default `filters=(32, 64)`, Conv 32 -> MaxPool 2 ->
    Conv 64 -> MaxPool 2 -> ConvTranspose 32 (ReLU) -> ConvTranspose C
    (`output_activation`). On 28x28x1 that is 832 + 51,264 + 51,232 + 801 =
    104,129 parameters. The paper gives only "32, 64 convolutional layers and
    symmetric deconvolutional layers"; kernel size 5 (as in its encoder) and
    the linear output are our choice. A sigmoid output trained with MSE
    collapsed to an all-black image on MNIST in the first epoch (every seed
    we tried: the mostly black targets push the sigmoid into saturation,
    where its gradient vanishes); the linear output trains (MSE 0.041 after
    2 epochs on 6,000 half-blanked digits, where the sigmoid stayed at
    0.114). Use `output_activation="sigmoid"` with a cross-entropy loss if
    outputs must stay in `(0, 1)`.

    Height and width must be divisible by `2 ** len(filters)` (4 by default);
    they may be `None` (any such size, checked when called). Images in,
    images out, like `CNNLSTMDirectAttention`.

    Args:
        image_shape: tuple `(height, width, channels)`; height and width may
            be `None`. Defaults to `(28, 28, 1)` (MNIST).
        filters: tuple of ints, the encoder's convolution filters. Defaults
            to `(32, 64)`.
        kernel_size: int, the side of every kernel. Defaults to `5`.
        kernel_l2: float >= 0, L2 penalty on every kernel. Defaults to `0.0`.
        output_activation: activation of the last transposed convolution.
            Defaults to `None` (linear).
        **kwargs: `keras.Model` keyword arguments, such as `name`.

    Input shape:
        4D float tensor `(batch, height, width, channels)`, values in `[0, 1]`.
        The model's `image_shape` (a `ValueError` names any other size,
        channel count, rank or dtype, and an empty batch). NaN or inf is
        refused, or comes out NaN in a compiled step (`docs/faq.md`).

    Output shape:
        Same as the input (values near `[0, 1]` once trained; clip them for
        display).

    Example:

    >>> import numpy as np
    >>> model = ConvEncoderDecoder()
    >>> model.count_params()
    104129
    >>> tuple(model(np.random.rand(2, 28, 28, 1).astype("float32")).shape)
    (2, 28, 28, 1)

    Reference:
        K. N. Haque, M. A. Yousuf, R. Rana, "Image denoising and restoration
        with CNN-LSTM Encoder Decoder with Direct Attention", 2018.
    """

    presets = {
        # 104,129 parameters.
        "paper": {"image_shape": (28, 28, 1), "filters": (32, 64), "kernel_size": 5},
        # 107,331 parameters.
        "paper_cifar10": {
            "image_shape": (32, 32, 3),
            "filters": (32, 64),
            "kernel_size": 5,
        },
    }

    def __init__(
        self,
        image_shape: tuple[int | None, int | None, int] = (28, 28, 1),
        filters: tuple[int, ...] = (32, 64),
        kernel_size: int = 5,
        kernel_l2: float = 0.0,
        output_activation: str | None = None,
        **kwargs,
    ) -> None:
        image_shape = check_image_shape(
            "image_shape", image_shape, allow_none=(True, True)
        )
        filters = check_positive_int_tuple("filters", filters)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        kernel_l2 = check_finite_non_negative("kernel_l2", kernel_l2)
        output_activation = check_activation("output_activation", output_activation)
        check_size_divisible(
            "image_shape", image_shape, 2 ** len(filters), "2 ** len(filters)"
        )

        # === Layers ===
        regularizer = keras.regularizers.L2(kernel_l2) if kernel_l2 > 0 else None
        shared = {"padding": "same", "kernel_regularizer": regularizer}
        layers = []
        for i, units in enumerate(filters):
            layers += [
                keras.layers.Conv2D(
                    units, kernel_size, activation="relu", name=f"conv_{i}", **shared
                ),
                keras.layers.MaxPooling2D(2, name=f"pool_{i}"),
            ]
        up_filters = (*filters[-2::-1], image_shape[2])
        for i, units in enumerate(up_filters):
            last = i == len(up_filters) - 1
            layers.append(
                keras.layers.Conv2DTranspose(
                    units,
                    kernel_size,
                    strides=2,
                    activation=output_activation if last else "relu",
                    name="head" if last else f"deconv_{i}",
                    **shared,
                )
            )

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        outputs = apply_in_turn(layers, inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.kernel_l2 = kernel_l2
        self.output_activation = output_activation

    def size_divisor(self):
        return 2 ** len(self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "kernel_l2": self.kernel_l2,
            "output_activation": self.output_activation,
        }
