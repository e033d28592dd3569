"""The photo restorer: PixelSweep, DeblurNetwork, the front end, PhotoRestorer."""

import os

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage.baselines import self_tuning_wiener, wiener_deconvolution
from keras_seqimage.datasets import load_photo
from keras_seqimage.degradation import degrade
from keras_seqimage.layers import PixelSweep
from keras_seqimage.metrics import psnr
from keras_seqimage.models import DeblurNetwork
from keras_seqimage.models.deblur_network import INPUT_CHANNELS
from keras_seqimage.restoration import (
    PRESETS,
    PhotoRestorer,
    channel_noises,
    degradation_pool,
    estimate_blur,
    from_decorrelated,
    network_inputs,
    patch_batches,
    photo_balances,
    preset_record,
    to_decorrelated,
    working_channels,
)
from keras_seqimage.restoration.colour import NOISE_FACTORS
from keras_seqimage.restoration.photo_restorer import PRESET_DIR
from keras_seqimage.restoration.statistics import sample_windows


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _psnr(a, b):
    return float(_numpy(psnr(a[None].astype("float32"), b[None].astype("float32")))[0])


def _random_network(seed=0, **config):
    """A DeblurNetwork whose correction is not zero (random last layer)."""
    keras.utils.set_random_seed(seed)
    network = DeblurNetwork(**{"filters": 4, "sweep_units": 2, **config})
    network.build((None, None, None, len(INPUT_CHANNELS)))
    kernel = network.correction.kernel
    kernel.assign(0.01 * np.random.default_rng(seed).standard_normal(kernel.shape))
    return network


# --- PixelSweep ----------------------------------------------------------------


@settings(max_examples=4, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from(["rows", "columns"]))
def test_pixel_sweep_takes_any_size(height, width, order):
    sweep = PixelSweep(units=3, order=order)
    out = sweep(np.random.rand(2, height, width, 2).astype("float32"))
    assert tuple(out.shape) == (2, height, width, 6)


def test_columns_sweep_is_the_rows_sweep_of_the_transpose():
    images = np.random.default_rng(0).uniform(size=(2, 5, 7, 3)).astype("float32")
    rows, columns = PixelSweep(4, "rows"), PixelSweep(4, "columns")
    rows.build(images.shape)
    columns.build(images.shape)
    columns.set_weights(rows.get_weights())
    expected = np.transpose(
        _numpy(rows(np.transpose(images, (0, 2, 1, 3)))), (0, 2, 1, 3)
    )
    np.testing.assert_allclose(_numpy(columns(images)), expected, rtol=1e-5, atol=1e-6)


def test_rows_sweep_reads_each_row_as_its_own_sequence():
    images = np.random.default_rng(1).uniform(size=(1, 4, 6, 2)).astype("float32")
    sweep = PixelSweep(3, "rows")
    whole = _numpy(sweep(images))
    for row in range(4):
        alone = _numpy(sweep(images[:, row : row + 1]))
        np.testing.assert_allclose(whole[:, row : row + 1], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units"),
        ({"order": "diagonal"}, "order"),
        ({"cell": "rnn"}, "cell"),
    ],
)
def test_pixel_sweep_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PixelSweep(**kwargs)


# --- DeblurNetwork -------------------------------------------------------------


@settings(max_examples=4, deadline=None)
@given(st.integers(1, 11), st.integers(1, 11))
def test_deblur_network_takes_any_size_including_odd_and_1x1(height, width):
    network = _random_network()
    inputs = np.random.rand(1, height, width, len(INPUT_CHANNELS)).astype("float32")
    out = _numpy(network(inputs))
    assert out.shape == (1, height, width, 1)
    assert np.isfinite(out).all()


def test_deblur_network_saves_and_loads(tmp_path):
    network = _random_network(3, filters=5, sweep_units=3)
    inputs = np.random.default_rng(2).uniform(size=(2, 9, 13, 6)).astype("float32")
    path = str(tmp_path / "network.keras")
    network.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["filters"] == 5
    assert loaded.get_config()["sweep_units"] == 3
    np.testing.assert_allclose(
        _numpy(loaded(inputs)), _numpy(network(inputs)), atol=1e-6
    )


