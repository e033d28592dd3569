"""The image models' lean torch `fit` step and batching equal Keras' own.

`ImageModel.train_step` replaces parts of Keras' torch step (graph walk, MSE in
torch, fused Adam) where the plan says they change nothing. These tests train
the same model from the same weights with `fast_train_step` on and off and
compare losses, metrics and weights; they also check that each shortcut ran
(so the comparison is not vacuous) and that every case the plan excludes
falls back to Keras' code. The same for `fit`'s batching of numpy arrays
(`fast_array_batches`): the same batches in the same order as Keras'. Both
exist on torch only: on TensorFlow and JAX, `test_torch_backend_subprocess`
reruns this file on torch.
"""

import importlib.util
import re
import warnings

import keras
import numpy as np
import pytest

from keras_seqimage.models import (
    ConvAutoencoder,
    ConvEncoderDecoder,
    LSTMAutoencoder,
    SimpleRNNAutoencoder,
)
from keras_seqimage.models.factory import compile_model
from tests.helpers import assert_file_passes_on_torch, noisy_pairs

TORCH = keras.backend.backend() == "torch"
if TORCH:  # the fast path's modules import torch
    import keras_seqimage.backend.torch as fast_model
    from keras_seqimage.backend.torch import batches as _torch_batches
    from keras_seqimage.backend.torch import callbacks as _torch_callbacks
    from keras_seqimage.backend.torch import trainer as _torch_train_step
HAS_TORCH = importlib.util.find_spec("torch") is not None
torch_only = pytest.mark.skipif(not TORCH, reason="the lean step is torch's")

SHAPE = (6, 5, 2)


def _data(seed=0, count=24):
    return noisy_pairs(SHAPE, seed, count)


def _lstm(**kwargs):
    return LSTMAutoencoder(image_shape=SHAPE, encoder_units=(7, 4), **kwargs)


