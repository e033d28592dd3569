"""Estimate a photo's Gaussian blur from the photo alone (for blind restoration)."""

import numpy as np

from keras_seqimage._validation import check_finite_non_negative

#: Pre-smoothing, reblur and edge-selection settings of `estimate_blur`,
#: and the calibration `log(sigma) = a + b log(raw) + c noise + d noise
#: log(raw)` fitted on the TRAIN photos (`benchmarks/fit_blur_estimator.py`).
PRE_SMOOTHING = 1.0
REBLUR = 1.0
EDGE_QUANTILE = 0.995
CALIBRATION = (-0.1263, 1.1193, 1.1436, 6.5294)
#: The range an estimate is clipped to (pixels).
SIGMA_LIMITS = (0.3, 8.0)
#: Larger images are estimated on a grid of crops of this side.
_CROP = 1024


def _gradient(image):
    import scipy.ndimage as ndi

    return np.hypot(ndi.sobel(image, 0), ndi.sobel(image, 1)) / 8.0


def raw_blur(grey):
    """The uncalibrated edge-width estimate of one grey image (see `estimate_blur`)."""
    import scipy.ndimage as ndi

    smooth = ndi.gaussian_filter(grey, PRE_SMOOTHING, mode="reflect")
    sharp = _gradient(smooth)
    reblurred = _gradient(ndi.gaussian_filter(smooth, REBLUR, mode="reflect"))
    threshold = max(np.quantile(sharp, EDGE_QUANTILE), 1e-6)
    edges = (sharp >= threshold) & (sharp == ndi.maximum_filter(sharp, 3))
    ratio = sharp[edges] / np.maximum(reblurred[edges], 1e-12)
    ratio = ratio[ratio > 1.0 + 1e-4]
    if ratio.size == 0:
        return float("nan")
    widths = REBLUR / np.sqrt(ratio**2 - 1.0)
    total = float(np.median(widths))
    return float(np.sqrt(max(total**2 - PRE_SMOOTHING**2, 0.01)))


def _crops(grey):
    height, width = grey.shape
    if height * width <= _CROP * _CROP:
        return [grey]
    tops = np.linspace(0, max(0, height - _CROP), 3).astype(int)
    lefts = np.linspace(0, max(0, width - _CROP), 3).astype(int)
    return [grey[t : t + _CROP, x : x + _CROP] for t in tops for x in lefts]


def estimate_blur(images, noise=None):
    """The standard deviation of an isotropic Gaussian blur, from the image alone.

    The edge-width principle (Zhuo and Sim, "Defocus map estimation from a
    single image", 2011): blurring an edge of width `s` again by `r` lowers
    its gradient by the factor `sqrt(s**2 + r**2) / s`, so the ratio of the
    gradients before and after a known reblur gives `s`. Measured at the
    image's strongest edges (local maxima of the gradient in the top 0.5 %),
    after a light smoothing that keeps noise from inflating the gradients
    (and is subtracted back), as the median over those edges; then
    calibrated on the TRAIN photographs (`CALIBRATION`), which also corrects
    the bias that noise leaves. Large images are measured on nine crops and
    the median taken.

    Args:
        images: float array `(height, width, channels)` or `(batch, height,
            width, channels)` in [0, 1], at least 8x8; colour channels are
            averaged.
        noise: optional float or array `(batch,)` >= 0, the noise standard
            deviation, used by the calibration; `None` estimates it
            (`restoration.image_noise`).

    Returns:
        float32 array `(2,)` (one image) or `(batch, 2)`: `(sigma_h,
        sigma_w)`, equal (the estimate is isotropic), within `SIGMA_LIMITS`.

    Example:

    >>> import scipy.ndimage as ndi
    >>> from keras_seqimage.datasets import load_photo
    >>> photo = load_photo("moon")
    >>> blurred = ndi.gaussian_filter(photo, (2.0, 2.0, 0))
    >>> bool(abs(estimate_blur(blurred)[0] - 2.0) < 0.4)
    True
    """
    from keras_seqimage.restoration.statistics import image_noise

    array = np.asarray(images)
    if array.ndim not in (3, 4) or min(array.shape[-3:-1]) < 8:
        raise ValueError(
            "`images` must be an array (height, width, channels) or (batch, "
            "height, width, channels) of at least 8x8 pixels. "
            f"Received: images.shape={array.shape}"
        )
    single = array.ndim == 3
    batch = array[None] if single else array
    if noise is None:
        noises = np.array([image_noise(image) for image in batch])
    else:
        noises = np.broadcast_to(np.asarray(noise, dtype="float64"), (len(batch),))
        for value in noises:
            check_finite_non_negative("noise", float(value))
    a, b, c, d = CALIBRATION
    out = np.empty((len(batch), 2), "float32")
    for index, (image, level) in enumerate(zip(batch, noises, strict=True)):
        grey = np.asarray(image, dtype="float64").mean(-1)
        raws = [raw_blur(crop) for crop in _crops(grey)]
        raw = float(np.nanmedian(raws)) if np.isfinite(raws).any() else 1.0
        log_raw = np.log(max(raw, 1e-3))
        sigma = float(np.exp(a + b * log_raw + (c + d * log_raw) * level))
        out[index] = np.clip(sigma, *SIGMA_LIMITS)
    return out[0] if single else out
