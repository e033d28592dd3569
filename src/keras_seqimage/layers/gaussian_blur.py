"""Deterministic Gaussian blur, exactly scipy's `gaussian_filter`."""

import keras

from keras_seqimage import ops as seqimage_ops
from keras_seqimage._layout import (
    check_data_format,
    from_channels_last,
    shape_channels_last,
    to_channels_last,
    warn_if_channels_first,
)
from keras_seqimage._validation import (
    check_finite,
    check_finite_non_negative,
    check_float_dtype,
    check_known_image_size,
    check_positive,
    check_rank,
)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class GaussianBlurLayer(keras.layers.Layer):
    """Blurs images with a Gaussian kernel, exactly as scipy does.

    Output equals `scipy.ndimage.gaussian_filter(images, sigma=(0, s_h, s_w,
    0), mode=mode, cval=cval, truncate=truncate)` (float32 error below 1e-5):
    same taps, same radius `int(truncate * sigma + 0.5)`, same boundary rule,
    channels blurred independently, and NaN and inf where scipy's are. Any
    image size and sigma, in memory linear in the image (a kernel wider than
    the image is folded onto it: the rule is in
    `keras_seqimage.ops.gaussian_filter`, which does all the work).

    This is a *degradation*, not an augmentation: it blurs at inference as in
    training, so a model can blur its own inputs. `keras.layers.RandomGaussianBlur`
    is different: it is a no-op at inference, draws sigma from `[0, sigma]`,
    rejects sigma > 1, and uses a 3x3 kernel with zero padding by default.

    With `sigma_range=(low, high)` each image gets its own isotropic sigma,
    drawn uniformly from `[low, high]` by a seeded generator at every call
    (training and inference), for training on varied blur.

    Images are floats in `[0, 1]`; integer images are rejected (scale first).

    Args:
        sigma: float or pair `(sigma_h, sigma_w)`, the fixed standard deviation
            in pixels; 0 leaves an axis unblurred. Defaults to `1.0`. A pair
            means per-axis sigma, as in scipy (not a range: see
            `sigma_range`).
        mode: str, scipy's boundary mode: `"reflect"`, `"mirror"`,
            `"nearest"`, `"constant"` or `"wrap"`. Defaults to `"reflect"`.
        cval: float, the value outside the image for `mode="constant"`.
            Defaults to `0.0`.
        truncate: float > 0, the kernel radius in sigmas. Defaults to `4.0`.
        sigma_range: optional pair `(low, high)` with `0 <= low <= high`: draw
            one sigma per image from this range instead of using `sigma`.
            Defaults to `None`.
        seed: optional int, the seed of the generator used with
            `sigma_range`. Defaults to `None`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`)
            or `"channels_first"` (`(batch, channels, height, width)`).
            Defaults to `keras.config.image_data_format()`. A channels-last
            batch whose last axis is not 1 to 4 long while its second is gets
            a warning: it may be channels-first data, which would be blurred
            along the wrong axes.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        4D float tensor `(batch, height, width, channels)` (channels last) or
        `(batch, channels, height, width)` (channels first), height and width
        known.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> import scipy.ndimage
    >>> images = np.random.rand(2, 32, 32, 3).astype("float32")
    >>> blurred = GaussianBlurLayer(sigma=1.0)(images)
    >>> expected = scipy.ndimage.gaussian_filter(images, sigma=(0, 1, 1, 0))
    >>> bool(np.abs(np.asarray(blurred) - expected).max() < 1e-5)
    True
    """

    # `call` needs nothing from `Layer.__call__` but an explicit `training`:
    # `FastModel`'s fast path may run it directly.
    supports_direct_call = True

    def __init__(
        self,
        sigma: float | tuple[float, float] = 1.0,
        mode: str = "reflect",
        cval: float = 0.0,
        truncate: float = 4.0,
        sigma_range: tuple[float, float] | None = None,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format)
        self.sigma = seqimage_ops.sigma_pair(sigma)
        if self.sigma[0] == self.sigma[1]:
            self.sigma = self.sigma[0]
        self.mode = mode
        seqimage_ops.canonical_mode(mode)
        self.cval = check_finite("cval", cval)
        self.truncate = check_positive("truncate", truncate)
        self.sigma_range = _check_sigma_range(sigma_range)
        self.seed = seed
        if self.sigma_range is not None:
            self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        name = self.__class__.__name__
        check_rank("inputs", inputs.shape, 4, name)
        check_float_dtype("inputs", inputs.dtype, name)
        warn_if_channels_first("inputs", inputs.shape, self.data_format, name)
        inputs = to_channels_last(inputs, self.data_format)
        sigma = self.sigma
        max_sigma = None
        if self.sigma_range is not None:
            low, high = self.sigma_range
            batch = keras.ops.shape(inputs)[0]
            sigma = keras.random.uniform(
                (batch,), low, high, dtype=inputs.dtype, seed=self.seed_generator
            )
            max_sigma = high
        blurred = seqimage_ops.gaussian_filter(
            inputs,
            sigma=sigma,
            mode=self.mode,
            cval=self.cval,
            truncate=self.truncate,
            max_sigma=max_sigma,
        )
        return from_channels_last(blurred, self.data_format)

    def compute_output_shape(self, input_shape):
        check_known_image_size(
            "inputs",
            shape_channels_last(input_shape, self.data_format),
            self.__class__.__name__,
        )
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "sigma": self.sigma,
            "mode": self.mode,
            "cval": self.cval,
            "truncate": self.truncate,
            "sigma_range": self.sigma_range,
            "seed": self.seed,
            "data_format": self.data_format,
        }


def _check_sigma_range(sigma_range):
    if sigma_range is None:
        return None
    if not isinstance(sigma_range, (list, tuple)) or len(sigma_range) != 2:
        raise ValueError(
            "`sigma_range` must be None or a pair (low, high). "
            f"Received: sigma_range={sigma_range!r}"
        )
    low, high = (check_finite_non_negative("sigma_range", s) for s in sigma_range)
    if low > high:
        raise ValueError(
            "`sigma_range` must satisfy low <= high. "
            f"Received: sigma_range={sigma_range!r}"
        )
    return (low, high)
