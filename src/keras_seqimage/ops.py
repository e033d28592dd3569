"""Backend-agnostic functional ops (`keras.ops`).

`gaussian_filter` does the work; `keras_seqimage.layers.GaussianBlurLayer` is a
thin wrapper that stores its arguments and calls it. One shortcut: on the
torch backend, the fixed-sigma blur of a float32 CPU tensor calls torch's
`matmul` and `reshape` itself (`keras_seqimage.backend.native_ops`), the
ops `keras.ops` dispatches to, without the dispatch's Python.
"""

import functools
import math

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
    values_at_hand,
)
from keras_seqimage.backend import backend_module, native_ops
from keras_seqimage.backend.generic import constant

# scipy skips an axis whose sigma is below this threshold.
_NO_BLUR = 1e-15

_ROW_MATMUL_MAX_FEATURES = 512

# Filtered axes up to this length take the dense `(n, n)` matrix route (the
# fastest on small images: see `_prefer_dense`); longer ones the banded route,
# whose memory is linear in the image.
_DENSE_MAX_SIZE = 128
# ... and axes up to this length whose folded kernel is as long as the axis.
_DENSE_MAX_SIZE_WIDE_KERNEL = 512
# Per-image sigmas: the dense route contracts a `(taps, n, n)` fold tensor.
_PER_IMAGE_DENSE_MAX_ENTRIES = 2**20
# Banded passes with more taps than this on each side loop (`fori_loop`)
# instead of unrolling one slice per tap into the graph.
_UNROLL_MAX_RADIUS = 32
# The finite check reads a numpy copy of a dense pass's output up to this
# many values (`_eager_probe_sum`).
_NUMPY_PROBE_MAX_SIZE = 2**18
# The numpy arrays behind fixed-sigma filters (taps, matrices), bounded in bytes.
_CACHE = kernels.ByteBoundedCache(32 * 2**20)

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
    image size (also smaller than the radius), and the same NaN and inf: an
    output is NaN or infinite exactly where scipy's is (a non-finite pixel
    reaches the outputs its kernel touches, in its own channel only). The
    filter is separable (one 1-D pass per axis) and depthwise (channels never
    mix). Works under every Keras backend, eagerly or traced.

    Each axis is filtered one of two ways. Sides up to 128 pixels take a
    matrix product (the fastest route on small images); when the product's
    result is not finite, the call blurs by the banded route instead, which
    never lets a NaN reach an output outside its kernel. Longer sides take
    the banded route: the axis is padded by the boundary rule (a gather)
    and filtered tap by tap (a depthwise convolution on TensorFlow and
    torch), in memory linear in the image.

    Radius rule: taps beyond what the boundary rule can tell apart read the
    same pixel, for every output, as a tap within `n` pixels of the centre
    (offsets that differ by the period `2 n` for `"reflect"`, `2 n - 2` for
    `"mirror"`, `n` for `"wrap"`; offsets from `n - 1` on read the edge for
    `"nearest"`; offsets from `n` on read `cval` for `"constant"`). Their
    weights are added onto that tap (sums of many taps in closed form), so a
    kernel never has more than `2 n + 1` taps along an axis of length `n`
    and a huge sigma costs no more than a sigma of about `n / 2`, with the
    result still scipy's. The radius itself is capped at `2**62`.

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

    Raises:
        ValueError: for a bad argument (named in the message).
        MemoryError: when the backend cannot allocate the result or its
            intermediates; the message names the images' shape.

    Example:

    >>> import numpy as np
    >>> from keras_seqimage.ops import gaussian_filter
    >>> images = np.random.rand(2, 32, 32, 3).astype("float32")
    >>> tuple(gaussian_filter(images, sigma=1.0).shape)
    (2, 32, 32, 3)
    >>> images[0, 5, 5, 0] = np.nan  # reaches its kernel in its own channel only
    >>> nan = np.isnan(np.asarray(gaussian_filter(images, sigma=1.0)))
    >>> int(nan[0, ..., 0].sum()), bool(nan[..., 1:].any()), bool(nan[1].any())
    (81, False, False)
    """
    images = ops.convert_to_tensor(images)
    check_known_image_size("images", images.shape, "gaussian_filter")
    check_float_dtype("images", images.dtype, "gaussian_filter")
    mode = canonical_mode(mode)
    cval = check_finite("cval", cval)
    truncate = check_positive("truncate", truncate)
    crop = _check_crop(crop, images.shape)
    try:
        if is_number(sigma) or isinstance(sigma, (list, tuple)):
            return _fixed_filter(images, sigma_pair(sigma), mode, cval, truncate, crop)
        return _per_image_filter(images, sigma, mode, cval, truncate, max_sigma, crop)
    except MemoryError as error:
        raise _memory_error(images, error) from error
    except Exception as error:
        if _is_out_of_memory(error):
            raise _memory_error(images, error) from error
        raise


def _fixed_filter(images, sigmas, mode, cval, truncate, crop):
    """`gaussian_filter` with a fixed `(sigma_h, sigma_w)`."""
    plan = _fixed_plan(images.shape, images.dtype, sigmas, truncate, mode, crop)
    x = _crop_axes(images, plan.unfiltered, crop)
    if not plan.banded:
        return x

    def banded():
        return _banded_passes(x, plan.banded, mode, cval, crop)

    if plan.first is None:
        return banded()
    axis, operator = plan.first
    if plan.row_operator is not None:  # both passes as rows' matrix products
        rows = _rows_height_pass(x, operator, mode, cval)
        return _finite_or(
            rows,
            lambda: _rows_width_pass(rows, plan.row_operator, mode, cval, x.shape[3]),
            banded,
        )
    if plan.rows_height_pass:
        first = _rows_height_pass(x, operator, mode, cval)
        first = ops.reshape(first, (-1, first.shape[1], x.shape[2], x.shape[3]))
    else:
        first = _filter_axis(x, constant(operator, plan.dtype), axis, mode, cval)

    def rest():
        if plan.second is None:
            return first
        if plan.second[1].ndim == 2:  # a dense matrix
            other, operator = plan.second
            operator = constant(operator, plan.dtype)
            return _filter_axis(first, operator, other, mode, cval)
        return _banded_passes(first, [plan.second], mode, cval, crop)

    return _finite_or(first, rest, banded, axis)


class _FixedPlan:
    """What a fixed-sigma call does for one image shape (cached: `_fixed_plan`).

    `banded`: the `(axis, taps, far)` of every filtered axis (the banded
    route); `first`: `(axis, matrix)` of the dense pass made first, or
    `None` (all banded); `second`: the other filtered axis's `(axis,
    matrix)` or `(axis, taps, far)`, or `None`; `row_operator`: set when
    both passes are rows' matrix products; `rows_height_pass`: the first
    (height) pass as `_rows_height_pass`; `unfiltered`: axes only cropped.
    """

    def __init__(self, shape, dtype, sigmas, truncate, mode, crop):
        self.dtype = keras.backend.standardize_dtype(dtype)
        filtered = {a: s for a, s in zip((1, 2), sigmas, strict=True) if s > _NO_BLUR}
        self.unfiltered = [a for a in (1, 2) if a not in filtered]
        self.banded = [
            (a, *_fixed_taps(shape[a], s, truncate, mode)) for a, s in filtered.items()
        ]
        dense = {
            a: _fixed_operator(shape[a], s, truncate, mode, crop)
            for (a, s), (_, taps, _) in zip(filtered.items(), self.banded, strict=True)
            if _prefer_dense(shape[a], taps)
        }
        self.first = self.second = self.row_operator = None
        self.rows_height_pass = False
        self.nbytes = sum(taps.nbytes for _, taps, _ in self.banded)
        if not dense:
            return
        self.first = next(iter(dense.items()))
        others = [p for p in self.banded if p[0] != self.first[0]]
        if others:
            other = others[0][0]
            self.second = (other, dense[other]) if other in dense else others[0]
        if len(dense) == 2 and _prefer_row_matmuls(shape, self.dtype):
            self.row_operator = _fixed_row_operator(
                shape[2], shape[3], sigmas[1], truncate, mode, crop
            )
        self.rows_height_pass = self.first[0] == 1 and _prefer_rows_height_pass(
            shape, self.dtype
        )
        self.nbytes += sum(op.nbytes for op in dense.values()) + getattr(
            self.row_operator, "nbytes", 0
        )


def _fixed_plan(shape, dtype, sigmas, truncate, mode, crop):
    """The cached `_FixedPlan` of these arguments.

    Keyed also by the route settings (module constants and choosers, which
    tests patch), so a changed setting makes a new plan.
    """
    settings = (
        _DENSE_MAX_SIZE,
        _DENSE_MAX_SIZE_WIDE_KERNEL,
        _prefer_row_matmuls,
        _prefer_rows_height_pass,
        _fixed_operator,
    )
    key = ("plan", tuple(shape[1:]), str(dtype), sigmas, truncate, mode, crop)
    return _CACHE.get(
        key + settings,
        lambda: _FixedPlan(shape, dtype, sigmas, truncate, mode, crop),
    )


def _per_image_filter(images, sigma, mode, cval, truncate, max_sigma, crop):
    """`gaussian_filter` with a per-image sigma tensor of shape `(batch,)`."""
    if max_sigma is None:
        raise ValueError(
            "`max_sigma` is required when `sigma` is a per-image tensor: it "
            "fixes the kernel radius. Received: max_sigma=None"
        )
    max_sigma = check_finite_non_negative("max_sigma", max_sigma)
    dtype = keras.backend.standardize_dtype(images.dtype)
    radius = kernels.kernel_radius(max_sigma, truncate)
    sigma = ops.cast(sigma, dtype)
    if len(sigma.shape) not in (1, 2) or (
        len(sigma.shape) == 2 and sigma.shape[1] != 2
    ):
        raise ValueError(
            "A tensor `sigma` must have shape (batch,) or (batch, 2). "
            f"Received: sigma.shape={tuple(sigma.shape)}"
        )
    # Taps in float32 at least (their closed-form sums need the precision).
    weight_dtype = "float64" if dtype == "float64" else "float32"
    if len(sigma.shape) == 1:  # isotropic: the same sigma on both axes
        sigma = ops.stack([sigma, sigma], axis=1)
    sigma_w = ops.cast(sigma, weight_dtype)
    taps, own_radius = {}, {}
    for axis in (1, 2):
        axis_sigma = sigma_w[:, axis - 1]
        own_radius[axis] = ops.floor(truncate * axis_sigma + 0.5)
        weights, far = kernels.folded_weights(
            axis_sigma, radius, images.shape[axis], mode, truncate, ops, weight_dtype
        )
        taps[axis] = (ops.cast(weights, dtype), ops.cast(far, dtype))

    def banded():
        passes = [(axis, *taps[axis]) for axis in (1, 2)]
        return _banded_passes(images, passes, mode, cval, crop, own_radius)

    if not all(
        _prefer_dense(images.shape[axis], weights)
        and weights.shape[-1] * images.shape[axis] ** 2 <= _PER_IMAGE_DENSE_MAX_ENTRIES
        for axis, (weights, _) in taps.items()
    ):
        return banded()
    operators = {}
    for axis in (1, 2):
        size = images.shape[axis]
        operator = kernels.axis_operator(taps[axis][0], size, mode, xp=ops)
        operators[axis] = operator[:, crop : size - crop, :] if crop else operator
    first = _filter_axis(images, operators[1], 1, mode, cval)
    return _finite_or(
        first, lambda: _filter_axis(first, operators[2], 2, mode, cval), banded
    )


def _prefer_dense(size, weights):
    """Whether a pass along an axis of `size` with these taps goes dense.

    A dense pass costs `size` multiply-adds per pixel and a `(size, size)`
    matrix; a banded pass one per tap and memory linear in the image.
    Measured on square RGB images, sigma 1 and 3 (the layer's docs): the
    matrix products win up to sides of about 128-256 depending on the
    backend, so sides up to `_DENSE_MAX_SIZE` go dense; so do sides up to
    `_DENSE_MAX_SIZE_WIDE_KERNEL` whose (folded) kernel has at least as many
    taps as the side (a huge sigma), where a banded pass would cost more
    than the matrix. Each axis chooses for itself (a 16x8000 image: a dense
    height pass, a banded width pass).
    """
    taps = weights.shape[-1]
    return size <= _DENSE_MAX_SIZE or (
        taps >= size and size <= _DENSE_MAX_SIZE_WIDE_KERNEL
    )


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


def _slice_axis(x, axis, start, stop):
    index = [slice(None)] * 4
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _fixed_taps(size, sigma, truncate, mode):
    """`kernels.folded_weights` of a fixed sigma: float64 numpy taps and far weight.

    Cached (read-only) by (size, sigma, truncate, mode).
    """

    def make():
        radius = kernels.kernel_radius(sigma, truncate)
        weights, far = kernels.folded_weights(
            np.float64(sigma), radius, size, mode, truncate
        )
        weights = np.array(weights, dtype="float64")
        weights.setflags(write=False)
        return weights, float(far)

    return _CACHE.get(("taps", size, sigma, truncate, mode), make)


def _fixed_operator(size, sigma, truncate, mode, crop=0):
    """The float64 matrix of a fixed-sigma pass (cached, read-only).

    `(size - 2 * crop, size)`: the rows of the kept outputs. Built once per
    (size, sigma, truncate, mode, crop): a layer calls the op at every step
    with the same arguments. The cache is bounded in bytes (`_CACHE`).
    """

    def make():
        weights, _ = _fixed_taps(size, sigma, truncate, mode)
        operator = kernels.axis_operator(weights, size, mode)[crop : size - crop]
        operator = np.ascontiguousarray(operator) if crop else operator
        operator.setflags(write=False)
        return operator

    return _CACHE.get(("operator", size, sigma, truncate, mode, crop), make)


def _fixed_row_operator(width, channels, sigma, truncate, mode, crop=0):
    """`_row_operator` of a fixed-sigma width pass (cached, read-only)."""

    def make():
        operator = _fixed_operator(width, sigma, truncate, mode, crop)
        operator = _row_operator(operator, channels)
        operator.setflags(write=False)
        return operator

    key = ("row_operator", width, channels, sigma, truncate, mode, crop)
    return _CACHE.get(key, make)


def _row_operator(operator_w, channels):
    """`kron(operator_w.T, I_channels)`: the width pass on interleaved rows.

    Right-multiplying a row of `width * channels` interleaved values by it
    filters each channel along the width and never mixes channels (for
    finite values: a NaN times its zero entries reaches the other channels,
    which `_finite_or` catches).
    """
    return np.kron(operator_w.T, np.eye(channels))


def _prefer_row_matmuls(shape, dtype):
    """Whether `_filter_rows_matmul` is the faster route for these images.

    On small images (the speed section of the layer's docs) the two matrix
    products beat an `einsum` per axis on TensorFlow and torch, and lose to
    it on JAX. The width pass multiplies by a `(width * channels)` square
    matrix, so the route is kept to rows of at most 512 values, and to
    dtypes that `keras.ops.matmul` keeps (Keras 3.15 on torch computes
    float64 products in float32).
    """
    row = shape[2] * shape[3] if shape[3] is not None else None
    return _prefer_rows_height_pass(shape, dtype) and row <= _ROW_MATMUL_MAX_FEATURES


def _prefer_rows_height_pass(shape, dtype):
    """Whether a dense height pass is `_rows_height_pass` (not an `einsum`).

    As `_prefer_row_matmuls` without its limit on the row: the height pass
    alone needs no `(width * channels)` matrix (a 16x8000 image's dense
    height pass before its banded width pass).
    """
    return (
        keras.backend.backend() in ("tensorflow", "torch")
        and shape[3] is not None
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
    rows = _rows_height_pass(x, operator_h, mode, cval)
    return _rows_width_pass(rows, row_operator, mode, cval, x.shape[3])


def _rows_height_pass(x, operator_h, mode, cval):
    """`_filter_rows_matmul`'s first product: `(batch, height', width * channels)`."""
    dtype = keras.backend.standardize_dtype(x.dtype)
    xp = native_ops(x)
    _, height, width, channels = x.shape
    y = xp.matmul(
        xp.constant(operator_h, dtype), xp.reshape(x, (-1, height, width * channels))
    )
    if mode == "constant" and cval != 0.0:
        outside = _outside_weight(operator_h, np)[:, None]
        y = y + xp.constant(cval * outside, dtype)
    return y


def _rows_width_pass(rows, row_operator, mode, cval, channels):
    """`_filter_rows_matmul`'s second product, reshaped to images."""
    dtype = keras.backend.standardize_dtype(rows.dtype)
    xp = native_ops(rows)
    out_height, features = rows.shape[1], rows.shape[2]
    out_features = row_operator.shape[1]
    y = xp.matmul(xp.reshape(rows, (-1, features)), xp.constant(row_operator, dtype))
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


def _banded_passes(x, passes, mode, cval, crop, own_radius=None):
    """1-D passes `(axis, weights, far)` with folded taps, in memory linear in `x`.

    Each pass pads its axis by the boundary rule (`_pad_axis`), then makes
    every output the weighted sum of its `2 h + 1` padded neighbours
    (`_filter_padded`). `own_radius`: per-image radii, `(batch,)` for every
    pass or a dict of them by axis. A pass's input (but the images themselves) and its
    padded copy are let go as soon as they are used, so eagerly at most
    about two image-sized tensors are alive besides the images. Eager JAX
    runs the passes compiled (`_jax_jitted_banded_passes`): op by op, each
    tap's product and sum would be an image-sized array of its own.
    """
    if own_radius is None and _jax_eager(x):
        return _jax_jitted_banded_passes(passes, mode, cval, crop)(x)
    y = x
    for axis, weights, far in passes:
        n_out = y.shape[axis] - 2 * crop
        padded = _pad_axis(y, axis, (weights.shape[-1] - 1) // 2, mode, cval, crop)
        del y
        radius = own_radius[axis] if isinstance(own_radius, dict) else own_radius
        y = _filter_padded(padded, axis, weights, far, n_out, mode, cval, radius)
        del padded
    return y


def _filter_padded(padded, axis, weights, far, n_out, mode, cval, own_radius=None):
    """One banded pass on an axis padded by `_pad_axis`.

    A depthwise convolution for fixed float32 taps on TensorFlow and torch
    (measured the fastest there), else a sum of shifted slices
    (`_tap_sum`). Every output reads only its own taps, so a NaN or inf
    reaches exactly the outputs scipy's reaches; with per-image taps
    (`weights` of shape `(batch, taps)`) the taps beyond an image's own
    radius (`own_radius`) are left out, not multiplied by zero. `far` is
    the weight of the taps that read `cval` everywhere (a float, or
    `(batch,)` per image).
    """
    dtype = keras.backend.standardize_dtype(padded.dtype)
    per_image = own_radius is not None
    if (
        not per_image
        and dtype == "float32"
        and padded.shape[3] is not None
        and keras.backend.backend() in ("tensorflow", "torch")
    ):
        y = _depthwise_pass(padded, axis, weights, dtype)
    else:
        y = _tap_sum(padded, axis, weights, n_out, own_radius)
    if mode == "constant" and cval != 0.0:
        if per_image:
            y = y + cval * ops.reshape(far, (-1, 1, 1, 1))
        elif far:
            y = y + cval * far
    return y


def _pad_axis(x, axis, h, mode, cval, crop):
    """`x` along `axis` at positions `crop - h .. n - crop + h - 1` (boundary rule)."""
    n = x.shape[axis]
    if mode == "constant":
        start, stop = max(0, crop - h), min(n, n - crop + h)
        x = _slice_axis(x, axis, start, stop) if (start, stop) != (0, n) else x
        if h > crop:
            widths = [(0, 0)] * 4
            widths[axis] = (h - crop, h - crop)
            x = ops.pad(x, widths, constant_values=cval)
        return x
    if h <= crop:
        return _slice_axis(x, axis, crop - h, n - crop + h)
    index = _CACHE.get(
        ("pad_index", n, h, mode, crop),
        lambda: _read_only(kernels.pad_index(n, h, mode, crop).astype("int32")),
    )
    if keras.backend.backend() == "jax":
        # XLA keeps a concatenation's pieces alive longer than one gather's
        # result, so the padded copy's peak memory is lower this way.
        return ops.take(x, index, axis=axis)
    # The two ends gathered, the inside copied: faster than a gather of
    # every index on TensorFlow and torch.
    inside = n - 2 * crop
    ends = [
        ops.take(x, index[:h], axis=axis),
        ops.take(x, index[h + inside :], axis=axis),
    ]
    return ops.concatenate(
        [ends[0], _slice_axis(x, axis, crop, n - crop) if crop else x, ends[1]],
        axis=axis,
    )


def _read_only(array):
    array.setflags(write=False)
    return array


def _depthwise_pass(padded, axis, weights, dtype):
    """Valid depthwise convolution of `padded` with the taps along `axis`."""
    channels = padded.shape[3]
    taps = weights.shape[0]
    shape = (taps, 1) if axis == 1 else (1, taps)
    kernel = np.broadcast_to(
        np.asarray(weights).reshape(shape + (1, 1)), shape + (channels, 1)
    )
    return ops.depthwise_conv(
        padded,
        constant(kernel, dtype),
        strides=1,
        padding="valid",
        data_format="channels_last",
    )


def _tap_sum(padded, axis, weights, n_out, own_radius=None):
    """`sum_s w[s] * padded[h + s : h + s + n_out]` along `axis`.

    `weights`: numpy `(taps,)` or a `(batch, taps)` tensor (then the terms of
    offsets beyond `own_radius`, `(batch,)`, are left out). Each tap is
    multiplied before it is added (not `w * (x[+s] + x[-s])`, which
    overflows float32 for values near its largest where scipy's float64
    does not). Up to `_UNROLL_MAX_RADIUS` taps a side are unrolled; more
    run in a `fori_loop` (a graph of constant size).
    """
    h = (weights.shape[-1] - 1) // 2
    dtype = keras.backend.standardize_dtype(padded.dtype)
    per_image = own_radius is not None
    if not per_image:
        weights = constant(weights, dtype)
    else:
        own_radius = ops.reshape(ops.cast(own_radius, dtype), (-1, 1, 1, 1))

    def weight(tap):
        if per_image:
            return ops.reshape(ops.take(weights, tap, axis=1), (-1, 1, 1, 1))
        return ops.take(weights, tap)

    def shifted(start):
        starts = [0, 0, 0, 0]
        starts[axis] = start
        sizes = [ops.shape(padded)[d] for d in range(4)]
        sizes[axis] = n_out
        return ops.slice(padded, starts, sizes)

    def term(offset, y):
        w = weight(h + offset)
        value = shifted(h + offset) * w + shifted(h - offset) * w
        if per_image:
            value = ops.where(
                ops.cast(offset, dtype) <= own_radius, value, ops.zeros_like(value)
            )
        return y + value

    y = shifted(h) * weight(h)
    if h <= _UNROLL_MAX_RADIUS:
        for offset in range(1, h + 1):
            y = term(offset, y)
        return y
    return ops.fori_loop(1, h + 1, term, y)


def _finite_or(first, rest, exact, axis=1):
    """`rest()` when `first` (a dense pass's output) is finite, else `exact()`.

    A dense pass along `axis` multiplies every pixel of a column (height,
    `axis=1`) or row (width, `axis=2`) by the matrix's entries, zeros
    included: a NaN or inf anywhere in its input reaches that whole column
    (row) of `first`, first row (column) included, and through
    `_row_operator` the other channels, unlike scipy's. So that row (column)
    is all the check reads: when it is not finite the images are blurred by
    the banded route (`exact`), which lets non-finite values reach only
    scipy's outputs; else `rest()` finishes the dense route (the other
    pass). Eagerly the branch is Python's; traced, a `keras.ops.cond`.
    """
    concrete = _concrete(first)
    if concrete is None:  # shape-only tensors (torch's "meta" device)
        return rest()
    if concrete:
        finite = math.isfinite(_eager_probe_sum(first, axis))
        return rest() if finite else exact()
    total = ops.sum(ops.cast(_probe(first, axis), "float32"))
    # The dense result made outside the branch: XLA runs a matrix product
    # inside a conditional's branch slower.
    result = rest()
    return ops.cond(ops.isfinite(total), lambda: result, exact)


# Helpers of `_finite_or`: which tensors hold values, and the cheapest eager sum.


def _concrete(x):
    """True for an eager tensor, False for a traced one, None for shape-only."""
    if getattr(x, "is_meta", False):  # torch's "meta" device: shapes only
        return None
    return values_at_hand(x)


def _jax_eager(x):
    """Whether `x` is a JAX array outside any trace."""
    return keras.backend.backend() == "jax" and _concrete(x) is True


def _jax_jitted_banded_passes(passes, mode, cval, crop):
    """`_banded_passes` of fixed taps as one `jax.jit` function (cached)."""
    key = tuple((axis, tuple(weights.tolist()), far) for axis, weights, far in passes)
    return _jitted_banded_passes(key, mode, cval, crop)


@functools.lru_cache(maxsize=16)
def _jitted_banded_passes(key, mode, cval, crop):
    passes = [(axis, np.array(weights), far) for axis, weights, far in key]
    jit = backend_module("jax").jit
    return jit(lambda x: _banded_passes(x, passes, mode, cval, crop))


def _eager_probe_sum(first, axis):
    """The float sum of `first`'s first row (`axis=1`) or first column.

    The cheapest way measured per backend (eager, 64 and 1,000 32x32x3
    images): torch tensors sum themselves (no `keras.ops` dispatch); up to
    `_NUMPY_PROBE_MAX_SIZE` values, a numpy copy is summed (TensorFlow's and
    JAX's eager reductions and slices each cost more than that); past it, the
    row is sliced and summed by `keras.ops`. In float64 (no overflow).
    """
    dtype = keras.backend.standardize_dtype(first.dtype)
    if keras.backend.backend() == "torch" and dtype in ("float32", "float64"):
        return _probe(first, axis).sum(dtype=first.dtype).item()
    if math.prod(first.shape) <= _NUMPY_PROBE_MAX_SIZE:
        probe = _probe(ops.convert_to_numpy(first), axis)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN
            return float(probe.sum(dtype="float64"))
    probe = ops.cast(_probe(first, axis), "float32")
    return float(ops.convert_to_numpy(ops.sum(probe)))


def _probe(first, axis):
    return first[:, 0] if axis == 1 else first[:, :, 0]


_OUT_OF_MEMORY_TEXT = (
    "RESOURCE_EXHAUSTED",
    "Unable to allocate",
    "can't allocate memory",
    "out of memory",
    "OutOfMemory",
)


def _is_out_of_memory(error):
    """Whether a backend's exception is an allocation failure."""
    text = f"{type(error).__name__}: {error}"
    return "ResourceExhausted" in type(error).__name__ or any(
        phrase in text for phrase in _OUT_OF_MEMORY_TEXT
    )


def _memory_error(images, error):
    shape = tuple(images.shape)
    dtype = keras.backend.standardize_dtype(images.dtype)
    return MemoryError(
        f"gaussian_filter could not allocate memory for images of shape {shape} "
        f"({dtype}); it needs a few times the images' own bytes. Blur fewer or "
        f"smaller images per call. Received: images.shape={shape}; the backend "
        f"said: {str(error)[:300]}"
    )
