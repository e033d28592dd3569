"""Per-photo noise level and detail, in bounded memory (any photo size)."""

import numpy as np

from keras_seqimage.baselines.self_tuning import estimate_noise

_NOISE_SAMPLE_PIXELS = 2048 * 2048
_NOISE_CROP = 1024
_MIN_NOISE_SIDE = 4
#: The noise assumed where a photo is too small to measure it: 8-bit
#: rounding's (1 / 255 / sqrt(12)).
ROUNDING_NOISE = 1.0 / 255.0 / np.sqrt(12.0)


def image_noise(pixels, scale=1.0):
    """`baselines.estimate_noise` of one image, on nine crops when it is large.

    Args:
        pixels: array `(height, width, channels)`, values in `[0, scale]`.
        scale: the value of white (255 for uint8 pixels). Defaults to `1.0`.

    Returns:
        float: the noise standard deviation for values in [0, 1] (the median
        over the crops of a large image; 8-bit rounding's level for an image
        smaller than 4x4, too small to measure).
    """
    height, width = pixels.shape[:2]
    if min(height, width) < _MIN_NOISE_SIDE:
        return float(ROUNDING_NOISE)
    crops = [
        estimate_noise(pixels[window].astype("float32") / np.float32(scale))
        for window in sample_windows(height, width)
    ]
    return float(np.median(crops))


def sample_windows(height, width):
    """Where to measure a photo's statistics in bounded memory.

    The whole photo when it has at most 2048 x 2048 pixels; otherwise nine
    1024 x 1024 crops on a 3 x 3 grid from corner to corner.

    Args:
        height: int, the photo's height.
        width: int, the photo's width.

    Returns:
        A list of `(rows, columns)` slice pairs.
    """
    if height * width <= _NOISE_SAMPLE_PIXELS:
        return [np.s_[:, :]]
    return [
        np.s_[top : top + _NOISE_CROP, left : left + _NOISE_CROP]
        for top in np.linspace(0, max(0, height - _NOISE_CROP), 3).astype(int)
        for left in np.linspace(0, max(0, width - _NOISE_CROP), 3).astype(int)
    ]


def image_signal_power(pixels, noise, scale=1.0):
    """`baselines.signal_power` of one image, computed in blocks of rows.

    Args:
        pixels: array `(height, width, channels)`, values in `[0, scale]`.
        noise: float >= 0, the noise standard deviation (values in [0, 1]).
        scale: the value of white. Defaults to `1.0`.

    Returns:
        float > 0.
    """
    height, width = pixels.shape[:2]
    rows_sum = cols_sum = 0.0
    step = 256
    for top in range(0, height, step):
        block = pixels[top : top + step + 1].astype("float64") / scale
        if block.shape[0] > 1:
            rows_sum += float(np.sum(np.diff(block, axis=0) ** 2))
        cols_sum += float(np.sum(np.diff(block[:step], axis=1) ** 2))
    channels = pixels.shape[-1]
    rows_n = max(1, (height - 1) * width * channels)
    cols_n = max(1, height * (width - 1) * channels)
    power = rows_sum / rows_n + cols_sum / cols_n
    return max(1e-8, power - 4.0 * noise**2)
