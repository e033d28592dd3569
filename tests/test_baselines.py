"""Wiener deconvolution against direct numpy/scipy computations."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.baselines import (
    DEFAULT_BALANCES,
    WienerDeconvolution,
    gaussian_transfer,
    regularized_inverse,
    separable_deconvolution,
    tune_separable_deconvolution,
    tune_wiener,
    wiener_deconvolution,
)
from keras_seqimage.datasets import corrupt_in_batches, photo_patches


def blur(images, sigma, mode="reflect", truncate=4.0):
    sigma = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    return ndi.gaussian_filter(
        images, sigma=(0, *sigma, 0), mode=mode, truncate=truncate
    )


def psnr(restored, clean):
    mse = np.mean((restored.astype("float64") - clean) ** 2, axis=(1, 2, 3))
    return -10 * np.log10(mse)


@given(
    size=st.integers(1, 20),
    sigma=st.floats(0.3, 3.0),
    mode=st.sampled_from(["reflect", "mirror", "wrap"]),
)
def test_transfer_is_scipys_blur_on_the_periodic_extension(size, sigma, mode):
    """Circular convolution with the transfer, cropped, equals scipy's 1-D blur."""
    signal = np.random.default_rng(size).uniform(size=size)
    if mode == "reflect":
        extended = np.concatenate([signal, signal[::-1]])
    elif mode == "mirror":
        extended = np.concatenate([signal, signal[-2:0:-1]]) if size > 1 else signal
    else:
        extended = signal
    transfer = gaussian_transfer(size, sigma, mode)
    assert transfer.shape == extended.shape
    circular = np.fft.ifft(np.fft.fft(extended) * transfer).real[:size]
    expected = ndi.gaussian_filter1d(signal, sigma, mode=mode)
    np.testing.assert_allclose(circular, expected, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "grid-mirror"])
@pytest.mark.parametrize("sigma", [0.7, (1.0, 0.5)])
def test_noiseless_blur_is_inverted(mode, sigma):
    clean = np.random.default_rng(0).uniform(size=(3, 12, 10, 2))
    blurred = blur(clean, sigma, mode=ndi_mode(mode))
    restored = wiener_deconvolution(blurred, sigma, balance=0.0, mode=mode)
    np.testing.assert_allclose(restored, clean, atol=1e-5)


def ndi_mode(mode):
    return {"grid-mirror": "reflect"}.get(mode, mode)


def hand_written_wiener(image, sigma, balance, laplacian, truncate=4.0):
    """Direct 2-D formula on the symmetric (np.pad) extension with full fft2."""
    h, w = image.shape
    extended = np.pad(image, ((0, h), (0, w)), mode="symmetric")
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    taps = np.exp(-(x**2) / (2 * sigma**2))
    taps /= taps.sum()
    kernel = np.zeros((2 * h, 2 * w))
    for i, a in zip(x, taps, strict=True):
        for j, b in zip(x, taps, strict=True):
            kernel[i % (2 * h), j % (2 * w)] += a * b
    stencil = np.zeros((2 * h, 2 * w))
    stencil[0, 0] = 4
    for i, j in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        stencil[i, j] = -1
    big_k = np.fft.fft2(kernel)
    penalty = np.abs(np.fft.fft2(stencil)) ** 2 if laplacian else 1.0
    spectrum = (
        np.conj(big_k)
        * np.fft.fft2(extended)
        / (np.abs(big_k) ** 2 + balance * penalty)
    )
    return np.fft.ifft2(spectrum).real[:h, :w]


@pytest.mark.parametrize("regularizer", ["laplacian", "identity"])
@pytest.mark.parametrize("balance", [1e-3, 1e-6])
def test_matches_hand_written_formula(regularizer, balance):
    clean = np.random.default_rng(1).uniform(size=(2, 9, 11, 3))
    blurred = blur(clean, 1.2) + np.random.default_rng(2).normal(0, 0.01, clean.shape)
    actual = wiener_deconvolution(
        blurred, 1.2, balance, regularizer=regularizer, clip=False
    )
    for n in range(2):
        for c in range(3):
            expected = hand_written_wiener(
                blurred[n, :, :, c], 1.2, balance, regularizer == "laplacian"
            )
            np.testing.assert_allclose(actual[n, :, :, c], expected, atol=2e-5)


def test_single_image_clip_and_sigma_zero():
    image = np.random.default_rng(3).uniform(size=(8, 8, 3))
    assert wiener_deconvolution(image, 1.0, 1e-3).shape == (8, 8, 3)
    np.testing.assert_allclose(wiener_deconvolution(image, 0.0, 0.0), image, atol=1e-6)
    noisy = blur(image[None], 1.0)[0] + 0.2
    restored = wiener_deconvolution(noisy, 1.0, 1e-4)
    assert restored.dtype == np.float32
    assert restored.min() >= 0 and restored.max() <= 1
    assert wiener_deconvolution(noisy, 1.0, 1e-4, clip=False).max() > 1