@pytest.fixture
def shortcut_calls(monkeypatch):
    """Counts the calls of each shortcut of the lean step that took it."""
    calls = {"walk": 0, "adam": 0}
    for key, name in (("walk", "_walk_graph"), ("adam", "_fused_adam_update")):
        original = getattr(_torch_train_step, name)

        def counting(*args, _key=key, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            calls[_key] += result is not False  # False: fell back to Keras'
            return result

        monkeypatch.setattr(_torch_train_step, name, counting)
    return calls


def _train_both(make_model, make_compile_kwargs=dict, fit_kwargs=None, epochs=2):
    """Histories, weights and optimizer states of one model trained each way.

    `make_compile_kwargs` returns fresh compile arguments for each run (an
    optimizer object belongs to one model).
    """
    x, y = _data()
    runs = []
    for fast in (True, False):
        keras.utils.set_random_seed(3)  # same initial weights for both
        model = make_model()
        compile_model(model, **make_compile_kwargs())
        model.fast_train_step = fast
        history = model.fit(
            x,
            y,
            batch_size=8,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            **(fit_kwargs or {}),
        )
        optimizer_state = [
            keras.ops.convert_to_numpy(v) for v in model.optimizer.variables
        ]
        runs.append((history.history, model.get_weights(), optimizer_state))
    return runs


def _assert_same_training(runs, atol=1e-5):
    (fast_logs, *fast_state), (keras_logs, *keras_state) = runs
    assert fast_logs.keys() == keras_logs.keys()
    for name in fast_logs:
        np.testing.assert_allclose(
            fast_logs[name], keras_logs[name], rtol=1e-4, err_msg=name
        )
    # Weights, then Adam's moments (what a saved optimizer would resume from).
    for fast_arrays, keras_arrays in zip(fast_state, keras_state, strict=True):
        for got, want in zip(fast_arrays, keras_arrays, strict=True):
            np.testing.assert_allclose(got, want, atol=atol)


MODELS = {
    "lstm sequence": _lstm,
    "lstm vector + decoder": lambda: _lstm(bottleneck="vector", decoder_units=(5,)),
    "lstm residual, columns": lambda: _lstm(residual=True, order="columns"),
    "simple rnn": lambda: SimpleRNNAutoencoder(image_shape=SHAPE, encoder_units=(6,)),
}


@torch_only
@pytest.mark.parametrize("name", MODELS)
def test_lean_step_trains_exactly_like_keras_step(name, shortcut_calls):
    runs = _train_both(MODELS[name])
    _assert_same_training(runs)
    # 2 epochs x 3 batches, all on the lean path (`fit` builds the optimizer
    # before the first step).
    assert shortcut_calls == {"walk": 6, "adam": 6}


@torch_only
def test_fused_adam_gives_moments_their_variables_memory_order():
    # Keras' orthogonal initialiser leaves a square recurrent kernel stored
    # transposed, and Keras creates its moment slots contiguous; torch's
    # fused kernel pairs elements by memory position, so those moments would
    # be scrambled (the weights still come out right, which is why
    # `_train_both` compares the optimizer states too).
    model = compile_model(MODELS["simple rnn"]())
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    optimizer = model.optimizer
    kernel = model.get_layer("encoder_0").cell.recurrent_kernel
    assert not kernel.value.is_contiguous()
    index = optimizer._get_variable_index(kernel)
    for slots in (optimizer._momentums, optimizer._velocities):
        assert slots[index].value.stride() == kernel.value.stride()


@torch_only
@pytest.mark.parametrize("name", ["lstm sequence", "simple rnn"])
def test_keras_step_resumes_from_the_lean_steps_optimizer_state(name):
    # One epoch lean then one with Keras' Adam equals two with Keras' step:
    # the moments the fused kernel left are Keras' moments, element by element.
    x, y = _data()
    weights = []
    for switch in (True, False):
        keras.utils.set_random_seed(3)
        model = compile_model(MODELS[name]())
        model.fast_train_step = switch
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model.fast_train_step = False
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for got, want in zip(*weights, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


@torch_only
def test_fused_adam_keeps_its_tensors_from_step_to_step():
    model = compile_model(_lstm())
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    tensors = model._train_step_plan.adam_tensors["adam"]
    assert tensors.variables == tuple(model.trainable_weights)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model._train_step_plan.adam_tensors["adam"] is tensors
    model.compile("adam", "mse")  # a new optimizer: a new plan, new tensors
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model._train_step_plan.adam_tensors["adam"] is not tensors


def _replace_torch_tensor(variable):
    """Give `variable` a new torch tensor with the same values and layout."""
    import torch

    value = variable._value
    with torch.no_grad():
        copy = torch.empty_strided(value.shape, value.stride()).copy_(value)
    variable._value = torch.nn.Parameter(copy, requires_grad=value.requires_grad)


@torch_only
@pytest.mark.parametrize("which", ["variable", "momentum", "velocity"])
def test_fused_adam_follows_a_replaced_torch_tensor(which):
    # Lean epoch, new torch tensor behind one variable or moment, lean epoch:
    # the same weights and moments as Keras' two epochs. Tensors kept from
    # the first epoch would update the orphaned tensor instead.
    x, y = _data()
    states = []
    for fast in (True, False):
        keras.utils.set_random_seed(3)
        model = compile_model(MODELS["simple rnn"]())
        model.fast_train_step = fast
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        optimizer = model.optimizer
        head = model.trainable_weights[-1]
        slot = {
            "variable": head,
            "momentum": optimizer._momentums[optimizer._get_variable_index(head)],
            "velocity": optimizer._velocities[optimizer._get_variable_index(head)],
        }[which]
        _replace_torch_tensor(slot)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        states.append(
            [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
            + model.get_weights()
        )
    for got, want in zip(*states, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


@torch_only
def test_fused_adam_declines_gradients_in_another_memory_order():
    import torch

    variable = keras.Variable(np.ones((3, 4), "float32"))
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build([variable])
    gradient = torch.ones(4, 3).T  # (3, 4), transposed memory order
    done = _torch_train_step._fused_adam_update(optimizer, [gradient], [variable])
    assert done is False
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), 1.0)
    assert int(optimizer.iterations.value) == 0


@torch_only
def test_plan_takes_every_shortcut_for_the_factory_defaults():
    model = compile_model(_lstm())
    plan = _torch_train_step.make_plan(model)
    assert plan == _torch_train_step.TrainStepPlan(
        walk_graph=True, plain_mse=True, fused_adam=True
    )
    # The walk is planned once: every layer of the graph, in Keras' order.
    assert [step.layer.name for step in plan.graph] == [
        "to_sequence",
        "encoder_0",
        "encoder_1",
        "head",
        "to_images",
    ]


@torch_only
@pytest.mark.parametrize("name", MODELS)
def test_planned_walk_equals_keras_walk(name):
    import torch

    model = compile_model(MODELS[name]())
    plan = _torch_train_step.make_plan(model)
    assert plan.graph is not None
    x = torch.from_numpy(_data()[0][:4])
    planned = _torch_train_step._walk_graph(model, x, plan.graph)
    walked = _torch_train_step._walk_graph(model, x)
    np.testing.assert_array_equal(planned.detach().numpy(), walked.detach().numpy())


@torch_only
@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_direct_loss_tracking_equals_keras_mean(batch_size):
    import torch

    direct, keras_mean = keras.metrics.Mean(), keras.metrics.Mean()
    for value in (0.3, 1.7e-3, 12.5):
        loss = torch.tensor(value, requires_grad=True) * 1.0
        _torch_train_step._track_loss(direct, loss, batch_size)
        keras_mean.update_state(loss, sample_weight=batch_size)
    for got, want in (
        (direct.total, keras_mean.total),
        (direct.count, keras_mean.count),
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
        )
    assert float(direct.result()) == float(keras_mean.result())


@torch_only
@pytest.mark.parametrize(
    ("make_model", "compile_kwargs", "expected"),
    [
        # Conv layers are not in DIRECT_CALL_LAYERS: Keras' forward.
        (
            lambda: ConvAutoencoder(image_shape=(8, 8, 1), filters=(3,)),
            {},
            {"walk_graph": False},
        ),
        (_lstm, {"loss": "mae"}, {"plain_mse": False}),
        (
            _lstm,
            {"loss": keras.losses.MeanSquaredError(reduction="sum")},
            {"plain_mse": False},
        ),
        (_lstm, {"optimizer": keras.optimizers.SGD(0.1)}, {"fused_adam": False}),
        (
            _lstm,
            {"optimizer": keras.optimizers.Adam(clipnorm=1.0)},
            {"fused_adam": False},
        ),
        (
            _lstm,
            {"optimizer": keras.optimizers.Adam(amsgrad=True)},
            {"fused_adam": False},
        ),
        (
            _lstm,
            {"optimizer": keras.optimizers.AdamW()},  # a subclass of Adam
            {"fused_adam": False},
        ),
    ],
)
def test_plan_falls_back_where_a_shortcut_would_change_results(
    make_model, compile_kwargs, expected
):
    model = compile_model(make_model(), **compile_kwargs)
    plan = _torch_train_step.make_plan(model)
    for field, value in expected.items():
        assert getattr(plan, field) == value, (field, plan)


@torch_only
def test_mixed_precision_runs_keras_forward_and_loss():
    # Keras' `__call__` autocasts float32 weights to float16 there: not walked.
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = compile_model(_lstm())
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("encoder_0").compute_dtype == "float16"
    assert not _torch_train_step.make_plan(model).walk_graph
    x, y = _data()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@torch_only
def test_no_fused_adam_where_torch_has_no_fused_kernel(monkeypatch):
    # CPU got fused optimizer kernels in torch 2.4; the package allows 2.1.
    import torch.utils._foreach_utils as foreach_utils

    monkeypatch.setattr(
        foreach_utils, "_get_fused_kernels_supported_devices", lambda: ["cuda"]
    )
    model = compile_model(_lstm())
    assert not _torch_train_step.make_plan(model).fused_adam


@torch_only
@pytest.mark.parametrize(
    "make_compile_kwargs",
    [
        lambda: {"loss": "mae"},
        lambda: {"optimizer": keras.optimizers.SGD(0.05, momentum=0.9)},
        lambda: {"optimizer": keras.optimizers.Adam(clipnorm=0.1)},
        # A schedule: the fused update reads the learning rate every step.
        lambda: {
            "optimizer": keras.optimizers.Adam(
                keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)
            )
        },
    ],
    ids=["mae", "sgd", "clipnorm", "schedule"],
)
def test_fallbacks_and_schedules_train_like_keras_step(make_compile_kwargs):
    _assert_same_training(_train_both(_lstm, make_compile_kwargs))


@torch_only
def test_sample_weights_and_validation_train_like_keras_step():
    x, _ = _data(seed=5, count=8)
    # One weight per loss element: Keras' MSE keeps (batch, height, width).
    weights = np.linspace(0.5, 2.0, 24 * 6 * 5).reshape(24, 6, 5).astype("float32")
    runs = _train_both(
        _lstm,
        fit_kwargs={"sample_weight": weights, "validation_data": (x, x)},
    )
    assert "val_loss" in runs[0][0]
    _assert_same_training(runs)


@torch_only
def test_conv_model_trains_like_keras_step(shortcut_calls):
    runs = _train_both(lambda: ConvAutoencoder(image_shape=SHAPE, filters=(3,)))
    # Not walked (conv layers), but the MSE and the Adam update are lean.
    assert shortcut_calls == {"walk": 0, "adam": 6}
    _assert_same_training(runs)


@torch_only
def test_weight_regularisation_keeps_keras_loss():
    # Keras adds the L2 penalties to the loss; the lean step must too.
    def make_model():
        return ConvEncoderDecoder(
            image_shape=(8, 8, 2), filters=(3, 4), kernel_size=3, kernel_l2=0.01
        )

    model = compile_model(make_model())
    assert not _torch_train_step.make_plan(model).plain_mse
    rng = np.random.default_rng(9)
    x = rng.random((24, 8, 8, 2), dtype="float32")
    runs = []
    for fast in (True, False):
        keras.utils.set_random_seed(3)
        model = compile_model(make_model())
        model.fast_train_step = fast
        history = model.fit(x, x, batch_size=8, epochs=2, shuffle=False, verbose=0)
        runs.append((history.history, model.get_weights()))
    _assert_same_training(runs)


@torch_only
def test_frozen_model_warns_like_keras_step():
    model = _lstm()
    model.trainable = False
    compile_model(model)
    x, y = _data()
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)


