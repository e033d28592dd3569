"""Restoration metrics: PSNR and SSIM per image, and their Keras metric classes.

The functions return one value per image and use `keras.ops` only, so they run
under every Keras backend, eagerly or inside a compiled train step. The metric
classes average those per-image values over all the images seen.
"""

import keras
from keras import ops

from keras_seqimage import kernels
from keras_seqimage._validation import (
    check_image_pair,
    check_positive,
    check_positive_int,
)
from keras_seqimage.ops import gaussian_filter

__all__ = [
    "psnr",
    "ssim",
    "restoration_scores",
    "PSNR",
    "SSIM",
    "PSNRLoss",
    "RMSELoss",
]

# Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03.
# truncate 3.5 gives scipy's radius int(3.5 * 1.5 + 0.5) = 5, i.e. 11 taps,
# which is the window scikit-image uses with `gaussian_weights=True`.
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_RADIUS = kernels.kernel_radius(SSIM_SIGMA, SSIM_TRUNCATE)
SSIM_WINDOW = 2 * SSIM_RADIUS + 1
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def psnr(y_true, y_pred, data_range: float = 1.0):
    """Peak signal-to-noise ratio of each image, in decibels.

    `10 * log10(data_range**2 / mse)`, with `mse` the mean squared error over
    the height, width and channels of each image. Equals
    `skimage.metrics.peak_signal_noise_ratio(t, p, data_range=data_range)`
    image by image. Identical images (`mse == 0`) give `+inf`, as in
    scikit-image.

    Args:
        y_true: float tensor `(batch, height, width, channels)`, the reference.
        y_pred: float tensor of the same shape, the restored images.
        data_range: float > 0, the distance between the smallest and the
            largest possible pixel value. Defaults to `1.0` (images in
            `[0, 1]`).

    Returns:
        A float tensor of shape `(batch,)`.

    Example:

    >>> import numpy as np
    >>> y_true = np.full((2, 8, 8, 3), 0.5, dtype="float32")
    >>> y_pred = y_true + np.array([0.1, 0.0], "float32")[:, None, None, None]
    >>> [round(float(v), 3) for v in psnr(y_true, y_pred)]
    [20.0, inf]
    """
    y_true, y_pred = _check_images(y_true, y_pred, "psnr")
    data_range = check_positive("data_range", data_range)
    mse = ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
    # mse == 0 gives data_range**2 / 0 = +inf and log10(+inf) = +inf: no NaN.
    return 10.0 * ops.log10(data_range**2 / mse)


def ssim(y_true, y_pred, data_range: float = 1.0):
    """Structural similarity (SSIM) of each image, with Wang et al.'s settings.

    The local means, variances and covariance come from an 11x11 Gaussian
    window with sigma 1.5 (`keras_seqimage.ops.gaussian_filter` with
    `truncate=3.5`), population covariance, `K1 = 0.01`, `K2 = 0.03`. The
    filtering is *valid*: the 5-pixel border, where the window would leave the
    image, is cropped, and the SSIM map is averaged over the remaining pixels
    and all channels. Equals, image by image,
    `skimage.metrics.structural_similarity(t, p, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=data_range,
    channel_axis=-1)`. The window changes the number (markedly on small
    images), so state it when reporting SSIM.

    Args:
        y_true: float tensor `(batch, height, width, channels)`, the reference;
            height and width known and at least 11.
        y_pred: float tensor of the same shape, the restored images.
        data_range: float > 0, the distance between the smallest and the
            largest possible pixel value. Defaults to `1.0` (images in
            `[0, 1]`).

    Returns:
        A float tensor of shape `(batch,)`, 1 for identical images.

    Example:

    >>> import numpy as np
    >>> from keras_seqimage.ops import gaussian_filter
    >>> y_true = np.random.rand(2, 32, 32, 3).astype("float32")
    >>> y_pred = gaussian_filter(y_true, sigma=1.0)
    >>> tuple(ssim(y_true, y_pred).shape)
    (2,)
    >>> [round(float(v), 4) for v in ssim(y_true, y_true)]
    [1.0, 1.0]
    """
    y_true, y_pred = _check_images(y_true, y_pred, "ssim")
    data_range = check_positive("data_range", data_range)
    height, width = y_true.shape[1], y_true.shape[2]
    if height is None or width is None:
        raise ValueError(
            "ssim needs a known image height and width. "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    if height < SSIM_WINDOW or width < SSIM_WINDOW:
        raise ValueError(
            f"`y_true` and `y_pred` must be at least {SSIM_WINDOW}x{SSIM_WINDOW} "
            f"pixels for SSIM (an {SSIM_WINDOW}x{SSIM_WINDOW} window, valid "
            f"filtering). Received: y_true.shape={tuple(y_true.shape)}"
        )

    # Centre each image channel on its mean: the local (co)variances do not
    # change, and the float32 cancellation in E[x^2] - E[x]^2 shrinks.
    shift_x = ops.mean(y_true, axis=(1, 2), keepdims=True)
    shift_y = ops.mean(y_pred, axis=(1, 2), keepdims=True)
    x, y = y_true - shift_x, y_pred - shift_y
    # SSIM needs the variances only as their sum, so four windowed means
    # instead of the textbook's five; each is filtered in its own call (all
    # of them stacked along the batch make one operand too large for the CPU's
    # cache) and only where the window fits (`crop`): the valid filtering
    # discards the border anyway.
    mu_x, mu_y, e_squares, e_xy = (
        gaussian_filter(
            image, sigma=SSIM_SIGMA, truncate=SSIM_TRUNCATE, crop=SSIM_RADIUS
        )
        for image in (x, y, x * x + y * y, x * y)
    )

    var_sum = e_squares - (mu_x * mu_x + mu_y * mu_y)  # var_x + var_y
    cov_xy = e_xy - mu_x * mu_y
    mu_x, mu_y = mu_x + shift_x, mu_y + shift_y
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_sum + c2)
    )
    return ops.mean(ssim_map, axis=(1, 2, 3))


