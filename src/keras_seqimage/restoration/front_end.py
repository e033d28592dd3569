"""The classical first stage of the photo restorer: per-channel Wiener inputs.

A photo is restored in working channels (`working_channels`: for RGB, by
default the decorrelated channels of `restoration.colour`), each with its own
noise level and its own Wiener balance; the network then reads, per channel,
Wiener estimates at that balance and around it.
"""

import numpy as np

from keras_seqimage._validation import check_choice
from keras_seqimage.baselines.gcv import (
    GCV_BALANCES,
    gcv_curve,
    gcv_terms,
    safeguarded_balance,
)
from keras_seqimage.baselines.self_tuning import BALANCE_CHOICES, wiener_balance
from keras_seqimage.baselines.wiener import _reflect_estimates
from keras_seqimage.models.deblur_network import INPUT_CHANNELS
from keras_seqimage.ops import sigma_pair
from keras_seqimage.restoration.colour import (
    NOISE_FACTORS,
    from_decorrelated,
    to_decorrelated,
)
from keras_seqimage.restoration.statistics import image_signal_power, sample_windows

#: The Wiener estimates the network reads: the channel's balance times
#: each factor (the first is the one the correction is added to). A sharper
#: (noisier) and a smoother estimate beside it let the network choose, pixel
#: by pixel, between detail and quiet: more than one balance can.
BALANCE_FACTORS = (1.0, 0.1, 10.0)
#: Scale factors that bring the noise level and the blur sigma near 1 as
#: network inputs (noise std times 10, sigma over 3).
NOISE_SCALE = 10.0
SIGMA_SCALE = 1.0 / 3.0
#: The channels a photo is restored in: `"decorrelated"` (RGB photos go
#: through `colour.to_decorrelated`; other channel counts as they are) or
#: `"rgb"` (every channel as it is).
COLOUR_CHOICES = ("decorrelated", "rgb")
#: Bins per decade of `baselines.gcv_terms` in `photo_balances`: GCV at a
#: cost that does not grow with the photo's size times the candidates.
GCV_RESOLUTION = 64


def _decorrelates(channels, colour):
    return colour == "decorrelated" and channels == 3


def working_channels(image, colour="decorrelated"):
    """The channels `image` is restored in (see `COLOUR_CHOICES`).

    Args:
        image: float array `(..., channels)` in [0, 1].
        colour: one of `COLOUR_CHOICES`. Defaults to `"decorrelated"`.

    Returns:
        float32 array of the same shape, values in [0, 1].
    """
    colour = check_choice("colour", colour, COLOUR_CHOICES)
    if _decorrelates(image.shape[-1], colour):
        return to_decorrelated(image)
    return np.asarray(image, dtype="float32")


def image_channels(working, colour="decorrelated"):
    """The inverse of `working_channels` (not clipped)."""
    colour = check_choice("colour", colour, COLOUR_CHOICES)
    if _decorrelates(working.shape[-1], colour):
        return from_decorrelated(working)
    return working


def channel_noises(noise, channels, colour="decorrelated"):
    """The noise standard deviation of each working channel.

    Args:
        noise: float >= 0, the photo's (per RGB or grey channel).
        channels: int, the photo's channel count.
        colour: one of `COLOUR_CHOICES`. Defaults to `"decorrelated"`.

    Returns:
        float64 array `(channels,)`.
    """
    if _decorrelates(channels, colour):
        return float(noise) * NOISE_FACTORS
    return np.full(channels, float(noise))


