"""Kernel maths for the Gaussian filter, apart from the filtering itself.

A 1-D filter along an axis of length `n`, with scipy's boundary handling,
reads input position `boundary_index(i + k)` for output `i` and tap offset
`k`. Two facts keep everything it needs linear in `n`, whatever the sigma:

- **Folding.** A tap whose offset lies beyond what the boundary rule can tell
  apart reads the same pixel, for every output, as a tap nearer the centre:
  offsets that differ by the rule's period (`2 n` for ``reflect``, `2 n - 2`
  for ``mirror``, `n` for ``wrap``) read the same pixel, every offset from
  `n - 1` on reads the edge pixel for ``nearest``, and every offset from `n`
  on reads `cval` for ``constant``. `folded_weights` sums the weights of such
  taps onto one tap of a window of at most `2 n + 1` taps (the "far" weight
  of ``constant`` is returned apart: it multiplies `cval`). The sums of very
  many taps are taken in closed form (Euler-Maclaurin, exact to float64
  rounding), so the work is `O(n)` even for sigma 1e6.
- **Banded filtering.** On the folded window a pass is a sum over at most
  `2 n + 1` taps of the axis padded by the boundary rule (`pad_index`, a
  gather of `O(n)` indices): memory linear in the image.

`axis_operator` still builds the `(n, n)` matrix of a pass, in `O(n * taps)`
time, for the small images where a matrix product is the fastest route.
"""

import collections
import math
import threading

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

#: The largest kernel radius: beyond it (sigma above ~1e18 pixels) the folded
#: kernel of any image is the same to float64 precision.
MAX_RADIUS = 2**62

# Sums of taps over more than this many periods are taken in closed form:
# with sigma >= 4 steps the Euler-Maclaurin remainder is below 1e-8 of the sum.
_CLOSED_FORM_STEPS_PER_SIGMA = 4
# exp(-x**2 / 2) is exactly 0.0 in float64 beyond x = 38.6 sigmas.
_ZERO_BEYOND_SIGMAS = 40


def kernel_radius(sigma, truncate=4.0):
    """scipy's kernel radius: `int(truncate * sigma + 0.5)` (at most `MAX_RADIUS`)."""
    return int(min(truncate * float(sigma) + 0.5, float(MAX_RADIUS)))


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


def period(size, mode):
    """The period of the boundary rule's extension (`None`: not periodic).

    Offsets that differ by it read the same pixel. ``mirror`` on one pixel
    reads that pixel everywhere: like ``nearest``, it has no period.
    """
    if mode == "reflect":
        return 2 * size
    if mode == "mirror" and size > 1:
        return 2 * size - 2
    if mode == "wrap":
        return size
    return None


def window_radius(size, radius, mode):
    """Half-width `h` of the folded window: `min(radius, what the rule tells apart)`.

    ``reflect``: `n`; ``mirror``: `n - 1`; ``wrap``: `n // 2` (a full period
    of offsets, the two ends of an even period being one class);
    ``nearest`` and ``constant``: `n - 1`.
    """
    p = period(size, mode)
    limit = p // 2 if p is not None else size - 1
    return min(radius, limit)


