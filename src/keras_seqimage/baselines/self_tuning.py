"""A Wiener deconvolution that needs only the image and the blur's sigma.

`wiener_deconvolution` takes a `balance` (the regularisation weight), and the
best balance depends on the noise: choosing it against a clean reference
(`tune_wiener`) is not possible on a user's photo. Here the noise level is
estimated from the blurred image itself (`estimate_noise`: the wavelet
median-absolute-deviation estimate of Donoho and Johnstone, as
`skimage.restoration.estimate_sigma` computes it) and the balance follows from
it, the blur's sigma and the detail left in the image (`signal_power`) by a
rule (`wiener_balance`) fitted on photographs that no benchmark scores
(`balance="rule"`), or, by default, by generalized cross-validation on the
image's whole spectrum with that rule as a safeguard (`balance="gcv"`, see
`keras_seqimage.baselines.gcv`).
"""

import numpy as np

from keras_seqimage._validation import check_choice, check_finite_non_negative
from keras_seqimage.baselines.gcv import (
    GCV_BALANCES,
    gcv_curve,
    gcv_terms,
    safeguarded_balance,
)
from keras_seqimage.baselines.tuning import _check_blurred
from keras_seqimage.baselines.wiener import wiener_deconvolution
from keras_seqimage.ops import sigma_pair

# Daubechies-2 high-pass decomposition filter (pywt's `Wavelet("db2").dec_hi`).
_DB2_HIGH = np.array(
    [
        -0.48296291314469025,
        0.836516303737469,
        -0.22414386804185735,
        -0.12940952255092145,
    ]
)
# The median of |N(0, 1)|: MAD / 0.6745 is the standard deviation of a normal.
_MAD_TO_STD = 0.6744897501960817

#: `wiener_balance`'s rule, `log10(balance) = c0 + c1 log10(noise) + c2
#: log10(sigma) + c3 log10(signal_power)`. Fitted (mean PSNR loss against the
#: best balance) by `python benchmarks/photo_restoration.py --fit` on the TRAIN
#: photos of `keras_seqimage.datasets` (never the TEST ones).
BALANCE_RULE = (-4.73, 1.82, -2.78, -2.25)
_TINY = 1e-8

#: `self_tuning_wiener`'s ways to set the balance.
BALANCE_CHOICES = ("gcv", "rule")


def _diagonal_details(channel):
    """The level-1 diagonal (HH) db2 wavelet coefficients, boundary-free."""
    taps = len(_DB2_HIGH)
    for axis in (0, 1):
        n = channel.shape[axis]
        if n < taps:
            return np.zeros((0,))
        channel = sum(
            h * np.take(channel, np.arange(k, n - taps + 1 + k), axis=axis)
            for k, h in enumerate(_DB2_HIGH)
        )
    return channel[::2, ::2]


def estimate_noise(images):
    """Standard deviation of additive white Gaussian noise, from the image alone.

    The median absolute deviation of the finest diagonal wavelet
    coefficients (Daubechies 2) divided by 0.6745, per channel, averaged over
    the channels: the estimate of `skimage.restoration.estimate_sigma(image,
    channel_axis=-1, average_sigmas=True)` (there with pywt's boundary
    extension; here only coefficients that need none). Image detail leaks
    little into those coefficients, less still in a blurred image; 8-bit
    rounding counts as noise (about 0.0011 for values in [0, 1]).

    Args:
        images: float array `(height, width, channels)` or `(batch, height,
            width, channels)`, values in [0, 1]; at least 4x4 pixels.

    Returns:
        A float for one image, a float64 array `(batch,)` for a batch.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> noisy = 0.5 + 0.02 * rng.standard_normal((128, 128, 3))
    >>> round(estimate_noise(noisy), 3)
    0.02
    """
    images = _check_blurred(images, "images")
    single = images.ndim == 3
    batch = images[None] if single else images
    if min(batch.shape[1], batch.shape[2]) < len(_DB2_HIGH):
        raise ValueError(
            "`images` must be at least 4x4 pixels to estimate the noise. "
            f"Received: images.shape={images.shape}"
        )
    estimates = np.array(
        [
            np.mean(
                [
                    np.median(
                        np.abs(_diagonal_details(image[..., c].astype("float64")))
                    )
                    / _MAD_TO_STD
                    for c in range(image.shape[-1])
                ]
            )
            for image in batch
        ]
    )
    return float(estimates[0]) if single else estimates


def signal_power(image, noise):
    """Mean squared difference of neighbouring pixels, less the noise's share.

    `mean((x[i+1, j] - x[i, j])**2) + mean((x[i, j+1] - x[i, j])**2)`, over
    the channels, minus `4 * noise**2` (what white noise adds to it), at
    least `1e-8`: how much detail the blurred image still holds, the
    denominator of a noise-to-signal ratio.

    Args:
        image: float array `(height, width, channels)`.
        noise: float >= 0, the noise standard deviation.

    Returns:
        A float > 0.
    """
    image = np.asarray(image, dtype="float64")
    power = np.mean(np.diff(image, axis=0) ** 2) + np.mean(np.diff(image, axis=1) ** 2)
    return max(_TINY, float(power) - 4.0 * noise**2)