def photo_balances(photo, sigma, noise, colour="decorrelated", balance="gcv"):
    """The Wiener balance of each working channel of a whole photo (any size).

    In decorrelated colour channels each channel has its own balance (the
    colour differences hold little detail: theirs is larger); otherwise the
    channels share one, measured on all of them together. A balance is the
    fitted rule's (`baselines.wiener_balance` from the noise, the blur and
    the detail), and with `balance="gcv"` the one chosen by generalized
    cross-validation on the spectrum, safeguarded by the rule (as
    `baselines.self_tuning_wiener` does). A photo larger than 2048 x 2048 is
    measured on nine crops (`statistics.sample_windows`), so memory stays
    bounded; a tile of a photo must use its photo's balances, not its own.

    Args:
        photo: array `(height, width, channels)` in [0, 1].
        sigma: float or pair `(sigma_h, sigma_w)`, the blur.
        noise: float >= 0, the noise standard deviation of the photo.
        colour: one of `COLOUR_CHOICES`. Defaults to `"decorrelated"`.
        balance: `"gcv"` or `"rule"`. Defaults to `"gcv"`.

    Returns:
        float64 array `(channels,)`, each > 0.
    """
    how = check_choice("balance", balance, BALANCE_CHOICES)
    height, width, channels = photo.shape
    noises = channel_noises(noise, channels, colour)
    if _decorrelates(channels, colour):
        groups = [slice(c, c + 1) for c in range(channels)]
    else:
        groups = [slice(0, channels)]
    s_h, s_w = sigma_pair(sigma)
    powers = np.zeros(len(groups))
    residual = np.zeros((len(groups), len(GCV_BALANCES)))
    trace = np.zeros((len(groups), len(GCV_BALANCES)))
    count = np.zeros(len(groups))
    windows = sample_windows(height, width)
    for window in windows:
        crop = working_channels(photo[window], colour)
        for g, group in enumerate(groups):
            part = crop[..., group]
            noise_g = noises[group][0]
            powers[g] += image_signal_power(part, noise_g) / len(windows)
            if how == "gcv" and min(part.shape[:2]) >= 2:
                r, t, n = gcv_terms(part, sigma, resolution=GCV_RESOLUTION)
                residual[g] += r
                trace[g] += t
                count[g] += n
    balances = np.empty(channels)
    for g, group in enumerate(groups):
        value = wiener_balance(noises[group][0], 0.5 * (s_h + s_w), powers[g])
        if how == "gcv" and count[g]:
            curve = gcv_curve(residual[g], trace[g], count[g])
            value = safeguarded_balance(curve, GCV_BALANCES, value)
        balances[group] = value
    return balances


def network_inputs(degraded, sigma, noises, balances):
    """The `DeblurNetwork` inputs of one photo (or tile), one entry per channel.

    Each working channel is deconvolved by the Wiener filter (Laplacian
    regulariser, reflect boundary, clipped to [0, 1]: `wiener_deconvolution`,
    computed in the DCT, the reflect boundary's own basis) at its balance
    times each of `BALANCE_FACTORS`; it then becomes one network input: those
    estimates, the degraded channel, and constant maps of its scaled noise
    level and of the blur. Training and restoration both build their inputs
    here.

    Args:
        degraded: float array `(height, width, channels)` in [0, 1], in
            working channels (`working_channels`).
        sigma: float or pair `(sigma_h, sigma_w)` > 0, the blur.
        noises: float or floats `(channels,)` >= 0, each channel's noise
            standard deviation (`channel_noises`).
        balances: float or floats `(channels,)` > 0, each channel's Wiener
            balance for the whole photo (`photo_balances`).

    Returns:
        float32 array `(channels, height, width, len(INPUT_CHANNELS))`.
    """
    degraded = np.asarray(degraded, dtype="float32")
    height, width, channels = degraded.shape
    noises = np.broadcast_to(np.asarray(noises, "float64"), (channels,))
    balances = np.broadcast_to(np.asarray(balances, "float64"), (channels,))
    s_h, s_w = sigma_pair(sigma)
    inputs = np.empty((channels, height, width, len(INPUT_CHANNELS)), "float32")
    for c in range(channels):
        factors = balances[c] * np.asarray(BALANCE_FACTORS)
        estimates = _reflect_estimates(degraded[..., c], (s_h, s_w), factors)
        inputs[c, ..., : len(factors)] = np.moveaxis(estimates, 0, -1)
        inputs[c, ..., len(BALANCE_FACTORS)] = degraded[..., c]
        inputs[c, ..., -2] = NOISE_SCALE * noises[c]
    inputs[..., -1] = SIGMA_SCALE * 0.5 * (s_h + s_w)
    return inputs
