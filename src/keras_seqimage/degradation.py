"""The degradation of a photograph, as one object: blur, noise, 8-bit rounding.

`Degradation` holds the recipe (Gaussian blur with a fixed or drawn sigma,
isotropic or axis-aligned anisotropic; additive Gaussian noise with a fixed or
drawn standard deviation; optional 8-bit quantisation), `degrade` is the same
thing as one function call, and `keras_seqimage.layers.DegradationLayer` wraps
it for a training graph. All three run one implementation: the blur is
`keras_seqimage.ops.gaussian_filter` (exactly scipy's), the draws come from
`keras.random` with a seed.

Every drawn number comes back in a `params` dict, so an evaluation can be
replayed exactly: `degrade(clean, params=params)` (same images, same backend)
gives the same degraded images bit for bit, and `params` can be stored with
the scores.
"""

import dataclasses
import secrets

import keras
import numpy as np
from keras import ops

from keras_seqimage import kernels
from keras_seqimage._layout import check_data_format, warn_if_channels_first
from keras_seqimage._validation import (
    check_bool,
    check_choice,
    check_finite_non_negative,
    check_images,
    check_positive,
    check_seed,
)
from keras_seqimage.ops import gaussian_filter, sigma_pair

#: The keys of a `params` dict, each an array of shape `(batch,)`, and `"seed"`.
PARAM_KEYS = ("sigma_h", "sigma_w", "noise")