def wiener_balance(noise, sigma, power):
    """The Wiener `balance` from the noise, the blur and the image's detail.

    The regularisation weight is a noise-to-signal ratio: it grows with the
    noise level and falls with the detail the image holds (`power`, see
    `signal_power`) and with the blur (a wider blur leaves less to
    amplify). `log10(balance) = c0 + c1 log10(noise) + c2 log10(sigma) + c3
    log10(power)` with the fitted `BALANCE_RULE`.

    Args:
        noise: float >= 0, the noise standard deviation (images in [0, 1]).
        sigma: float > 0, the blur's standard deviation in pixels.
        power: float > 0, `signal_power` of the blurred image.

    Returns:
        The balance, a float > 0.

    Example:

    >>> wiener_balance(0.02, 1.5, 1e-3) > wiener_balance(0.01, 1.5, 1e-3)
    True
    """
    noise = check_finite_non_negative("noise", noise)
    sigma = check_finite_non_negative("sigma", sigma)
    power = check_finite_non_negative("power", power)
    c0, c1, c2, c3 = BALANCE_RULE
    log_balance = (
        c0
        + c1 * np.log10(max(noise, _TINY))
        + c2 * np.log10(max(sigma, _TINY))
        + c3 * np.log10(max(power, _TINY))
    )
    return float(10.0**log_balance)


def self_tuning_wiener(
    blurred,
    sigma,
    noise=None,
    mode="reflect",
    truncate=4.0,
    return_params=False,
    balance="gcv",
):
    """Wiener deconvolution with the balance chosen from the image alone.

    For each image: `noise` (given, or `estimate_noise` of the image), the
    rule's balance `wiener_balance(noise, sigma, signal_power(image,
    noise))`, and with `balance="gcv"` (the default) the balance that
    minimises generalized cross-validation over `GCV_BALANCES`, kept where
    the GCV curve decides and the rule's otherwise (`safeguarded_balance`);
    then `wiener_deconvolution(image, sigma, balance)` with the Laplacian
    regulariser. Needs no clean reference: only the image and the blur's
    sigma. GCV uses the whole spectrum, so it adapts to what the three
    numbers of the rule miss (how the detail is spread over frequencies);
    the benchmark in docs/photo-restoration.md compares both with the
    oracle balance.

    Args:
        blurred: float array `(height, width, channels)` or `(batch, height,
            width, channels)` in [0, 1].
        sigma: float or pair `(sigma_h, sigma_w)`, the blur's standard
            deviation in pixels.
        noise: optional float >= 0, the noise standard deviation when it is
            known; `None` estimates it per image. Defaults to `None`.
        mode: the blur's boundary mode (see `wiener_deconvolution`).
            Defaults to `"reflect"`.
        truncate: float > 0, the blur kernel's radius in sigmas. Defaults to
            `4.0`.
        return_params: bool, also return the per-image `"noise"` and
            `"balance"` used. Defaults to `False`.
        balance: `"gcv"` (generalized cross-validation, safeguarded by the
            rule) or `"rule"` (`wiener_balance` alone). Defaults to `"gcv"`.

    Returns:
        float32 array of the shape of `blurred`; with `return_params`, the
        pair `(restored, {"noise": array, "balance": array})`.

    Example:

    >>> import scipy.ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> clean = ndi.gaussian_filter(rng.uniform(size=(64, 64, 1)), (2, 2, 0))
    >>> blurred = ndi.gaussian_filter(clean, sigma=(1.5, 1.5, 0))
    >>> noisy = blurred + 0.01 * rng.standard_normal(blurred.shape)
    >>> restored, params = self_tuning_wiener(noisy, 1.5, return_params=True)
    >>> restored.shape, bool(0.005 < params["noise"][0] < 0.02)
    ((64, 64, 1), True)
    """
    blurred = _check_blurred(blurred)
    how = check_choice("balance", balance, BALANCE_CHOICES)
    single = blurred.ndim == 3
    batch = blurred[None] if single else blurred
    if noise is None:
        noises = estimate_noise(batch)
    else:
        noises = np.full(len(batch), check_finite_non_negative("noise", noise))
    s_h, s_w = sigma_pair(sigma)
    balances = np.array(
        [
            wiener_balance(float(n), (s_h + s_w) / 2, signal_power(image, float(n)))
            for image, n in zip(batch, noises, strict=True)
        ]
    )
    if how == "gcv":
        balances = np.array(
            [
                safeguarded_balance(
                    gcv_curve(*gcv_terms(image, sigma, None, mode, truncate)),
                    GCV_BALANCES,
                    rule,
                )
                for image, rule in zip(batch, balances, strict=True)
            ]
        )
    restored = np.stack(
        [
            wiener_deconvolution(image, sigma, balance, mode=mode, truncate=truncate)
            for image, balance in zip(batch, balances, strict=True)
        ]
    )
    restored = restored[0] if single else restored
    if return_params:
        return restored, {"noise": noises, "balance": balances}
    return restored
