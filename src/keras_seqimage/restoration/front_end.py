"""The classical first stage of the photo restorer: per-channel Wiener inputs."""

import numpy as np

from keras_seqimage.baselines.self_tuning import self_tuning_wiener
from keras_seqimage.models.deblur_network import INPUT_CHANNELS

#: Scale factors that bring the noise level and the blur sigma near 1 as
#: network inputs (noise std times 10, sigma over 3).
NOISE_SCALE = 10.0
SIGMA_SCALE = 1.0 / 3.0


def network_inputs(degraded, sigma, noise):
    """The `DeblurNetwork` inputs of one photo, one entry per channel.

    The photo is deconvolved by the self-tuning Wiener filter (balance from
    `noise`, Laplacian regulariser, reflect boundary, clipped to [0, 1]);
    each channel then becomes one network input: the Wiener estimate, the
    degraded channel, and constant maps of the scaled noise level and blur.

    Args:
        degraded: float array `(height, width, channels)` in [0, 1].
        sigma: pair `(sigma_h, sigma_w)` > 0, the blur.
        noise: float >= 0, the noise standard deviation.

    Returns:
        float32 array `(channels, height, width, 4)` (`INPUT_CHANNELS`).
    """
    degraded = np.asarray(degraded, dtype="float32")
    estimate = self_tuning_wiener(degraded, tuple(sigma), noise=float(noise))
    height, width, channels = degraded.shape
    inputs = np.empty((channels, height, width, len(INPUT_CHANNELS)), "float32")
    inputs[..., 0] = np.moveaxis(estimate, -1, 0)
    inputs[..., 1] = np.moveaxis(degraded, -1, 0)
    inputs[..., 2] = NOISE_SCALE * float(noise)
    inputs[..., 3] = SIGMA_SCALE * 0.5 * (float(sigma[0]) + float(sigma[1]))
    return inputs
