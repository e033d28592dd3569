"""A decorrelating colour transform for restoring RGB photos channel by channel.

The red, green and blue channels of a photo are nearly copies of each other:
restored one by one, each carries the full noise and the detail is deblurred
three times. In the opponent channels of `DECORRELATING` (the mean of the
three, and two colour differences) the brightness channel holds most of the
detail with a third of the noise variance, and the two colour-difference
channels hold little detail, so their Wiener balance can be large (strong
smoothing) at no cost in sharpness. The rows are orthogonal, so white noise
in RGB stays white and independent in the new channels, with the standard
deviations `NOISE_FACTORS` times the RGB one; the offsets keep every channel
of an image in [0, 1] within [0, 1].
"""

import numpy as np

#: Rows: brightness (R + G + B) / 3, red minus blue, green against the other
#: two. Orthogonal rows, each channel's range 1 wide.
DECORRELATING = np.array(
    [[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0.0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]]
)
#: Added after the transform, so that [0, 1] RGB maps into [0, 1].
OFFSETS = np.array([0.0, 0.5, 0.5])
#: The noise standard deviation of each new channel over the RGB one (the
#: norm of its row): white RGB noise `n` becomes `n * NOISE_FACTORS`.
NOISE_FACTORS = np.sqrt(np.sum(DECORRELATING**2, axis=1))
_INVERSE = np.linalg.inv(DECORRELATING)


def _check_rgb(name, array):
    array = np.asarray(array)
    if array.ndim < 1 or array.shape[-1] != 3:
        raise ValueError(
            f"`{name}` must have 3 channels on its last axis. "
            f"Received: {name}.shape={array.shape}"
        )
    return array


def to_decorrelated(rgb):
    """RGB pixels to the decorrelated channels of `DECORRELATING`.

    Args:
        rgb: float array `(..., 3)`, values in [0, 1].

    Returns:
        float32 array of the same shape, values in [0, 1].

    Example:

    >>> import numpy as np
    >>> to_decorrelated(np.array([[1.0, 1.0, 1.0]])).round(3).tolist()
    [[1.0, 0.5, 0.5]]
    """
    rgb = _check_rgb("rgb", rgb)
    out = rgb.astype("float32") @ DECORRELATING.T.astype("float32")
    out += OFFSETS.astype("float32")
    return out


def from_decorrelated(channels):
    """The inverse of `to_decorrelated`.

    Args:
        channels: float array `(..., 3)`.

    Returns:
        float32 array of the same shape (RGB, not clipped).

    Example:

    >>> import numpy as np
    >>> rgb = np.array([[0.2, 0.5, 0.9]])
    >>> bool(np.allclose(from_decorrelated(to_decorrelated(rgb)), rgb, atol=1e-6))
    True
    """
    channels = _check_rgb("channels", channels)
    shifted = channels.astype("float32") - OFFSETS.astype("float32")
    return shifted @ _INVERSE.T.astype("float32")