@torch_only
def test_fast_train_step_false_runs_keras_step(shortcut_calls):
    model = compile_model(_lstm())
    model.fast_train_step = False
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert shortcut_calls == {"walk": 0, "adam": 0}


@torch_only
def test_recompiling_makes_a_new_plan(shortcut_calls):
    model = compile_model(_lstm())
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model._train_step_plan.fused_adam
    model.compile(optimizer=keras.optimizers.SGD(), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert not model._train_step_plan.fused_adam


@torch_only
def test_loaded_model_trains_with_the_lean_step(tmp_path, shortcut_calls):
    model = compile_model(_lstm(), metrics=[])
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert shortcut_calls == {"walk": 6, "adam": 6}
    assert loaded._train_step_plan.optimizer is loaded.optimizer


@torch_only
def test_wrong_input_shape_in_fit_still_gets_the_models_error():
    model = compile_model(_lstm())
    x, y = _data()
    # Keras before 3.14 wraps it in a RuntimeError when it builds the model.
    with pytest.raises((ValueError, RuntimeError), match=r"LSTMAutoencoder.*inputs"):
        model.fit(x[:, :, :4], y[:, :, :4], batch_size=8, epochs=1, verbose=0)


def test_fast_train_step_must_be_bool():
    model = _lstm()
    with pytest.raises(
        ValueError, match=r"`fast_train_step` must be True or False.*'no'"
    ):
        model.fast_train_step = "no"
    assert model.fast_train_step is True
    model.fast_train_step = False
    assert model.fast_train_step is False


def test_other_backends_compile_their_own_step():
    # The attribute exists everywhere; on TensorFlow and JAX `fit` runs
    # Keras' compiled step whatever its value.
    model = compile_model(_lstm(), metrics=[])
    assert model.fast_train_step is True
    x, y = _data()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.fixture
def lean_batches(monkeypatch):
    """The `DataLoader`s `fit`'s lean batching made, in order."""
    made = []
    original = _torch_batches.array_batches

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(_torch_batches, "array_batches", recording)
    return made


def _models_per_batching(**compile_kwargs):
    """A fresh model with the lean batching, then one with Keras' (same seed)."""
    for fast in (True, False):
        keras.utils.set_random_seed(3)  # same weights and same shuffling
        model = compile_model(_lstm(), **compile_kwargs)
        model.fast_array_batches = fast
        yield model


def _fit_both_batchings(fit_args=(), **fit_kwargs):
    """Histories and weights of one model fit with each batching."""
    runs = []
    for model in _models_per_batching(metrics=[]):
        history = model.fit(*fit_args, verbose=0, **fit_kwargs)
        runs.append((history.history, model.get_weights()))
    return runs


@torch_only
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [None, 5, 24])  # None: Keras' 32
def test_lean_batching_gives_keras_batches(shuffle, batch_size, lean_batches):
    x, y = _data(count=23)  # a partial last batch for 5
    runs = _fit_both_batchings((x, y), batch_size=batch_size, epochs=2, shuffle=shuffle)
    assert len(lean_batches) == 1
    assert len(lean_batches[0]) == -(-23 // (batch_size or 32))
    (fast_logs, fast_weights), (keras_logs, keras_weights) = runs
    # Same batches in the same order, so the same arithmetic: equal, not close.
    assert fast_logs == keras_logs
    for got, want in zip(fast_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(got, want)


@torch_only
def test_lean_batching_takes_positional_arguments_and_validation(lean_batches):
    x, y = _data()
    # 10 validation samples: batches of 8 and 2, as Keras validates.
    runs = _fit_both_batchings((x, y, 8, 2), validation_data=(x[:10], y[:10]))
    assert len(lean_batches) == 1
    (fast_logs, _), (keras_logs, _) = runs
    assert fast_logs == keras_logs
    assert len(fast_logs["val_loss"]) == 2


@torch_only
@pytest.mark.parametrize("shuffle", [True, False])
def test_lean_batching_splits_validation_like_keras(shuffle, lean_batches):
    x, y = _data(count=23)
    runs = _fit_both_batchings(
        (x, y), batch_size=5, epochs=2, shuffle=shuffle, validation_split=0.3
    )
    assert len(lean_batches) == 1
    assert len(lean_batches[0]) == 4  # 16 training samples: floor(23 * 0.7)
    (fast_logs, fast_weights), (keras_logs, keras_weights) = runs
    assert fast_logs == keras_logs
    assert len(fast_logs["val_loss"]) == 2
    for got, want in zip(fast_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(got, want)


@torch_only
@pytest.mark.parametrize("validation_split", [1.0, "a"])
def test_lean_batching_keeps_keras_validation_split_errors(
    validation_split, lean_batches
):
    model = compile_model(_lstm())
    x, y = _data()
    with pytest.raises((ValueError, TypeError)) as lean_error:
        model.fit(x, y, validation_split=validation_split, epochs=1, verbose=0)
    model.fast_array_batches = False
    with pytest.raises(type(lean_error.value)) as keras_error:
        model.fit(x, y, validation_split=validation_split, epochs=1, verbose=0)
    assert str(lean_error.value) == str(keras_error.value)
    assert lean_batches == []


@torch_only
@pytest.mark.parametrize(
    "fit_kwargs",
    [
        {"sample_weight": np.ones((24, 6, 5), "float32")},
        {"shuffle": "batch"},
        {"steps_per_epoch": 2},
        {"x_dtype": "float64"},  # Keras casts it to floatx first
    ],
    ids=["sample_weight", "batch shuffle", "steps", "float64"],
)
def test_lean_batching_leaves_other_calls_to_keras(fit_kwargs, lean_batches):
    x, y = _data()
    x = x.astype(fit_kwargs.pop("x_dtype", "float32"))
    runs = _fit_both_batchings((x, y), batch_size=8, **fit_kwargs)
    assert lean_batches == []
    (fast_logs, _), (keras_logs, _) = runs
    assert fast_logs == keras_logs


@torch_only
def test_lean_batching_keeps_keras_error_for_mismatched_lengths(lean_batches):
    model = compile_model(_lstm())
    x, y = _data()
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(x, y[:20], batch_size=8, epochs=1, verbose=0)
    assert lean_batches == []


@pytest.fixture
def keras_batch_hooks(monkeypatch):
    """Calls of Keras' `CallbackList` batch hooks and of its worker thread."""
    calls = []
    names = [*_torch_callbacks.BATCH_HOOKS, "_async_dispatch"]
    for name in names:
        original = getattr(keras.callbacks.CallbackList, name)

        def recording(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(keras.callbacks.CallbackList, name, recording)
    return calls


class _BatchRecorder(keras.callbacks.Callback):
    """Records each batch hook it gets, with its logs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_batch_end(self, batch, logs=None):  # the alias, not the train hook
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("train_begin", batch, dict(logs or {})))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("test_end", batch, dict(logs)))


@torch_only
def test_lean_fit_skips_the_batch_hooks_no_callback_has(keras_batch_hooks):
    x, y = _data()
    runs = _fit_both_batchings((x, y), batch_size=8, validation_data=(x, y))
    (fast_logs, fast_weights), (keras_logs, keras_weights) = runs
    assert fast_logs == keras_logs
    for got, want in zip(fast_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    # The lean run called no batch hook of Keras' list; Keras' run, each one
    # per batch: 3 training and 3 validation batches, two hooks each, and
    # the two end hooks through the worker thread.
    assert len(keras_batch_hooks) == 12 + 6
    assert keras_batch_hooks.count("_async_dispatch") == 6


@torch_only
def test_lean_fit_calls_the_batch_hooks_callbacks_have(keras_batch_hooks):
    x, y = _data()
    recorders = []
    for model in _models_per_batching():
        recorders.append(_BatchRecorder())
        history = model.fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            verbose=0,
            validation_data=(x[:16], y[:16]),
            callbacks=[recorders[-1]],
        )
        assert history is model.history
    lean, keras_own = (recorder.calls for recorder in recorders)
    # 2 epochs of 3 training batches (begin and end) and 2 validation batches.
    assert len(lean) == 2 * (3 * 2 + 2)
    assert lean == keras_own  # the same hooks, batches and (float) logs
    assert all(isinstance(v, float) for *_, logs in lean for v in logs.values())


@torch_only
def test_lean_fit_makes_keras_callback_params():
    # `params` as Keras' `fit` sets them, its `max_epochs` cap included.
    if not hasattr(keras.config, "set_max_epochs"):
        pytest.skip("this Keras has no max_epochs")
    x, y = _data(count=23)
    params = []
    keras.config.set_max_epochs(2)
    try:
        for fast in (True, False):
            model = compile_model(_lstm())
            model.fast_array_batches = fast
            with pytest.warns(UserWarning, match="Limiting epochs"):
                model.fit(x, y, batch_size=5, epochs=3, verbose=0, validation_split=0.2)
            params.append(model.history.params)
    finally:
        keras.config.set_max_epochs(None)
    assert params[0] == params[1] == {"verbose": 0, "epochs": 2, "steps": 4}


class _Pairs(keras.utils.PyDataset):
    """`(x, y)` in batches of 8, in order: a `PyDataset` `fit` batches itself."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return -(-len(self.x) // 8)

    def __getitem__(self, index):
        return self.x[index * 8 : (index + 1) * 8], self.y[index * 8 : (index + 1) * 8]


@torch_only
def test_lean_fit_on_a_py_dataset_skips_the_batch_hooks_no_callback_has(
    keras_batch_hooks, lean_batches
):
    x, y = _data()
    runs = []
    for model in _models_per_batching(metrics=[]):
        history = model.fit(_Pairs(x, y), validation_data=_Pairs(x, y), verbose=0)
        runs.append((history.history, history.params, model.get_weights()))
    (fast_logs, fast_params, fast_weights), keras_run = runs
    assert lean_batches == []  # the dataset keeps Keras' batching
    assert fast_logs == keras_run[0] and fast_params == keras_run[1]
    for got, want in zip(fast_weights, keras_run[2], strict=True):
        np.testing.assert_array_equal(got, want)
    # Only Keras' run called the batch hooks: 3 training and 3 validation
    # batches, two hooks each, the two end hooks through the worker thread.
    assert len(keras_batch_hooks) == 12 + 6


@torch_only
def test_lean_fit_on_a_py_dataset_calls_the_hooks_callbacks_have():
    x, y = _data()
    recorders = []
    for model in _models_per_batching():
        recorders.append(_BatchRecorder())
        model.fit(
            _Pairs(x, y),
            epochs=2,
            verbose=0,
            validation_data=_Pairs(x[:16], y[:16]),
            callbacks=[recorders[-1]],
        )
    lean, keras_own = (recorder.calls for recorder in recorders)
    assert len(lean) == 2 * (3 * 2 + 2)
    assert lean == keras_own


@torch_only
@pytest.mark.parametrize("cap", [2, 50])
@pytest.mark.parametrize("steps_per_epoch", [None, 3])
@pytest.mark.parametrize("as_dataset", [False, True])
def test_lean_fit_params_follow_keras_max_steps_per_epoch(
    cap, steps_per_epoch, as_dataset
):
    """Keras' cap replaces `steps_per_epoch` or the data's batches in
    `params["steps"]` (the progress bar's target), also when it is larger."""
    if not hasattr(keras.config, "set_max_steps_per_epoch"):
        pytest.skip("this Keras has no max_steps_per_epoch")
    x, y = _data()
    data = {"x": _Pairs(x, y)} if as_dataset else {"x": x, "y": y, "batch_size": 8}
    limited = steps_per_epoch is None or cap < steps_per_epoch
    params = []
    keras.config.set_max_steps_per_epoch(cap)
    try:
        for model in _models_per_batching():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(**data, steps_per_epoch=steps_per_epoch, verbose=0)
            assert limited == any("Limiting steps" in str(w.message) for w in caught)
            params.append(model.history.params)
    finally:
        keras.config.set_max_steps_per_epoch(None)
    assert params[0] == params[1]
    assert params[0]["steps"] == (cap if limited else steps_per_epoch)


@torch_only
def test_lean_fit_shows_keras_progress_bar(capsys, lean_batches):
    model = compile_model(_lstm())
    x, y = _data(count=23)
    model.fit(x, y, batch_size=5, epochs=1, verbose=1)
    assert len(lean_batches) == 1
    assert "5/5" in capsys.readouterr().out


class _AsyncSafeRecorder(keras.callbacks.Callback):
    """A batch-end hook that asks for Keras' worker thread."""

    async_safe = True

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)


@torch_only
def test_lean_fit_runs_the_progress_bar_in_the_calling_thread_on_cpu(
    capsys, keras_batch_hooks
):
    x, y = _data()
    outputs = []
    for model in _models_per_batching():
        model.fit(x, y, batch_size=8, epochs=1, verbose=1)
        outputs.append(capsys.readouterr().out)
    # Both lists call the progress bar's batch-end hook 3 times; Keras' list
    # through its worker thread, the lean one itself (Keras' device: the CPU).
    assert keras_batch_hooks.count("on_train_batch_end") == 3 + 3
    assert keras_batch_hooks.count("_async_dispatch") == 3
    # The same epoch's loss at the end of the bar.
    losses = [re.findall(r"loss: ([0-9.e+-]+)", out) for out in outputs]
    assert losses[0] and losses[0][-1] == losses[1][-1]


@torch_only
def test_lean_fit_keeps_keras_thread_for_an_async_safe_callback(keras_batch_hooks):
    x, y = _data()
    model = compile_model(_lstm())
    recorder = _AsyncSafeRecorder()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[recorder])
    assert recorder.batches == [0, 1, 2]
    assert keras_batch_hooks.count("_async_dispatch") == 3


@torch_only
def test_cpu_scalars_as_floats_makes_the_floats_keras_would():
    import torch
    from keras.src.utils.python_utils import pythonify_logs

    scalars = {
        "loss": torch.tensor(0.1),
        "half": torch.tensor(1 / 3, dtype=torch.bfloat16),
        "nested": {"psnr": torch.tensor(1 / 3, dtype=torch.float64)},
        "count": torch.tensor(3),
    }
    floats = _torch_callbacks.cpu_scalars_as_floats(scalars)
    assert type(floats["loss"]) is float and type(floats["nested"]["psnr"]) is float
    assert floats["count"] is scalars["count"]  # not floating: Keras converts it
    assert pythonify_logs(floats) == pythonify_logs(scalars)
    vector = torch.ones(2)
    assert _torch_callbacks.cpu_scalars_as_floats({"v": vector})["v"] is vector
    assert _torch_callbacks.cpu_scalars_as_floats(None) is None


@torch_only
def test_lean_fit_keeps_a_callback_list_passed_in(keras_batch_hooks, lean_batches):
    model = compile_model(_lstm())
    x, y = _data()
    own = keras.callbacks.CallbackList(
        None, add_history=True, model=model, verbose=0, epochs=1, steps=3
    )
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=own)
    assert len(lean_batches) == 1  # the lean batches, with the caller's list
    assert keras_batch_hooks.count("on_train_batch_end") == 3


@torch_only
def test_lean_predict_skips_the_batch_hooks_no_callback_has(keras_batch_hooks):
    model = compile_model(_lstm())
    x, _ = _data(count=23)
    lean, keras_outputs = _predict_both(model, x, batch_size=5)
    np.testing.assert_array_equal(lean, keras_outputs)
    # Keras' predict: begin and end per batch of 5, the end in the thread.
    assert len(keras_batch_hooks) == 5 * 3


def _record_takes(monkeypatch, function):
    """Whether each call of the fast path's `<function>` took it (not `None`)."""
    calls = []
    original = getattr(fast_model, function)

    def recording(*args, **kwargs):
        outputs = original(*args, **kwargs)
        calls.append(outputs is not None)
        return outputs

    monkeypatch.setattr(fast_model, function, recording)
    return calls


@pytest.fixture
def lean_predictions(monkeypatch):
    """Whether each `predict` call took the lean loop (not Keras')."""
    return _record_takes(monkeypatch, "predict_arrays")


def _predict_both(model, x, **kwargs):
    model.fast_array_batches = True
    lean = model.predict(x, verbose=0, **kwargs)
    model.fast_array_batches = False
    return lean, model.predict(x, verbose=0, **kwargs)


@torch_only
@pytest.mark.parametrize("batch_size", [None, 5, 24, 100])
@pytest.mark.parametrize("make_model", [_lstm, MODELS["lstm residual, columns"]])
def test_lean_predict_equals_keras_predict(batch_size, make_model, lean_predictions):
    model = compile_model(make_model())
    x, _ = _data(count=23)
    lean, keras_outputs = _predict_both(model, x, batch_size=batch_size)
    assert lean_predictions == [True]  # the second, Keras', does not ask
    assert lean.shape == keras_outputs.shape == x.shape
    assert lean.dtype == keras_outputs.dtype
    np.testing.assert_array_equal(lean, keras_outputs)


@pytest.fixture
def walked_predictions(monkeypatch):
    """Whether each `predict_step` walked the planned graph (not Keras')."""
    return _record_takes(monkeypatch, "torch_predict_step")


@torch_only
@pytest.mark.parametrize("name", MODELS)
def test_walked_predict_step_equals_keras_predict_step(name, walked_predictions):
    model = MODELS[name]()  # uncompiled: `predict` needs no compile
    x, _ = _data(count=23)
    walked = model.predict(x, batch_size=8, verbose=0)
    assert walked_predictions == [True, True, True]
    model.fast_train_step = False
    np.testing.assert_array_equal(walked, model.predict(x, batch_size=8, verbose=0))
    assert len(walked_predictions) == 3  # Keras' step did not ask


@torch_only
def test_conv_model_predict_step_is_keras(walked_predictions):
    model = ConvAutoencoder(image_shape=SHAPE, filters=(3,))
    x, _ = _data(count=8)
    model.predict(x, batch_size=8, verbose=0)
    assert walked_predictions == [False]  # conv layers: not walked


@torch_only
def test_model_saved_after_walked_predict_loads_and_predicts(tmp_path):
    model = compile_model(_lstm())
    x, _ = _data(count=8)
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), before)


