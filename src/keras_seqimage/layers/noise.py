"""Seeded pixel noise of the MNIST inpainting paper: salt-and-pepper and AWGN.

Both layers are degradations, active at inference as in training (unlike
`keras.layers.GaussianNoise`, which is a training-only regularizer). They act
element by element, so they accept images `(batch, height, width, channels)`
and row sequences `(batch, steps, features)` alike.
"""

import keras
from keras import ops

from keras_seqimage._validation import (
    check_float_dtype,
    check_fraction,
    check_positive,
    check_rank,
    check_value_range,
)


class SeededNoise(keras.layers.Layer):
    """Base of the noise layers: a seed generator, input checks, config."""

    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def check_inputs(self, inputs):
        name = self.__class__.__name__
        check_rank("inputs", inputs.shape, (3, 4), name)
        check_float_dtype("inputs", inputs.dtype, name)

    def compute_output_shape(self, input_shape):
        check_rank("inputs", input_shape, (3, 4), self.__class__.__name__)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_seqimage")
class SaltAndPepperNoise(SeededNoise):
    """Replaces a random fraction of values with salt (high) or pepper (low).

    Each value independently becomes noise with probability `amount`; a noisy
    value is salt (`value_range[1]`) with probability `salt_vs_pepper`, else
    pepper (`value_range[0]`), as `skimage.util.random_noise(mode="s&p")`.
    Draws come from a seeded generator, at inference as in training.

    Args:
        amount: float in `[0, 1]`, the fraction of values replaced.
            Defaults to `0.05`.
        salt_vs_pepper: float in `[0, 1]`, the share of salt among noisy
            values. Defaults to `0.5`.
        value_range: pair `(low, high)`: the pepper and salt values.
            Defaults to `(0.0, 1.0)`.
        seed: optional int seed. Defaults to `None`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        Float tensor `(batch, height, width, channels)` or row sequence
        `(batch, steps, features)`, values in `value_range`.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> images = np.full((2, 28, 28, 1), 0.5, dtype="float32")
    >>> noisy = np.asarray(SaltAndPepperNoise(amount=0.2, seed=1)(images))
    >>> sorted(np.unique(noisy).tolist())
    [0.0, 0.5, 1.0]
    """

    def __init__(
        self,
        amount: float = 0.05,
        salt_vs_pepper: float = 0.5,
        value_range: tuple[float, float] = (0.0, 1.0),
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.amount = check_fraction("amount", amount)
        self.salt_vs_pepper = check_fraction("salt_vs_pepper", salt_vs_pepper)
        self.value_range = check_value_range(value_range)

    def call(self, inputs):
        self.check_inputs(inputs)
        shape = ops.shape(inputs)
        hit = keras.random.uniform(shape, seed=self.seed_generator) < self.amount
        salt = (
            keras.random.uniform(shape, seed=self.seed_generator) < self.salt_vs_pepper
        )
        low, high = self.value_range
        noise = ops.cast(ops.where(salt, high, low), inputs.dtype)
        return ops.where(hit, noise, inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "amount": self.amount,
            "salt_vs_pepper": self.salt_vs_pepper,
            "value_range": self.value_range,
        }


@keras.saving.register_keras_serializable(package="keras_seqimage")
class AdditiveGaussianNoise(SeededNoise):
    """Adds white Gaussian noise, then clips to the value range (AWGN).

    `outputs = clip(inputs + stddev * N(0, 1), *value_range)`, with draws from
    a seeded generator, at inference as in training (`keras.layers.
    GaussianNoise` is the training-only regularizer; this is a degradation).

    Args:
        stddev: float > 0, the noise standard deviation. Defaults to `0.1`.
        value_range: pair `(low, high)` to clip to, or `None` for no clipping.
            Defaults to `(0.0, 1.0)`.
        seed: optional int seed. Defaults to `None`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        Float tensor `(batch, height, width, channels)` or row sequence
        `(batch, steps, features)`.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> images = np.full((2, 28, 28, 1), 0.5, dtype="float32")
    >>> noisy = np.asarray(AdditiveGaussianNoise(stddev=0.1, seed=1)(images))
    >>> bool(0.05 < noisy.std() < 0.15 and noisy.min() >= 0 and noisy.max() <= 1)
    True
    """

    def __init__(
        self,
        stddev: float = 0.1,
        value_range: tuple[float, float] = (0.0, 1.0),
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.stddev = check_positive("stddev", stddev)
        self.value_range = check_value_range(value_range, allow_none=True)

    def call(self, inputs):
        self.check_inputs(inputs)
        noise = keras.random.normal(
            ops.shape(inputs),
            stddev=self.stddev,
            dtype=inputs.dtype,
            seed=self.seed_generator,
        )
        outputs = inputs + noise
        if self.value_range is not None:
            outputs = ops.clip(outputs, *self.value_range)
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "stddev": self.stddev,
            "value_range": self.value_range,
        }
