"""Wiener deconvolution with the known Gaussian kernel, exact at the boundary.

The blur of `keras_seqimage.ops.gaussian_filter` (and scipy's
`gaussian_filter` with `sigma=(0, s, s, 0)`) with `mode="reflect"` reads the
image extended symmetrically (`d c b a | a b c d | d c b a`), a periodic
signal of period `2 * size`. On that extension the blur is an exact circular
convolution, so it is diagonal in the 2-D DFT of the extended image: the
deconvolution below extends the image the same way, divides in the frequency
domain with regularisation, and crops. No boundary artefacts come from a
mismatched model ("mirror" and "wrap" are handled the same way).
"""

import functools

import numpy as np

from keras_seqimage import kernels
from keras_seqimage._validation import (
    check_choice,
    check_finite_non_negative,
    check_positive,
    check_positive_int,
)
from keras_seqimage.baselines.tuning import (
    _CHUNK,
    _best_balance,
    _check_balances,
    _check_blurred,
    _check_pair,
    _check_regularizer,
    _psnr_per_image,
)
from keras_seqimage.ops import sigma_pair

WIENER_MODES = ("reflect", "grid-mirror", "mirror", "wrap", "grid-wrap")
"""Boundary modes in which the blur is an exact circular convolution of a
periodic extension of the image (scipy's names and aliases)."""


def _extend(images, mode):
    """Periodic extension along height and width (axes 1 and 2)."""
    if mode == "wrap":
        return images
    for axis in (1, 2):
        n = images.shape[axis]
        if mode == "reflect":
            tail = np.flip(images, axis=axis)
        else:  # mirror: x0 .. x(n-1), x(n-2) .. x1
            tail = np.flip(images, axis=axis).take(range(1, n - 1), axis=axis)
        images = np.concatenate([images, tail], axis=axis)
    return images


def _period(size, mode):
    if mode == "reflect":
        return 2 * size
    if mode == "mirror":
        return max(2 * size - 2, 1)
    return size


def gaussian_transfer(size, sigma, mode="reflect", truncate=4.0):
    """DFT of the 1-D Gaussian blur on the periodic extension of an axis.

    The taps are scipy's (`exp(-x**2 / (2 sigma**2))` for `|x| <= radius`,
    radius `int(truncate * sigma + 0.5)`, normalised to sum 1), wrapped onto
    the extension's period (`2 * size` for "reflect", `2 * size - 2` for
    "mirror", `size` for "wrap"); a radius longer than the period wraps
    several times, exactly as scipy's boundary rule does.

    Args:
        size: int, the axis length of the image.
        sigma: float >= 0; 0 gives an all-ones transfer (no blur).
        mode: one of `WIENER_MODES`. Defaults to `"reflect"`.
        truncate: float > 0, the kernel radius in sigmas. Defaults to `4.0`.

    Returns:
        Real float64 array of length `period` (the full DFT, real because the
        kernel is symmetric).

    Example:

    >>> h = gaussian_transfer(16, 1.0)
    >>> h.shape, round(float(h[0]), 12)
    ((32,), 1.0)
    """
    size = check_positive_int("size", size)
    sigma = check_finite_non_negative("sigma", sigma)
    truncate = check_positive("truncate", truncate)
    mode = kernels.MODES[check_choice("mode", mode, WIENER_MODES)]
    period = _period(size, mode)
    if sigma < 1e-15:  # scipy leaves such an axis untouched
        return np.ones(period)
    radius = kernels.kernel_radius(sigma, truncate)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 / sigma**2 * offsets.astype("float64") ** 2)
    taps /= taps.sum()
    impulse = np.zeros(period)
    np.add.at(impulse, np.mod(offsets, period), taps)
    return np.fft.fft(impulse).real


def _second_difference(period):
    """DFT of the 1-D second difference `-1 2 -1` on a period (real, >= 0)."""
    return 2.0 - 2.0 * np.cos(2.0 * np.pi * np.arange(period) / period)


def _axis_eigenvalues(size, sigma, mode, truncate):
    """Blur and second-difference eigenvalues of one axis, in its transform."""
    transfer = gaussian_transfer(size, sigma, mode, truncate)
    laplace = _second_difference(len(transfer))
    if mode == "wrap":
        return transfer, laplace
    # The symmetric extensions: DCT-II ("reflect") and DCT-I ("mirror") take
    # the first `size` frequencies of the extension's DFT.
    return transfer[:size], laplace[:size]