@torch_only
def test_lean_predict_shows_keras_progress_bar(capsys, lean_predictions):
    model = compile_model(_lstm())
    x, _ = _data(count=23)
    model.predict(x, batch_size=5, verbose=1)
    assert lean_predictions == [True]
    assert "5/5" in capsys.readouterr().out


@torch_only
@pytest.mark.parametrize(
    ("make_input", "kwargs"),
    [
        (lambda x: x, {"steps": 2}),
        (lambda x: x, {"callbacks": [keras.callbacks.Callback()]}),
        (lambda x: x.astype("float64"), {}),
        (lambda x: [x], {}),
    ],
    ids=["steps", "callbacks", "float64", "list"],
)
def test_lean_predict_leaves_other_calls_to_keras(make_input, kwargs, lean_predictions):
    model = compile_model(_lstm())
    x, _ = _data(count=23)
    lean, keras_outputs = _predict_both(model, make_input(x), batch_size=5, **kwargs)
    assert lean_predictions == [False]
    np.testing.assert_array_equal(lean, keras_outputs)


@torch_only
def test_lean_predict_keeps_the_models_input_error():
    model = compile_model(_lstm())
    x, _ = _data()
    with pytest.raises(ValueError, match=r"LSTMAutoencoder.*inputs"):
        model.predict(x[:, :, :4], verbose=0)