def test_beats_the_blurred_input_on_8bit_photos():
    clean = photo_patches(photos=("astronaut", "coffee"))[0][:24].astype("float64")
    blurred = np.round(blur(clean, 1.0) * 255) / 255  # saved as 8 bits
    best, scores = tune_wiener(blurred, clean, 1.0)
    gain = psnr(wiener_deconvolution(blurred, 1.0, best), clean) - psnr(blurred, clean)
    assert gain.mean() > 3.0, gain
    assert 1e-7 < best < 1e-1  # quantisation noise needs real regularisation


def test_tune_picks_the_best_of_its_grid():
    clean = np.random.default_rng(4).uniform(size=(5, 8, 8, 1))
    blurred = blur(clean, 1.0) + np.random.default_rng(5).normal(0, 0.02, clean.shape)
    grid = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
    best, scores = tune_wiener(blurred, clean, 1.0, balances=grid)
    assert list(scores) == grid
    for balance in grid:
        direct = psnr(wiener_deconvolution(blurred, 1.0, balance), clean).mean()
        assert scores[balance] == pytest.approx(direct, abs=1e-4)
    assert best == max(grid, key=scores.get)
    assert best not in (grid[0], grid[-1])  # an interior optimum: the grid matters
    _, default_scores = tune_wiener(blurred[:1], clean[:1], 1.0)
    assert list(default_scores) == list(DEFAULT_BALANCES)


def test_wiener_object_fits_and_restores_in_batches():
    clean = np.random.default_rng(6).uniform(size=(6, 8, 8, 3)).astype("float32")
    blurred = blur(clean, 1.5)
    wiener = WienerDeconvolution(sigma=1.5)
    with pytest.raises(ValueError, match=r"needs a `balance`.*Received: balance=None"):
        wiener(blurred)
    wiener.fit(blurred, clean, balances=[1e-2, 1e-8])
    assert wiener.balance == 1e-8 and set(wiener.scores) == {1e-2, 1e-8}
    restored = corrupt_in_batches(blurred, wiener, batch_size=4)
    np.testing.assert_allclose(restored, wiener_deconvolution(blurred, 1.5, 1e-8))
    assert "balance=1e-08" in repr(wiener)


def test_argument_errors():
    images = np.zeros((2, 8, 8, 1), "float32")
    with pytest.raises(ValueError, match=r"scale integer images first.*uint8"):
        wiener_deconvolution(images.astype("uint8"), 1.0, 1e-3)
    with pytest.raises(ValueError, match=r"Received: blurred.shape=\(8, 8\)"):
        wiener_deconvolution(images[0, :, :, 0], 1.0, 1e-3)
    with pytest.raises(ValueError, match=r"`mode` must be one of .*'nearest'"):
        wiener_deconvolution(images, 1.0, 1e-3, mode="nearest")
    with pytest.raises(ValueError, match=r"`balance` must be a finite number >= 0"):
        wiener_deconvolution(images, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"`sigma` must be a finite number >= 0"):
        wiener_deconvolution(images, -1.0, 1e-3)
    with pytest.raises(ValueError, match=r"`regularizer` must be one of"):
        wiener_deconvolution(images, 1.0, 1e-3, regularizer="tv")
    with pytest.raises(ValueError, match=r"same shape.*clean.shape=\(1, 8, 8, 1\)"):
        tune_wiener(images, images[:1], 1.0)
    with pytest.raises(ValueError, match=r"`balances` must not be empty"):
        tune_wiener(images, images, 1.0, balances=[])
    with pytest.raises(ValueError, match=r"`balances` must be an iterable"):
        tune_wiener(images, images, 1.0, balances=0.1)


# --- the separable regularised inverse ------------------------------------------


def scipy_blur_matrix(size, sigma, mode="reflect", truncate=4.0):
    """Column j: scipy's 1-D blur of the j-th unit vector."""
    return ndi.gaussian_filter1d(
        np.eye(size), sigma, axis=0, mode=mode, truncate=truncate
    )


def symmetric_second_difference(size):
    """`-1 2 -1` on the symmetric (scipy 'reflect') extension, by np.pad."""
    padded = np.pad(np.eye(size), ((1, 1), (0, 0)), mode="symmetric")
    return 2 * padded[1:-1] - padded[:-2] - padded[2:]