@functools.lru_cache(maxsize=8)
def _reflect_spectra(height, width, sigma_h, sigma_w, truncate):
    """`(transfer, power, penalty)` on the DCT grid of one image size, read-only.

    Kept for the last few sizes: a photo's tiles mostly share one size, and
    every channel of a tile shares one grid.
    """
    mode = kernels.MODES["reflect"]
    kh, lh = _axis_eigenvalues(height, sigma_h, mode, truncate)
    kw, lw = _axis_eigenvalues(width, sigma_w, mode, truncate)
    transfer = kh[:, None] * kw[None, :]
    penalty = (lh[:, None] + lw[None, :]) ** 2
    spectra = (transfer, transfer**2, penalty)
    for array in spectra:
        array.flags.writeable = False
    return spectra


def _reflect_estimates(channel, sigma, balances, truncate=4.0):
    """`wiener_deconvolution` of one channel at several balances, reflect mode.

    The same filter (Laplacian regulariser), computed in the DCT-II, which
    diagonalises the blur and the Laplacian with the "reflect" boundary on
    the image's own size, where `_WienerFilter` transforms the twice larger
    symmetric extension: the results agree to round-off, at a quarter of the
    transform size. Clipped to [0, 1].

    Args:
        channel: float array `(height, width)`.
        sigma: float or pair `(sigma_h, sigma_w)` > 0.
        balances: floats > 0.
        truncate: float > 0. Defaults to `4.0`.

    Returns:
        float64 array `(len(balances), height, width)`, one estimate per
        balance.
    """
    import scipy.fft  # here, not at import: scipy.fft takes ~0.3 s to load

    sigma_h, sigma_w = sigma_pair(sigma)
    height, width = channel.shape
    transfer, power, penalty = _reflect_spectra(
        height, width, float(sigma_h), float(sigma_w), float(truncate)
    )
    # workers=-1: the rows' (then the columns') transforms are independent and
    # are shared among the CPUs, with the same result.
    coefficients = scipy.fft.dctn(
        channel.astype("float64"), type=2, norm="ortho", workers=-1
    )
    spectra = np.empty((len(balances), height, width))
    for index, balance in enumerate(balances):
        np.divide(transfer, power + balance * penalty, out=spectra[index])
        spectra[index] *= coefficients
    estimates = scipy.fft.idctn(
        spectra, type=2, axes=(1, 2), norm="ortho", workers=-1, overwrite_x=True
    )
    return np.clip(estimates, 0.0, 1.0, out=estimates)


class _WienerFilter:
    """The frequency-domain filter for one image size; applies it in chunks."""

    def __init__(self, height, width, sigma, mode, truncate, regularizer):
        sigma_h, sigma_w = sigma_pair(sigma)
        self.mode = kernels.MODES[check_choice("mode", mode, WIENER_MODES)]
        self.height, self.width = height, width
        kh = gaussian_transfer(height, sigma_h, self.mode, truncate)
        kw = gaussian_transfer(width, sigma_w, self.mode, truncate)
        half = len(kw) // 2 + 1  # rfft along the width
        self.transfer = kh[:, None] * kw[None, :half]
        self.power = self.transfer**2
        if regularizer == "laplacian":
            # The 5-point Laplacian's DFT: 4 - 2 cos u - 2 cos v = L(u) + L(v).
            lh = _second_difference(len(kh))
            lw = _second_difference(len(kw))[:half]
            self.penalty = (lh[:, None] + lw[None, :]) ** 2
        else:
            self.penalty = np.ones_like(self.power)

    def spectrum(self, blurred):
        """rfft2 of the extended chunk, float64, axes (height, width)."""
        import scipy.fft  # here, not at import: scipy.fft takes ~0.3 s to load

        extended = _extend(blurred.astype("float64"), self.mode)
        return scipy.fft.rfft2(extended, axes=(1, 2))

    def restore(self, spectrum, balance, clip):
        gain = self.transfer / (self.power + balance * self.penalty)
        extended_shape = (
            _period(self.height, self.mode),
            _period(self.width, self.mode),
        )
        import scipy.fft

        restored = scipy.fft.irfft2(
            spectrum * gain[None, :, :, None], s=extended_shape, axes=(1, 2)
        )[:, : self.height, : self.width]
        return np.clip(restored, 0.0, 1.0) if clip else restored


