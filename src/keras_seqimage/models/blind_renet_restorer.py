"""Deblurring without knowing the blur: a bank of inverses, a gate, ReNet sweeps."""

import keras

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_finite_non_negative,
    check_image_shape,
    check_non_negative_int,
    check_positive_int,
)
from keras_seqimage.baselines import REGULARIZERS
from keras_seqimage.layers.blur_gate import BlurGate, check_sigma_grid
from keras_seqimage.layers.line_sweep import CELLS, LineSweep
from keras_seqimage.models._image_model import ImageModel
from keras_seqimage.models.renet_restorer import check_sweeps


@keras.saving.register_keras_serializable(package="keras_seqimage")
class BlindReNetRestorer(ImageModel):
    """Restores images blurred by a Gaussian of unknown sigma in a range.

    Three stages, all sequence layers of this toolkit:

    1. A bank of branches, one per entry of `sigmas`: a rows and a columns
       `LineSweep` (linear, `units=0`) set to the separable regularised
       inverse of that blur (`ReNetRestorer(init_sigma=...)`), frozen unless
       `train_branches=True`.
    2. A `BlurGate` estimates each image's blur from how much detail each
       inverse adds (the model is never told sigma; `estimate_sigma` returns
       the estimate) and interpolates between the two branches around it.
    3. `ReNetRestorer`-style refinement: one `LineSweep` per entry of
       `sweeps` (identity line mix plus a bidirectional recurrent correction
       with a zero-initialised head).

    Untrained, the gate's estimate is the middle of `sigmas` for every image;
    training teaches it to estimate, and the branches and sweeps to correct.
    Train it on a range of blurs (`GaussianBlurLayer(sigma_range=...)`,
    `examples/cifar_deblur.py --sigma-range 1.0 2.0`).

    Presets (`BlindReNetRestorer.presets`), on 32x32x3 images:

    - `"gru_16_sigma_1_to_2"`: branches at sigma 1.0, 1.25, 1.5, 1.75 and
      2.0, then rows, columns, rows, columns sweeps with a bidirectional
      GRU(16) each. 187,265 parameters, 94,145 of them trainable.

    Args:
        image_shape: tuple `(height, width, channels)`, all known, height and
            width >= 2. Defaults to `(32, 32, 3)`.
        sigmas: list of >= 2 strictly increasing floats >= 0, the blurs of
            the branch inverses; the gate's estimates stay between the first
            and the last. Defaults to `(1.0, 1.25, 1.5, 1.75, 2.0)`.
        init_balance: float >= 0, the inverses' regularisation weight.
            Defaults to `1e-3` (`baselines.tune_separable_deconvolution`'s
            choice on 8-bit CIFAR-10 at sigma 1.0, 1.5 and 2.0).
        init_regularizer: `"laplacian"` or `"identity"`. Defaults to
            `"laplacian"`.
        gate_units: int > 0, hidden units of the gate. Defaults to `32`.
        sweeps: tuple of `"rows"` / `"columns"` (may be empty), the
            refinement sweeps. Defaults to `("rows", "columns", "rows",
            "columns")`.
        units: int >= 0, units of each direction of every refinement sweep's
            recurrent cell; 0 makes them linear. Defaults to `16`.
        cell: str, `"gru"` or `"lstm"`. Defaults to `"gru"`.
        activation: activation of the recurrent cells. Defaults to `"tanh"`.
        train_branches: bool, train the branch inverses too. Defaults to
            `False`: they stay the classical inverses, which measured better
            (training them lets each drift towards the blurs of its
            neighbours, and the gate's choice then matters less).
        **kwargs: base model keyword arguments, such as `name`.

    Input shape:
        4D tensor `(batch, height, width, channels)`.

    Output shape:
        Same as the input.

    Example:

    >>> import numpy as np
    >>> model = BlindReNetRestorer(image_shape=(8, 8, 3), units=4)
    >>> images = np.random.rand(2, 8, 8, 3).astype("float32")
    >>> tuple(model(images).shape)
    (2, 8, 8, 3)
    >>> keras.ops.convert_to_numpy(model.estimate_sigma(images))  # untrained
    array([1.5, 1.5], dtype=float32)
    """

    presets = {
        "gru_16_sigma_1_to_2": {
            "image_shape": (32, 32, 3),
            "sigmas": (1.0, 1.25, 1.5, 1.75, 2.0),
            "sweeps": ("rows", "columns", "rows", "columns"),
            "units": 16,
            "cell": "gru",
        },
    }

    def __init__(
        self,
        image_shape=(32, 32, 3),
        sigmas=(1.0, 1.25, 1.5, 1.75, 2.0),
        init_balance=1e-3,
        init_regularizer="laplacian",
        gate_units=32,
        sweeps=("rows", "columns", "rows", "columns"),
        units=16,
        cell="gru",
        activation="tanh",
        train_branches=False,
        **kwargs,
    ):
        image_shape = check_image_shape("image_shape", image_shape)
        sigmas = check_sigma_grid(sigmas)
        init_balance = check_finite_non_negative("init_balance", init_balance)
        init_regularizer = check_choice(
            "init_regularizer", init_regularizer, REGULARIZERS
        )
        gate_units = check_positive_int("gate_units", gate_units)
        sweeps = check_sweeps(sweeps, allow_empty=True)
        units = check_non_negative_int("units", units)
        cell = check_choice("cell", cell, CELLS)
        activation = check_activation("activation", activation)
        if min(image_shape[:2]) < 3:
            raise ValueError(
                "`image_shape` needs height and width >= 3 (the gate takes "
                "second differences of neighbouring pixels). Received: "
                f"image_shape={image_shape}"
            )
        train_branches = check_bool("train_branches", train_branches)

        inputs = keras.Input(shape=image_shape, name="images")
        branches = [
            self._branch(
                inputs, k, sigma, init_balance, init_regularizer, train_branches
            )
            for k, sigma in enumerate(sigmas)
        ]
        x = BlurGate(sigmas, units=gate_units, name="gate")([inputs, *branches])
        for i, order in enumerate(sweeps):
            x = LineSweep(
                order=order,
                units=units,
                cell=cell,
                activation=activation,
                name=f"sweep_{i}_{order}",
            )(x)
        super().__init__(inputs=inputs, outputs=x, **kwargs)

        self.image_shape = image_shape
        self.sigmas = sigmas
        self.init_balance = init_balance
        self.init_regularizer = init_regularizer
        self.gate_units = gate_units
        self.sweeps = sweeps
        self.units = units
        self.cell = cell
        self.activation = activation
        self.train_branches = train_branches

    @staticmethod
    def _branch(inputs, index, sigma, balance, regularizer, trainable):
        x = inputs
        for order in ("rows", "columns"):
            sweep = LineSweep(
                order=order,
                units=0,
                init_sigma=sigma,
                init_balance=balance,
                init_regularizer=regularizer,
                name=f"branch_{index}_{order}",
            )
            x = sweep(x)
            # Set after the call: the setter reaches the built sublayers.
            sweep.trainable = trainable
        return x

    def _gate_inputs(self, images):
        images = keras.ops.convert_to_tensor(images)
        self._check_inputs(images)
        branches = []
        for k in range(len(self.sigmas)):
            x = images
            for order in ("rows", "columns"):
                x = self.get_layer(f"branch_{k}_{order}")(x)
            branches.append(x)
        return [images, *branches]

    def estimate_sigma(self, images):
        """The blur the gate estimates for each image, `(batch,)`."""
        return self.get_layer("gate").estimate_sigma(self._gate_inputs(images))

    def branch_weights(self, images):
        """The gate's per-image weights of the branches, `(batch, len(sigmas))`."""
        return self.get_layer("gate").candidate_weights(self._gate_inputs(images))

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "sigmas": self.sigmas,
            "init_balance": self.init_balance,
            "init_regularizer": self.init_regularizer,
            "gate_units": self.gate_units,
            "sweeps": self.sweeps,
            "units": self.units,
            "cell": self.cell,
            "activation": self.activation,
            "train_branches": self.train_branches,
        }
