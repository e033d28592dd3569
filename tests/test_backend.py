"""The backend package: the fast path's gate, its switch, and the compat accessors.

The torch fast path reads private Keras and torch names through one accessor
each (`keras_seqimage.backend.compat`). Each must resolve on the installed
versions; when one does not (a Keras release renamed it), the gate turns the
fast path off with one warning and `fit` trains with Keras' own steps to the
same loss.
"""

import warnings

import keras
import numpy as np
import pytest

from keras_seqimage import backend
from keras_seqimage.backend import compat
from keras_seqimage.models import LSTMAutoencoder
from keras_seqimage.models.factory import compile_model
from tests.helpers import assert_file_passes_on_torch, noisy_pairs

TORCH = keras.backend.backend() == "torch"
torch_only = pytest.mark.skipif(not TORCH, reason="the fast path is torch's")


@pytest.fixture(autouse=True)
def fresh_gate(monkeypatch):
    """Each test asks the gate anew and leaves the switch as it found it."""
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    backend.set_fast_path(None)
    yield
    backend.set_fast_path(None)


@torch_only
@pytest.mark.parametrize("name", compat.ACCESSORS)
def test_each_accessor_resolves_on_the_installed_versions(name):
    assert name not in compat.unresolved()


@torch_only
def test_the_fast_path_is_on_for_the_tested_versions():
    assert backend.fast_path_enabled(), backend.fast_path_status()
    assert backend.fast_path_status().startswith("on:")


@pytest.mark.skipif(TORCH, reason="off torch there is no fast path")
def test_other_backends_run_keras_code_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backend.fast_path() is None
    assert "compiles its steps" in backend.fast_path_status()


def test_set_fast_path_false_turns_it_off_and_none_gives_it_back():
    expected = backend.fast_path_enabled()
    backend.set_fast_path(False)
    assert not backend.fast_path_enabled()
    if TORCH:
        assert backend.fast_path_status().startswith("switched off")
    backend.set_fast_path(None)
    assert backend.fast_path_enabled() is expected


@pytest.mark.parametrize("value", ["yes", 1, "0"])
def test_set_fast_path_refuses_anything_but_a_bool_or_none(value):
    with pytest.raises(ValueError, match=r"`enabled` must be True, False or None"):
        backend.set_fast_path(value)


@torch_only
@pytest.mark.parametrize("value", ["0", "off", "FALSE"])
def test_the_environment_variable_turns_it_off(monkeypatch, value):
    monkeypatch.setenv(backend.ENV_VAR, value)
    backend.set_fast_path(None)
    assert not backend.fast_path_enabled()


@torch_only
def test_a_bad_environment_value_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(backend.ENV_VAR, "sometimes")
    backend.set_fast_path(None)
    with pytest.raises(ValueError, match=r"KERAS_SEQIMAGE_FAST_PATH.*'sometimes'"):
        backend.fast_path()


@torch_only
def test_untested_versions_turn_it_off_with_one_warning_unless_forced(monkeypatch):
    monkeypatch.setitem(backend.TESTED_VERSIONS, "keras", ("2.0", "2.9"))
    backend.set_fast_path(None)
    with pytest.warns(UserWarning, match=r"keras .* outside the tested 2\.0-2\.9"):
        assert backend.fast_path() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked again: no second warning
        assert backend.fast_path() is None
    monkeypatch.setenv(backend.ENV_VAR, "force")
    backend.set_fast_path(None)
    assert backend.fast_path() is not None
    assert backend.fast_path_status().endswith("(forced)")


def _fit_losses(model_seed=3):
    keras.utils.set_random_seed(model_seed)
    model = compile_model(LSTMAutoencoder(image_shape=(6, 5, 2), encoder_units=(7, 4)))
    x, y = noisy_pairs((6, 5, 2), seed=0, count=24)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    return history.history["loss"], model


@torch_only
def test_an_accessor_that_fails_turns_the_fast_path_off_and_fit_trains_the_same(
    monkeypatch,
):
    import keras_seqimage.backend.torch as fast

    steps = []
    original = fast.train_step

    def counting(*args, **kwargs):
        steps.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(fast, "train_step", counting)
    fast_losses, _ = _fit_losses()
    assert len(steps) == 6  # the fast path trained

    def renamed():
        raise AttributeError("'Adam' object has no attribute '_momentums'")

    monkeypatch.setitem(compat._PROBES, "adam_slots", renamed)
    backend.set_fast_path(None)
    with pytest.warns(UserWarning, match=r"do not resolve.*adam_slots"):
        keras_losses, model = _fit_losses()
    assert len(steps) == 6  # no fast step since
    assert not backend.fast_path_enabled()
    np.testing.assert_allclose(keras_losses, fast_losses, rtol=1e-5)
    assert model.predict(np.zeros((1, 6, 5, 2), "float32"), verbose=0).shape == (
        1,
        6,
        5,
        2,
    )


@pytest.mark.skipif(TORCH, reason="this runs the torch checks from other backends")
def test_torch_backend_subprocess():
    pytest.importorskip("torch")
    assert_file_passes_on_torch(__file__)


@torch_only
def test_asking_the_gate_draws_nothing_from_the_seeded_random_state():
    def weights_after_seed(ask_gate):
        keras.utils.set_random_seed(5)
        if ask_gate:
            backend.set_fast_path(None)
            compat._sample.cache_clear()
            assert compat.unresolved() == []
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return keras.ops.convert_to_numpy(layer.kernel)

    np.testing.assert_array_equal(weights_after_seed(True), weights_after_seed(False))


# --- the restorers' network precision ------------------------------------------


def test_precision_policies_and_refusal():
    from keras_seqimage.backend import precision

    assert precision.inference_policy("float32") == "float32"
    assert precision.inference_policy("bfloat16") == "mixed_bfloat16"
    with pytest.raises(ValueError, match="precision"):
        precision.inference_policy("half")


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_takes_bfloat16_only_where_the_cpu_has_it(monkeypatch, native):
    from keras_seqimage.backend import precision

    monkeypatch.setattr(precision, "native_bfloat16", lambda: native)
    monkeypatch.setattr(precision, "_cpu_only", lambda backend: True)
    fast = native and keras.backend.backend() in ("tensorflow", "torch")
    expected = "mixed_bfloat16" if fast else "float32"
    assert precision.inference_policy("auto") == expected
    monkeypatch.setattr(precision, "_cpu_only", lambda backend: False)
    assert precision.inference_policy("auto") == "float32"


def test_native_bfloat16_reads_the_cpu_flags():
    from keras_seqimage.backend import precision

    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        flags = ""
    expected = any(flag in flags.split() for flag in precision.BFLOAT16_FLAGS)
    assert precision.native_bfloat16() is expected
