"""Deblur photographs of any size: Wiener deconvolution refined by a network."""

import functools
import json
import math
import os

import numpy as np

from keras_seqimage import _tiling
from keras_seqimage._validation import check_finite_non_negative, check_positive_int
from keras_seqimage.models.deblur_network import INPUT_CHANNELS, DeblurNetwork
from keras_seqimage.ops import sigma_pair
from keras_seqimage.restoration.blur_estimation import estimate_blur
from keras_seqimage.restoration.front_end import network_inputs, photo_balance
from keras_seqimage.restoration.statistics import image_noise

#: The shipped presets, best first on the photo benchmark: `restore(method="auto")`
#: runs the first.
PRESETS = ("photo_deblur_cnn", "photo_deblur")
PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")
#: The smallest side from which `estimate_blur` can measure a blur.
MIN_BLIND_SIDE = 8


def preset_record(preset):
    """The JSON record of a shipped preset: network config and training facts."""
    if preset not in PRESETS:
        raise ValueError(
            f"`preset` must be one of {list(PRESETS)}. Received: preset={preset!r}"
        )
    path = os.path.join(PRESET_DIR, f"{preset}.json")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"The weights of preset {preset!r} are not in this installation "
            f"({path} is missing)."
        )
    with open(path) as file:
        return json.load(file)


@functools.lru_cache(maxsize=4)
def _load_network(preset):
    record = preset_record(preset)
    network = DeblurNetwork(**record["network"], name=preset)
    network.build((None, None, None, len(INPUT_CHANNELS)))
    network.load_weights(os.path.join(PRESET_DIR, f"{preset}.weights.h5"))
    return network


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

    Two stages per photo. First, the Wiener filter deconvolves the photo at
    three balances around the fitted rule's (`front_end.photo_balance`: from
    the noise level, the blur and the photo's detail): estimates from sharp
    and noisy to smooth. Then a `DeblurNetwork` (trained on
    photographs, see the presets) adds its learned correction, channel by
    channel. The blur sigma and the noise level are taken when given and
    estimated from the photo when not (`estimate_blur`, `estimate_noise`),
    and returned on request.

    Large photos go through in overlapping tiles (`tile_size` pixels square,
    with context around each and smooth blending), so memory stays bounded;
    a photo no larger than a tile is restored whole.

    Args:
        network: a `DeblurNetwork` (trained).
        tile_size: int > 0, the side of a tile. Defaults to `512`.
        overlap: int >= 0, the least overlap of neighbouring tiles. Defaults
            to `32`.

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

    def __init__(self, network, tile_size=512, overlap=32):
        if not isinstance(network, DeblurNetwork):
            raise ValueError(
                f"`network` must be a DeblurNetwork. Received: network={network!r}"
            )
        self.network = network
        self.tile_size = check_positive_int("tile_size", tile_size)
        self.overlap = int(check_finite_non_negative("overlap", overlap))

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """The restorer with a shipped preset's trained network (offline).

        Args:
            preset: str, one of `PRESETS` (see the photo restoration docs for
                each preset's training data and scores).
            **kwargs: `tile_size`, `overlap`.
        """
        return cls(_load_network(preset), **kwargs)

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
        balance = photo_balance(image, sigma, noise)
        margin = int(math.ceil(16 * max(sigma))) + 16

        def restore_tile(tile):
            inputs = network_inputs(tile, sigma, noise, balance)
            restored = self.network.predict(inputs, batch_size=1, verbose=0)
            return np.moveaxis(restored[..., 0], 0, -1)

        restored = _tiling.tiled_apply(
            restore_tile,
            image,
            tile=self.tile_size,
            overlap=self.overlap,
            margin=margin,
            progress=progress,
        )
        return np.clip(restored, 0.0, 1.0, out=restored), sigma, noise

    def restore(
        self, images, sigma=None, noise=None, return_params=False, progress=None
    ):
        """Restore one photo or a batch (float, [0, 1], channels last).

        Args:
            images: float array `(height, width, channels)` or `(batch,
                height, width, channels)`, values in [0, 1], any size;
                channels are restored one by one (for RGBA, use
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
