"""What the deconvolution baselines share: regularisers, balances, the tuning rule.

Both baselines (`wiener.py`, `inverse.py`) take a `regularizer` and a
`balance`, and each has a `tune_*` function that chooses the balance on a
validation pair by one rule (mean per-image PSNR of the clipped result, the
smallest balance on ties). The rule and the candidate grid live here once, so
the two tuners cannot drift apart.
"""

import numpy as np

from keras_seqimage._validation import (
    check_choice,
    check_finite_non_negative,
    check_image_pair,
    check_images,
)

DEFAULT_BALANCES = tuple(float(b) for b in np.logspace(-10, -1, 19))
"""The `balance` values `tune_wiener` tries by default: 1e-10 to 1e-1, half a
decade apart. The noiseless float32 blur wants the smallest, 8-bit or noisy
inputs about 1e-5 to 1e-3."""

#: The regularisers of the deconvolution baselines (and of `LineSweep`'s init).
REGULARIZERS = ("laplacian", "identity")
_CHUNK = 256  # images per FFT or matrix product: bounds the float64 copies


def _check_blurred(images, name="blurred"):
    """A float image `(height, width, channels)` or batch of them."""
    return check_images(name, np.asarray(images), ranks=(4, 3))


def _check_regularizer(regularizer):
    return check_choice("regularizer", regularizer, REGULARIZERS)


def _check_balances(balances):
    """The candidate balances of a `tune_*` function, as a list of floats."""
    balances = DEFAULT_BALANCES if balances is None else balances
    if isinstance(balances, (str, bytes)) or not hasattr(balances, "__iter__"):
        raise ValueError(
            "`balances` must be an iterable of numbers >= 0. "
            f"Received: balances={balances!r}"
        )
    balances = [check_finite_non_negative("balances", b) for b in balances]
    if not balances:
        raise ValueError("`balances` must not be empty. Received: balances=[]")
    return balances


def _check_pair(blurred, clean):
    """Validation images as two 4-D float arrays of the same shape."""
    blurred, clean = check_image_pair(
        np.asarray(blurred), np.asarray(clean), ("blurred", "clean"), ranks=(4, 3)
    )
    if blurred.ndim == 3:
        blurred, clean = blurred[None], clean[None]
    return blurred, clean


def _best_balance(balances, means):
    """`(best, scores)`: highest mean PSNR, the smallest balance on ties."""
    scores = {
        balance: float(mean) for balance, mean in zip(balances, means, strict=True)
    }
    best = max(range(len(balances)), key=lambda i: (means[i], -balances[i]))
    return balances[best], scores


def _psnr_per_image(restored, clean):
    axes = tuple(range(1, restored.ndim))
    mse = np.mean((restored - clean) ** 2, axis=axes)
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(mse)
