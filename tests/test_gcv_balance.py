"""Generalized cross-validation of the Wiener balance, against brute force."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.baselines import (
    GCV_BALANCES,
    gcv_balance,
    gcv_curve,
    gcv_terms,
    safeguarded_balance,
    self_tuning_wiener,
    signal_power,
    wiener_balance,
    wiener_deconvolution,
)
from keras_seqimage.baselines.gcv import GCV_FLAT_RISE, GCV_RULE_FLOOR


def _operator(size, mode, apply):
    """The matrix of a 1-D scipy filter with boundary `mode` (columns = impulses)."""
    return apply(np.eye(size), axis=0, mode=mode)


def _brute_force_gcv(image, sigma_h, sigma_w, balance, mode):
    """`n ||(I - H) y||^2 / tr(I - H)^2` with the influence matrix built densely."""
    height, width, channels = image.shape

    def blur(sigma):
        return lambda x, axis, mode: ndi.gaussian_filter1d(
            x, sigma, axis=axis, mode=mode, truncate=4.0
        )

    def second(x, axis, mode):
        return ndi.correlate1d(x, [1.0, -2.0, 1.0], axis=axis, mode=mode)

    a = np.kron(
        _operator(height, mode, blur(sigma_h)), _operator(width, mode, blur(sigma_w))
    )
    lap = np.kron(_operator(height, mode, second), np.eye(width)) + np.kron(
        np.eye(height), _operator(width, mode, second)
    )
    hat = a @ np.linalg.solve(a.T @ a + balance * lap.T @ lap, a.T)
    rest = np.eye(height * width) - hat
    y = image.reshape(height * width, channels)
    n = y.size
    return n * np.sum((rest @ y) ** 2) / (channels * np.trace(rest)) ** 2


@pytest.mark.parametrize("mode", ["reflect", "wrap"])
@pytest.mark.parametrize("sigma", [(1.0, 1.0), (0.7, 1.6)])
def test_gcv_matches_the_dense_influence_matrix(mode, sigma):
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(9, 7, 2))
    balances = [1e-6, 1e-4, 1e-2, 1.0]
    curve = gcv_curve(*gcv_terms(image, sigma, balances, mode=mode))
    expected = [_brute_force_gcv(image, *sigma, b, mode) for b in balances]
    np.testing.assert_allclose(curve, expected, rtol=1e-7)


def test_gcv_balance_is_the_argmin_of_the_dense_curve():
    rng = np.random.default_rng(1)
    clean = ndi.gaussian_filter(rng.uniform(size=(10, 10, 1)), (1, 1, 0))
    noisy = ndi.gaussian_filter(clean, (1.2, 1.2, 0)) + 0.02 * rng.standard_normal(
        (10, 10, 1)
    )
    balances = np.logspace(-6, 0, 13)
    dense = [_brute_force_gcv(noisy, 1.2, 1.2, b, "reflect") for b in balances]
    assert gcv_balance(noisy, 1.2, balances) == pytest.approx(
        balances[int(np.argmin(dense))]
    )


@settings(deadline=None, max_examples=25)
@given(
    height=st.integers(2, 12),
    width=st.integers(2, 12),
    channels=st.integers(1, 3),
    sigma=st.floats(0.3, 3.0),
    scale=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**16),
)
def test_gcv_sums_grow_with_the_balance_and_scale_out(
    height, width, channels, sigma, scale, seed
):
    image = np.random.default_rng(seed).uniform(size=(height, width, channels))
    balances = np.logspace(-6, 1, 15)
    residual, trace, count = gcv_terms(image, sigma, balances)
    assert count == image.size
    assert np.all(np.diff(residual) >= -1e-12 * residual.max())
    assert np.all(np.diff(trace) >= -1e-9)
    assert np.all(trace <= channels * height * width + 1e-9)
    scaled = gcv_curve(*gcv_terms(image * scale, sigma, balances))
    np.testing.assert_allclose(scaled, scale**2 * gcv_curve(residual, trace, count))


@settings(deadline=None, max_examples=15)
@given(height=st.integers(2, 10), width=st.integers(2, 10), seed=st.integers(0, 99))
def test_gcv_is_the_same_for_the_transposed_image(height, width, seed):
    image = np.random.default_rng(seed).uniform(size=(height, width, 1))
    balances = np.logspace(-5, 0, 6)
    direct = gcv_curve(*gcv_terms(image, (0.8, 1.7), balances))
    turned = gcv_curve(*gcv_terms(image.transpose(1, 0, 2), (1.7, 0.8), balances))
    np.testing.assert_allclose(direct, turned, rtol=1e-10)


@settings(deadline=None, max_examples=15)
@given(
    height=st.integers(2, 40),
    width=st.integers(2, 40),
    sigma=st.floats(0.5, 3.0),
    noise=st.floats(0.0, 0.03),
    mode=st.sampled_from(["reflect", "wrap", "mirror"]),
    seed=st.integers(0, 2**16),
)
def test_binned_gcv_is_close_to_the_exact_curve(
    height, width, sigma, noise, mode, seed
):
    rng = np.random.default_rng(seed)
    clean = ndi.gaussian_filter(rng.uniform(size=(height, width, 2)), (1, 1, 0))
    blurred = ndi.gaussian_filter(clean, (sigma, sigma, 0), mode="reflect")
    blurred += noise * rng.standard_normal(blurred.shape)
    exact = gcv_terms(blurred, sigma, mode=mode)
    binned = gcv_terms(blurred, sigma, mode=mode, resolution=64)
    assert binned[2] == exact[2]
    # Within a bin the ratio is off by at most 10 ** (1 / 64) - 1 (3.7 %).
    np.testing.assert_allclose(binned[1], exact[1], rtol=0.02, atol=1e-9)
    np.testing.assert_allclose(binned[0], exact[0], rtol=0.04, atol=1e-12)


def test_binned_gcv_picks_the_exact_balance_on_a_photo():
    from keras_seqimage.datasets import load_photo

    clean = load_photo("coins")[:150, :180]
    rng = np.random.default_rng(0)
    blurred = ndi.gaussian_filter(clean, (1.5, 1.5, 0)) + 0.01 * rng.standard_normal(
        clean.shape
    )
    exact = gcv_curve(*gcv_terms(blurred, 1.5))
    binned = gcv_curve(*gcv_terms(blurred, 1.5, resolution=64))
    assert int(np.argmin(binned)) == int(np.argmin(exact))
    np.testing.assert_allclose(binned, exact, rtol=1e-2)


def test_safeguard_keeps_a_decided_minimum_and_falls_back_on_a_flat_curve():
    balances = np.logspace(-6, 0, 49)
    logs = np.log10(balances)
    sharp = (logs + 3.0) ** 2 + 1.0
    assert safeguarded_balance(sharp, balances, 1e-3) == pytest.approx(1e-3)
    # The floor: never below the rule's balance times GCV_RULE_FLOOR.
    floor = safeguarded_balance(sharp, balances, 1.0)
    assert floor == pytest.approx(GCV_RULE_FLOOR)
    # Flat below the minimum (less than GCV_FLAT_RISE two decades down).
    flat = 1.0 + 0.5 * GCV_FLAT_RISE * (logs + 6.0) / 6.0 * (logs > -3.0)
    flat[logs <= -3.0] = 1.0 - 1e-9 * (logs[logs <= -3.0] + 3.0)
    assert safeguarded_balance(flat, balances, 0.05) == 0.05
    # A curve whose minimum is the smallest candidate is undecided too.
    assert safeguarded_balance(logs + 10.0, balances, 0.05) == 0.05


def test_self_tuning_wiener_gcv_is_wiener_with_the_safeguarded_balance():
    rng = np.random.default_rng(3)
    clean = ndi.gaussian_filter(rng.uniform(size=(48, 40, 3)), (2, 2, 0))
    noisy = ndi.gaussian_filter(clean, (1.5, 1.5, 0)) + 0.01 * rng.standard_normal(
        clean.shape
    )
    restored, params = self_tuning_wiener(noisy, 1.5, noise=0.01, return_params=True)
    rule = wiener_balance(0.01, 1.5, signal_power(noisy, 0.01))
    expected = safeguarded_balance(
        gcv_curve(*gcv_terms(noisy, 1.5)), GCV_BALANCES, rule
    )
    assert params["balance"][0] == pytest.approx(expected)
    np.testing.assert_array_equal(restored, wiener_deconvolution(noisy, 1.5, expected))
    _, ruled = self_tuning_wiener(
        noisy, 1.5, noise=0.01, return_params=True, balance="rule"
    )
    assert ruled["balance"][0] == pytest.approx(rule)


def test_restore_wiener_uses_the_same_balance_on_a_small_image():
    import keras_seqimage

    rng = np.random.default_rng(4)
    clean = ndi.gaussian_filter(rng.uniform(size=(64, 80, 3)), (2, 2, 0))
    blurred = np.clip(ndi.gaussian_filter(clean, (1.5, 1.5, 0)), 0, 1)
    image = blurred.astype("float32")
    restored = keras_seqimage.restore(
        image, method="wiener", sigma=1.5, noise=0.005, progress=False
    )
    expected = self_tuning_wiener(image, 1.5, noise=0.005)
    np.testing.assert_allclose(restored, expected, atol=1e-5)


def test_bad_arguments_raise_naming_them():
    image = np.zeros((8, 8, 1))
    with pytest.raises(ValueError, match=r"`balance` must be one of .*'oracle'"):
        self_tuning_wiener(image, 1.0, balance="oracle")
    with pytest.raises(ValueError, match=r"`balances` must hold .*balances=\[0.1\]"):
        gcv_balance(image, 1.0, balances=[0.1])
    with pytest.raises(ValueError, match=r"`balances` must hold .*-1"):
        gcv_balance(image, 1.0, balances=[-1, 1])
    with pytest.raises(ValueError, match=r"`blurred` must be one image"):
        gcv_terms(np.zeros((2, 8, 8, 1)), 1.0)
    with pytest.raises(ValueError, match=r"`curve` must have one value per balance"):
        safeguarded_balance([1.0, 2.0], [1e-3, 1e-2, 1e-1], 0.01)
    with pytest.raises(ValueError, match=r"`mode`"):
        gcv_terms(image, 1.0, mode="nearest")
    with pytest.raises(ValueError, match=r"`resolution` must be .*resolution=0"):
        gcv_terms(image, 1.0, resolution=0)