def test_fast_array_batches_must_be_bool():
    model = _lstm()
    with pytest.raises(
        ValueError, match=r"`fast_array_batches` must be True or False.*1"
    ):
        model.fast_array_batches = 1
    assert model.fast_array_batches is True
    model.fast_array_batches = False
    assert model.fast_array_batches is False


@pytest.mark.skipif(TORCH, reason="already running on the torch backend")
@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_torch_backend_subprocess():
    """Run this file on the torch backend, where the lean step exists."""
    assert_file_passes_on_torch(__file__)


@torch_only
@pytest.mark.parametrize("use_bias, activation", [(True, None), (False, "relu")])
def test_walk_dense_is_keras_dense_bit_for_bit(use_bias, activation, monkeypatch):
    """The walk's `Dense` runs torch's ops itself: same bits, same gradients."""
    import torch

    layer = keras.layers.Dense(5, use_bias=use_bias, activation=activation)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 4, 6)).astype("f4"))
    layer.build(x.shape)

    def forward_and_grads(call):
        outputs = call()
        outputs.square().sum().backward()
        grads = [v.value.grad.clone() for v in layer.trainable_weights]
        for v in layer.trainable_weights:
            v.value.grad = None
        return [outputs.detach(), *grads]

    keras_result = forward_and_grads(lambda: layer(x))
    dense_calls = []
    original_call = keras.layers.Dense.call

    def counting(self, *args, **kwargs):
        dense_calls.append(self)
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(keras.layers.Dense, "call", counting)
    walk_result = forward_and_grads(lambda: _torch_train_step._dense_call(layer, x))
    assert dense_calls == []  # torch's ops, not `Dense.call`
    for got, want in zip(walk_result, keras_result, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    # float64 is `keras.ops`' (Keras 3.15 computes float64 products in float32).
    _torch_train_step._dense_call(layer, x.double())
    assert dense_calls == [layer]


@torch_only
def test_dense_in_the_walk_follows_lora_enabled_after_planning():
    import torch

    model = compile_model(_lstm())
    plan = _torch_train_step.make_plan(model)
    steps = [s for s in plan.graph if type(s.layer) is keras.layers.Dense]
    assert steps and all(s.native_call is _torch_train_step._dense_call for s in steps)
    x = torch.from_numpy(_data()[0][:4])
    for step in steps:
        step.layer.enable_lora(2)
        step.layer.lora_kernel_b.assign(np.ones(step.layer.lora_kernel_b.shape))
    with torch.no_grad():
        planned = _torch_train_step._walk_graph(model, x, plan.graph)
        keras_forward = model(x, training=True)
    np.testing.assert_array_equal(planned.numpy(), keras_forward.numpy())