def test_mixed_precision_network_computes_in_bfloat16_and_round_trips(tmp_path):
    network = DeblurNetwork(filters=4, sweep_units=2, dtype="mixed_bfloat16")
    network.build((None, None, None, len(INPUT_CHANNELS)))
    assert network.full_1.compute_dtype == "bfloat16"
    assert network.rows.recurrent.compute_dtype == "bfloat16"
    assert network.full_1.kernel.dtype == "float32"  # weights stay float32
    inputs = np.random.default_rng(3).uniform(size=(1, 6, 10, 6)).astype("float32")
    out = network(inputs)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    # The untrained correction is zero: the float32 estimate comes back exactly.
    np.testing.assert_array_equal(_numpy(out)[..., 0], inputs[..., 0])
    path = str(tmp_path / "mixed.keras")
    network.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.full_1.compute_dtype == "bfloat16"
    np.testing.assert_array_equal(_numpy(loaded(inputs)), _numpy(out))


def test_small_cnn_variant_has_no_sweeps():
    assert not any(
        isinstance(layer, PixelSweep) for layer in _random_network(sweep_units=0).layers
    )


def test_deblur_network_refuses_wrong_channel_count():
    with pytest.raises(ValueError, match="inputs.shape"):
        DeblurNetwork(filters=4)(np.zeros((1, 8, 8, 3), "float32"))


# --- front end and training data -----------------------------------------------


@pytest.fixture(scope="module")
def degraded_coins():
    clean = load_photo("coins")[:160, :200]
    degraded, _ = degrade(clean, sigma=1.5, noise=0.01, quantize=True, seed=0)
    return clean, np.asarray(degraded)


@pytest.mark.parametrize("balance", ["gcv", "rule"])
def test_first_estimate_is_the_self_tuning_wiener(degraded_coins, balance):
    _, degraded = degraded_coins
    balances = photo_balances(degraded, 1.5, 0.01, balance=balance)
    inputs = network_inputs(degraded, 1.5, 0.01, balances)
    expected = self_tuning_wiener(degraded, 1.5, noise=0.01, balance=balance)
    np.testing.assert_allclose(inputs[0, ..., 0], expected[..., 0], atol=1e-6)
    assert inputs.shape == (1, 160, 200, len(INPUT_CHANNELS))
    np.testing.assert_allclose(inputs[0, ..., 3], degraded[..., 0])


def test_blind_share_tells_the_front_end_the_blind_estimate(degraded_coins):
    from keras_seqimage.baselines import estimate_noise
    from keras_seqimage.restoration.front_end import SIGMA_SCALE

    clean, _ = degraded_coins
    pool = degradation_pool([clean[:96, :120]], per_photo=2, seed=3, blind_share=1.0)
    for inputs, _ in pool:
        degraded = inputs[..., 3:4]
        told = np.mean(estimate_blur(degraded, noise=estimate_noise(degraded)))
        np.testing.assert_allclose(inputs[0, 0, -1], SIGMA_SCALE * told, rtol=1e-5)
    given = degradation_pool([clean[:96, :120]], per_photo=2, seed=3)
    assert [x[0, 0, -1] for x, _ in given] != [x[0, 0, -1] for x, _ in pool]


# --- colour --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_decorrelated_channels_round_trip_and_stay_in_range(seed):
    rgb = np.random.default_rng(seed).uniform(size=(5, 7, 3))
    rgb[0, 0] = (0, 0, 0)
    rgb[0, 1] = (1, 1, 1)
    rgb[0, 2] = (1, 0, 1)
    rgb[0, 3] = (0, 1, 0)
    channels = to_decorrelated(rgb)
    assert channels.dtype == np.float32 and channels.shape == rgb.shape
    assert channels.min() >= -1e-6 and channels.max() <= 1 + 1e-6
    np.testing.assert_allclose(from_decorrelated(channels), rgb, atol=1e-6)


def test_decorrelated_noise_is_white_with_the_stated_levels():
    noise = 0.02 * np.random.default_rng(0).standard_normal((400_000, 3))
    transformed = to_decorrelated(0.5 + noise) - to_decorrelated(np.full(3, 0.5))
    np.testing.assert_allclose(transformed.std(axis=0), 0.02 * NOISE_FACTORS, rtol=0.01)
    correlation = np.corrcoef(transformed.T)
    assert np.abs(correlation - np.eye(3)).max() < 0.01
    np.testing.assert_allclose(channel_noises(0.02, 3), 0.02 * NOISE_FACTORS)
    np.testing.assert_allclose(channel_noises(0.02, 3, "rgb"), [0.02] * 3)
    np.testing.assert_allclose(channel_noises(0.02, 1), [0.02])


