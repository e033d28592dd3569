"""Kernel maths for the Gaussian filter, apart from the filtering itself.

A 1-D filter along an axis of length `n`, with scipy's boundary handling, is a
linear map: an `(n, n)` matrix (plus a constant term for ``mode="constant"``).
`boundary_fold` gives, for every output position and kernel tap, the input
position it reads after the boundary rule, as a 0/1 tensor; contracting it with
the tap weights gives that matrix. This reproduces scipy's extension for every
mode at any image size, including images smaller than the kernel radius, where
a single pad would not reach.
"""

import functools

import keras
import numpy as np

#: scipy.ndimage boundary modes, with scipy's aliases.
MODES = {
    "reflect": "reflect",
    "grid-mirror": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "constant": "constant",
    "grid-constant": "constant",
    "wrap": "wrap",
    "grid-wrap": "wrap",
}


def kernel_radius(sigma, truncate=4.0):
    """scipy's kernel radius: `int(truncate * sigma + 0.5)`."""
    return int(truncate * float(sigma) + 0.5)


def boundary_index(positions, size, mode):
    """Map (possibly out-of-range) `positions` into `[0, size)` by scipy's rule.

    Args:
        positions: integer numpy array of positions.
        size: int, the axis length.
        mode: one of the canonical names in `MODES` values.

    Returns:
        Integer numpy array; `-1` marks a position that reads `cval`
        (only for ``mode="constant"``).
    """
    positions = np.asarray(positions)
    if mode == "reflect":  # d c b a | a b c d | d c b a
        m = np.mod(positions, 2 * size)
        return np.where(m < size, m, 2 * size - 1 - m)
    if mode == "mirror":  # d c b | a b c d | c b a
        if size == 1:
            return np.zeros_like(positions)
        m = np.mod(positions, 2 * size - 2)
        return np.where(m < size, m, 2 * size - 2 - m)
    if mode == "nearest":
        return np.clip(positions, 0, size - 1)
    if mode == "wrap":
        return np.mod(positions, size)
    if mode == "constant":
        return np.where((positions >= 0) & (positions < size), positions, -1)
    raise ValueError(f"Unknown canonical mode {mode!r}")


@functools.lru_cache(maxsize=64)
def boundary_fold(size, radius, mode):
    """0/1 array `F` of shape `(2 * radius + 1, size, size)`.

    `F[k, i, j] == 1` when output position `i` reads input position `j` through
    tap `k` (offset `k - radius`). Out-of-range taps of ``mode="constant"``
    read nothing. Cached: it depends only on static shapes.
    """
    offsets = np.arange(-radius, radius + 1)
    source = boundary_index(np.arange(size)[None, :] + offsets[:, None], size, mode)
    fold = np.zeros((2 * radius + 1, size, size), dtype="float32")
    taps, rows = np.nonzero(source >= 0)
    np.add.at(fold, (taps, rows, source[taps, rows]), 1.0)
    fold.setflags(write=False)
    return fold


def gaussian_weights(sigma, radius, truncate=4.0, xp=np, dtype="float64"):
    """Normalized Gaussian taps at offsets `-radius..radius`, as scipy makes them.

    Written once for two array namespaces: `xp=numpy` (fixed sigma: computed
    in float64 like scipy, before any tracing) and `xp=keras.ops` (per-image
    sigma tensors drawn inside a model).

    Args:
        sigma: scalar or array of shape `(batch,)` of `dtype`: the standard
            deviation(s). A sigma smaller than the full radius keeps only the
            taps within its own scipy radius `int(truncate * sigma + 0.5)`;
            sigma 0 gives the identity tap.
        radius: int, the number of taps on each side (static).
        truncate: float, scipy's `truncate`.
        xp: `numpy` or `keras.ops`.
        dtype: str, the computation and output dtype.

    Returns:
        Array of shape `sigma.shape + (2 * radius + 1,)`, rows summing to 1.
    """
    sigma = sigma[..., None]
    offsets = xp.arange(-radius, radius + 1, dtype=dtype)
    own_radius = xp.floor(truncate * sigma + 0.5)
    phi = xp.exp(-0.5 * xp.square(offsets / xp.maximum(sigma, 1e-12)))
    phi = xp.where(xp.abs(offsets) <= own_radius, phi, xp.zeros_like(phi))
    return phi / xp.sum(phi, axis=-1, keepdims=True)


def axis_operator(weights, size, mode, xp=np):
    """The `(..., size, size)` matrix of a 1-D filter with tap `weights`.

    Args:
        weights: array of shape `(..., 2 * radius + 1)` (numpy or tensor).
        size: int, the axis length.
        mode: canonical boundary mode.
        xp: `numpy` or `keras.ops`, the namespace of `weights`.
    """
    radius = (weights.shape[-1] - 1) // 2
    fold = boundary_fold(size, radius, mode).astype(
        keras.backend.standardize_dtype(weights.dtype)
    )
    return xp.einsum("...k,kij->...ij", weights, fold)


def blur_matrix(size, sigma, mode="reflect", truncate=4.0):
    """The `(size, size)` float64 matrix of scipy's 1-D Gaussian blur.

    `blur_matrix(n, s) @ x` equals `scipy.ndimage.gaussian_filter1d(x, s,
    axis=0, mode=mode, truncate=truncate)` for `x` of length `n` (with
    `cval=0` for `mode="constant"`). Sigma 0 gives the identity.

    Args:
        size: int, the axis length.
        sigma: float >= 0, the standard deviation in pixels.
        mode: a scipy boundary mode (a key of `MODES`). Defaults to
            `"reflect"`.
        truncate: float, scipy's kernel radius in sigmas. Defaults to `4.0`.
    """
    radius = kernel_radius(sigma, truncate) if sigma > 0 else 0
    weights = gaussian_weights(np.float64(sigma), radius, truncate)
    return axis_operator(weights, size, MODES[mode])
