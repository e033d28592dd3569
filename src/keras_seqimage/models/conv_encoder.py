"""The convolutional encoder of Haque et al.: images to a thought vector."""

import keras

from keras_seqimage._validation import (
    check_finite_non_negative,
    check_image_input,
    check_positive_int,
    check_positive_int_tuple,
    check_rank,
)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class ConvEncoder(keras.layers.Layer):
    """Encodes images into a thought vector: convolutions, pooling, Dense.

    For each entry of `filters`: a `kernel_size x kernel_size` convolution
    with `"same"` padding and ReLU, then `pool_size x pool_size` max pooling;
    then flatten and a Dense layer of `thought_size` units with tanh. The
    defaults are the encoder of Haque et al. (Table 1): Conv 32@5x5 -> MaxPool
    2 -> Conv 64@5x5 -> MaxPool 2 -> Dense(100, tanh), which on 28x28x1 MNIST
    has 832 + 51,264 + 313,700 = 365,796 parameters (and on 32x32x3 CIFAR-10
    2,432 + 51,264 + 409,700 = 463,396).

    A layer, not a model: the input size and channel count come from the data
    when it is built, so one configuration serves MNIST and CIFAR-10. Height
    and width must be known and at least `pool_size ** len(filters)`; once
    built, the layer takes only images of the size and channels it was built
    for (a `ValueError` otherwise).

    Args:
        filters: tuple of ints, the filters of each convolution. Defaults to
            `(32, 64)`.
        kernel_size: int, the side of the square convolution kernels.
            Defaults to `5`.
        pool_size: int, the side and stride of the max pooling. Defaults to
            `2`.
        thought_size: int, the size of the thought vector. Defaults to `100`.
        kernel_l2: float >= 0, L2 penalty on every kernel (not the biases).
            Defaults to `0.0`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D tensor `(batch, height, width, channels)`, height, width and
        channels known.

    Output shape:
        2D tensor `(batch, thought_size)`, values in `(-1, 1)`.

    Example:

    >>> import numpy as np
    >>> encoder = ConvEncoder()
    >>> vector = encoder(np.random.rand(2, 28, 28, 1).astype("float32"))
    >>> tuple(vector.shape)
    (2, 100)
    >>> encoder.count_params()
    365796

    Reference:
        K. N. Haque, M. A. Yousuf, R. Rana, "Image denoising and restoration
        with CNN-LSTM Encoder Decoder with Direct Attention", 2018.
    """

    def __init__(
        self,
        filters: tuple[int, ...] = (32, 64),
        kernel_size: int = 5,
        pool_size: int = 2,
        thought_size: int = 100,
        kernel_l2: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int_tuple("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.pool_size = check_positive_int("pool_size", pool_size)
        self.thought_size = check_positive_int("thought_size", thought_size)
        self.kernel_l2 = check_finite_non_negative("kernel_l2", kernel_l2)
        regularizer = keras.regularizers.L2(kernel_l2) if kernel_l2 > 0 else None
        self.convs = [
            keras.layers.Conv2D(
                n,
                kernel_size,
                padding="same",
                activation="relu",
                kernel_regularizer=regularizer,
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            for i, n in enumerate(self.filters)
        ]
        self.pools = [
            keras.layers.MaxPooling2D(
                pool_size, dtype=self.dtype_policy, name=f"pool_{i}"
            )
            for i in range(len(self.filters))
        ]
        self.flatten = keras.layers.Flatten(dtype=self.dtype_policy, name="flatten")
        self.dense = keras.layers.Dense(
            thought_size,
            activation="tanh",
            kernel_regularizer=regularizer,
            dtype=self.dtype_policy,
            name="thought",
        )

    def _checked_shape(self, input_shape):
        name = self.__class__.__name__
        input_shape = tuple(input_shape)
        check_rank("inputs", input_shape, 4, name)
        smallest = self.pool_size ** len(self.filters)
        for axis, what in ((1, "height"), (2, "width"), (3, "channels")):
            if input_shape[axis] is None:
                raise ValueError(
                    f"{name} needs a known {what}. Received: inputs.shape={input_shape}"
                )
        if input_shape[1] < smallest or input_shape[2] < smallest:
            raise ValueError(
                f"{name} with {len(self.filters)} poolings of {self.pool_size} "
                f"needs height and width >= {smallest}. "
                f"Received: inputs.shape={input_shape}"
            )
        # Once built, the Dense layer fixes the size and the first convolution
        # the channels: say so, before a backend's shape error would.
        built = getattr(self, "_built_image_shape", None)
        if built is not None:
            check_image_input("inputs", input_shape, built, name)
        return input_shape

    def build(self, input_shape):
        shape = self._checked_shape(input_shape)
        self._built_image_shape = tuple(shape[1:])
        for conv, pool in zip(self.convs, self.pools, strict=True):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            shape = pool.compute_output_shape(shape)
        self.flatten.build(shape)
        self.dense.build(self.flatten.compute_output_shape(shape))

    def call(self, inputs):
        self._checked_shape(inputs.shape)
        x = inputs
        for conv, pool in zip(self.convs, self.pools, strict=True):
            x = pool(conv(x))
        return self.dense(self.flatten(x))

    def compute_output_shape(self, input_shape):
        shape = self._checked_shape(input_shape)
        return (shape[0], self.thought_size)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "pool_size": self.pool_size,
            "thought_size": self.thought_size,
            "kernel_l2": self.kernel_l2,
        }