class ByteBoundedCache:
    """A least-recently-used cache of numpy arrays, bounded in bytes.

    Holds read-only values made by `get(key, make)`; when the values'
    `nbytes` pass `max_bytes`, the least recently used are dropped. A value
    larger than the whole budget is returned without being kept.
    Thread-safe.
    """

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        value = make()
        size = _nbytes(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self.nbytes += size
            while self.nbytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.nbytes -= dropped
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.nbytes = 0

    def __len__(self):
        return len(self._entries)


def _nbytes(value):
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return getattr(value, "nbytes", 64)


#: The fold tensors of `axis_operator(..., xp=keras.ops)` (per-image sigmas).
FOLD_CACHE = ByteBoundedCache(16 * 2**20)


def boundary_fold(size, radius, mode):
    """0/1 float32 array `F` of shape `(2 * radius + 1, size, size)`.

    `F[k, i, j] == 1` when output position `i` reads input position `j` through
    tap `k` (offset `k - radius`). Out-of-range taps of ``mode="constant"``
    read nothing. Cached (in `FOLD_CACHE`, bounded in bytes): it depends only
    on static shapes. Its size is cubic: only for small axes (per-image sigmas
    on small images); `radius` is a folded window's (`window_radius`).
    """

    def make():
        offsets = np.arange(-radius, radius + 1)
        source = boundary_index(np.arange(size)[None, :] + offsets[:, None], size, mode)
        fold = np.zeros((2 * radius + 1, size, size), dtype="float32")
        taps, rows = np.nonzero(source >= 0)
        fold[taps, rows, source[taps, rows]] = 1.0
        fold.setflags(write=False)
        return fold

    return FOLD_CACHE.get((size, radius, mode), make)


def pad_index(size, radius, mode, crop=0):
    """Indices of the axis padded by the boundary rule, for a banded pass.

    Positions `crop - radius .. size - crop + radius - 1` mapped into the
    axis (`boundary_index`); `-1` reads `cval` (``mode="constant"``). A
    valid correlation of the gathered axis with `2 * radius + 1` taps gives
    outputs `crop .. size - crop - 1`.
    """
    positions = np.arange(crop - radius, size - crop + radius)
    return boundary_index(positions, size, mode)


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


def folded_weights(sigma, radius, size, mode, truncate=4.0, xp=np, dtype="float64"):
    """scipy's Gaussian taps folded onto the window `-h..h` of an axis.

    `h = window_radius(size, radius, mode)`. Filtering with the folded taps
    (offsets `-h..h`, same boundary rule) plus `far * cval` equals filtering
    with all `2 * radius + 1` taps, as scipy does: every tap beyond the window
    reads, for every output, the same pixel as one tap of the window (see the
    module docstring), and its weight is added to that tap's. When the
    radius fits the window nothing is folded and the taps are
    `gaussian_weights`'. Written for `xp=numpy` and `xp=keras.ops` like
    `gaussian_weights`; the folded sums cost `O(h)` whatever the radius.

    Args:
        sigma: scalar or array of shape `(batch,)` of `dtype`.
        radius: int, the full kernel radius (of the largest sigma).
        size: int, the axis length.
        mode: canonical boundary mode.
        truncate: float, scipy's `truncate`.
        xp: `numpy` or `keras.ops`.
        dtype: str, the computation and output dtype.

    Returns:
        `(weights, far)`: weights of shape `sigma.shape + (2 * h + 1,)` and
        the weight of the taps that read `cval` wherever the output is
        (``constant`` only; zeros otherwise), of shape `sigma.shape`. Their
        sum is 1.
    """
    h = window_radius(size, radius, mode)
    if radius <= h:
        weights = gaussian_weights(sigma, radius, truncate, xp, dtype)
        return weights, xp.zeros_like(weights[..., 0])
    sigma = sigma[..., None]
    own_radius = xp.minimum(xp.floor(truncate * sigma + 0.5), float(MAX_RADIUS))
    slots = np.arange(-h, h + 1)
    step = period(size, mode)
    args = (radius, truncate, xp, dtype)
    if step is not None:
        # Slot s sums the offsets s + j * period within the sigma's own radius.
        values = _progression_sum(
            slots, step, -radius, -own_radius, own_radius, sigma, *args
        )
        if step % 2 == 0 and h == step // 2:
            # The window's two ends are one class: half the sum on each.
            half = 0.5 * values[..., -1:]
            values = xp.concatenate([half, values[..., 1:-1], half], axis=-1)
        far = xp.zeros_like(values[..., 0])
    elif mode == "constant":  # every offset from n on reads cval
        values = _single_taps(slots, own_radius, sigma, xp, dtype)
        far = (
            2.0
            * _progression_sum(
                np.array([size]), 1, size, size, own_radius, sigma, *args
            )[..., 0]
        )
    elif h == 0:  # nearest (or mirror) on one pixel: every tap reads it
        values = xp.ones_like(sigma)
        far = xp.zeros_like(values[..., 0])
    else:  # nearest: every offset from n - 1 on reads the edge pixel
        inner = _single_taps(slots[1:-1], own_radius, sigma, xp, dtype)
        edge = _progression_sum(np.array([h]), 1, h, h, own_radius, sigma, *args)
        values = xp.concatenate([edge, inner, edge], axis=-1)
        far = xp.zeros_like(values[..., 0])
    total = xp.sum(values, axis=-1) + far
    return values / total[..., None], far / total


def _single_taps(offsets, own_radius, sigma, xp, dtype):
    """Unnormalized taps at `offsets` (numpy ints), zero beyond the own radius."""
    offsets = xp.convert_to_tensor(offsets, dtype) if xp is not np else offsets
    phi = xp.exp(-0.5 * xp.square(offsets / xp.maximum(sigma, 1e-12)))
    return xp.where(xp.abs(offsets) <= own_radius, phi, xp.zeros_like(phi))


def _progression_sum(
    residues, step, start, low, high, sigma, radius, truncate, xp, dtype
):
    """Sums of `exp(-k**2 / (2 sigma**2))` over `k = residue (mod step)` in a range.

    One sum per residue (numpy ints, the last axis of the result) over
    `low <= k <= high`; `low`, `high` and `sigma` broadcast against it
    (per-image tensors or numpy scalars); `start` (int) is the smallest
    `low` can be. Where `sigma >= 4 * step` the sum is taken in closed form
    (Euler-Maclaurin to the fifth derivative: relative error below 1e-8),
    elsewhere term by term over the offsets that can matter (`|k| <=
    4 * step * min(truncate, 40)`): either way `O(len(residues))` work.
    """
    if isinstance(low, int):
        low = xp.zeros_like(high) + low
    closed = sigma >= _CLOSED_FORM_STEPS_PER_SIGMA * step
    closed_anywhere = (radius + 0.5) / truncate >= _CLOSED_FORM_STEPS_PER_SIGMA * step
    # Term by term: offsets up to where a sigma this small makes no weight.
    reach = _CLOSED_FORM_STEPS_PER_SIGMA * step * min(truncate, _ZERO_BEYOND_SIGMAS)
    reach = min(radius, int(reach) + 1)
    start = max(start, -reach)
    first = np.ceil((start - residues) / step).astype("int64")
    count = max(int(np.max((reach - residues) // step - first)) + 1, 1)
    offsets = (residues + first * step)[:, None] + step * np.arange(count)[None, :]
    if xp is not np:
        offsets = xp.convert_to_tensor(offsets, dtype)
    small_sigma = xp.maximum(xp.where(closed, xp.ones_like(sigma), sigma), 1e-12)
    terms = xp.exp(-0.5 * xp.square(offsets / small_sigma[..., None]))
    inside = (offsets >= low[..., None]) & (offsets <= high[..., None])
    direct = xp.sum(xp.where(inside, terms, xp.zeros_like(terms)), axis=-1)

    if not closed_anywhere:  # no sigma up to the radius's is that large
        return direct
    # Closed form over j = first..last of f(j) = phi((residue + j * step) / sigma).
    if xp is not np:
        residues = xp.convert_to_tensor(residues, dtype)
    big_sigma = xp.where(closed, sigma, xp.ones_like(sigma))
    first = xp.ceil((low - residues) / step)
    last = xp.floor((high - residues) / step)
    u_first = (residues + first * step) / big_sigma
    u_last = (residues + last * step) / big_sigma
    h = step / big_sigma
    erf = _erf(xp)
    integral = (
        math.sqrt(math.pi / 2)
        / h
        * (erf(u_last / math.sqrt(2.0)) - erf(u_first / math.sqrt(2.0)))
    )
    correction = 0.5 * (_phi(u_first, xp) + _phi(u_last, xp))
    # B2 / 2!, B4 / 4!, B6 / 6! times odd derivatives of f at the two ends.
    for coefficient, order in ((1 / 12, 1), (-1 / 720, 3), (1 / 30240, 5)):
        derivative = _phi_derivative(u_last, order, xp) - _phi_derivative(
            u_first, order, xp
        )
        correction = correction + coefficient * h**order * derivative
    summed = xp.where(last >= first, integral + correction, xp.zeros_like(integral))
    return xp.where(closed, summed, direct)


def _erf(xp):
    if xp is np:
        from scipy.special import erf

        return erf
    return xp.erf


def _phi(u, xp):
    return xp.exp(-0.5 * xp.square(u))


def _phi_derivative(u, order, xp):
    """d^order/du^order of exp(-u^2/2) (order 1, 3, 5): -He_order(u) phi(u)."""
    u = xp.clip(u, -_ZERO_BEYOND_SIGMAS, _ZERO_BEYOND_SIGMAS)
    hermite = {
        1: u,
        3: u**3 - 3 * u,
        5: u**5 - 10 * u**3 + 15 * u,
    }[order]
    return -hermite * _phi(u, xp)


def axis_operator(weights, size, mode, xp=np):
    """The `(..., size, size)` matrix of a 1-D filter with tap `weights`.

    Built in `O(size * taps)` from the taps' source pixels (numpy), or, for
    tensor `weights`, as a contraction with `boundary_fold` (small axes).

    Args:
        weights: array of shape `(..., 2 * radius + 1)` (numpy or tensor),
            e.g. `folded_weights`' (any radius: taps beyond what the boundary
            rule tells apart are added where they read).
        size: int, the axis length.
        mode: canonical boundary mode.
        xp: `numpy` or `keras.ops`, the namespace of `weights`.
    """
    radius = (weights.shape[-1] - 1) // 2
    if xp is np:
        offsets = np.arange(-radius, radius + 1)
        source = boundary_index(np.arange(size)[None, :] + offsets[:, None], size, mode)
        operator = np.zeros(weights.shape[:-1] + (size, size), dtype=weights.dtype)
        for tap in range(2 * radius + 1):
            rows = np.nonzero(source[tap] >= 0)[0]
            # A tap reads each row's pixel once: no duplicates within a tap.
            operator[..., rows, source[tap, rows]] += weights[..., tap, None]
        return operator
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
    mode = MODES[mode]
    radius = kernel_radius(sigma, truncate) if sigma > 0 else 0
    weights, _ = folded_weights(np.float64(sigma), radius, size, mode, truncate)
    return axis_operator(weights, size, mode)
