"""Deblurring without knowing the blur: estimate it, then use the nearest experts."""

import itertools
import os

import keras

from keras_seqimage._validation import (
    check_activation,
    check_bool,
    check_choice,
    check_finite_non_negative,
    check_image_shape,
    check_non_negative_int,
    check_positive_int,
    nan_where_non_finite,
)
from keras_seqimage.baselines import REGULARIZERS
from keras_seqimage.layers.blur_estimator import (
    BlurEstimator,
    BlurInterpolation,
    check_sigma_grid,
)
from keras_seqimage.layers.line_sweep import CELLS, LineSweep
from keras_seqimage.models._graph import apply_in_turn
from keras_seqimage.models._image_model import ImageModel
from keras_seqimage.models.renet_restorer import (
    ReNetRestorer,
    check_sweeps,
    sweep_layers,
)

# Each probe: a rows then a columns sweep, the separable inverse of its blur.
PROBE_SWEEPS = ("rows", "columns")


def _check_image_size(image_shape):
    """The blur estimator takes second differences: 3 pixels at least."""
    if min(image_shape[:2]) < 3:
        raise ValueError(
            "`image_shape` needs height and width >= 3 (the blur estimator "
            "takes second differences of neighbouring pixels). Received: "
            f"image_shape={image_shape}"
        )


def _blur_estimate(images, probes, estimator):
    """The estimator's sigma per image, from `images` and each probe's output."""
    return estimator([images, *(apply_in_turn(probe, images) for probe in probes)])