@pytest.mark.parametrize("regularizer", ["laplacian", "identity"])
@pytest.mark.parametrize("size, sigma, balance", [(9, 1.0, 1e-3), (16, 2.0, 0.1)])
def test_regularized_inverse_is_the_tikhonov_formula(regularizer, size, sigma, balance):
    h = scipy_blur_matrix(size, sigma)
    lap = symmetric_second_difference(size)
    penalty = lap.T @ lap if regularizer == "laplacian" else np.eye(size)
    expected = np.linalg.inv(h.T @ h + balance * penalty) @ h.T
    actual = regularized_inverse(size, sigma, balance, regularizer=regularizer)
    np.testing.assert_allclose(actual, expected, atol=1e-10)


@settings(max_examples=40)
@given(
    size=st.integers(1, 40),
    sigma=st.one_of(st.just(0.0), st.floats(0.3, 1.5)),
    mode=st.sampled_from(["reflect", "mirror", "nearest", "constant"]),
)
def test_balance_zero_inverts_scipys_blur(size, sigma, mode):
    signal = np.random.default_rng(size).uniform(size=size)
    blurred = ndi.gaussian_filter1d(signal, sigma, mode=mode) if sigma else signal
    restored = regularized_inverse(size, sigma, 0.0, mode=mode) @ blurred
    # float64 rounding, amplified by the condition number of H^T H.
    condition = np.linalg.cond(scipy_blur_matrix(size, sigma, mode)) if sigma else 1
    np.testing.assert_allclose(restored, signal, atol=1e-14 * condition**2)


@pytest.mark.parametrize("sigma", [1.0, (1.5, 0.7)])
def test_separable_deconvolution_applies_both_axes(sigma):
    clean = np.random.default_rng(7).uniform(size=(3, 12, 10, 2))
    blurred = blur(clean, sigma)
    sigma_h, sigma_w = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    d_h = regularized_inverse(12, sigma_h, 1e-2)
    d_w = regularized_inverse(10, sigma_w, 1e-2)
    expected = np.einsum("ij,bjwc,kw->bikc", d_h, blurred, d_w)
    actual = separable_deconvolution(blurred, sigma, 1e-2, clip=False)
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    exact = separable_deconvolution(blurred, sigma, 0.0)
    np.testing.assert_allclose(exact, clean, atol=1e-5)
    assert separable_deconvolution(blurred[0], sigma, 0.0).shape == (12, 10, 2)


def test_tune_separable_deconvolution_scores_its_grid():
    clean = photo_patches(photos=("astronaut",))[0][:16].astype("float64")
    blurred = np.round(blur(clean, 1.0) * 255) / 255
    grid = [1e-6, 1e-4, 1e-3, 1e-2, 1e-1]
    best, scores = tune_separable_deconvolution(blurred, clean, 1.0, balances=grid)
    assert list(scores) == grid and best == max(grid, key=scores.get)
    for balance in grid:
        direct = psnr(separable_deconvolution(blurred, 1.0, balance), clean).mean()
        assert scores[balance] == pytest.approx(direct, abs=1e-4)
    assert best not in (grid[0], grid[-1])  # 8-bit noise needs regularisation
    assert scores[best] > psnr(blurred, clean).mean() + 3.0


def test_regularized_inverse_errors():
    with pytest.raises(ValueError, match=r"`size` must be a positive integer.*=0"):
        regularized_inverse(0, 1.0, 1e-3)
    with pytest.raises(ValueError, match=r"`balance` must be a finite number >= 0"):
        regularized_inverse(8, 1.0, -1.0)
    with pytest.raises(ValueError, match=r"`mode` must be one of .*Received: mode='x'"):
        regularized_inverse(8, 1.0, 1e-3, mode="x")
    with pytest.raises(ValueError, match=r"`regularizer` must be one of.*'tv'"):
        regularized_inverse(8, 1.0, 1e-3, regularizer="tv")
    images = np.zeros((2, 8, 8, 1))
    with pytest.raises(ValueError, match=r"same shape.*clean.shape=\(1, 8, 8, 1\)"):
        tune_separable_deconvolution(images, images[:1], 1.0)
    with pytest.raises(ValueError, match=r"`balances` must not be empty"):
        tune_separable_deconvolution(images, images, 1.0, balances=[])


@settings(deadline=None, max_examples=20)
@given(
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    sigma_h=st.floats(0.3, 3.0),
    sigma_w=st.floats(0.3, 3.0),
    seed=st.integers(0, 2**16),
)
def test_dct_wiener_equals_the_reflect_wiener(height, width, sigma_h, sigma_w, seed):
    from keras_seqimage.baselines.wiener import _reflect_estimates

    image = np.random.default_rng(seed).uniform(size=(height, width, 1))
    balances = [1e-4, 1e-2, 1.0]
    estimates = list(_reflect_estimates(image[..., 0], (sigma_h, sigma_w), balances))
    for balance, estimate in zip(balances, estimates, strict=True):
        expected = wiener_deconvolution(image, (sigma_h, sigma_w), balance)
        np.testing.assert_allclose(estimate, np.clip(expected[..., 0], 0, 1), atol=1e-5)
