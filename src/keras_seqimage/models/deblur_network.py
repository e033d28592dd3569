"""The learned stage of the photo restorer: a size-agnostic refinement network."""

import keras
from keras import layers, ops

from keras_seqimage._validation import check_non_negative_int, check_positive_int
from keras_seqimage.layers.pixel_sweep import PixelSweep

#: The network's input channels, in order (see `DeblurNetwork`).
INPUT_CHANNELS = (
    "estimate",
    "sharper_estimate",
    "smoother_estimate",
    "degraded",
    "noise",
    "sigma",
)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class DeblurNetwork(keras.Model):
    """Refines a classical deconvolution of one image channel; any image size.

    The photo restorer first deconvolves each channel with a Wiener filter
    (sharp, but with amplified noise and ringing) and then lets this network
    predict a correction, which is added to that estimate:

        restored = estimate + f(estimates, degraded, noise map, sigma map)

    (`f` also reads a sharper and a smoother Wiener estimate, so it can
    choose between detail and quiet pixel by pixel.)

    `f` is a small U-shaped network (leaky ReLUs: a plain ReLU unit that
    stops firing on every patch never recovers, and a network of few
    filters can lose its whole correction that way): two 3x3 convolutions at full
    resolution; a stride-2 convolution; at half resolution, optionally, a
    rows `PixelSweep` then a columns `PixelSweep` (a ReNet layer: every pixel
    sees the whole image, so the network can weigh the noise and detail of
    the whole photo, not only of a 3x3 neighbourhood); a transposed
    convolution back to full resolution, joined with the full-resolution
    features; two 3x3 convolutions; and a last 3x3 convolution that starts
    at zero, so the untrained network returns the Wiener estimate itself.
    Every weight is shared across positions and the channel is processed on
    its own (colour photos go through channel by channel), so one network
    serves grey, RGB and RGBA photos of any height and width; odd sizes are
    padded symmetrically to even and cropped back.

    With `sweep_units=0` it is a plain convolutional network of the same
    shape: the small CNN the photo benchmark compares with.

    Args:
        filters: int > 0, the channels at full resolution (twice as many at
            half resolution). Defaults to `24`.
        sweep_units: int >= 0, the units of each direction of the two
            `PixelSweep` layers; 0 leaves them out. Defaults to `12`.
        **kwargs: base model keyword arguments, such as `name`.

    Input shape:
        4D tensor `(batch, height, width, 6)` (`INPUT_CHANNELS`): three Wiener
        estimates (the self-tuned balance, one ten times smaller, one ten
        times larger), the degraded image (one channel of each, in [0, 1]),
        the noise standard deviation times 10 and the blur sigma divided by
        3, the last two constant over the image.

    Output shape:
        4D tensor `(batch, height, width, 1)`: the restored channel.

    Example:

    >>> import numpy as np
    >>> network = DeblurNetwork(filters=4, sweep_units=2)
    >>> inputs = np.random.rand(2, 5, 7, 6).astype("float32")
    >>> restored = keras.ops.convert_to_numpy(network(inputs))
    >>> restored.shape
    (2, 5, 7, 1)
    >>> bool(np.allclose(restored[..., 0], inputs[..., 0]))  # untrained: the estimate
    True
    """

    supports_direct_call = True

    def __init__(self, filters=24, sweep_units=12, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.sweep_units = check_non_negative_int("sweep_units", sweep_units)

        # Every sublayer computes in the model's dtype policy, so a network
        # built with `dtype="mixed_bfloat16"` predicts in bfloat16; the
        # model itself does not cast its input, so the Wiener estimate the
        # correction is added to keeps its float32 precision.
        self.autocast = False
        dtype = self.dtype_policy

        def conv(channels, name, **options):
            options.setdefault("activation", "leaky_relu")
            return layers.Conv2D(
                channels, 3, padding="same", name=name, dtype=dtype, **options
            )

        wide = 2 * self.filters
        self.full_1 = conv(self.filters, "full_1")
        self.full_2 = conv(self.filters, "full_2")
        self.down = conv(wide, "down", strides=2)
        self.half_1 = conv(wide, "half_1")
        if self.sweep_units:
            self.rows = PixelSweep(
                self.sweep_units, "rows", name="rows_sweep", dtype=dtype
            )
            self.columns = PixelSweep(
                self.sweep_units, "columns", name="columns_sweep", dtype=dtype
            )
        self.half_2 = conv(wide, "half_2")
        self.up = layers.Conv2DTranspose(
            self.filters, 2, strides=2, activation="leaky_relu", name="up", dtype=dtype
        )
        self.merge_1 = conv(self.filters, "merge_1")
        self.merge_2 = conv(self.filters, "merge_2")
        self.correction = conv(
            1, "correction", activation=None, kernel_initializer="zeros"
        )

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] != len(INPUT_CHANNELS):
            raise ValueError(
                "DeblurNetwork expects inputs of shape (batch, height, width, "
                f"{len(INPUT_CHANNELS)}). Received: inputs.shape={tuple(input_shape)}"
            )
        self.full_1.build((None, None, None, len(INPUT_CHANNELS)))
        self.full_2.build((None, None, None, self.filters))
        self.down.build((None, None, None, self.filters))
        self.half_1.build((None, None, None, 2 * self.filters))
        half = 2 * self.filters
        if self.sweep_units:
            self.rows.build((None, None, None, half))
            self.columns.build((None, None, None, 2 * self.sweep_units))
            half += 2 * self.sweep_units
        self.half_2.build((None, None, None, half))
        self.up.build((None, None, None, 2 * self.filters))
        self.merge_1.build((None, None, None, 2 * self.filters))
        self.merge_2.build((None, None, None, self.filters))
        self.correction.build((None, None, None, self.filters))

    def call(self, inputs):
        height, width = ops.shape(inputs)[1], ops.shape(inputs)[2]
        # Odd sides get their last row / column repeated (scipy's "reflect"
        # rule), written as a concatenation and a crop: every backend has it.
        padded = ops.concatenate([inputs, inputs[:, -1:]], axis=1)
        padded = padded[:, : (height + 1) // 2 * 2]
        padded = ops.concatenate([padded, padded[:, :, -1:]], axis=2)
        padded = padded[:, :, : (width + 1) // 2 * 2]
        full = self.full_2(self.full_1(padded))
        half = self.half_1(self.down(full))
        if self.sweep_units:
            half = ops.concatenate([half, self.columns(self.rows(half))], axis=-1)
        up = self.up(self.half_2(half))
        merged = self.merge_2(self.merge_1(ops.concatenate([full, up], axis=-1)))
        # Under a mixed precision policy the layers compute in float16 or
        # bfloat16; the correction joins the input in the input's dtype.
        correction = ops.cast(self.correction(merged), padded.dtype)
        restored = padded[..., :1] + correction
        return restored[:, :height, :width]

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:3], 1)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "sweep_units": self.sweep_units,
        }
