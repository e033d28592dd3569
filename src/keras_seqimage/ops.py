"""Backend-agnostic functional ops (`keras.ops`).

`gaussian_filter` does the work; `keras_seqimage.layers.GaussianBlurLayer` is a
thin wrapper that stores its arguments and calls it. One shortcut: on the
torch backend, the fixed-sigma blur of a float32 CPU tensor calls torch's
`matmul` and `reshape` itself (`keras_seqimage.backend.native_ops`), the
ops `keras.ops` dispatches to, without the dispatch's Python.
"""

import functools

import keras
import numpy as np
from keras import ops

from keras_seqimage import kernels
from keras_seqimage._validation import (
    check_choice,
    check_finite,
    check_finite_non_negative,
    check_float_dtype,
    check_known_image_size,
    check_non_negative_int,
    check_positive,
    is_number,
)
from keras_seqimage.backend import native_ops
from keras_seqimage.backend.generic import constant

# scipy skips an axis whose sigma is below this threshold.
_NO_BLUR = 1e-15

_ROW_MATMUL_MAX_FEATURES = 512

_AXIS_EINSUM = {
    (1, False): "hi,biwc->bhwc",
    (1, True): "bhi,biwc->bhwc",
    (2, False): "wj,bhjc->bhwc",
    (2, True): "bwj,bhjc->bhwc",
}


def canonical_mode(mode):
    """Return scipy's canonical name for a boundary `mode` (or raise)."""
    return kernels.MODES[check_choice("mode", mode, kernels.MODES)]


def sigma_pair(sigma):
    """Check a fixed `sigma` (number or `(sigma_h, sigma_w)`) and return a pair."""
    if isinstance(sigma, (list, tuple)):
        if len(sigma) != 2:
            raise ValueError(
                "`sigma` must be a number or a pair (sigma_h, sigma_w). "
                f"Received: sigma={sigma!r}"
            )
        return tuple(check_finite_non_negative("sigma", s) for s in sigma)
    s = check_finite_non_negative("sigma", sigma)
    return (s, s)


