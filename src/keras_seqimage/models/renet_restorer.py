"""ReNet-style restorer: sweeps over image rows and columns, each a sequence."""

import keras

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_image_shape,
    check_non_negative_int,
)
from keras_seqimage.layers.line_sweep import CELLS, LineSweep, check_init
from keras_seqimage.layers.row_sequence import ORDERS
from keras_seqimage.models._graph import apply_in_turn
from keras_seqimage.models._image_model import ImageModel


def check_sweeps(value, allow_empty=False):
    """`sweeps`: a tuple of `"rows"` / `"columns"` (non-empty unless allowed)."""
    if (
        not isinstance(value, (list, tuple))
        or (not value and not allow_empty)
        or not all(isinstance(v, str) and v in ORDERS for v in value)
    ):
        what = "tuple" if allow_empty else "non-empty tuple"
        raise ValueError(
            f"`sweeps` must be a {what} of 'rows' and 'columns'. "
            f"Received: sweeps={value!r}"
        )
    return tuple(value)


def sweep_layers(sweeps, prefix="", init_sigma=None, **arguments):
    """One `LineSweep` per entry of `sweeps`, named `{prefix}sweep_{i}_{order}`.

    The first rows sweep and the first columns sweep start as the inverse of
    the blur `init_sigma`, later ones as the identity (`ReNetRestorer`'s and
    each `BlindReNetRestorer` expert's stack); `arguments` go to every sweep.
    """
    return [
        LineSweep(
            order=order,
            init_sigma=None if order in sweeps[:i] else init_sigma,
            name=f"{prefix}sweep_{i}_{order}",
            **arguments,
        )
        for i, order in enumerate(sweeps)
    ]


