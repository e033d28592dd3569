"""A ReNet-style sweep: every image row (or column) as one step of a sequence."""

import keras
import numpy as np

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_finite_non_negative,
    check_known_image_size,
    check_non_negative_int,
    check_rank,
)
from keras_seqimage.baselines import REGULARIZERS, regularized_inverse
from keras_seqimage.layers._bidirectional import make_bidirectional
from keras_seqimage.layers.row_sequence import (
    ORDERS,
    ImageToRowSequence,
    RowSequenceToImage,
)
from keras_seqimage.ops import sigma_pair

CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


def check_init_sigma(value):
    """`init_sigma`: `None`, a number >= 0 or a pair `(sigma_h, sigma_w)`."""
    if value is None:
        return None
    pair = isinstance(value, (list, tuple))
    if pair and len(value) != 2:
        raise ValueError(
            "`init_sigma` must be None, a number >= 0 or a pair (sigma_h, "
            f"sigma_w). Received: init_sigma={value!r}"
        )
    try:
        if pair:
            return tuple(check_finite_non_negative("init_sigma", v) for v in value)
        return check_finite_non_negative("init_sigma", value)
    except ValueError:
        raise ValueError(
            "`init_sigma` must be None, a number >= 0 or a pair (sigma_h, "
            f"sigma_w). Received: init_sigma={value!r}"
        ) from None


def check_init(init_sigma, init_balance, init_regularizer, linear):
    """Validate the deconvolution-initialisation arguments together."""
    init_sigma = check_init_sigma(init_sigma)
    init_balance = check_finite_non_negative("init_balance", init_balance)
    init_regularizer = check_choice("init_regularizer", init_regularizer, REGULARIZERS)
    if init_sigma is not None and not linear:
        raise ValueError(
            "`init_sigma` initialises the linear line mix: it needs "
            f"`linear=True`. Received: init_sigma={init_sigma!r}, linear={linear!r}"
        )
    return init_sigma, init_balance, init_regularizer


def deconvolution_kernel(size, channels, sigma, balance, regularizer):
    """A line mix kernel `kron(D^T, I_channels)`, `D` the regularised inverse.

    A line holds `size` pixels of `channels` values each (pixel-major, as
    `ImageToRowSequence` flattens it); `line @ kernel` applies `D` along the
    line to every channel. `D` is `baselines.regularized_inverse` of scipy's
    reflect Gaussian blur (truncate 4.0).
    """
    inverse = regularized_inverse(size, sigma, balance, regularizer=regularizer)
    return np.kron(inverse.T, np.eye(channels))


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
    With `init_sigma` the line mix starts instead as the regularised inverse
    `D = (H^T H + init_balance * L^T L)^-1 H^T` of scipy's reflect Gaussian
    blur of that sigma along the line (`baselines.regularized_inverse`): a
    rows sweep and a columns sweep so initialised are, untrained, the
    separable deconvolution `baselines.separable_deconvolution`.
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
        init_sigma: `None`, float >= 0 or pair `(sigma_h, sigma_w)`: start
            the line mix as the regularised inverse of a Gaussian blur of
            this sigma along the line (`sigma_w` for rows, `sigma_h` for
            columns); `None` starts it as the identity. Needs `linear=True`.
            Defaults to `None`.
        init_balance: float >= 0, that inverse's regularisation weight
            (0: the exact inverse). Defaults to `1e-3` (the best on CIFAR-10
            blurred at sigma 1.0 and rounded to 8 bits).
        init_regularizer: `"laplacian"` (second difference) or
            `"identity"`. Defaults to `"laplacian"`.
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
    >>> import scipy.ndimage as ndi
    >>> blurred = ndi.gaussian_filter1d(images, 1.0, axis=2, mode="reflect")
    >>> deblur = LineSweep(order="rows", units=0, init_sigma=1.0, init_balance=0.0)
    >>> restored = keras.ops.convert_to_numpy(deblur(blurred))
    >>> bool(np.allclose(restored, images, atol=1e-4))
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
        init_sigma=None,
        init_balance=1e-3,
        init_regularizer="laplacian",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.order = check_choice("order", order, ORDERS)
        self.units = check_non_negative_int("units", units)
        self.cell = check_choice("cell", cell, CELLS)
        self.linear = check_bool("linear", linear)
        self.activation = check_activation("activation", activation)
        self.init_sigma, self.init_balance, self.init_regularizer = check_init(
            init_sigma, init_balance, init_regularizer, self.linear
        )
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
            if self.init_sigma is not None:
                self.line_mix.kernel.assign(self._deconvolution_kernel(input_shape))
        if self.units:
            cell = CELLS[self.cell](
                self.units,
                activation=self.activation,
                return_sequences=True,
                name=self.cell,
                dtype=policy,
            )
            self.recurrent = make_bidirectional(
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

    def _deconvolution_kernel(self, input_shape):
        _, height, width, channels = input_shape
        sigma_h, sigma_w = sigma_pair(self.init_sigma)
        size, sigma = (width, sigma_w) if self.order == "rows" else (height, sigma_h)
        kernel = deconvolution_kernel(
            size, channels, sigma, self.init_balance, self.init_regularizer
        )
        return kernel.astype(self.line_mix.kernel.dtype)

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
            "init_sigma": self.init_sigma,
            "init_balance": self.init_balance,
            "init_regularizer": self.init_regularizer,
        }
