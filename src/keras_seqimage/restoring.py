"""`restore`: deblur and denoise photographs in one call.

The one entry point a user holding a blurred photo needs: any size, grey,
RGB or RGBA, uint8 / uint16 / float, a numpy array or a backend tensor, one
image or a batch; the same dtype, shape and kind of array come back. The work
is done by a learned preset of `keras_seqimage.restoration` (`method="auto"`
or a preset's name) or by the self-tuning Wiener deconvolution of
`keras_seqimage.baselines` (`method="wiener"`), run on overlapping tiles so
memory stays bounded. Alpha is passed through untouched.
"""

import math

import keras
import numpy as np

from keras_seqimage import _tiling
from keras_seqimage._layout import check_data_format
from keras_seqimage._validation import check_bool, check_choice, is_number
from keras_seqimage.backend.precision import PRECISIONS
from keras_seqimage.baselines import (
    wiener_balance,
    wiener_deconvolution,
)
from keras_seqimage.baselines.gcv import (
    GCV_BALANCES,
    gcv_curve,
    gcv_terms,
    safeguarded_balance,
)
from keras_seqimage.restoration.statistics import image_noise as image_noise_of
from keras_seqimage.restoration.statistics import image_signal_power

#: `method` values that need no learned preset.
CLASSICAL_METHODS = ("wiener",)

#: Tile size and least overlap of the Wiener path (memory per tile: about
#: 50 bytes x (tile + 2 margin)^2 x channels).
WIENER_TILE = 1024
WIENER_OVERLAP = 32

#: The Wiener balance's GCV is pooled over at most a 3x3 grid of crops this
#: size, at full resolution (the balance depends on the blur in pixels).
_GCV_CROP = 512

_INTEGER_RANGES = {"uint8": 255.0, "uint16": 65535.0}
_FLOATS = ("float16", "bfloat16", "float32", "float64")


def restore(
    image,
    *,
    method="auto",
    sigma=None,
    noise=None,
    return_params=False,
    data_format=None,
    progress=None,
    precision="auto",
):
    """Deblur and denoise an image or a batch; same dtype and shape back.

    Removes a Gaussian blur and additive noise. With `method="auto"` (the
    default) the best learned preset of `keras_seqimage.restoration` does the
    work, a preset can be named, and `method="wiener"` runs the self-tuning
    Wiener deconvolution (`keras_seqimage.baselines.self_tuning_wiener`: the
    balance by generalized cross-validation on crops of the image, with the
    rule from its own noise level as a safeguard), on overlapping tiles
    of 1024x1024 blended smoothly, so a photo of any size fits in bounded
    memory. `sigma=None` and `noise=None` are estimated from the image (the
    Wiener path estimates the blur with
    `keras_seqimage.restoration.estimate_blur`, so it needs the restoration
    package for that; with `sigma` given it needs nothing else).

    Integer images are read as `value / 255` (uint8) or `value / 65535`
    (uint16) and the result is rounded back; float images are taken to hold
    values in [0, 1]. A second or fourth channel is alpha: it is passed
    through as it came.

    Args:
        image: array or backend tensor: `(height, width)`, one image
            `(height, width, channels)` or a batch `(batch, height, width,
            channels)` (channels first with `data_format="channels_first"`),
            1 to 4 channels, dtype uint8, uint16 or float.
        method: `"auto"`, `"wiener"` or the name of a learned preset (see
            `keras_seqimage.restoration.PRESETS`). Defaults to `"auto"`.
        sigma: optional float or pair `(sigma_h, sigma_w)` > 0, the blur's
            standard deviation in pixels; `None` estimates it per image.
            Defaults to `None`.
        noise: optional float >= 0, the noise standard deviation (on the
            [0, 1] scale); `None` estimates it per image. Defaults to `None`.
        return_params: bool, also return the sigma and noise used. Defaults
            to `False`.
        data_format: `"channels_last"` or `"channels_first"`, the layout of
            `image`. Defaults to `keras.config.image_data_format()`.
        progress: `None` (a progress bar once the work is seen to take more
            than a few seconds), `True` (always one when there are several
            tiles) or `False` (never). Defaults to `None`.
        precision: `"auto"`, `"float32"` or `"bfloat16"`, the arithmetic of
            a learned preset's network (see
            `keras_seqimage.restoration.PhotoRestorer`; `"auto"` takes
            bfloat16 only where the CPU computes it natively). The Wiener
            path does not use it. Defaults to `"auto"`.

    Returns:
        The restored image, of the dtype, shape and kind (numpy or tensor) of
        `image`. With `return_params`, the pair `(restored, params)`:
        `params["sigma"]` a float array `(batch, 2)` of `(sigma_h, sigma_w)`,
        `params["noise"]` a float array `(batch,)` (shapes `(2,)` and `()`
        for one image) and `params["method"]`, the method that ran.

    Example:

    >>> import numpy as np
    >>> import keras_seqimage
    >>> rng = np.random.default_rng(0)
    >>> photo = rng.integers(0, 256, size=(48, 64, 3), dtype="uint8")
    >>> sharp = keras_seqimage.restore(photo, method="wiener", sigma=1.5)
    >>> sharp.shape, sharp.dtype
    ((48, 64, 3), dtype('uint8'))
    """
    progress = _check_progress(progress)
    return_params = check_bool("return_params", return_params)
    data_format = check_data_format(data_format)
    method = _check_method(method)
    sigma = _check_sigma(sigma)
    noise = _check_noise(noise)
    precision = check_choice("precision", precision, PRECISIONS)
    tensor = not isinstance(image, np.ndarray | np.generic) and _is_tensor(image)
    array, dtype = _to_numpy(image)
    batch, layout = _to_batch(array, data_format)
    floats = _to_float(batch, dtype) if method != "wiener" else None
    if method == "wiener":
        restored, params = _wiener(batch, dtype, sigma, noise, progress)
    else:
        restored, params = _learned(method, floats, sigma, noise, progress, precision)
    params["method"] = method
    out = _from_batch(_from_float(restored, dtype), layout)
    if tensor:
        out = keras.ops.convert_to_tensor(out, dtype=dtype)
    if not return_params:
        return out
    if layout["single"]:
        params["sigma"], params["noise"] = params["sigma"][0], params["noise"][0]
    return out, params


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def _check_progress(progress):
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(
            f"`progress` must be None, True or False. Received: progress={progress!r}"
        )
    return progress