def test_working_channels_leave_grey_and_rgba_as_they_are():
    image = np.random.default_rng(1).uniform(size=(4, 5, 4)).astype("float32")
    np.testing.assert_array_equal(working_channels(image), image)
    np.testing.assert_array_equal(working_channels(image[..., :1]), image[..., :1])
    np.testing.assert_array_equal(
        working_channels(image[..., :3], "rgb"), image[..., :3]
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: working_channels(np.zeros((2, 2, 3)), "yuv"), "colour"),
        (lambda: to_decorrelated(np.zeros((2, 2, 4))), "rgb.shape"),
        (lambda: from_decorrelated(np.zeros((2, 2, 1))), "channels.shape"),
        (
            lambda: photo_balances(np.zeros((8, 8, 1)), 1.0, 0.01, balance="x"),
            "balance",
        ),
        (lambda: PhotoRestorer(_random_network(), colour="lab"), "colour"),
        (lambda: PhotoRestorer(_random_network(), balance="best"), "balance"),
    ],
)
def test_front_end_refuses_unknown_choices(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("balance", ["rule", "gcv"])
def test_rgb_channels_share_the_self_tuning_wieners_balance(balance):
    clean = load_photo("stereo_motorcycle")[:120, :150]
    degraded = np.asarray(degrade(clean, sigma=1.5, noise=0.01, seed=2)[0])
    balances = photo_balances(degraded, 1.5, 0.01, "rgb", balance)
    _, params = self_tuning_wiener(
        degraded, 1.5, noise=0.01, balance=balance, return_params=True
    )
    np.testing.assert_allclose(balances, [params["balance"][0]] * 3, rtol=1e-9)


def test_colour_channels_get_larger_balances_than_brightness():
    clean = load_photo("stereo_motorcycle")[:160, :200]
    degraded, _ = degrade(clean, sigma=1.5, noise=0.01, quantize=True, seed=0)
    balances = photo_balances(np.asarray(degraded), 1.5, 0.01)
    # The colour differences carry little detail: smoothed harder.
    assert balances[1] > balances[0] and balances[2] > balances[0]


def test_statistics_windows_bound_memory_on_large_photos():
    assert sample_windows(2048, 2048) == [np.s_[:, :]]
    windows = sample_windows(4000, 6000)
    assert len(windows) == 9
    assert all(
        w[0].stop - w[0].start == 1024 and w[1].stop - w[1].start == 1024
        for w in windows
    )
    assert windows[-1][0].stop == 4000 and windows[-1][1].stop == 6000


def test_training_pool_and_batches(degraded_coins):
    clean, _ = degraded_coins
    pool = degradation_pool([clean[:64, :80]], per_photo=2, seed=5)
    assert len(pool) == 2
    x, y = next(patch_batches(pool, batch_size=3, patch_size=32, seed=1))
    assert x.shape == (3, 32, 32, len(INPUT_CHANNELS)) and y.shape == (3, 32, 32, 1)
    again, _ = next(patch_batches(pool, batch_size=3, patch_size=32, seed=1))
    np.testing.assert_array_equal(x, again)
    with pytest.raises(ValueError, match="patch_size"):
        next(patch_batches(pool, patch_size=65))


# --- PhotoRestorer -------------------------------------------------------------


def test_untrained_restorer_returns_the_wiener_estimate(degraded_coins):
    _, degraded = degraded_coins
    network = DeblurNetwork(filters=4, sweep_units=2)
    network.build((None, None, None, len(INPUT_CHANNELS)))
    restored = PhotoRestorer(network).restore(degraded, sigma=1.5, noise=0.01)
    expected = self_tuning_wiener(degraded, 1.5, noise=0.01)
    np.testing.assert_allclose(restored, expected, atol=1e-5)


@pytest.mark.parametrize("colour", ["decorrelated", "rgb"])
def test_untrained_restorer_on_colour_is_the_wiener_of_its_channels(colour):
    clean = load_photo("stereo_motorcycle")[:72, :88]
    degraded = np.asarray(degrade(clean, sigma=1.2, noise=0.01, seed=3)[0])
    network = DeblurNetwork(filters=4, sweep_units=0)
    network.build((None, None, None, len(INPUT_CHANNELS)))
    restorer = PhotoRestorer(network, colour=colour, balance="rule")
    restored = restorer.restore(degraded, sigma=1.2, noise=0.01)
    working = working_channels(degraded, colour)
    balances = photo_balances(degraded, 1.2, 0.01, colour, "rule")
    expected = np.concatenate(
        [
            wiener_deconvolution(working[..., c : c + 1], 1.2, balances[c])
            for c in range(3)
        ],
        axis=-1,
    )
    expected = np.clip(expected, 0, 1)
    if colour == "decorrelated":
        expected = from_decorrelated(expected)
    np.testing.assert_allclose(restored, np.clip(expected, 0, 1), atol=1e-5)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_restore_with_the_front_end_they_were_trained_with(preset):
    restorer = PhotoRestorer.from_preset(preset)
    front_end = preset_record(preset)["front_end"]
    assert (restorer.colour, restorer.balance) == (
        front_end["colour"],
        front_end["balance"],
    )
    other = PhotoRestorer.from_preset(preset, tile_size=64)
    assert other.tile_size == 64 and other.colour == front_end["colour"]


def _restorer():
    return PhotoRestorer.from_preset(PRESETS[0])


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_files_ship_inside_the_package(preset):
    for suffix in (".json", ".weights.h5"):
        assert os.path.isfile(os.path.join(PRESET_DIR, preset + suffix))
    names = os.listdir(PRESET_DIR)
    total = sum(os.path.getsize(os.path.join(PRESET_DIR, name)) for name in names)
    assert total <= 10 * 2**20


def test_tiles_leave_no_seam(degraded_coins):
    clean, degraded = degraded_coins
    restorer = _restorer()
    whole = restorer.restore(degraded, sigma=1.5, noise=0.01)
    tiled = PhotoRestorer.from_preset(PRESETS[0], tile_size=96, overlap=24).restore(
        degraded, sigma=1.5, noise=0.01
    )
    assert abs(_psnr(clean, tiled) - _psnr(clean, whole)) < 0.05
    assert np.abs(tiled - whole).max() < 0.05


@pytest.mark.parametrize("preset", PRESETS)
def test_bfloat16_prediction_stays_within_a_hundredth_of_a_decibel(
    preset, degraded_coins
):
    clean, degraded = degraded_coins
    scores = {}
    for precision in ("float32", "bfloat16"):
        restorer = PhotoRestorer.from_preset(preset, precision=precision)
        restored = restorer.restore(degraded, sigma=1.5, noise=0.01)
        scores[precision] = float(psnr(clean[None], restored[None])[0])
        assert restored.dtype == np.float32
    assert abs(scores["bfloat16"] - scores["float32"]) < 0.01, scores


def test_bfloat16_copy_follows_the_networks_weights(degraded_coins):
    _, degraded = degraded_coins
    network = DeblurNetwork(filters=4, sweep_units=0)
    network.build((None, None, None, len(INPUT_CHANNELS)))
    restorer = PhotoRestorer(network, precision="bfloat16")
    untrained = restorer.restore(degraded, sigma=1.5, noise=0.01)
    # The untrained network returns the Wiener estimate, kept in float32.
    expected = self_tuning_wiener(degraded, 1.5, noise=0.01)
    np.testing.assert_allclose(untrained, expected, atol=1e-5)
    kernel, bias = network.correction.get_weights()
    network.correction.set_weights([kernel, bias + 0.1])
    shifted = restorer.restore(degraded, sigma=1.5, noise=0.01)
    np.testing.assert_allclose(shifted, np.clip(expected + 0.1, 0, 1), atol=1e-3)
    assert network.dtype_policy.name == "float32"  # the user's network is untouched


@settings(max_examples=5, deadline=None)
@given(st.integers(1, 13), st.integers(1, 13), st.sampled_from([1, 3]))
def test_restorer_takes_any_size_and_channels(height, width, channels):
    image = np.random.default_rng(height * width).uniform(
        size=(height, width, channels)
    )
    restored = _restorer().restore(image.astype("float32"), sigma=1.0, noise=0.01)
    assert restored.shape == image.shape
    assert restored.dtype == np.float32
    assert (restored >= 0).all() and (restored <= 1).all()


def test_blind_restoration_returns_its_estimates(degraded_coins):
    _, degraded = degraded_coins
    _, params = _restorer().restore(degraded, return_params=True)
    assert params["sigma"].shape == (1, 2) and params["noise"].shape == (1,)
    assert 0.9 < params["sigma"][0, 0] < 2.3
    assert 0.005 < params["noise"][0] < 0.02


@pytest.mark.parametrize(
    "kwargs, message",
    [({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"noise": -0.1}, "noise")],
)
def test_restorer_refuses_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _restorer().restore(np.zeros((8, 8, 1), "float32"), **kwargs)


def test_restorer_refuses_an_unknown_precision():
    network = DeblurNetwork(filters=4, sweep_units=0)
    with pytest.raises(ValueError, match="precision"):
        PhotoRestorer(network, precision="float16")


def test_blind_restoration_of_a_tiny_image_asks_for_sigma():
    with pytest.raises(ValueError, match="`sigma` must be given"):
        _restorer().restore(np.zeros((5, 9, 3), "float32"))


def test_restorer_refuses_nan_and_bad_rank():
    image = np.zeros((8, 8, 1), "float32")
    image[2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        _restorer().restore(image, sigma=1.0)
    with pytest.raises(ValueError, match="images.shape"):
        _restorer().restore(np.zeros((8, 8), "float32"), sigma=1.0)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="photo_deblur"):
        PhotoRestorer.from_preset("nope")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        PhotoRestorer.from_preset("/nowhere/missing.json")


def test_a_trained_record_loads_from_its_path(tmp_path, degraded_coins):
    import json

    _, degraded = degraded_coins
    network = _random_network(seed=4, sweep_units=0)
    network.save_weights(str(tmp_path / "mine.weights.h5"))
    record = {
        "preset": "mine",
        "network": {"filters": 4, "sweep_units": 0},
        "front_end": {"colour": "rgb", "balance": "rule"},
    }
    (tmp_path / "mine.json").write_text(json.dumps(record))
    restorer = PhotoRestorer.from_preset(str(tmp_path / "mine.json"))
    assert (restorer.colour, restorer.balance) == ("rgb", "rule")
    expected = PhotoRestorer(network, colour="rgb", balance="rule").restore(
        degraded, sigma=1.5, noise=0.01
    )
    restored = restorer.restore(degraded, sigma=1.5, noise=0.01)
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    (tmp_path / "mine.weights.h5").unlink()
    (tmp_path / "other.json").write_text(json.dumps(record))
    with pytest.raises(FileNotFoundError, match="other.weights.h5"):
        PhotoRestorer.from_preset(str(tmp_path / "other.json"))


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load_offline_and_improve_on_the_blurred_photo(preset, degraded_coins):
    clean, degraded = degraded_coins
    restored = PhotoRestorer.from_preset(preset).restore(degraded, sigma=1.5)
    assert _psnr(clean, restored) > _psnr(clean, degraded) + 1.0


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_restore_function_runs_the_preset_for_each_dtype_and_keeps_alpha(dtype):
    from keras_seqimage import restore

    rng = np.random.default_rng(0)
    photo = load_photo("coins")[:40, :48, 0]
    rgba = np.stack([photo, photo, photo, rng.uniform(size=photo.shape)], -1)
    scale = {"uint8": 255, "uint16": 65535, "float32": 1}[dtype]
    image = (rgba * scale).astype(dtype) if scale != 1 else rgba.astype(dtype)
    restored = restore(image, method="photo_deblur", sigma=1.0, noise=0.005)
    assert restored.dtype == np.dtype(dtype) and restored.shape == image.shape
    np.testing.assert_array_equal(restored[..., 3], image[..., 3])


# --- blur estimation ------------------------------------------------------------


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_blur_estimate_on_a_training_photo(sigma):
    photo = load_photo("stereo_motorcycle")
    blurred, _ = degrade(photo, sigma=sigma, noise=0.005, quantize=True, seed=1)
    estimate = estimate_blur(np.asarray(blurred))
    assert estimate.shape == (2,)
    assert abs(float(estimate[0]) - sigma) < 0.25 * sigma


def test_blur_estimate_refuses_tiny_images():
    with pytest.raises(ValueError, match="images.shape"):
        estimate_blur(np.zeros((4, 4, 1), "float32"))
