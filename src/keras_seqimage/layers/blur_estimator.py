"""Estimate blur per image; interpolate between restorations for a grid of blurs."""

import keras
from keras import ops

from keras_seqimage._validation import (
    check_finite_non_negative,
    check_positive_int,
    check_rank,
)


def log_detail(images, epsilon=1e-8, order=1):
    """Per-image log energy of the image's differences along both axes.

    `log(mean(d_y^2) + mean(d_x^2) + epsilon)`, `d` the first (`order=1`) or
    second (`order=2`) difference between neighbouring pixels.

    Args:
        images: 4D tensor `(batch, height, width, channels)`, height and
            width > `order`.
        epsilon: float > 0 added before the logarithm.
        order: 1 or 2, the order of the differences.

    Returns:
        1D float32 tensor `(batch,)`.
    """
    dy = dx = ops.cast(images, "float32")
    for _ in range(order):
        dy = dy[:, 1:] - dy[:, :-1]
        dx = dx[:, :, 1:] - dx[:, :, :-1]
    energy = ops.mean(ops.square(dy), axis=(1, 2, 3)) + ops.mean(
        ops.square(dx), axis=(1, 2, 3)
    )
    return ops.log(energy + epsilon)


def check_sigma_grid(value):
    """`sigmas`: at least 2 strictly increasing numbers >= 0, as floats."""
    message = (
        "`sigmas` must be a list of at least 2 strictly increasing numbers >= 0 "
        f"(one candidate each). Received: sigmas={value!r}"
    )
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise ValueError(message)
    try:
        sigmas = tuple(check_finite_non_negative("sigmas", v) for v in value)
    except ValueError:
        raise ValueError(message) from None
    if any(b <= a for a, b in zip(sigmas, sigmas[1:], strict=False)):
        raise ValueError(message)
    return sigmas


def interpolation_weights(sigma, grid):
    """Weights of linear interpolation at `sigma` between the points of `grid`.

    Args:
        sigma: 1D tensor `(batch,)`, inside `[grid[0], grid[-1]]`.
        grid: strictly increasing floats.

    Returns:
        `(batch, len(grid))`: at most two non-zero weights per row (the grid
        points around `sigma`), summing to 1.
    """
    columns = []
    for k, point in enumerate(grid):
        rising = ops.ones_like(sigma)
        falling = ops.ones_like(sigma)
        if k > 0:
            rising = (sigma - grid[k - 1]) / (point - grid[k - 1])
        if k < len(grid) - 1:
            falling = (grid[k + 1] - sigma) / (grid[k + 1] - point)
        columns.append(ops.clip(ops.minimum(rising, falling), 0.0, 1.0))
    return ops.stack(columns, axis=1)


def _check_list_shapes(name, input_shape, count, what):
    """A list of `count` rank-4 shapes, equal but for the batch size."""
    if (
        not isinstance(input_shape, (list, tuple))
        or len(input_shape) != count
        or not all(isinstance(s, (list, tuple)) for s in input_shape)
    ):
        raise ValueError(
            f"{name} expects a list {what} of {count} tensors. Received: input "
            f"shapes {input_shape!r}"
        )
    first = tuple(input_shape[0])
    for shape in input_shape:
        check_rank("inputs", shape, 4, name)
        if tuple(shape)[1:] != first[1:]:
            raise ValueError(
                f"{name} expects tensors of one shape. Received: input shapes "
                f"{list(input_shape)!r}"
            )
    return first