def _presets():
    """The learned presets' names, or `None` without the restoration package."""
    try:
        from keras_seqimage import restoration
    except ImportError:
        return None
    return tuple(getattr(restoration, "PRESETS", ()))


def _check_method(method):
    presets = _presets()
    valid = ["auto", *CLASSICAL_METHODS, *(presets or ())]
    if not isinstance(method, str) or method not in valid:
        if presets is None and isinstance(method, str) and method != "auto":
            valid.append("<a learned preset: not in this installation>")
        raise ValueError(
            f"`method` must be one of {valid}. Received: method={method!r}"
        )
    if method == "auto":
        if not presets:
            raise ValueError(
                "`method='auto'` runs the best learned preset of "
                "`keras_seqimage.restoration`, which this installation of "
                "keras-seqimage does not have. Use `method='wiener'` (the "
                "classical deconvolution) with the blur's `sigma`. Received: "
                "method='auto'"
            )
        return presets[0]
    return method


def _check_sigma(sigma):
    if sigma is None:
        return None
    pair = sigma if isinstance(sigma, list | tuple) else (sigma, sigma)
    if len(pair) != 2 or not all(
        is_number(s) and math.isfinite(float(s)) and float(s) > 0 for s in pair
    ):
        raise ValueError(
            "`sigma` must be None, a number > 0 or a pair (sigma_h, sigma_w) of "
            f"numbers > 0 (the blur's standard deviation in pixels). Received: "
            f"sigma={sigma!r}"
        )
    return (float(pair[0]), float(pair[1]))


def _check_noise(noise):
    if noise is None:
        return None
    if not is_number(noise) or not math.isfinite(float(noise)) or float(noise) < 0:
        raise ValueError(
            "`noise` must be None or a finite number >= 0 (the noise standard "
            f"deviation, images in [0, 1]). Received: noise={noise!r}"
        )
    return float(noise)


# --------------------------------------------------------------------------
# Arrays in and out
# --------------------------------------------------------------------------


def _is_tensor(image):
    try:
        return keras.ops.is_tensor(image)
    except Exception:  # noqa: BLE001 - an object no backend knows
        return False


def _to_numpy(image):
    """`(array, dtype name)`, after checking the dtype."""
    if _is_tensor(image):
        dtype = keras.backend.standardize_dtype(image.dtype)
        if dtype == "bfloat16":
            image = keras.ops.cast(image, "float32")
        array = np.asarray(keras.ops.convert_to_numpy(image))
    else:
        try:
            array = np.asarray(image)
        except (TypeError, ValueError):
            array = np.asarray(image, dtype=object)
        dtype = str(array.dtype)
    if dtype not in _INTEGER_RANGES and dtype not in _FLOATS:
        raise ValueError(
            "`image` must hold uint8 (0..255), uint16 (0..65535) or float (in "
            "[0, 1]) values; convert other integer images first, e.g. "
            f"`image.astype('float32') / image.max()`. Received: image.dtype={dtype}"
        )
    return array, dtype


