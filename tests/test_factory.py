from pathlib import Path

import keras
import numpy as np
import pytest

from keras_seqimage.backend import jit_compile
from keras_seqimage.metrics import PSNR, SSIM
from keras_seqimage.models import MODELS, build_model, list_models
from tests.helpers import assert_saving_round_trip

EXPECTED_PRESET_PARAMS = {
    ("lstm_autoencoder", "lstm_sequence_128_64"): 170_848,
    ("lstm_autoencoder", "lstm_vector_128"): 259_168,
    ("simple_rnn_autoencoder", "simple_rnn_vector_128"): 74_080,
    ("conv_autoencoder", "conv_32_32"): 11_011,
}


def test_list_models_names_every_model_and_preset():
    listing = list_models()
    assert set(listing) == set(MODELS)
    for name, presets in listing.items():
        assert presets == list(MODELS[name].presets)


@pytest.mark.parametrize(("name", "preset"), list(EXPECTED_PRESET_PARAMS))
def test_presets_are_compiled_with_the_documented_defaults(name, preset):
    model = build_model(name, preset=preset)
    assert model.count_params() == EXPECTED_PRESET_PARAMS[(name, preset)]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "mse"
    metric_types = [type(m) for m in model._compile_metrics._user_metrics]
    assert metric_types == [keras.metrics.MeanSquaredError, PSNR, SSIM]


def test_compile_defaults_per_backend():
    lstm = build_model("lstm_autoencoder", encoder_units=(4,), input_shape=(8, 8, 1))
    attention = build_model("cnn_lstm_direct_attention", preset="small")
    conv = build_model("conv_autoencoder", input_shape=(8, 8, 1))
    stock = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3)])
    stock.compile("adam", "mse")  # Keras' own "auto" resolution
    assert conv.jit_compile == stock.jit_compile
    backend = keras.backend.backend()
    if backend == "tensorflow":
        # XLA measured faster on an AVX2 CPU, slower on an AVX-512 one.
        assert lstm.jit_compile is (not jit_compile.cpu_has_avx512())
    elif backend == "torch":
        assert lstm.jit_compile is False  # torch.compile fails on the fused op
    else:
        assert lstm.jit_compile == stock.jit_compile
    if backend in ("tensorflow", "torch"):
        assert attention.jit_compile is False


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's XLA choice"
)
@pytest.mark.parametrize("avx512", [True, False])
def test_tensorflow_recurrent_default_follows_the_cpu(monkeypatch, avx512):
    monkeypatch.setattr(jit_compile, "cpu_has_avx512", lambda: avx512)
    monkeypatch.setattr(jit_compile, "tensorflow_sees_gpu", lambda: False)
    lstm = build_model("lstm_autoencoder", encoder_units=(4,), input_shape=(8, 8, 1))
    assert lstm.jit_compile is (not avx512)
    monkeypatch.setattr(jit_compile, "tensorflow_sees_gpu", lambda: True)
    lstm = build_model("lstm_autoencoder", encoder_units=(4,), input_shape=(8, 8, 1))
    assert lstm.jit_compile is True


def test_cpu_has_avx512_matches_the_os_where_it_says():
    flags = Path("/proc/cpuinfo")
    if not flags.exists():
        pytest.skip("no /proc/cpuinfo to compare with")
    assert jit_compile.cpu_has_avx512() == ("avx512f" in flags.read_text().split())


def test_compile_false_returns_an_uncompiled_model():
    model = build_model("conv_autoencoder", compile=False)
    assert not model.compiled
    assert getattr(model, "optimizer", None) is None


def test_overrides_and_input_shape():
    model = build_model(
        "cnn_lstm_direct_attention",
        preset="small",
        input_shape=(16, 16, 1),
        num_layers=1,
    )
    assert model.image_shape == (16, 16, 1)
    assert model.num_layers == 1
    # No SSIM below its 11x11 window; PSNR still there.
    small = build_model("conv_autoencoder", input_shape=(8, 8, 3))
    metric_types = [type(m) for m in small._compile_metrics._user_metrics]
    assert PSNR in metric_types and SSIM not in metric_types


def test_custom_compile_arguments_are_passed_through():
    model = build_model(
        "conv_autoencoder",
        input_shape=(8, 8, 1),
        optimizer=keras.optimizers.SGD(0.1),
        loss="mae",
        metrics=[],
    )
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.loss == "mae"


def test_factory_model_fits_and_round_trips(tmp_path):
    model = build_model("lstm_autoencoder", encoder_units=(8,), input_shape=(12, 12, 1))
    images = np.random.rand(16, 12, 12, 1).astype("float32")
    history = model.fit(images, images, epochs=1, batch_size=8, verbose=0)
    assert {"loss", "mse", "psnr", "ssim"} <= set(history.history)
    loaded = assert_saving_round_trip(model, images, tmp_path, atol=1e-5)
    evaluated = loaded.evaluate(images, images, verbose=0, return_dict=True)
    assert {"psnr", "ssim"} <= set(evaluated)


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(
        ValueError, match=r"`name` must be one of \[.*'lstm_autoencoder'"
    ):
        build_model("lstm")


def test_unknown_preset_lists_the_valid_presets():
    with pytest.raises(
        ValueError, match=r"`preset` must be one of \['conv_32_32'\].*preset='big'"
    ):
        build_model("conv_autoencoder", preset="big")


def test_unknown_override_raises_instead_of_being_ignored():
    expected = r"unexpected argument\(s\) \['learning_rate'\]"
    with pytest.raises(TypeError, match=expected):
        build_model("conv_encoder_decoder", preset="paper", learning_rate=1e-4)
    model = build_model("conv_encoder_decoder", preset="paper", kernel_l2=0.1)
    assert model.kernel_l2 == 0.1
