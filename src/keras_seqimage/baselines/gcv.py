"""The Wiener balance by generalized cross-validation, from the image alone.

`wiener_balance` predicts the balance from three numbers (noise, sigma,
detail) by a fitted rule; generalized cross-validation (GCV, Golub, Heath and
Wahba 1979) instead chooses it from the whole spectrum of the blurred image:
the balance whose restoration, blurred again, best predicts each pixel left
out, `GCV(b) = n ||(I - H_b) y||^2 / tr(I - H_b)^2` with `H_b` the Wiener
filter's influence matrix. For the boundary modes "reflect" and "wrap" of
`wiener_deconvolution` the blur and the Laplacian are diagonal in one
orthogonal transform of the image (the DCT-II, the DFT), so `GCV` is exact and
costs one transform and then a sum per candidate balance. For "mirror" the
blur matrix is not symmetric; the DCT-I used there gives the criterion in a
norm weighted at the border (close, not exact).

GCV estimates the prediction error, not the restoration's: when the noise is
tiny (8-bit rounding only) and the blur wide, its curve goes flat below the
minimum and the minimum can sit decades too low. `safeguarded_balance` keeps
GCV where its curve decides, and falls back on the rule where it does not.
"""

import numpy as np

from keras_seqimage import kernels
from keras_seqimage._validation import check_choice, check_finite_non_negative
from keras_seqimage.baselines.tuning import _check_blurred
from keras_seqimage.baselines.wiener import WIENER_MODES, _axis_eigenvalues
from keras_seqimage.ops import sigma_pair

#: The balances GCV tries: 1e-9 to 10, sixteen per decade.
GCV_BALANCES = tuple(float(b) for b in np.logspace(-9, 1, 161))

#: `safeguarded_balance`'s two constants, chosen on the TRAIN photos of
#: `keras_seqimage.datasets` (never the TEST ones; the same sigma x noise
#: grid, 8-bit, mean PSNR loss to the best balance; see
#: docs/photo-restoration.md): GCV is trusted when its curve rises by more
#: than `GCV_FLAT_RISE` (relative) two decades below its minimum, and never
#: below the rule's balance times `GCV_RULE_FLOOR`.
GCV_FLAT_RISE = 0.02
GCV_RULE_FLOOR = 1.0 / 30.0
_FLAT_DECADES = 2.0


def _check_balances(balances):
    if balances is None:
        return np.asarray(GCV_BALANCES)
    values = np.asarray(balances, dtype="float64").reshape(-1)
    if values.size < 2 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(
            "`balances` must hold at least two finite floats > 0. "
            f"Received: balances={balances!r}"
        )
    return np.sort(values)


def _transform(image, mode):
    """Orthogonal transform of `(h, w, c)` in which the Wiener filter is diagonal."""
    import scipy.fft  # here, not at import: scipy.fft takes ~0.3 s to load

    image = image.astype("float64")
    if mode == "wrap":
        return np.abs(scipy.fft.fft2(image, axes=(0, 1), norm="ortho")) ** 2
    kind = 2 if mode == "reflect" else 1
    if kind == 1 and min(image.shape[:2]) < 2:
        raise ValueError(
            "`blurred` must be at least 2x2 pixels for mode='mirror'. "
            f"Received: blurred.shape={image.shape}"
        )
    return scipy.fft.dctn(image, type=kind, axes=(0, 1), norm="ortho") ** 2


def gcv_terms(
    blurred, sigma, balances=None, mode="reflect", truncate=4.0, resolution=None
):
    """The two sums of the GCV criterion of one image, per candidate balance.

    For the Wiener filter with the Laplacian regulariser (filter factors
    `f = K^2 / (K^2 + b R^2)`, see `wiener_deconvolution`): the residual
    `sum((1 - f)^2 |Y|^2)` over frequencies and channels, the trace
    `sum(1 - f)` times the channels, and the count of values. Summing each
    over several crops of one photo pools their criteria:
    `GCV(b) = count * residual / trace^2`.

    Args:
        blurred: float array `(height, width, channels)`.
        sigma: float or pair `(sigma_h, sigma_w)`, the blur's standard
            deviation in pixels.
        balances: increasing floats > 0, the candidates. Defaults to
            `GCV_BALANCES`.
        mode: the blur's boundary mode, one of `WIENER_MODES`. Defaults to
            `"reflect"`.
        truncate: float > 0, the blur kernel's radius in sigmas. Defaults to
            `4.0`.
        resolution: `None` (every frequency on its own: exact) or an int >
            0: the frequencies are first pooled by the ratio `K^2 / R^2`
            (which alone decides `f` at a given balance) into that many
            log-spaced bins per decade, so each candidate costs a sum over
            bins instead of over the whole image. With 64 per decade the
            ratio within a bin is off by under 2 %, and the chosen balance
            (on `GCV_BALANCES`, 16 per decade) rarely moves. Defaults to
            `None`.

    Returns:
        `(residual, trace, count)`: two float64 arrays of the balances'
        length and an int.
    """
    blurred = _check_blurred(blurred)
    if blurred.ndim != 3:
        raise ValueError(
            "`blurred` must be one image `(height, width, channels)`. "
            f"Received: blurred.shape={blurred.shape}"
        )
    balances = _check_balances(balances)
    mode = kernels.MODES[check_choice("mode", mode, WIENER_MODES)]
    sigma_h, sigma_w = sigma_pair(sigma)
    height, width, channels = blurred.shape
    energy = _transform(blurred, mode).sum(axis=-1)
    kh, lh = _axis_eigenvalues(height, sigma_h, mode, truncate)
    kw, lw = _axis_eigenvalues(width, sigma_w, mode, truncate)
    power = (kh[:, None] * kw[None, :]) ** 2
    penalty = (lh[:, None] + lw[None, :]) ** 2
    if resolution is not None:
        return _binned_terms(
            power, penalty, energy, balances, int(resolution), channels, blurred.size
        )
    residual = np.empty(len(balances))
    trace = np.empty(len(balances))
    for i, balance in enumerate(balances):
        weighted = balance * penalty
        rest = weighted / (power + weighted)  # 1 - f; 0/0 cannot occur
        residual[i] = np.sum(rest**2 * energy)
        trace[i] = np.sum(rest) * channels
    return residual, trace, blurred.size