def _to_batch(array, data_format):
    """`(batch (B, H, W, C), layout)`: the array as a channels-last batch."""
    shape = array.shape
    if array.ndim not in (2, 3, 4):
        raise ValueError(
            "`image` must be one image (height, width) or (height, width, "
            "channels), or a batch (batch, height, width, channels). Received: "
            f"image.shape={shape}"
        )
    first = data_format == "channels_first"
    if array.ndim == 2:
        batch = array[None, :, :, None]
    elif first:
        batch = np.moveaxis(array if array.ndim == 4 else array[None], 1, -1)
    else:
        batch = array if array.ndim == 4 else array[None]
    channels = batch.shape[-1]
    if array.ndim > 2 and channels not in (1, 2, 3, 4):
        axis = "1" if (first and array.ndim == 4) else ("0" if first else "-1")
        hint = ""
        lead = shape[1] if array.ndim == 4 else shape[0]
        if not first and lead in (1, 2, 3, 4):
            hint = (
                " It looks channels-first: pass `data_format='channels_first'` "
                "(or move the channels last)."
            )
        elif not first and array.ndim == 3:
            hint = (
                " A batch of grey images needs a channels axis, e.g. "
                "`image[..., None]`."
            )
        raise ValueError(
            f"`image` must have 1 to 4 channels (grey, grey+alpha, RGB, RGBA) on "
            f"axis {axis} (data_format={data_format!r}). Received: "
            f"image.shape={shape}.{hint}"
        )
    if batch.shape[0] == 0 or batch.shape[1] == 0 or batch.shape[2] == 0:
        raise ValueError(
            f"`image` must have at least one image of at least 1x1 pixels. "
            f"Received: image.shape={shape}"
        )
    if batch.dtype.kind == "f":
        _check_float_values(batch)
    return batch, {"ndim": array.ndim, "first": first, "single": array.ndim < 4}


def _check_float_values(batch):
    """Finite values, on the [0, 1] scale (a little noise beyond it is fine)."""
    low, high = np.min(batch), np.max(batch)
    if not (np.isfinite(low) and np.isfinite(high)):
        bad = int(np.count_nonzero(~np.isfinite(batch)))
        raise ValueError(
            "`image` must hold finite values: an image with NaN or inf is "
            f"refused, not restored. Received: image.shape={batch.shape} with "
            f"{bad} NaN or inf values"
        )
    if low < -0.5 or high > 1.5:
        raise ValueError(
            "`image` as floats must hold values in [0, 1]; an image in 0..255 "
            "needs `image / 255` first (or pass the uint8 array as it is). "
            f"Received: values from {float(low):.4g} to {float(high):.4g}"
        )


def _to_float(batch, dtype):
    if dtype in _INTEGER_RANGES:
        return batch.astype("float32") / np.float32(_INTEGER_RANGES[dtype])
    return batch.astype("float32", copy=False)


def _from_float(restored, dtype):
    """Float results in [0, 1] (or about) back to `dtype`, in place if can be."""
    if dtype in _INTEGER_RANGES:
        scale = np.float32(_INTEGER_RANGES[dtype])
        np.clip(restored, 0.0, 1.0, out=restored)
        restored *= scale
        np.rint(restored, out=restored)
        return restored.astype(dtype)
    np.clip(restored, 0.0, 1.0, out=restored)
    return restored.astype("float32" if dtype == "bfloat16" else dtype, copy=False)


def _from_batch(batch, layout):
    if layout["ndim"] == 2:
        return batch[0, :, :, 0]
    if layout["first"]:
        batch = np.moveaxis(batch, -1, 1)
    return batch[0] if layout["single"] else batch


# --------------------------------------------------------------------------
# The two routes
# --------------------------------------------------------------------------


def _split_alpha(channels):
    """How many leading channels are colour (the rest is alpha)."""
    return {1: 1, 2: 1, 3: 3, 4: 3}[channels]