def restoration_scores(y_true, y_pred, data_range=1.0, batch_size=500):
    """Mean MSE, PSNR and SSIM over a set of images, as plain floats.

    The numbers of a results table: each metric is computed per image
    (`psnr`, `ssim`, and the per-image mean squared error) and averaged over
    the images, in batches of `batch_size` so that a whole test split fits in
    memory. SSIM is left out (`None`) for images smaller than its 11x11
    window. A PSNR of `+inf` (an image restored exactly) makes the mean
    `+inf`: honest, and never NaN.

    Args:
        y_true: array `(n, height, width, channels)`, the clean images.
        y_pred: array of the same shape, the images to score (restored,
            blurred, ...); uint8 arrays are not accepted: scale them first.
        data_range: float > 0, the pixel value range. Defaults to `1.0`.
        batch_size: int, the images scored at once. Defaults to `500`.

    Returns:
        dict with the float means `"mse"`, `"psnr"` (dB) and `"ssim"`.

    Example:

    >>> import numpy as np
    >>> y_true = np.full((4, 16, 16, 3), 0.5, dtype="float32")
    >>> scores = restoration_scores(y_true, y_true + 0.1)
    >>> round(scores["mse"], 4), round(scores["psnr"], 2)
    (0.01, 20.0)
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if len(y_true) != len(y_pred):
        raise ValueError(
            "`y_true` and `y_pred` must hold the same number of images. "
            f"Received: {len(y_true)} and {len(y_pred)}"
        )
    if len(y_true) == 0:
        raise ValueError("`y_true` must hold at least one image. Received: 0")
    with_ssim = min(y_true.shape[1], y_true.shape[2]) >= SSIM_WINDOW
    totals = {"mse": 0.0, "psnr": 0.0, "ssim": 0.0}
    for start in range(0, len(y_true), batch_size):
        t, p = _check_images(
            y_true[start : start + batch_size],
            y_pred[start : start + batch_size],
            "restoration_scores",
        )
        mse = ops.mean(ops.square(t - p), axis=(1, 2, 3))
        totals["mse"] += float(ops.sum(mse))
        totals["psnr"] += float(ops.sum(psnr(t, p, data_range=data_range)))
        if with_ssim:
            totals["ssim"] += float(ops.sum(ssim(t, p, data_range=data_range)))
    scores = {name: total / len(y_true) for name, total in totals.items()}
    if not with_ssim:
        scores["ssim"] = None
    return scores


class _PerImageMean(keras.metrics.Mean):
    """Mean of a per-image metric function; the base of `PSNR` and `SSIM`."""

    _fn = None

    def __init__(self, data_range=1.0, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.data_range = check_positive("data_range", data_range)
        self._direction = "up"

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.cast(
            type(self)._fn(y_true, y_pred, data_range=self.data_range), self.dtype
        )
        if sample_weight is not None:
            # One weight per image; a zero weight drops its image even when the
            # value is +inf (plain `Mean` would compute 0 * inf = NaN).
            sample_weight = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
            while len(sample_weight.shape) > 1:
                sample_weight = ops.mean(sample_weight, axis=-1)
            sample_weight = ops.broadcast_to(sample_weight, ops.shape(values))
            values = ops.where(
                ops.equal(sample_weight, 0), ops.zeros_like(values), values
            )
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "data_range": self.data_range}


@keras.saving.register_keras_serializable(package="keras_seqimage")
class PSNR(_PerImageMean):
    """Mean peak signal-to-noise ratio over images, in decibels.

    Averages `keras_seqimage.metrics.psnr` (one value per image) over all the
    images seen, for `model.compile(metrics=[PSNR()])`. An image restored
    exactly has PSNR `+inf`, so the mean is `+inf` from then on (until
    `reset_state`, i.e. the next epoch): honest, and never NaN, also with a
    zero `sample_weight` on such an image (that image is left out).

    Args:
        data_range: float > 0, the distance between the smallest and the
            largest possible pixel value. Defaults to `1.0`.
        name: str, the metric name. Defaults to `"psnr"`.
        dtype: the dtype of the metric result. Defaults to `None` (floatx).

    Input shape:
        `y_true` and `y_pred`: float tensors `(batch, height, width,
        channels)` of equal shape. `sample_weight`: optional, one per image.

    Output shape:
        A scalar.

    Example:

    >>> import numpy as np
    >>> m = PSNR()
    >>> y_true = np.full((2, 8, 8, 1), 0.5, dtype="float32")
    >>> m.update_state(y_true, y_true + 0.1)
    >>> round(float(m.result()), 3)
    20.0
    """

    _fn = staticmethod(psnr)

    def __init__(
        self, data_range: float = 1.0, name: str = "psnr", dtype: str | None = None
    ) -> None:
        super().__init__(data_range=data_range, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class SSIM(_PerImageMean):
    """Mean structural similarity over images, with Wang et al.'s settings.

    Averages `keras_seqimage.metrics.ssim` (one value per image: 11x11
    Gaussian window with sigma 1.5, `K1 = 0.01`, `K2 = 0.03`, population
    covariance, valid filtering) over all the images seen, for
    `model.compile(metrics=[SSIM()])`.

    Args:
        data_range: float > 0, the distance between the smallest and the
            largest possible pixel value. Defaults to `1.0`.
        name: str, the metric name. Defaults to `"ssim"`.
        dtype: the dtype of the metric result. Defaults to `None` (floatx).

    Input shape:
        `y_true` and `y_pred`: float tensors `(batch, height, width,
        channels)` of equal shape, height and width at least 11.
        `sample_weight`: optional, one per image.

    Output shape:
        A scalar.

    Example:

    >>> import numpy as np
    >>> m = SSIM()
    >>> y_true = np.random.rand(2, 16, 16, 1).astype("float32")
    >>> m.update_state(y_true, y_true)
    >>> round(float(m.result()), 4)
    1.0

    Reference:
        Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error
        visibility to structural similarity", IEEE TIP 13(4), 2004.
    """

    _fn = staticmethod(ssim)

    def __init__(
        self, data_range: float = 1.0, name: str = "ssim", dtype: str | None = None
    ) -> None:
        super().__init__(data_range=data_range, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class PSNRLoss(keras.losses.Loss):
    """Minus the mean per-image PSNR, as a training loss (in decibels).

    Per image `10 * log10((mse + epsilon) / data_range**2)`, i.e. `-psnr`
    kept finite by `epsilon`; the batch mean of it by default. Minimising it
    maximises the mean per-image PSNR, the score the examples report. Unlike
    mean squared error it weighs every image's *relative* error alike:
    training on images of mixed difficulty (a range of blurs, say) with MSE
    lets the hardest images dominate the gradient, and the easy ones, whose
    PSNR is the most sensitive to small errors, lose decibels.

    Args:
        data_range: float > 0, the distance between the smallest and the
            largest possible pixel value. Defaults to `1.0`.
        epsilon: float > 0 added to each image's MSE. Defaults to `1e-10`
            (PSNR at most 100 dB).
        reduction: the Keras loss reduction. Defaults to
            `"sum_over_batch_size"` (the mean over images).
        name: str. Defaults to `"psnr_loss"`.
        dtype: the dtype of the loss computation. Defaults to `None`.

    Input shape:
        `y_true` and `y_pred`: float tensors `(batch, height, width,
        channels)` of equal shape.

    Output shape:
        A scalar (with `reduction=None`: `(batch,)`).

    Example:

    >>> import numpy as np
    >>> y_true = np.full((2, 8, 8, 1), 0.5, dtype="float32")
    >>> round(float(PSNRLoss()(y_true, y_true + 0.1)), 3)
    -20.0
    """

    def __init__(
        self,
        data_range: float = 1.0,
        epsilon: float = 1e-10,
        reduction: str | None = "sum_over_batch_size",
        name: str = "psnr_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.data_range = check_positive("data_range", data_range)
        self.epsilon = check_positive("epsilon", epsilon)

    def call(self, y_true, y_pred):
        y_true, y_pred = _check_images(y_true, y_pred, "PSNRLoss")
        mse = ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
        return 10.0 * ops.log10((mse + self.epsilon) / self.data_range**2)

    def get_config(self):
        return {
            **super().get_config(),
            "data_range": self.data_range,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="keras_seqimage")
class RMSELoss(keras.losses.Loss):
    """Root mean squared error, as a training loss.

    The loss of Haque et al.'s CNN-LSTM with direct attention (their eq. 15):
    `sqrt(mean((y_pred - y_true) ** 2) + epsilon)` over the whole batch. It
    has the minimiser of mean squared error, but its gradient is MSE's
    divided by `2 * rmse`: larger steps as the error shrinks (with Adam,
    which rescales gradients itself, the two train alike). `epsilon` keeps
    the gradient finite at a perfect batch. With `per_image=True` the root
    is taken per image and averaged, which weighs each image's error alike
    (as `PSNRLoss` does) instead of the batch's pixels.

    Args:
        per_image: bool, the mean of per-image RMSEs instead of the batch's
            RMSE. Defaults to `False` (the paper's).
        epsilon: float > 0 added under the root. Defaults to `1e-12`.
        name: str. Defaults to `"rmse_loss"`.
        dtype: the dtype of the loss computation. Defaults to `None`.

    Input shape:
        `y_true` and `y_pred`: float tensors `(batch, height, width,
        channels)` of equal shape.

    Output shape:
        A scalar.

    Example:

    >>> import numpy as np
    >>> y_true = np.zeros((2, 4, 4, 1), dtype="float32")
    >>> y_pred = np.concatenate([y_true[:1] + 0.3, y_true[:1] + 0.4])
    >>> round(float(RMSELoss()(y_true, y_pred)), 4)  # sqrt((0.09 + 0.16) / 2)
    0.3536
    >>> round(float(RMSELoss(per_image=True)(y_true, y_pred)), 4)  # (0.3 + 0.4) / 2
    0.35
    """

    def __init__(
        self,
        per_image: bool = False,
        epsilon: float = 1e-12,
        name: str = "rmse_loss",
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction="sum_over_batch_size", dtype=dtype)
        if not isinstance(per_image, bool):
            raise ValueError(
                f"`per_image` must be a bool. Received: per_image={per_image!r}"
            )
        self.per_image = per_image
        self.epsilon = check_positive("epsilon", epsilon)

    def call(self, y_true, y_pred):
        y_true, y_pred = _check_images(y_true, y_pred, "RMSELoss")
        mse = ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
        return ops.sqrt(mse + self.epsilon) if self.per_image else mse

    def __call__(self, y_true, y_pred, sample_weight=None):
        # `call` gives per-image values; the batch RMSE takes the root of
        # their (weighted) mean, after Keras' reduction.
        reduced = super().__call__(y_true, y_pred, sample_weight=sample_weight)
        if self.per_image:
            return reduced
        return ops.sqrt(reduced + ops.cast(self.epsilon, reduced.dtype))

    def get_config(self):
        config = super().get_config()
        config.pop("reduction", None)  # always the mean over the batch
        return {**config, "per_image": self.per_image, "epsilon": self.epsilon}


def _check_images(y_true, y_pred, fn_name):
    """Check the pair of image batches and bring them to one float dtype."""
    y_true, y_pred = check_image_pair(
        ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred), caller=fn_name
    )
    dtype = keras.backend.result_type(y_true.dtype, y_pred.dtype, "float32")
    return ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