def wiener_deconvolution(
    blurred,
    sigma,
    balance,
    mode="reflect",
    truncate=4.0,
    regularizer="laplacian",
    clip=True,
):
    """Wiener deconvolution of a Gaussian blur whose kernel is known.

    For each image and channel, extends the image periodically by `mode`
    (symmetrically for "reflect", the rule scipy's blur used), takes its 2-D
    DFT `B`, and computes the restored spectrum
    `X = conj(K) B / (|K|^2 + balance * |R|^2)` where `K` is the DFT of the
    blur kernel on the extension and `R` the regulariser (the discrete 2-D
    Laplacian by default, as in `skimage.restoration.wiener`, which leaves
    the mean intensity unregularised; or the identity). The result is cropped
    back to the image and clipped to [0, 1]. Computed in float64 with
    `scipy.fft`, 256 images at a time.

    In the noiseless case (`blurred` an exact blur in float64) and as
    `balance -> 0` it recovers the image; with float32 rounding, JPEG or
    sensor noise a larger `balance` is better: choose it with `tune_wiener`
    on a validation split.

    Args:
        blurred: float array `(batch, height, width, channels)` or `(height,
            width, channels)`, values in [0, 1].
        sigma: float or pair `(sigma_h, sigma_w)`, the blur's standard
            deviation in pixels (as in `gaussian_filter`).
        balance: float >= 0, the regularisation weight (noise-to-signal
            ratio).
        mode: the blur's boundary mode, one of `WIENER_MODES` (`"reflect"`,
            `"mirror"`, `"wrap"` and their `grid-` aliases). Defaults to
            `"reflect"`.
        truncate: float > 0, the blur kernel's radius in sigmas. Defaults to
            `4.0`.
        regularizer: `"laplacian"` or `"identity"`. Defaults to
            `"laplacian"`.
        clip: bool, clip the result to [0, 1]. Defaults to `True`.

    Returns:
        float32 array of the shape of `blurred`.

    Example:

    >>> import scipy.ndimage as ndi
    >>> rng = np.random.default_rng(0)
    >>> clean = rng.uniform(size=(2, 16, 16, 3))
    >>> blurred = ndi.gaussian_filter(clean, sigma=(0, 1, 1, 0), mode="reflect")
    >>> restored = wiener_deconvolution(blurred, sigma=1.0, balance=1e-12)
    >>> bool(np.abs(restored - clean).max() < 1e-4)
    True
    """
    blurred = _check_blurred(blurred)
    balance = check_finite_non_negative("balance", balance)
    regularizer = _check_regularizer(regularizer)
    single = blurred.ndim == 3
    batch = blurred[None] if single else blurred
    wiener = _WienerFilter(
        batch.shape[1], batch.shape[2], sigma, mode, truncate, regularizer
    )
    out = np.empty(batch.shape, dtype="float32")
    for start in range(0, len(batch), _CHUNK):
        spectrum = wiener.spectrum(batch[start : start + _CHUNK])
        out[start : start + _CHUNK] = wiener.restore(spectrum, balance, clip)
    return out[0] if single else out