@keras.saving.register_keras_serializable(package="keras_seqimage")
class BlindReNetRestorer(ImageModel):
    """Restores images blurred by a Gaussian of unknown sigma in a range.

    Non-blind restoration made blind, from this toolkit's sequence layers:

    1. Probes: for each entry of `sigmas`, a rows and a columns `LineSweep`
       fixed to the separable regularised inverse of that blur (frozen).
    2. A `BlurEstimator` estimates each image's blur from how much detail
       each probe adds: the model is never told sigma (`estimate_sigma`).
    3. Experts: for each entry of `sigmas`, a `ReNetRestorer`-style stack of
       `LineSweep`s (`sweeps`, `units`), its first rows and columns sweeps
       initialised as that blur's inverse (`ReNetRestorer(init_sigma=...)`).
    4. `BlurInterpolation` blends the two experts around the estimate,
       linearly in sigma.

    Untrained, the estimate is the middle of `sigmas` for every image, and
    the model is that blur's separable inverse. Train it on a range of
    blurs (`GaussianBlurLayer(sigma_range=...)`, `examples/cifar_deblur.py
    --sigma-range`) a little wider than `sigmas` (0.9 to 2.1 for 1 to 2
    measured best): the estimates lean towards the middle of the training
    range, and the margin keeps that pull away from the end experts. The
    experts can start from trained per-sigma `ReNetRestorer`s
    (`load_experts`); with `train_experts=False` only the estimator then
    learns.

    Presets (`BlindReNetRestorer.presets`), on 32x32x3 images:

    - `"gru_16_sigma_1_to_2"`: probes and experts at sigma 1.0, 1.5 and
      2.0; each expert is `ReNetRestorer`'s `linear_rows_columns_x2` with
      `units=16` (rows, columns, rows, columns, bidirectional GRU(16)).
      337,281 parameters, 55,872 of them the frozen probes.

    Args:
        image_shape: tuple `(height, width, channels)`, all known, height and
            width >= 3. Defaults to `(32, 32, 3)`.
        sigmas: list of >= 2 strictly increasing floats >= 0, the blurs of
            the probes and experts; estimates stay between the first and the
            last. Defaults to `(1.0, 1.5, 2.0)`.
        init_balance: float >= 0, the inverses' regularisation weight.
            Defaults to `1e-3` (`baselines.tune_separable_deconvolution`'s
            choice on 8-bit CIFAR-10 at sigma 1.0, 1.5 and 2.0).
        init_regularizer: `"laplacian"` or `"identity"`. Defaults to
            `"laplacian"`.
        estimator_units: int > 0, hidden units of the `BlurEstimator`.
            Defaults to `32`.
        sweeps: non-empty tuple of `"rows"` / `"columns"`, each expert's
            sweeps. Defaults to `("rows", "columns", "rows", "columns")`.
        units: int >= 0, units of each direction of the experts' recurrent
            cells; 0 makes the experts linear. Defaults to `16`.
        cell: str, `"gru"` or `"lstm"`. Defaults to `"gru"`.
        activation: activation of the recurrent cells. Defaults to `"tanh"`.
        train_experts: bool, train the experts (else only the estimator).
            Defaults to `True`.
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
            "sigmas": (1.0, 1.5, 2.0),
            "sweeps": ("rows", "columns", "rows", "columns"),
            "units": 16,
            "cell": "gru",
        },
    }

    def __init__(
        self,
        image_shape=(32, 32, 3),
        sigmas=(1.0, 1.5, 2.0),
        init_balance=1e-3,
        init_regularizer="laplacian",
        estimator_units=32,
        sweeps=("rows", "columns", "rows", "columns"),
        units=16,
        cell="gru",
        activation="tanh",
        train_experts=True,
        **kwargs,
    ):
        image_shape = check_image_shape("image_shape", image_shape)
        sigmas = check_sigma_grid(sigmas)
        init_balance = check_finite_non_negative("init_balance", init_balance)
        init_regularizer = check_choice(
            "init_regularizer", init_regularizer, REGULARIZERS
        )
        estimator_units = check_positive_int("estimator_units", estimator_units)
        sweeps = check_sweeps(sweeps)
        units = check_non_negative_int("units", units)
        cell = check_choice("cell", cell, CELLS)
        activation = check_activation("activation", activation)
        train_experts = check_bool("train_experts", train_experts)
        _check_image_size(image_shape)

        # === Layers ===
        inverse = {"init_balance": init_balance, "init_regularizer": init_regularizer}
        probes = [
            [
                LineSweep(
                    order=order,
                    units=0,
                    init_sigma=sigma,
                    name=f"probe_{k}_{order}",
                    **inverse,
                )
                for order in PROBE_SWEEPS
            ]
            for k, sigma in enumerate(sigmas)
        ]
        estimator = BlurEstimator(sigmas, estimator_units, name="blur_estimator")
        experts = [
            sweep_layers(
                sweeps,
                prefix=f"expert_{k}_",
                init_sigma=sigma,
                units=units,
                cell=cell,
                activation=activation,
                **inverse,
            )
            for k, sigma in enumerate(sigmas)
        ]
        interpolation = BlurInterpolation(sigmas, name="interpolation")

        # === Functional Model ===
        inputs = keras.Input(shape=image_shape, name="images")
        estimate = _blur_estimate(inputs, probes, estimator)
        restored = [apply_in_turn(expert, inputs) for expert in experts]
        outputs = interpolation([estimate, *restored])
        # Frozen after the calls: the setter reaches the built sublayers.
        for layer in itertools.chain(*probes):
            layer.trainable = False
        for layer in itertools.chain(*experts):
            layer.trainable = train_experts
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.sigmas = sigmas
        self.init_balance = init_balance
        self.init_regularizer = init_regularizer
        self.estimator_units = estimator_units
        self.sweeps = sweeps
        self.units = units
        self.cell = cell
        self.activation = activation
        self.train_experts = train_experts

    def estimate_sigma(self, images):
        """The blur the model estimates for each image, `(batch,)`.

        Inputs are checked as the model's (`ValueError`); in a compiled step,
        an image with NaN or inf gets the estimate NaN.
        """
        if not hasattr(images, "shape"):
            images = keras.ops.convert_to_tensor(images)
        self._check_inputs(images)
        images = keras.ops.convert_to_tensor(images)
        probes = [
            [self.get_layer(f"probe_{k}_{order}") for order in PROBE_SWEEPS]
            for k in range(len(self.sigmas))
        ]
        sigma = _blur_estimate(images, probes, self.get_layer("blur_estimator"))
        return nan_where_non_finite(images, sigma)

    def load_experts(self, models):
        """Copy trained per-sigma `ReNetRestorer`s into the experts.

        Args:
            models: one per entry of `sigmas`, in order: `ReNetRestorer`
                models or paths of `.keras` files holding them, each built
                like the experts (same `image_shape`, `sweeps`, `units`,
                `cell`), typically trained at that sigma.

        Returns:
            The model itself.
        """
        if not isinstance(models, (list, tuple)) or len(models) != len(self.sigmas):
            raise ValueError(
                f"`models` must be a list of {len(self.sigmas)} ReNetRestorer "
                f"models or .keras paths, one per sigma in {self.sigmas}. "
                f"Received: models={models!r}"
            )
        expected = {
            "image_shape": self.image_shape,
            "sweeps": self.sweeps,
            "units": self.units,
            "cell": self.cell,
        }
        for k, model in enumerate(models):
            if isinstance(model, (str, os.PathLike)):
                model = keras.saving.load_model(model)
            found = (
                {key: getattr(model, key, None) for key in expected}
                if isinstance(model, ReNetRestorer)
                else type(model).__name__
            )
            if found != expected:
                raise ValueError(
                    f"`models[{k}]` must be a ReNetRestorer built like the "
                    f"experts, {expected}. Received: {found}"
                )
            for i, order in enumerate(self.sweeps):
                source = model.get_layer(f"sweep_{i}_{order}")
                target = self.get_layer(f"expert_{k}_sweep_{i}_{order}")
                target.set_weights(source.get_weights())
        return self

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "sigmas": self.sigmas,
            "init_balance": self.init_balance,
            "init_regularizer": self.init_regularizer,
            "estimator_units": self.estimator_units,
            "sweeps": self.sweeps,
            "units": self.units,
            "cell": self.cell,
            "activation": self.activation,
            "train_experts": self.train_experts,
        }
