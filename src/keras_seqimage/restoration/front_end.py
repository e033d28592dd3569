"""The classical first stage of the photo restorer: per-channel Wiener inputs."""

import numpy as np

from keras_seqimage.baselines.self_tuning import wiener_balance
from keras_seqimage.baselines.wiener import _WienerFilter
from keras_seqimage.models.deblur_network import INPUT_CHANNELS
from keras_seqimage.ops import sigma_pair
from keras_seqimage.restoration.statistics import image_signal_power

#: The Wiener estimates the network reads: the rule's balance times
#: each factor (the first is the one the correction is added to). A sharper
#: (noisier) and a smoother estimate beside it let the network choose, pixel
#: by pixel, between detail and quiet: more than one balance can.
BALANCE_FACTORS = (1.0, 0.1, 10.0)
#: Scale factors that bring the noise level and the blur sigma near 1 as
#: network inputs (noise std times 10, sigma over 3).
NOISE_SCALE = 10.0
SIGMA_SCALE = 1.0 / 3.0


def photo_balance(photo, sigma, noise):
    """The fitted rule's Wiener balance for a whole photo (any size).

    `baselines.wiener_balance` from the noise, the blur and the photo's detail
    (`self_tuning_wiener(..., balance="rule")`): the balance the presets were
    trained with, so it stays their front end even where the GCV balance
    (`self_tuning_wiener`'s default) is the better classical restorer.

    Args:
        photo: array `(height, width, channels)` in [0, 1].
        sigma: float or pair `(sigma_h, sigma_w)`, the blur.
        noise: float >= 0, the noise standard deviation.

    Returns:
        float > 0 (see `baselines.wiener_balance`).
    """
    s_h, s_w = sigma_pair(sigma)
    power = image_signal_power(photo, noise)
    return wiener_balance(float(noise), 0.5 * (s_h + s_w), power)


def network_inputs(degraded, sigma, noise, balance):
    """The `DeblurNetwork` inputs of one photo (or tile), one entry per channel.

    The photo is deconvolved by the Wiener filter (Laplacian regulariser,
    reflect boundary, clipped to [0, 1]) at `balance` times each of
    `BALANCE_FACTORS`; each channel then becomes one network input: those
    estimates, the degraded channel, and constant maps of the scaled noise
    level and blur. Training and restoration both build their inputs here.

    Args:
        degraded: float array `(height, width, channels)` in [0, 1].
        sigma: float or pair `(sigma_h, sigma_w)` > 0, the blur.
        noise: float >= 0, the noise standard deviation.
        balance: float > 0, the Wiener balance of the whole photo
            (`photo_balance`: a tile must use its photo's, not its own).

    Returns:
        float32 array `(channels, height, width, len(INPUT_CHANNELS))`.
    """
    degraded = np.asarray(degraded, dtype="float32")
    height, width, channels = degraded.shape
    s_h, s_w = sigma_pair(sigma)
    wiener = _WienerFilter(height, width, (s_h, s_w), "reflect", 4.0, "laplacian")
    spectrum = wiener.spectrum(degraded[None])
    inputs = np.empty((channels, height, width, len(INPUT_CHANNELS)), "float32")
    for index, factor in enumerate(BALANCE_FACTORS):
        estimate = wiener.restore(spectrum, balance * factor, True)[0]
        inputs[..., index] = np.moveaxis(estimate, -1, 0)
    inputs[..., len(BALANCE_FACTORS)] = np.moveaxis(degraded, -1, 0)
    inputs[..., -2] = NOISE_SCALE * float(noise)
    inputs[..., -1] = SIGMA_SCALE * 0.5 * (s_h + s_w)
    return inputs