@keras.saving.register_keras_serializable(package="keras_seqimage")
class ReNetRestorer(ImageModel):
    """Image restoration by alternating row and column sweeps (ReNet-style).

    A stack of `LineSweep` layers, one per entry of `sweeps`: a `"rows"`
    sweep reads the image as a sequence of rows (32 steps of 96 features for
    CIFAR-10), a `"columns"` sweep as a sequence of columns. Each sweep returns
    `line_mix(lines) + head(BiRNN(lines))` as an image: an identity-initialised
    linear filter along every line plus a bidirectional recurrent correction
    with a zero-initialised head. So the untrained model returns its input,
    a rows-then-columns pair can express any separable linear filter (the
    exact inverse of a Gaussian blur is one), and after a rows sweep and a
    columns sweep every output pixel has seen the whole image.

    With `init_sigma`, the first rows sweep's and the first columns sweep's
    line mixes start instead as the 1-D regularised inverse of scipy's
    reflect Gaussian blur along their axis, `D = (H^T H + init_balance *
    L^T L)^-1 H^T` (`baselines.regularized_inverse`; later sweeps stay the
    identity): the untrained model is then the separable deconvolution
    `baselines.separable_deconvolution`, and training learns the recurrent
    correction and fine-tunes the mixes. Choose `init_balance` on validation
    images with `baselines.tune_separable_deconvolution`.

    Presets (`ReNetRestorer.presets`), on 32x32x3 images:

    - `"linear_rows_columns"`: a rows and a columns sweep, linear only
      (`units=0`): a learned separable filter. 18,624 parameters.
    - `"linear_rows_columns_x2"`: rows, columns, rows, columns, linear
      only: the best measured on noise-free CIFAR-10 deblurring
      (`docs/models/renet_restorer.md`). 37,248 parameters.
    - `"gru_32_rows_columns"`: a rows and a columns sweep with a
      bidirectional GRU(32) each. 81,024 parameters.
    - `"gru_16_rows_columns_x2"`: rows, columns, rows, columns, each with a
      bidirectional GRU(16): with `init_sigma` (deconvolution
      initialisation) and 20 epochs, ahead of Wiener deconvolution on 8-bit
      CIFAR-10 at sigma 1.0, 1.5 and 2.0 (`docs/results.md`). 93,696
      parameters. `BlindReNetRestorer` blends such models when the blur is
      not known.

    Args:
        image_shape: tuple `(height, width, channels)`, all known. Defaults
            to `(32, 32, 3)`.
        sweeps: tuple of `"rows"` / `"columns"`, one `LineSweep` each, in
            order. Defaults to `("rows", "columns")`.
        units: int >= 0, units of each direction of every sweep's recurrent
            cell; 0 makes the model linear. Defaults to `32`.
        cell: str, `"gru"` or `"lstm"`. Defaults to `"gru"`.
        linear: bool, give each sweep its identity-initialised linear line
            mix. Defaults to `True`.
        activation: activation of the recurrent cells. Defaults to `"tanh"`.
        init_sigma: `None`, float >= 0 or pair `(sigma_h, sigma_w)`: the
            blur whose regularised inverse the first rows and columns sweeps
            start as; `None` starts every sweep as the identity. Needs
            `linear=True`. Defaults to `None`.
        init_balance: float >= 0, the inverse's regularisation weight (0:
            the exact inverse). Defaults to `1e-3`, the best on CIFAR-10
            blurred at sigma 1.0 or 1.5 and rounded to 8 bits.
        init_regularizer: `"laplacian"` (second difference, measured
            better) or `"identity"`. Defaults to `"laplacian"`.
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
    >>> ReNetRestorer.from_preset("gru_32_rows_columns").count_params()
    81024
    >>> model = ReNetRestorer(image_shape=(6, 4, 2), units=8)
    >>> images = np.random.rand(3, 6, 4, 2).astype("float32")
    >>> restored = keras.ops.convert_to_numpy(model(images))
    >>> restored.shape
    (3, 6, 4, 2)
    >>> bool(np.allclose(restored, images, atol=1e-6))  # identity at first
    True
    >>> from keras_seqimage.baselines import separable_deconvolution
    >>> deblur = ReNetRestorer(image_shape=(6, 4, 2), units=8, init_sigma=1.0)
    >>> expected = separable_deconvolution(images, 1.0, 1e-3, clip=False)
    >>> restored = keras.ops.convert_to_numpy(deblur(images))
    >>> bool(np.allclose(restored, expected, atol=1e-5))
    True

    Reference:
        F. Visin et al., "ReNet: A Recurrent Neural Network Based Alternative
        to Convolutional Networks", 2015 (`docs/models/renet_restorer.md`).
    """

    presets = {
        "linear_rows_columns": {
            "image_shape": (32, 32, 3),
            "sweeps": ("rows", "columns"),
            "units": 0,
        },
        "linear_rows_columns_x2": {
            "image_shape": (32, 32, 3),
            "sweeps": ("rows", "columns", "rows", "columns"),
            "units": 0,
        },
        "gru_32_rows_columns": {
            "image_shape": (32, 32, 3),
            "sweeps": ("rows", "columns"),
            "units": 32,
            "cell": "gru",
        },
        "gru_16_rows_columns_x2": {
            "image_shape": (32, 32, 3),
            "sweeps": ("rows", "columns", "rows", "columns"),
            "units": 16,
            "cell": "gru",
        },
    }

    def __init__(
        self,
        image_shape=(32, 32, 3),
        sweeps=("rows", "columns"),
        units=32,
        cell="gru",
        linear=True,
        activation="tanh",
        init_sigma=None,
        init_balance=1e-3,
        init_regularizer="laplacian",
        **kwargs,
    ):
        image_shape = check_image_shape("image_shape", image_shape)
        sweeps = check_sweeps(sweeps)
        units = check_non_negative_int("units", units)
        cell = check_choice("cell", cell, CELLS)
        linear = check_bool("linear", linear)
        activation = check_activation("activation", activation)
        init_sigma, init_balance, init_regularizer = check_init(
            init_sigma, init_balance, init_regularizer, linear
        )

        # === Layers ===
        layers = sweep_layers(
            sweeps,
            init_sigma=init_sigma,
            units=units,
            cell=cell,
            linear=linear,
            activation=activation,
            init_balance=init_balance,
            init_regularizer=init_regularizer,
        )

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        outputs = apply_in_turn(layers, inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.sweeps = sweeps
        self.units = units
        self.cell = cell
        self.linear = linear
        self.activation = activation
        self.init_sigma = init_sigma
        self.init_balance = init_balance
        self.init_regularizer = init_regularizer

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "sweeps": self.sweeps,
            "units": self.units,
            "cell": self.cell,
            "linear": self.linear,
            "activation": self.activation,
            "init_sigma": self.init_sigma,
            "init_balance": self.init_balance,
            "init_regularizer": self.init_regularizer,
        }