def _binned_terms(power, penalty, energy, balances, resolution, channels, count):
    """`gcv_terms` on frequencies pooled by `power / penalty` (see there)."""
    if resolution <= 0:
        raise ValueError(
            "`resolution` must be None or an int > 0. "
            f"Received: resolution={resolution}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = power / penalty
    # 1 - f = b / (ratio + b): 1 where the blur removes all (ratio 0), 0 where
    # nothing is penalised (penalty 0, ratio inf).
    dead = (power == 0) & (penalty > 0)
    live = np.isfinite(ratio) & (ratio > 0)
    bins = np.floor(np.log10(ratio[live]) * resolution).astype("int64")
    low = int(bins.min()) if bins.size else 0
    weights = np.bincount(bins - low, weights=energy[live])
    counts = np.bincount(bins - low).astype("float64")
    centres = 10.0 ** ((np.arange(len(counts)) + low + 0.5) / resolution)
    dead_energy, dead_count = float(energy[dead].sum()), float(dead.sum())
    rest = balances[:, None] / (centres[None, :] + balances[:, None])
    residual = rest**2 @ weights + dead_energy
    trace = (rest @ counts + dead_count) * channels
    return residual, trace, count


def gcv_curve(residual, trace, count):
    """`count * residual / trace^2`, inf where the trace is 0."""
    residual = np.asarray(residual, dtype="float64")
    trace = np.asarray(trace, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = count * residual / trace**2
    return np.where(trace > 0, curve, np.inf)


def gcv_balance(blurred, sigma, balances=None, mode="reflect", truncate=4.0):
    """The Wiener balance that minimises generalized cross-validation.

    Plain GCV, without the safeguard of `safeguarded_balance`: the candidate
    with the smallest `GCV(b) = n ||(I - H_b) y||^2 / tr(I - H_b)^2` (see
    `gcv_terms`), the smallest balance on ties. Needs neither a clean
    reference nor the noise level.

    Args:
        blurred: float array `(height, width, channels)` in [0, 1].
        sigma: float or pair, the blur's standard deviation in pixels.
        balances: increasing floats > 0. Defaults to `GCV_BALANCES`.
        mode: one of `WIENER_MODES`. Defaults to `"reflect"`.
        truncate: float > 0. Defaults to `4.0`.

    Returns:
        The balance, a float > 0.

    Example:

    >>> import scipy.ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> clean = ndi.gaussian_filter(rng.uniform(size=(64, 64, 1)), (2, 2, 0))
    >>> blurred = ndi.gaussian_filter(clean, sigma=(1.5, 1.5, 0))
    >>> quiet = blurred + 0.001 * rng.standard_normal(blurred.shape)
    >>> loud = blurred + 0.03 * rng.standard_normal(blurred.shape)
    >>> gcv_balance(loud, 1.5) > gcv_balance(quiet, 1.5)
    True
    """
    balances = _check_balances(balances)
    curve = gcv_curve(*gcv_terms(blurred, sigma, balances, mode, truncate))
    return float(balances[int(np.argmin(curve))])


def safeguarded_balance(curve, balances, rule_balance):
    """GCV's balance where its curve decides; the fitted rule where it does not.

    Two safeguards, both for the case GCV is known to fail in (noise near
    zero, wide blur: the curve flat below its minimum): if `curve` two
    decades below its minimum is less than `GCV_FLAT_RISE` above it, the
    data do not determine the balance and `rule_balance` is returned;
    otherwise GCV's minimum, but not below `rule_balance * GCV_RULE_FLOOR`.

    Args:
        curve: float array, GCV at each of `balances` (see `gcv_curve`).
        balances: increasing floats > 0.
        rule_balance: float > 0, the balance of `wiener_balance`.

    Returns:
        The balance, a float > 0.

    Example:

    >>> balances = np.logspace(-6, 0, 25)
    >>> sharp = (np.log10(balances) + 3.0) ** 2 + 1.0
    >>> float(np.log10(safeguarded_balance(sharp, balances, 1e-2)))
    -3.0
    >>> safeguarded_balance(np.ones(25), balances, 1e-2)
    0.01
    """
    balances = _check_balances(balances)
    curve = np.asarray(curve, dtype="float64").reshape(-1)
    if curve.shape != balances.shape:
        raise ValueError(
            "`curve` must have one value per balance. "
            f"Received: curve.shape={curve.shape}, {len(balances)} balances"
        )
    rule_balance = check_finite_non_negative("rule_balance", rule_balance)
    best = int(np.argmin(curve))
    logs = np.log10(balances)
    below = np.interp(logs[best] - _FLAT_DECADES, logs, curve)
    if not below > curve[best] * (1.0 + GCV_FLAT_RISE):
        return float(rule_balance)
    return float(max(balances[best], rule_balance * GCV_RULE_FLOOR))