def gaussian_filter(
    images,
    sigma=1.0,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    max_sigma: float | None = None,
    crop: int = 0,
):
    """Gaussian blur over height and width, equal to scipy's `gaussian_filter`.

    Computes `scipy.ndimage.gaussian_filter(images, sigma=(0, s_h, s_w, 0),
    mode=mode, cval=cval, truncate=truncate)` with `keras.ops`: the same kernel
    taps and radius `int(truncate * sigma + 0.5)`, the same boundary rule at any
    image size (also smaller than the radius). The filter is separable (one 1-D
    pass per axis, each a matrix product along that axis) and depthwise
    (channels never mix). Works under every Keras backend, eagerly or traced.

    Args:
        images: float tensor of shape `(batch, height, width, channels)` with
            known height and width; values are expected in `[0, 1]` (any
            float range works, the filter is linear).
        sigma: float, pair `(sigma_h, sigma_w)`, or a float tensor of shape
            `(batch,)` with one isotropic sigma per image or `(batch, 2)` with
            one `(sigma_h, sigma_w)` per image (then `max_sigma` is
            required). Sigma 0 on an axis leaves that axis unblurred, as in
            scipy. Defaults to `1.0`.
        mode: boundary mode, one of scipy's `"reflect"` (`d c b a | a b c d`),
            `"mirror"` (`d c b | a b c d`), `"nearest"`, `"constant"` or
            `"wrap"` (and scipy's `grid-*` aliases). Defaults to `"reflect"`.
        cval: float, the value outside the image for `mode="constant"`.
            Defaults to `0.0`.
        truncate: float > 0, the kernel radius in sigmas. Defaults to `4.0`.
        max_sigma: float, the largest sigma a per-image `sigma` tensor may
            hold; it fixes the (static) kernel radius. Ignored otherwise.
        crop: int >= 0, pixels to drop from each side of the height and the
            width: the result is `gaussian_filter(images, ...)[:, crop:-crop,
            crop:-crop, :]`, with only those pixels computed (the blurred
            border is never made). `2 * crop` must be less than the height
            and the width. Defaults to `0` (the whole image).

    Returns:
        A tensor of the same dtype as `images`, of shape `(batch, height - 2 *
        crop, width - 2 * crop, channels)` (the shape of `images` at
        `crop=0`).

    Example:

    >>> import numpy as np
    >>> from keras_seqimage.ops import gaussian_filter
    >>> images = np.random.rand(2, 32, 32, 3).astype("float32")
    >>> tuple(gaussian_filter(images, sigma=1.0).shape)
    (2, 32, 32, 3)
    """
    images = ops.convert_to_tensor(images)
    check_known_image_size("images", images.shape, "gaussian_filter")
    check_float_dtype("images", images.dtype, "gaussian_filter")
    mode = canonical_mode(mode)
    cval = check_finite("cval", cval)
    truncate = check_positive("truncate", truncate)
    crop = _check_crop(crop, images.shape)
    dtype = keras.backend.standardize_dtype(images.dtype)

    if is_number(sigma) or isinstance(sigma, (list, tuple)):
        sigmas = sigma_pair(sigma)
        operators = {
            axis: _fixed_operator(images.shape[axis], s, truncate, mode, crop)
            for axis, s in zip((1, 2), sigmas, strict=True)
            if s > _NO_BLUR
        }
        x = _crop_axes(images, [a for a in (1, 2) if a not in operators], crop)
        if len(operators) == 2 and _prefer_row_matmuls(images.shape, dtype):
            _, _, width, channels = images.shape
            row_operator = _fixed_row_operator(
                width, channels, sigmas[1], truncate, mode, crop
            )
            return _filter_rows_matmul(x, operators[1], row_operator, mode, cval)
        for axis, operator in operators.items():
            x = _filter_axis(x, constant(operator, dtype), axis, mode, cval)
        return x

    if max_sigma is None:
        raise ValueError(
            "`max_sigma` is required when `sigma` is a per-image tensor: it "
            "fixes the kernel radius. Received: max_sigma=None"
        )
    max_sigma = check_finite_non_negative("max_sigma", max_sigma)
    radius = kernels.kernel_radius(max_sigma, truncate)
    sigma = ops.cast(sigma, dtype)
    if len(sigma.shape) not in (1, 2) or (
        len(sigma.shape) == 2 and sigma.shape[1] != 2
    ):
        raise ValueError(
            "A tensor `sigma` must have shape (batch,) or (batch, 2). "
            f"Received: sigma.shape={tuple(sigma.shape)}"
        )
    if len(sigma.shape) == 1:
        sigma = ops.stack([sigma, sigma], axis=1)
    weights = kernels.gaussian_weights(sigma, radius, truncate, xp=ops, dtype=dtype)
    x = images
    for axis in (1, 2):
        size = x.shape[axis]
        operator = kernels.axis_operator(weights[:, axis - 1], size, mode, xp=ops)
        if crop:
            operator = operator[:, crop : size - crop, :]
        x = _filter_axis(x, operator, axis, mode, cval)
    return x


def _check_crop(crop, shape):
    """`crop` as an int that leaves at least one pixel of each axis."""
    crop = check_non_negative_int("crop", crop)
    if 2 * crop >= min(shape[1], shape[2]):
        raise ValueError(
            "`crop` must leave at least one pixel: 2 * crop < height and "
            f"width. Received: crop={crop} for images.shape={tuple(shape)}"
        )
    return crop


def _crop_axes(x, axes, crop):
    """`x` without `crop` pixels on each side of each axis in `axes`."""
    if not crop or not axes:
        return x
    index = [slice(None)] * 4
    for axis in axes:
        index[axis] = slice(crop, x.shape[axis] - crop)
    return x[tuple(index)]


@functools.lru_cache(maxsize=64)
def _fixed_operator(size, sigma, truncate, mode, crop=0):
    """The float64 matrix of a fixed-sigma pass (cached, read-only).

    `(size - 2 * crop, size)`: the rows of the kept outputs. Built once per
    (size, sigma, truncate, mode, crop): a layer calls the op at every step
    with the same arguments.
    """
    radius = kernels.kernel_radius(sigma, truncate)
    weights = kernels.gaussian_weights(np.float64(sigma), radius, truncate)
    operator = kernels.axis_operator(weights, size, mode)[crop : size - crop]
    operator.setflags(write=False)
    return operator