def tune_wiener(
    blurred,
    clean,
    sigma,
    balances=None,
    mode="reflect",
    truncate=4.0,
    regularizer="laplacian",
):
    """Choose Wiener's `balance` by mean per-image PSNR on a validation pair.

    Each image is transformed once; every candidate `balance` then costs one
    inverse FFT. PSNR is `10 log10(1 / MSE)` per image (data range 1, the
    result clipped to [0, 1]), averaged over images.

    Args:
        blurred: float array `(batch, height, width, channels)` in [0, 1],
            the corrupted validation images (never the test split).
        clean: float array of the same shape, the originals.
        sigma: float or pair, the blur's standard deviation.
        balances: iterable of floats >= 0 to try. Defaults to
            `DEFAULT_BALANCES` (19 values from 1e-10 to 1e-1, log-spaced).
        mode: the blur's boundary mode. Defaults to `"reflect"`.
        truncate: float > 0. Defaults to `4.0`.
        regularizer: `"laplacian"` or `"identity"`. Defaults to
            `"laplacian"`.

    Returns:
        `(best_balance, scores)`: the balance with the highest mean PSNR (the
        smallest one on ties) and a dict `{balance: mean PSNR in dB}` in the
        order tried.

    Example:

    >>> import scipy.ndimage as ndi
    >>> clean = np.random.default_rng(0).uniform(size=(4, 16, 16, 1))
    >>> blurred = ndi.gaussian_filter(clean, sigma=(0, 1, 1, 0))
    >>> best, scores = tune_wiener(blurred, clean, 1.0, balances=[1e-1, 1e-9])
    >>> best, scores[1e-9] > scores[1e-1]
    (1e-09, True)
    """
    blurred, clean = _check_pair(blurred, clean)
    regularizer = _check_regularizer(regularizer)
    balances = _check_balances(balances)
    wiener = _WienerFilter(
        blurred.shape[1], blurred.shape[2], sigma, mode, truncate, regularizer
    )
    totals = np.zeros(len(balances))
    for start in range(0, len(blurred), _CHUNK):
        spectrum = wiener.spectrum(blurred[start : start + _CHUNK])
        reference = clean[start : start + _CHUNK].astype("float64")
        for i, balance in enumerate(balances):
            restored = wiener.restore(spectrum, balance, clip=True)
            totals[i] += _psnr_per_image(restored, reference).sum()
    return _best_balance(balances, totals / len(blurred))


class WienerDeconvolution:
    """Wiener deconvolution as a callable: tune once, then restore batches.

    Stores the blur's parameters and a `balance`; `fit` chooses the balance on
    a validation pair with `tune_wiener`, and calling the object runs
    `wiener_deconvolution`. Being a callable on float batches, it can be
    passed wherever the toolkit takes a `corruption` (e.g.
    `keras_seqimage.datasets.corrupt_in_batches`) to restore a whole split.

    Args:
        sigma: float or pair, the blur's standard deviation.
        balance: float >= 0, or `None` until `fit` chooses it.
            Defaults to `None`.
        mode: the blur's boundary mode. Defaults to `"reflect"`.
        truncate: float > 0. Defaults to `4.0`.
        regularizer: `"laplacian"` or `"identity"`. Defaults to
            `"laplacian"`.

    Attributes:
        scores: dict `{balance: mean validation PSNR}` after `fit`, else
            `None`.

    Example:

    >>> import scipy.ndimage as ndi
    >>> clean = np.random.default_rng(1).uniform(size=(4, 16, 16, 3))
    >>> blurred = ndi.gaussian_filter(clean, sigma=(0, 1.5, 1.5, 0))
    >>> wiener = WienerDeconvolution(sigma=1.5).fit(blurred, clean)
    >>> wiener(blurred).shape
    (4, 16, 16, 3)
    """

    def __init__(
        self,
        sigma,
        balance=None,
        mode="reflect",
        truncate=4.0,
        regularizer="laplacian",
    ):
        sigma_pair(sigma)
        self.sigma = sigma
        self.balance = (
            None if balance is None else check_finite_non_negative("balance", balance)
        )
        self.mode = check_choice("mode", mode, WIENER_MODES)
        self.truncate = check_positive("truncate", truncate)
        self.regularizer = _check_regularizer(regularizer)
        self.scores = None

    def fit(self, blurred, clean, balances=None):
        """Choose `balance` on a validation pair; returns `self`."""
        self.balance, self.scores = tune_wiener(
            blurred,
            clean,
            self.sigma,
            balances=balances,
            mode=self.mode,
            truncate=self.truncate,
            regularizer=self.regularizer,
        )
        return self

    def __call__(self, blurred):
        if self.balance is None:
            raise ValueError(
                "WienerDeconvolution needs a `balance`: pass one or call "
                "`fit(blurred, clean)` first. Received: balance=None"
            )
        return wiener_deconvolution(
            blurred,
            self.sigma,
            self.balance,
            mode=self.mode,
            truncate=self.truncate,
            regularizer=self.regularizer,
        )

    def __repr__(self):
        return (
            f"WienerDeconvolution(sigma={self.sigma!r}, balance={self.balance!r}, "
            f"mode={self.mode!r}, truncate={self.truncate!r}, "
            f"regularizer={self.regularizer!r})"
        )