def _learned(method, floats, sigma, noise, progress, precision="auto"):
    """A learned preset of `keras_seqimage.restoration` on the whole batch."""
    from keras_seqimage import restoration

    restorer = restoration.PhotoRestorer.from_preset(method, precision=precision)
    colour = _split_alpha(floats.shape[-1])
    restored, params = restorer.restore(
        floats[..., :colour],
        sigma=sigma,
        noise=noise,
        return_params=True,
        progress=progress,
    )
    if not isinstance(restored, np.ndarray):  # a numpy result is used as it is:
        restored = keras.ops.convert_to_numpy(restored)  # copying 24 MP costs seconds
    restored = np.asarray(restored, dtype="float32")
    if colour < floats.shape[-1]:
        restored = np.concatenate([restored, floats[..., colour:]], axis=-1)
    params = {
        "sigma": np.asarray(params["sigma"], dtype="float32").reshape(-1, 2),
        "noise": np.asarray(params["noise"], dtype="float32").reshape(-1),
    }
    return restored, params


def _check_blur_estimator():
    """`keras_seqimage.restoration.estimate_blur`, or a clear error."""
    try:
        from keras_seqimage.restoration import estimate_blur
    except ImportError:
        raise ValueError(
            "`sigma` is required for method='wiener' in this installation: "
            "estimating the blur needs `keras_seqimage.restoration.estimate_blur`, "
            "which it does not have. Pass the blur's standard deviation in "
            "pixels, e.g. `sigma=1.5`. Received: sigma=None"
        ) from None
    return estimate_blur


def _estimate_sigma(image):
    """Blur `(sigma_h, sigma_w)` of one float32 image `(h, w, c)`."""
    estimate_blur = _check_blur_estimator()
    estimate = np.asarray(estimate_blur(image[None]), dtype="float64").reshape(-1)
    if estimate.size == 1:
        estimate = np.repeat(estimate, 2)
    return (float(estimate[0]), float(estimate[1]))


def _wiener(batch, dtype, sigma, noise, progress):
    """The self-tuning Wiener, image by image, tile by tile."""
    colour = _split_alpha(batch.shape[-1])
    out = np.empty(batch.shape, dtype="float32")
    sigmas, noises = [], []
    scale = _INTEGER_RANGES.get(dtype, 1.0)
    for index, image in enumerate(batch):
        pixels = image[..., :colour]
        if sigma is None:
            image_sigma = _estimate_sigma(_to_float(pixels, dtype))
        else:
            image_sigma = sigma
        image_noise = image_noise_of(pixels, scale) if noise is None else noise
        power = image_signal_power(pixels, image_noise, scale)
        balance = _gcv_balance(
            pixels,
            scale,
            image_sigma,
            wiener_balance(image_noise, sum(image_sigma) / 2, power),
        )
        margin = _wiener_margin(image_sigma)

        def deconvolve(tile, s=image_sigma, b=balance, scale=scale):
            if scale != 1.0:
                tile = tile / np.float32(scale)
            return wiener_deconvolution(tile, s, b)

        out[index, ..., :colour] = _tiling.tiled_apply(
            deconvolve,
            pixels,
            tile=WIENER_TILE,
            overlap=WIENER_OVERLAP,
            margin=margin,
            progress=progress,
        )
        if colour < batch.shape[-1]:
            out[index, ..., colour:] = _to_float(image[None, ..., colour:], dtype)[0]
        sigmas.append(image_sigma)
        noises.append(image_noise)
    params = {
        "sigma": np.asarray(sigmas, dtype="float32"),
        "noise": np.asarray(noises, dtype="float32"),
    }
    return out, params


def _gcv_balance(pixels, scale, sigma, rule_balance):
    """`baselines.safeguarded_balance` with GCV pooled over full-size crops.

    One photo, one balance for all its tiles: the GCV sums of up to 3x3
    crops of `_GCV_CROP` pixels, spread over the image, are added (memory
    bounded by the crop, not the photo), and the safeguard falls back on
    `rule_balance` where the pooled curve is flat.
    """
    height, width = pixels.shape[:2]
    totals = [0.0, 0.0, 0]
    tops = np.unique(np.linspace(0, max(0, height - _GCV_CROP), 3).astype(int))
    lefts = np.unique(np.linspace(0, max(0, width - _GCV_CROP), 3).astype(int))
    for top in tops:
        for left in lefts:
            crop = pixels[top : top + _GCV_CROP, left : left + _GCV_CROP]
            terms = gcv_terms(crop.astype("float64") / scale, sigma)
            totals = [a + b for a, b in zip(totals, terms, strict=True)]
    return safeguarded_balance(gcv_curve(*totals), GCV_BALANCES, rule_balance)


def _wiener_margin(sigma):
    """Context around a tile: the deconvolution's response reaches ~16 sigma."""
    return int(math.ceil(16 * max(sigma))) + 16