@functools.lru_cache(maxsize=64)
def _fixed_row_operator(width, channels, sigma, truncate, mode, crop=0):
    """`_row_operator` of a fixed-sigma width pass (cached, read-only)."""
    operator = _fixed_operator(width, sigma, truncate, mode, crop)
    operator = _row_operator(operator, channels)
    operator.setflags(write=False)
    return operator


def _row_operator(operator_w, channels):
    """`kron(operator_w.T, I_channels)`: the width pass on interleaved rows.

    Right-multiplying a row of `width * channels` interleaved values by it
    filters each channel along the width and never mixes channels.
    """
    return np.kron(operator_w.T, np.eye(channels))


def _prefer_row_matmuls(shape, dtype):
    """Whether `_filter_rows_matmul` is the faster route for these images.

    Measured at 32x32x3, batches of 64 and 1,000 (the speed section of the
    layer's docs): on TensorFlow and torch the two matrix products beat an
    `einsum` per axis by 1.5-3.5x; on JAX the `einsum`s were 1.4-1.6x
    faster. The width pass multiplies by a `(width * channels)` square
    matrix, so the route is kept to rows of at most 512 values, and to
    dtypes that `keras.ops.matmul` keeps (Keras 3.15 on torch computes
    float64 products in float32).
    """
    row = shape[2] * shape[3] if shape[3] is not None else None
    return (
        keras.backend.backend() in ("tensorflow", "torch")
        and row is not None
        and row <= _ROW_MATMUL_MAX_FEATURES
        and keras.backend.result_type(dtype, dtype) == dtype
    )


def _filter_rows_matmul(x, operator_h, row_operator, mode, cval):
    """Both 1-D passes as two matrix products on rows of interleaved pixels.

    The height pass is `operator_h @ (batch, height, width * channels)`; the
    width pass is `(batch * height', width * channels) @ row_operator`
    (`_row_operator`), which filters every row at once and keeps channels
    apart. No transposes: both products read and write the images' own
    memory order. The operators may be cropped (`crop`: fewer output rows
    or columns), so the height pass goes first, making fewer rows for the
    width pass. Same result as two `_filter_axis` passes (the passes
    commute, also with `cval`).
    """
    dtype = keras.backend.standardize_dtype(x.dtype)
    xp = native_ops(x)
    _, height, width, channels = x.shape
    out_height = operator_h.shape[0]
    out_features = row_operator.shape[1]
    y = xp.matmul(
        xp.constant(operator_h, dtype), xp.reshape(x, (-1, height, width * channels))
    )
    if mode == "constant" and cval != 0.0:
        outside = _outside_weight(operator_h, np)[:, None]
        y = y + xp.constant(cval * outside, dtype)
    y = xp.matmul(
        xp.reshape(y, (-1, width * channels)), xp.constant(row_operator, dtype)
    )
    if mode == "constant" and cval != 0.0:
        # Right-multiplied: output column j weighs inputs by column j.
        outside = _outside_weight(row_operator.T, np)[None, :]
        y = y + xp.constant(cval * outside, dtype)
    return xp.reshape(y, (-1, out_height, out_features // channels, channels))


def _outside_weight(operator, xp=ops):
    """Weight of the taps that fall outside the image (they read `cval`)."""
    return 1.0 - xp.sum(operator, axis=-1)


def _filter_axis(x, operator, axis, mode, cval):
    """Apply a 1-D filter `operator` (`(n, n)` or `(batch, n, n)`) along `axis`.

    `axis` is 1 (height) or 2 (width); `operator` comes from
    `kernels.axis_operator` (its rows may be cropped: fewer outputs).
    """
    batched = len(operator.shape) == 3
    y = ops.einsum(_AXIS_EINSUM[(axis, batched)], operator, x)
    if mode == "constant" and cval != 0.0:
        # Taps that fall outside the image read `cval`: add their weight * cval.
        outside = _outside_weight(operator)
        shape = [-1 if batched else 1, 1, 1, 1]
        shape[axis] = operator.shape[-2]
        y = y + cval * ops.reshape(outside, shape)
    return y
