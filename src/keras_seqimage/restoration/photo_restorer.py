"""Deblur photographs of any size: Wiener deconvolution refined by a network."""

import functools
import json
import math
import os
import weakref

import numpy as np

from keras_seqimage import _tiling
from keras_seqimage._validation import (
    check_choice,
    check_finite_non_negative,
    check_positive_int,
)
from keras_seqimage.backend.precision import PRECISIONS, inference_policy
from keras_seqimage.baselines.self_tuning import BALANCE_CHOICES
from keras_seqimage.models.deblur_network import INPUT_CHANNELS, DeblurNetwork
from keras_seqimage.ops import sigma_pair
from keras_seqimage.restoration.blur_estimation import estimate_blur
from keras_seqimage.restoration.front_end import (
    COLOUR_CHOICES,
    channel_noises,
    image_channels,
    network_inputs,
    photo_balances,
    working_channels,
)
from keras_seqimage.restoration.statistics import image_noise

#: The shipped presets, best first on the photo benchmark: `restore(method="auto")`
#: runs the first.
PRESETS = ("photo_deblur_cnn", "photo_deblur")
PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")
#: The smallest side from which `estimate_blur` can measure a blur.
MIN_BLIND_SIDE = 8
#: Context the network is given around each tile (its receptive field, from
#: the 3x3 convolutions at full and half resolution, reaches 11 pixels).
NETWORK_MARGIN = 16
#: network -> {dtype policy: a copy of it computing in that policy}.
_PREDICTORS = weakref.WeakKeyDictionary()


def _record_path(preset):
    """The JSON record's path of a shipped preset name or of a record file."""
    if isinstance(preset, str) and preset in PRESETS:
        path = os.path.join(PRESET_DIR, f"{preset}.json")
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The weights of preset {preset!r} are not in this installation "
                f"({path} is missing)."
            )
        return path
    if isinstance(preset, (str, os.PathLike)) and str(preset).endswith(".json"):
        if not os.path.isfile(preset):
            raise FileNotFoundError(f"No preset record at {os.fspath(preset)!r}.")
        return os.fspath(preset)
    raise ValueError(
        f"`preset` must be one of {list(PRESETS)} or the path of a `.json` record "
        "written by examples/train_photo_restorer.py (its weights file next to "
        f"it). Received: preset={preset!r}"
    )


def preset_record(preset):
    """The JSON record of a preset: network config, front end and training facts.

    Args:
        preset: a name in `PRESETS`, or the path of a `<name>.json` record
            written by `examples/train_photo_restorer.py`.

    Returns:
        dict.
    """
    with open(_record_path(preset)) as file:
        return json.load(file)


@functools.lru_cache(maxsize=4)
def _load_network(path, modified):
    with open(path) as file:
        record = json.load(file)
    weights = path[: -len(".json")] + ".weights.h5"
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"The preset record {path!r} has no weights file next to it "
            f"({weights!r} is missing)."
        )
    network = DeblurNetwork(**record["network"], name=record.get("preset"))
    network.build((None, None, None, len(INPUT_CHANNELS)))
    network.load_weights(weights)
    return network


def _fast_margin(tile, margin):
    """The least margin >= `margin` that makes a tile's pieces fast to transform.

    A tile's piece is `tile + 2 * margin` pixels across inside the image and
    `tile + margin` at its border; the Wiener estimates transform each piece
    (DCT), which is several times faster at lengths whose prime factors are
    2, 3 and 5 than at, say, 592 = 16 * 37. Looks a few dozen pixels ahead.
    """
    import scipy.fft

    def fast(n):
        return scipy.fft.next_fast_len(n, real=True) == n

    for extra in range(0, 65):
        m = margin + extra
        if fast(tile + 2 * m) and fast(tile + m):
            return m
    for extra in range(0, 65):
        if fast(tile + 2 * (margin + extra)):
            return margin + extra
    return margin


def _check_sigma(sigma):
    if sigma is None:
        return None
    pair = sigma_pair(sigma)
    if not all(math.isfinite(s) and s > 0 for s in pair):
        raise ValueError(
            "`sigma` must be None or a number > 0 (or a pair of them). "
            f"Received: sigma={sigma!r}"
        )
    return pair