def _check_range(name, value):
    """`None` or a pair `(low, high)` of finite numbers with 0 <= low <= high."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(
            f"`{name}` must be None or a pair (low, high). Received: {name}={value!r}"
        )
    low, high = (check_finite_non_negative(name, v) for v in value)
    if low > high:
        raise ValueError(
            f"`{name}` must satisfy low <= high. Received: {name}={value!r}"
        )
    return (low, high)


@dataclasses.dataclass(frozen=True)
class Degradation:
    """Blur, noise and 8-bit rounding of images, seeded and replayable.

    Applied in this order: a Gaussian blur over height and width (scipy's
    `gaussian_filter` with `sigma=(0, sigma_h, sigma_w, 0)`, channels apart),
    additive white Gaussian noise of standard deviation `noise`, clipping to
    `[0, 1]`, and optionally rounding to 8 bits (`round(255 x) / 255`), as a
    photo saved as an 8-bit PNG. Each image of a batch gets its own blur and
    noise level when `sigma_range` / `noise_range` are given (uniform draws);
    with `anisotropic=True` its height and width sigmas are drawn apart (an
    axis-aligned elliptical blur; a fixed anisotropic blur is `sigma=(s_h,
    s_w)`).

    Calling the object returns `(degraded, params)`: `params` holds the
    per-image `"sigma_h"`, `"sigma_w"` and `"noise"` (arrays of shape
    `(batch,)`) and the `"seed"` of the call. Passing `params` back replays
    that call exactly (on the same backend: the noise field comes from that
    backend's generator), and the given sigmas and noise levels override the
    recipe's, so a stored evaluation can also be rerun with changed levels and
    the same noise pattern.

    Args:
        sigma: float or pair `(sigma_h, sigma_w)` >= 0, the fixed blur in
            pixels, used when `sigma_range` is `None`. Defaults to `1.0`.
        sigma_range: optional pair `(low, high)`, draw each image's sigma
            uniformly from it. Defaults to `None`.
        anisotropic: bool, with `sigma_range`, draw the height and the width
            sigma independently. Defaults to `False`.
        noise: float >= 0, the fixed noise standard deviation (images in
            `[0, 1]`), used when `noise_range` is `None`. Defaults to `0.0`.
        noise_range: optional pair `(low, high)`, draw each image's noise
            level uniformly from it. Defaults to `None`.
        quantize: bool, round to 8 bits after clipping. Defaults to `False`.
        clip: bool, clip to `[0, 1]` after the noise (always on with
            `quantize`). Defaults to `True`.
        mode: scipy's boundary mode of the blur. Defaults to `"reflect"`.
        truncate: float > 0, the blur kernel's radius in sigmas. Defaults to
            `4.0`.

    Example:

    >>> import numpy as np
    >>> images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3))
    >>> recipe = Degradation(sigma_range=(1.0, 3.0), noise=0.01, quantize=True)
    >>> degraded, params = recipe(images.astype("float32"), seed=7)
    >>> degraded.shape, sorted(params)
    ((2, 32, 32, 3), ['noise', 'seed', 'sigma_h', 'sigma_w'])
    >>> again, _ = recipe(images.astype("float32"), params=params)
    >>> bool((again == degraded).all())
    True
    """

    sigma: float | tuple[float, float] = 1.0
    sigma_range: tuple[float, float] | None = None
    anisotropic: bool = False
    noise: float = 0.0
    noise_range: tuple[float, float] | None = None
    quantize: bool = False
    clip: bool = True
    mode: str = "reflect"
    truncate: float = 4.0

    def __post_init__(self):
        pair = sigma_pair(self.sigma)
        fields = {
            "sigma": pair[0] if pair[0] == pair[1] else pair,
            "sigma_range": _check_range("sigma_range", self.sigma_range),
            "anisotropic": check_bool("anisotropic", self.anisotropic),
            "noise": check_finite_non_negative("noise", self.noise),
            "noise_range": _check_range("noise_range", self.noise_range),
            "quantize": check_bool("quantize", self.quantize),
            "clip": check_bool("clip", self.clip),
            "mode": self.mode,
            "truncate": check_positive("truncate", self.truncate),
        }
        check_choice("mode", self.mode, kernels.MODES)
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    # --- the recipe's bounds ------------------------------------------------

    def _bounds(self):
        """`((lo_h, hi_h), (lo_w, hi_w), (lo_n, hi_n))` of the draws."""
        if self.sigma_range is not None:
            sigma_h = sigma_w = self.sigma_range
        else:
            s_h, s_w = sigma_pair(self.sigma)
            sigma_h, sigma_w = (s_h, s_h), (s_w, s_w)
        noise = self.noise_range or (self.noise, self.noise)
        return sigma_h, sigma_w, noise

    @property
    def max_sigma(self):
        """The largest sigma the recipe can draw (it fixes the kernel radius)."""
        (_, hi_h), (_, hi_w), _ = self._bounds()
        return max(hi_h, hi_w)

    def _draw(self, batch, generator):
        """Per-image `(sigma_h, sigma_w, noise)` tensors, `(batch,)` each.

        One uniform draw of shape `(batch, 3)` whatever the recipe, so the
        noise field that follows comes from the same generator state.
        """
        u = keras.random.uniform((batch, 3), dtype="float32", seed=generator)
        (lo_h, hi_h), (lo_w, hi_w), (lo_n, hi_n) = self._bounds()
        sigma_h = lo_h + (hi_h - lo_h) * u[:, 0]
        if self.sigma_range is not None and not self.anisotropic:
            sigma_w = sigma_h
        else:
            sigma_w = lo_w + (hi_w - lo_w) * u[:, 1]
        noise = lo_n + (hi_n - lo_n) * u[:, 2]
        return sigma_h, sigma_w, noise

    def _finish(self, blurred, noise, generator, may_be_noisy):
        """Add the noise field, clip and quantise (tensors)."""
        x = blurred
        if may_be_noisy:
            field = keras.random.normal(ops.shape(x), dtype=x.dtype, seed=generator)
            x = x + field * ops.reshape(ops.cast(noise, x.dtype), (-1, 1, 1, 1))
        if self.clip or self.quantize:
            x = ops.clip(x, 0.0, 1.0)
        if self.quantize:
            x = ops.round(x * 255.0) / 255.0
        return x

    # --- tensors (the layer) ------------------------------------------------

    def apply_tensors(self, images, generator):
        """Degrade a batch tensor with draws from `generator` (traceable).

        The route of `keras_seqimage.layers.DegradationLayer`: the blur takes
        per-image sigma tensors when the recipe draws them.

        Args:
            images: float tensor `(batch, height, width, channels)`, height
                and width known.
            generator: a `keras.random.SeedGenerator`.

        Returns:
            `(degraded, params)`, `params` a dict of `(batch,)` tensors.
        """
        sigma_h, sigma_w, noise = self._draw(ops.shape(images)[0], generator)
        if self.sigma_range is None:
            blurred = gaussian_filter(
                images, sigma=self.sigma, mode=self.mode, truncate=self.truncate
            )
        else:
            blurred = gaussian_filter(
                images,
                sigma=ops.stack([sigma_h, sigma_w], axis=1),
                mode=self.mode,
                truncate=self.truncate,
                max_sigma=self.max_sigma,
            )
        degraded = self._finish(blurred, noise, generator, self._bounds()[2][1] > 0)
        return degraded, {"sigma_h": sigma_h, "sigma_w": sigma_w, "noise": noise}

    # --- arrays (the function) ----------------------------------------------

    def __call__(self, images, seed=None, params=None, data_format=None):
        """Degrade float images in `[0, 1]`; returns `(degraded, params)`.

        Args:
            images: float array `(batch, height, width, channels)` or one
                image `(height, width, channels)` (numpy or tensor); channels
                first with `data_format="channels_first"`.
            seed: optional int >= 0. Without one (and without `params`) a
                fresh seed is drawn and returned in `params["seed"]`, so every
                call can be replayed.
            params: optional dict from an earlier call: its `"sigma_h"`,
                `"sigma_w"` and `"noise"` (arrays of shape `(batch,)`) are
                used instead of new draws, and its `"seed"` unless `seed` is
                given.
            data_format: `"channels_last"` or `"channels_first"`, the
                layout of `images`. Defaults to
                `keras.config.image_data_format()`. Channels-last images that
                look channels-first (last axis not 1 to 4 long, the first
                image axis so) get a warning.

        Returns:
            `(degraded, params)`: a float32 numpy array of the shape of
            `images`, and a dict of float32 numpy arrays `(batch,)` plus the
            int `"seed"`.
        """
        data_format = check_data_format(data_format)
        images = check_images(
            "images", np.asarray(images), ranks=(4, 3), non_empty=True
        )
        warn_if_channels_first("images", images.shape, data_format, "degrade")
        single = images.ndim == 3
        batch = images[None] if single else images
        if data_format == "channels_first":
            batch = np.moveaxis(batch, 1, -1)
        batch = batch.astype("float32", copy=False)
        if params is not None:
            params = _check_params(params, len(batch))
            if seed is None:
                seed = params["seed"]
        seed = secrets.randbelow(2**31) if seed is None else check_seed("seed", seed)
        generator = keras.random.SeedGenerator(seed)
        drawn = [np.asarray(v) for v in self._draw(len(batch), generator)]
        if params is not None:
            drawn = [params[key] for key in PARAM_KEYS]
        sigma_h, sigma_w, noise = drawn
        # A fixed-sigma blur per distinct (sigma_h, sigma_w): the cached exact
        # operator of `gaussian_filter`, and the same route when `params`
        # replays a call.
        blurred = np.empty_like(batch)
        pairs = np.stack([sigma_h, sigma_w], axis=1)
        for pair in np.unique(pairs, axis=0):
            where = np.flatnonzero((pairs == pair).all(axis=1))
            blurred[where] = np.asarray(
                gaussian_filter(
                    batch[where],
                    sigma=(float(pair[0]), float(pair[1])),
                    mode=self.mode,
                    truncate=self.truncate,
                )
            )
        may_be_noisy = self._bounds()[2][1] > 0 or bool(np.any(noise > 0))
        degraded = np.asarray(
            self._finish(ops.convert_to_tensor(blurred), noise, generator, may_be_noisy)
        )
        out = {
            "sigma_h": np.asarray(sigma_h, "float32"),
            "sigma_w": np.asarray(sigma_w, "float32"),
            "noise": np.asarray(noise, "float32"),
            "seed": seed,
        }
        if data_format == "channels_first":
            degraded = np.moveaxis(degraded, -1, 1)
        return (degraded[0] if single else degraded), out

    # --- config ---------------------------------------------------------------

    def get_config(self):
        """The constructor arguments, JSON-friendly (`Degradation(**config)`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("sigma", "sigma_range", "noise_range"):
            if isinstance(config.get(name), list):
                config[name] = tuple(config[name])
        return cls(**config)


def _check_params(params, batch):
    """A `params` dict with one value per image for each of `PARAM_KEYS`."""
    if not isinstance(params, dict) or not set(PARAM_KEYS) <= set(params):
        raise ValueError(
            f"`params` must be a dict with the keys {list(PARAM_KEYS)} (and "
            f"'seed'), as `degrade` returns it. Received: params={params!r}"
        )
    checked = {}
    for key in PARAM_KEYS:
        value = np.asarray(params[key], dtype="float32").reshape(-1)
        if value.shape != (batch,) or not np.all(np.isfinite(value) & (value >= 0)):
            raise ValueError(
                f"`params['{key}']` must hold {batch} finite numbers >= 0, one per "
                f"image. Received: params['{key}']={params[key]!r}"
            )
        checked[key] = value
    seed = params.get("seed")
    checked["seed"] = None if seed is None else check_seed("params['seed']", seed)
    return checked


def degrade(
    images,
    sigma=1.0,
    *,
    sigma_range=None,
    anisotropic=False,
    noise=0.0,
    noise_range=None,
    quantize=False,
    clip=True,
    mode="reflect",
    truncate=4.0,
    seed=None,
    params=None,
    data_format=None,
):
    """Blur, add noise to and (optionally) 8-bit round images; return the draws.

    The function form of `Degradation` (see there for the order of the steps
    and the arguments): `degrade(images, ...)` is `Degradation(...)(images,
    seed=seed, params=params)`.

    Args:
        images: float array `(batch, height, width, channels)` or
            `(height, width, channels)`, values in `[0, 1]`.
        sigma: float or pair, the fixed blur (see `Degradation`).
        sigma_range: optional pair, the range of drawn blurs.
        anisotropic: bool, draw the two axes' sigmas apart.
        noise: float, the fixed noise standard deviation.
        noise_range: optional pair, the range of drawn noise levels.
        quantize: bool, round to 8 bits.
        clip: bool, clip to `[0, 1]`.
        mode: str, the blur's boundary mode.
        truncate: float, the blur's radius in sigmas.
        seed: optional int >= 0; without one a fresh seed is drawn and
            returned in `params["seed"]`.
        params: optional dict from an earlier call, to replay it.
        data_format: `"channels_last"` or `"channels_first"`, the layout of
            `images`. Defaults to `keras.config.image_data_format()`.

    Returns:
        `(degraded, params)`: float32 array of the shape of `images`, and a
        dict with the per-image `"sigma_h"`, `"sigma_w"`, `"noise"` (float32
        arrays `(batch,)`) and the int `"seed"`.

    Example:

    >>> import numpy as np
    >>> import scipy.ndimage as ndi
    >>> image = np.random.default_rng(0).uniform(size=(24, 24, 1)).astype("float32")
    >>> blurred, params = degrade(image, sigma=1.5, seed=0)
    >>> expected = ndi.gaussian_filter(image, sigma=(1.5, 1.5, 0))
    >>> bool(np.abs(blurred - expected).max() < 1e-5), params["sigma_h"].tolist()
    (True, [1.5])
    """
    recipe = Degradation(
        sigma=sigma,
        sigma_range=sigma_range,
        anisotropic=anisotropic,
        noise=noise,
        noise_range=noise_range,
        quantize=quantize,
        clip=clip,
        mode=mode,
        truncate=truncate,
    )
    return recipe(images, seed=seed, params=params, data_format=data_format)
