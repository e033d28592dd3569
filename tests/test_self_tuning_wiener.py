"""The self-tuning Wiener: the noise estimate, the balance rule, the restorer."""

import numpy as np
import pytest
import scipy.ndimage as ndi

from keras_seqimage.baselines import (
    estimate_noise,
    self_tuning_wiener,
    signal_power,
    tune_wiener,
    wiener_balance,
    wiener_deconvolution,
)


def _smooth(shape=(96, 96, 3), seed=0):
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.uniform(size=shape), (3, 3, 0)) * 4 - 1.5


@pytest.mark.parametrize("noise", [0.005, 0.01, 0.02, 0.05])
def test_noise_estimate_of_pure_noise(noise):
    rng = np.random.default_rng(1)
    images = 0.5 + noise * rng.standard_normal((2, 128, 128, 3))
    np.testing.assert_allclose(estimate_noise(images), noise, rtol=0.05)


@pytest.mark.parametrize("noise", [0.01, 0.02])
def test_noise_estimate_ignores_blurred_detail(noise):
    blurred = ndi.gaussian_filter(_smooth(), (1.5, 1.5, 0))
    noisy = blurred + noise * np.random.default_rng(2).standard_normal(blurred.shape)
    assert abs(estimate_noise(noisy) - noise) < 0.1 * noise


def test_noise_estimate_counts_8_bit_rounding():
    blurred = np.clip(ndi.gaussian_filter(_smooth(), (1.5, 1.5, 0)), 0, 1)
    rounded = np.round(blurred * 255) / 255
    assert 0.0005 < estimate_noise(rounded) < 0.0020  # uniform: 1 / 255 / sqrt(12)


def test_signal_power_and_balance_rule_move_the_right_way():
    image = _smooth()
    assert signal_power(image, 0.0) > signal_power(
        ndi.gaussian_filter(image, (2, 2, 0)), 0.0
    )
    assert wiener_balance(0.02, 1.5, 1e-3) > wiener_balance(0.01, 1.5, 1e-3)
    assert wiener_balance(0.01, 1.5, 1e-4) > wiener_balance(0.01, 1.5, 1e-3)


def test_it_is_wiener_deconvolution_with_the_rule_s_balance():
    blurred = ndi.gaussian_filter(_smooth(), (1.5, 1.5, 0))
    noisy = blurred + 0.01 * np.random.default_rng(3).standard_normal(blurred.shape)
    restored, params = self_tuning_wiener(
        noisy, 1.5, return_params=True, balance="rule"
    )
    balance = wiener_balance(
        params["noise"][0], 1.5, signal_power(noisy, params["noise"][0])
    )
    assert params["balance"][0] == pytest.approx(balance)
    np.testing.assert_array_equal(restored, wiener_deconvolution(noisy, 1.5, balance))
    given = self_tuning_wiener(noisy[None], 1.5, noise=0.01)
    assert given.shape == (1, *noisy.shape)


def test_it_comes_near_the_oracle_balance_on_a_training_photo():
    pytest.importorskip("skimage")
    from keras_seqimage.datasets import load_photo

    clean = load_photo("coins")[100:228, 100:228].astype("float64")
    blurred = ndi.gaussian_filter(clean, (2, 2, 0))
    noisy = blurred + 0.01 * np.random.default_rng(5).standard_normal(blurred.shape)
    _, scores = tune_wiener(noisy[None], clean[None], 2.0)
    restored = self_tuning_wiener(noisy, 2.0)
    psnr = -10 * np.log10(np.mean((restored - clean) ** 2))
    blurred_psnr = -10 * np.log10(np.mean((noisy - clean) ** 2))
    assert psnr > blurred_psnr
    assert psnr > max(scores.values()) - 0.5


def test_bad_input_raises_naming_the_argument():
    with pytest.raises(ValueError, match=r"`images` must be at least 4x4"):
        estimate_noise(np.zeros((3, 8, 1)))
    with pytest.raises(ValueError, match=r"images.dtype=uint8"):
        estimate_noise(np.zeros((8, 8, 1), "uint8"))
    with pytest.raises(ValueError, match=r"`noise` must be a finite number >= 0"):
        self_tuning_wiener(np.zeros((8, 8, 1)), 1.0, noise=-0.1)
    with pytest.raises(ValueError, match=r"`sigma`.*Received: sigma=-1"):
        self_tuning_wiener(np.zeros((8, 8, 1)), -1.0)