class PhotoRestorer:
    """Deblurs and denoises photographs of any size; blind or with a known blur.

    Two stages per photo, channel by channel. An RGB photo is first turned
    into decorrelated channels (`restoration.colour`: brightness and two
    colour differences, so the noise of the colour channels can be smoothed
    away without blurring the detail, which sits in the brightness). Then
    the Wiener filter deconvolves each channel at three balances around the
    channel's own (`front_end.photo_balances`: generalized cross-validation
    on the photo's spectrum, safeguarded by a rule fitted on photos):
    estimates from sharp and noisy to smooth. A `DeblurNetwork` (trained
    on photographs, see the presets) adds its learned correction. The blur
    sigma and the noise level are taken when given and estimated from the
    photo when not (`estimate_blur`, `estimate_noise`), and returned on
    request.

    Large photos go through in overlapping tiles (`tile_size` pixels square,
    with context around each and smooth blending), so memory stays bounded;
    a photo no larger than a tile is restored whole.

    Args:
        network: a `DeblurNetwork` (trained).
        tile_size: int > 0, the side of a tile. Defaults to `512`.
        overlap: int >= 0, the least overlap of neighbouring tiles. Defaults
            to `32`.
        colour: `"decorrelated"` (RGB photos restored in the channels of
            `restoration.colour`) or `"rgb"` (each channel as it is): the
            front end the network was trained with. Defaults to
            `"decorrelated"`.
        balance: `"gcv"` or `"rule"`, how each channel's Wiener balance is
            chosen (see `front_end.photo_balances`): the front end the
            network was trained with. Defaults to `"gcv"`.
        precision: `"auto"`, `"float32"` or `"bfloat16"`, the arithmetic
            of the network's prediction (weights stay float32;
            `keras_seqimage.backend.precision`). `"auto"` takes bfloat16
            where the CPU computes it natively and the backend uses that
            (TensorFlow, torch): much faster, for a change of the restored
            pixels far below the restoration's own error; float32
            elsewhere. Defaults to `"auto"`.

    Example:

    >>> import numpy as np
    >>> from keras_seqimage.datasets import load_photo
    >>> from keras_seqimage.degradation import degrade
    >>> photo = load_photo("coins")[:96, :128]
    >>> blurred, _ = degrade(photo, sigma=1.5, noise=0.01, quantize=True, seed=0)
    >>> restorer = PhotoRestorer.from_preset("photo_deblur")
    >>> restored, params = restorer.restore(blurred, sigma=1.5, return_params=True)
    >>> restored.shape, params["sigma"].tolist()
    ((96, 128, 1), [[1.5, 1.5]])
    """

    def __init__(
        self,
        network,
        tile_size=512,
        overlap=32,
        colour="decorrelated",
        balance="gcv",
        precision="auto",
    ):
        if not isinstance(network, DeblurNetwork):
            raise ValueError(
                f"`network` must be a DeblurNetwork. Received: network={network!r}"
            )
        self.network = network
        self.tile_size = check_positive_int("tile_size", tile_size)
        self.overlap = int(check_finite_non_negative("overlap", overlap))
        self.colour = check_choice("colour", colour, COLOUR_CHOICES)
        self.balance = check_choice("balance", balance, BALANCE_CHOICES)
        self.precision = check_choice("precision", precision, PRECISIONS)

    def _predictor(self):
        """`network`, or a copy computing in the `precision`'s dtype policy.

        The copy is made once per network and policy (and kept while the
        network lives, so restorers of one preset share it and its compiled
        predict step); it takes the network's current weights at every call,
        so training the network later is seen.
        """
        policy = inference_policy(self.precision)
        if policy == self.network.dtype_policy.name:
            return self.network
        copies = _PREDICTORS.setdefault(self.network, {})
        if policy not in copies:
            config = {**self.network.get_config(), "dtype": policy}
            copy = type(self.network).from_config(config)
            copy.build((None, None, None, len(INPUT_CHANNELS)))
            copies[policy] = copy
        copies[policy].set_weights(self.network.get_weights())
        return copies[policy]

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """The restorer with a preset's trained network (offline).

        Args:
            preset: str, one of `PRESETS` (shipped inside the package; see
                the photo restoration docs for each one's training data and
                scores), or the path of a `<name>.json` record written by
                `examples/train_photo_restorer.py`, with `<name>.weights.h5`
                next to it (a network you trained).
            **kwargs: `tile_size`, `overlap`, `precision` (`colour` and `balance` come
                from the preset: its network was trained with them).
        """
        path = _record_path(preset)
        front_end = preset_record(path).get("front_end", {})
        network = _load_network(path, os.path.getmtime(path))
        return cls(network, **{**front_end, **kwargs})

    def _restore_one(self, image, sigma, noise, progress):
        noise = image_noise(image) if noise is None else noise
        if sigma is None:
            if min(image.shape[:2]) < MIN_BLIND_SIDE:
                raise ValueError(
                    f"`sigma` must be given for images smaller than {MIN_BLIND_SIDE}x"
                    f"{MIN_BLIND_SIDE}: the blur cannot be estimated from so few "
                    f"pixels. Received: sigma=None, image shape {image.shape}"
                )
            sigma = tuple(float(s) for s in estimate_blur(image, noise=noise))
        noises = channel_noises(noise, image.shape[-1], self.colour)
        balances = photo_balances(image, sigma, noise, self.colour, self.balance)
        margin = _fast_margin(self.tile_size, int(math.ceil(16 * max(sigma))) + 16)
        predictor = self._predictor()

        def restore_tile(tile, inner):
            working = working_channels(tile, self.colour)
            inputs = network_inputs(working, sigma, noises, balances)
            # The Wiener estimates need the whole margin of context; the
            # network only its own reach around the tile.
            rows, cols = (
                slice(max(0, s.start - NETWORK_MARGIN), s.stop + NETWORK_MARGIN)
                for s in inner
            )
            restored = inputs[..., 0].copy()
            for c in range(len(inputs)):
                out = predictor.predict_on_batch(inputs[c : c + 1, rows, cols])
                restored[c, rows, cols] = np.asarray(out, "float32")[0, ..., 0]
            return image_channels(np.moveaxis(restored, 0, -1), self.colour)

        restored = _tiling.tiled_apply(
            restore_tile,
            image,
            tile=self.tile_size,
            overlap=self.overlap,
            margin=margin,
            progress=progress,
            window=True,
        )
        return np.clip(restored, 0.0, 1.0, out=restored), sigma, noise

    def restore(
        self, images, sigma=None, noise=None, return_params=False, progress=None
    ):
        """Restore one photo or a batch (float, [0, 1], channels last).

        Args:
            images: float array `(height, width, channels)` or `(batch,
                height, width, channels)`, values in [0, 1], any size;
                three channels are taken as RGB (see `colour`), other counts
                are restored channel by channel (for RGBA, use
                `keras_seqimage.restore`, which passes alpha through).
            sigma: optional float or pair `(sigma_h, sigma_w)` > 0, the blur;
                `None` estimates it per photo.
            noise: optional float >= 0, the noise standard deviation; `None`
                estimates it per photo.
            return_params: bool, also return the `{"sigma": (batch, 2),
                "noise": (batch,)}` used. Defaults to `False`.
            progress: `None`, `True` or `False`, the tile progress bar (see
                `keras_seqimage.restore`).

        Returns:
            float32 array of the shape of `images` in [0, 1]; with
            `return_params`, the pair `(restored, params)`.
        """
        array = np.asarray(images, dtype="float32")
        if array.ndim not in (3, 4):
            raise ValueError(
                "`images` must be an array (height, width, channels) or (batch, "
                f"height, width, channels). Received: images.shape={array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError(
                "`images` must be finite: it holds NaN or infinite values."
            )
        sigma = _check_sigma(sigma)
        if noise is not None:
            noise = check_finite_non_negative("noise", noise)
        single = array.ndim == 3
        batch = array[None] if single else array
        results, sigmas, noises = [], [], []
        for image in batch:
            result, used_sigma, used_noise = self._restore_one(
                image, sigma, noise, progress
            )
            results.append(result)
            sigmas.append(used_sigma)
            noises.append(used_noise)
        # One photo: its tiles' output buffer is the result (no copy of a
        # 24-megapixel photo more than needed).
        if len(results) == 1:
            restored = results[0] if single else results[0][None]
        else:
            restored = np.stack(results)
        if return_params:
            params = {
                "sigma": np.asarray(sigmas, "float32").reshape(-1, 2),
                "noise": np.asarray(noises, "float32"),
            }
            return restored, params
        return restored