@keras.saving.register_keras_serializable(package="keras_seqimage")
class BlurEstimator(keras.layers.Layer):
    """Estimates each image's Gaussian blur from deconvolutions of it.

    Called on `[images, probe_1, ..., probe_K]`, where probe `k` is the image
    deconvolved for a blur of `sigmas[k]` (the separable inverses of
    `BlindReNetRestorer`), it returns one estimate per image in
    `[sigmas[0], sigmas[-1]]`:
    `sigmas[0] + (sigmas[-1] - sigmas[0]) * sigmoid(mlp(f))`
    (`Dense(units, relu)`, then `Dense(1)` starting at zero, so the untrained
    estimate is the middle of the range). The features `f`, per image: the
    log energy of the image's first and of its second differences
    (`log_detail`), and how much each probe raises each. Deconvolving for
    too large a blur amplifies the image's noise (its 8-bit rounding, say)
    far more than for the right one, so these tell blurs apart. They are
    computed without gradient (`stop_gradient`): the estimator learns from
    whatever its estimate is used for (`BlurInterpolation`).

    Args:
        sigmas: list of >= 2 strictly increasing floats >= 0: the blur each
            probe was deconvolved for, in the order of the probes.
        units: int > 0, hidden units of the estimator. Defaults to `32`.
        epsilon: float >= 0 added to the difference energies before their
            logarithm. Defaults to `1e-8`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        A list of `len(sigmas) + 1` tensors `(batch, height, width,
        channels)` of one shape (height and width >= 3): the images, then
        the probes.

    Output shape:
        `(batch,)`, float32.

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(2, 8, 8, 3).astype("float32")
    >>> estimator = BlurEstimator(sigmas=(1.0, 1.5, 2.0), units=4)
    >>> probes = [images * 0.5, images * 1.0, images * 2.0]
    >>> keras.ops.convert_to_numpy(estimator([images, *probes]))  # untrained
    array([1.5, 1.5], dtype=float32)
    """

    def __init__(self, sigmas, units=32, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.sigmas = check_sigma_grid(sigmas)
        self.units = check_positive_int("units", units)
        self.epsilon = check_finite_non_negative("epsilon", epsilon)
        self.hidden = None
        self.estimate = None

    def _check_input_shapes(self, input_shape):
        name = self.__class__.__name__
        first = _check_list_shapes(
            name,
            input_shape,
            len(self.sigmas) + 1,
            "[images, probe_1, ..., probe_K] (K = len(sigmas))",
        )
        height, width = first[1], first[2]
        if (height is not None and height < 3) or (width is not None and width < 3):
            raise ValueError(
                f"{name} needs images of height and width >= 3 (it takes second "
                f"differences of neighbouring pixels). Received: input shape {first}"
            )

    def build(self, input_shape):
        self._check_input_shapes(input_shape)
        self.hidden = keras.layers.Dense(
            self.units, activation="relu", name="hidden", dtype="float32"
        )
        self.hidden.build((None, 2 * (len(self.sigmas) + 1)))
        self.estimate = keras.layers.Dense(
            1, kernel_initializer="zeros", name="estimate", dtype="float32"
        )
        self.estimate.build((None, self.units))

    def call(self, inputs):
        images, *probes = inputs
        features = []
        for order in (1, 2):
            detail = log_detail(images, self.epsilon, order)
            features.append(detail)
            features += [
                log_detail(probe, self.epsilon, order) - detail for probe in probes
            ]
        features = ops.stop_gradient(ops.stack(features, axis=1))
        fraction = ops.sigmoid(self.estimate(self.hidden(features))[:, 0])
        low, high = self.sigmas[0], self.sigmas[-1]
        return low + (high - low) * fraction

    def compute_output_shape(self, input_shape):
        self._check_input_shapes(input_shape)
        return (input_shape[0][0],)

    def get_config(self):
        return {
            **super().get_config(),
            "sigmas": self.sigmas,
            "units": self.units,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="keras_seqimage")
class BlurInterpolation(keras.layers.Layer):
    """Interpolates between restorations made for a grid of blurs.

    Called on `[sigma, candidate_1, ..., candidate_K]`, where candidate `k`
    restores the image for a blur of `sigmas[k]` and `sigma` `(batch,)` is
    each image's blur (known, or from `BlurEstimator`), it returns the
    linear interpolation in sigma between the two candidates around it
    (`interpolation_weights`): at `sigma = sigmas[k]` exactly candidate `k`.
    Only neighbours are blended on purpose: a restoration made for a blur
    much larger than the image's amplifies its noise, and even a small share
    of it costs decibels. No weights.

    Args:
        sigmas: list of >= 2 strictly increasing floats >= 0, the blur of
            each candidate; `sigma` outside `[sigmas[0], sigmas[-1]]` gets the
            nearest end.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        A list: `sigma` `(batch,)`, then `len(sigmas)` tensors `(batch,
        height, width, channels)` of one shape.

    Output shape:
        `(batch, height, width, channels)`.

    Example:

    >>> import numpy as np
    >>> candidates = [np.full((2, 4, 4, 1), v, "float32") for v in (0.0, 10.0)]
    >>> blend = BlurInterpolation(sigmas=(1.0, 2.0))
    >>> sigma = np.array([1.0, 1.25], "float32")
    >>> keras.ops.convert_to_numpy(blend([sigma, *candidates]))[:, 0, 0, 0]
    array([0. , 2.5], dtype=float32)
    """

    def __init__(self, sigmas, **kwargs):
        super().__init__(**kwargs)
        self.sigmas = check_sigma_grid(sigmas)

    def _check_input_shapes(self, input_shape):
        name = self.__class__.__name__
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 1:
            raise ValueError(
                f"{name} expects a list [sigma, candidate_1, ..., candidate_K]. "
                f"Received: input shapes {input_shape!r}"
            )
        check_rank("sigma", input_shape[0], 1, name)
        return _check_list_shapes(
            name,
            list(input_shape[1:]),
            len(self.sigmas),
            "of candidates [candidate_1, ..., candidate_K] (K = len(sigmas))",
        )

    def build(self, input_shape):
        self._check_input_shapes(input_shape)

    def call(self, inputs):
        sigma, *candidates = inputs
        low, high = self.sigmas[0], self.sigmas[-1]
        sigma = ops.clip(ops.cast(sigma, "float32"), low, high)
        weights = ops.cast(
            interpolation_weights(sigma, self.sigmas), self.compute_dtype
        )
        candidates = ops.stack(candidates, axis=1)  # (batch, K, h, w, c)
        return ops.sum(weights[:, :, None, None, None] * candidates, axis=1)

    def compute_output_shape(self, input_shape):
        return self._check_input_shapes(input_shape)

    def get_config(self):
        return {**super().get_config(), "sigmas": self.sigmas}
