"""The photo degradation (blur, noise, 8-bit rounding) as a Keras layer."""

import keras

from keras_seqimage._layout import (
    check_data_format,
    from_channels_last,
    shape_channels_last,
    to_channels_last,
    warn_if_channels_first,
)
from keras_seqimage._validation import (
    check_bool,
    check_float_dtype,
    check_known_image_size,
    check_rank,
    check_seed,
)
from keras_seqimage.degradation import PARAM_KEYS, Degradation


@keras.saving.register_keras_serializable(package="keras_seqimage")
class DegradationLayer(keras.layers.Layer):
    """Blurs, adds noise to and 8-bit rounds images, with per-image draws.

    A thin wrapper of `keras_seqimage.degradation.Degradation`: it stores the
    recipe's arguments and calls its tensor route with the layer's seeded
    generator, so a model can make its own training pairs from clean images
    (`clean -> DegradationLayer -> restorer`). Each call draws new blur and
    noise levels within the ranges and a new noise field, at inference as in
    training (it is a degradation, not an augmentation). With
    `return_params=True` the layer returns `(degraded, params)`, the
    per-image `"sigma_h"`, `"sigma_w"` and `"noise"` as `(batch,)` tensors
    (e.g. as targets of a blur estimator).

    To score a fixed evaluation set, use `keras_seqimage.degrade` instead: it
    takes a seed per call and replays a call from its `params`.

    Args:
        sigma: float or pair `(sigma_h, sigma_w)`, the fixed blur in pixels
            when `sigma_range` is `None`. Defaults to `1.0`.
        sigma_range: optional pair `(low, high)`, each image's sigma drawn
            uniformly from it. Defaults to `None`.
        anisotropic: bool, with `sigma_range`, draw the height and the width
            sigma apart. Defaults to `False`.
        noise: float >= 0, the fixed noise standard deviation. Defaults to
            `0.0`.
        noise_range: optional pair `(low, high)` of noise levels to draw
            from. Defaults to `None`.
        quantize: bool, round to 8 bits after clipping. Defaults to `False`.
        clip: bool, clip to `[0, 1]` after the noise. Defaults to `True`.
        mode: scipy's boundary mode of the blur. Defaults to `"reflect"`.
        truncate: float > 0, the blur's radius in sigmas. Defaults to `4.0`.
        seed: optional int >= 0, the seed of the layer's generator.
            Defaults to `None`.
        return_params: bool, also return the per-image draws. Defaults to
            `False`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`)
            or `"channels_first"` (`(batch, channels, height, width)`).
            Defaults to `keras.config.image_data_format()`. A channels-last
            batch that looks channels-first (last axis not 1 to 4 long, the
            second one so) gets a warning.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D float tensor `(batch, height, width, channels)` (or `(batch,
        channels, height, width)` with `data_format="channels_first"`) in
        `[0, 1]`, height and width known.

    Output shape:
        Same as the input (and, with `return_params`, a dict of `(batch,)`
        tensors).

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(4, 32, 32, 3).astype("float32")
    >>> layer = DegradationLayer(sigma_range=(1.0, 3.0), noise_range=(0.0, 0.02),
    ...                          quantize=True, seed=1, return_params=True)
    >>> degraded, params = layer(images)
    >>> tuple(degraded.shape), tuple(params["sigma_h"].shape)
    ((4, 32, 32, 3), (4,))
    """

    supports_direct_call = True

    def __init__(
        self,
        sigma: float | tuple[float, float] = 1.0,
        sigma_range: tuple[float, float] | None = None,
        anisotropic: bool = False,
        noise: float = 0.0,
        noise_range: tuple[float, float] | None = None,
        quantize: bool = False,
        clip: bool = True,
        mode: str = "reflect",
        truncate: float = 4.0,
        seed: int | None = None,
        return_params: bool = False,
        data_format: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.degradation = Degradation(
            sigma=sigma,
            sigma_range=sigma_range,
            anisotropic=anisotropic,
            noise=noise,
            noise_range=noise_range,
            quantize=quantize,
            clip=clip,
            mode=mode,
            truncate=truncate,
        )
        for name, value in self.degradation.get_config().items():
            setattr(self, name, value)
        self.seed = check_seed("seed", seed, allow_none=True)
        self.return_params = check_bool("return_params", return_params)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        name = self.__class__.__name__
        check_rank("inputs", inputs.shape, 4, name)
        check_known_image_size(
            "inputs", shape_channels_last(inputs.shape, self.data_format), name
        )
        check_float_dtype("inputs", inputs.dtype, name)
        warn_if_channels_first("inputs", inputs.shape, self.data_format, name)
        degraded, params = self.degradation.apply_tensors(
            to_channels_last(inputs, self.data_format), self.seed_generator
        )
        degraded = from_channels_last(degraded, self.data_format)
        return (degraded, params) if self.return_params else degraded

    def compute_output_shape(self, input_shape):
        check_known_image_size(
            "inputs",
            shape_channels_last(input_shape, self.data_format),
            self.__class__.__name__,
        )
        shape = tuple(input_shape)
        if self.return_params:
            return shape, {key: (shape[0],) for key in PARAM_KEYS}
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            **self.degradation.get_config(),
            "seed": self.seed,
            "return_params": self.return_params,
            "data_format": self.data_format,
        }
