"""Every private Keras, torch and numpy name the toolkit reads, one accessor each.

The fast torch path needs a few of Keras' and torch's internals (the
functional graph's nodes, the compiled loss, Adam's moment slots, torch's
fused kernels). They are read here and nowhere else, each through one
accessor, so that a release that renames one breaks one function, and the
gate (`keras_seqimage.backend.fast_path_status`) finds out before `fit`
starts: it calls `unresolved()`, which runs every accessor's probe on
throw-away objects, and turns the fast path off when any fails.

Generic code may call the accessors outside the gate only where it has a
fallback of its own (`keras_object_sharing`, `cpu_features`).
"""

import functools

import keras

# name -> probe: a callable that raises (or returns False) when the accessor
# cannot work on the installed versions.
_PROBES = {}


def _accessor(probe):
    def register(function):
        _PROBES[function.__name__] = probe
        return function

    return register


@functools.cache
def _sample():
    """A tiny compiled functional model, its Dense layer, Adam built on it.

    Initialised with zeros: a probe must not draw from the random state the
    user seeded (`keras.utils.set_random_seed`), or the weights of the model
    built next would depend on whether the gate had been asked before.
    """
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(1, kernel_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model, dense


# === Keras: layers and functional graphs ===


def _probe_flatten_layers():
    model, dense = _sample()
    return dense in list(flatten_layers(model))


@_accessor(_probe_flatten_layers)
def flatten_layers(model):
    """Every layer inside `model`, nested ones included, not `model` itself."""
    return model._flatten_layers(include_self=False)


def _probe_graph_nodes():
    model, dense = _sample()
    nodes = [node for depth in nodes_by_depth(model).values() for node in depth]
    layer_nodes = [n for n in nodes if n.operation is not None and not n.is_input]
    args, kwargs = node_call_arguments(layer_nodes[0])
    return layer_nodes[0].operation is dense and len(args) == 1 and kwargs == {}


@_accessor(_probe_graph_nodes)
def nodes_by_depth(model):
    """A functional model's `{depth: [Node, ...]}` (Keras' graph, inputs deepest)."""
    return model._nodes_by_depth


@_accessor(_probe_graph_nodes)
def node_call_arguments(node):
    """The positional and keyword arguments a graph node called its layer with."""
    return node.arguments.args, node.arguments.kwargs


def _probe_run_through_graph():
    model, _ = _sample()
    x = keras.ops.ones((1, 2))
    out = run_through_graph(model, x, lambda layer: layer.call)
    return tuple(out.shape) == (1, 1)


@_accessor(_probe_run_through_graph)
def run_through_graph(model, x, operation_fn):
    """`model`'s graph on input `x`, each layer run as `operation_fn(layer)`."""
    outputs = model._run_through_graph([x], operation_fn=operation_fn)
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _probe_call_has_training_arg():
    return call_has_training_arg(keras.layers.Dropout(0.5, seed=1)) is True


@_accessor(_probe_call_has_training_arg)
def call_has_training_arg(layer):
    """Whether `layer.call` takes a `training` argument."""
    return layer._call_has_training_arg


@_accessor(lambda: isinstance(_sample()[0], functional_class()))
def functional_class():
    """Keras' `Functional` model class (what `keras.Model(inputs, outputs)` is)."""
    from keras.src.models.functional import Functional

    return Functional


@_accessor(lambda: dense_kernel(_sample()[1]) is not None)
def dense_kernel(layer):
    """A `Dense` layer's kernel variable (without the quantisation wrapper)."""
    return layer._kernel


# === Keras: compiled loss and metrics ===


def _probe_compiled_loss():
    model, _ = _sample()
    loss = compiled_loss(model)
    return loss is not None and user_loss_weights(loss) is None


@_accessor(_probe_compiled_loss)
def compiled_loss(model):
    """The `CompileLoss` that `compile` made (`None` before compile)."""
    return getattr(model, "_compile_loss", None)


@_accessor(_probe_compiled_loss)
def user_loss_weights(compile_loss):
    """The `loss_weights` given to `compile` (`None`: none)."""
    return compile_loss._user_loss_weights


@_accessor(lambda: callable(keras.Model._compute_loss))
def compute_loss(model, **kwargs):
    """Keras' own loss computation of a training step (`Trainer._compute_loss`)."""
    return model._compute_loss(**kwargs)


@_accessor(lambda: isinstance(loss_tracker(_sample()[0]), keras.metrics.Mean))
def loss_tracker(model):
    """The `Mean` that reports a model's `loss` in the logs."""
    return model._loss_tracker


# === Keras: optimizers and variables ===


def _probe_adam_slots():
    model, dense = _sample()
    optimizer = model.optimizer
    index = variable_index(optimizer, dense.kernel)
    momentums, velocities = adam_slots(optimizer)
    return tuple(momentums[index].shape) == tuple(dense.kernel.shape) and len(
        velocities
    ) == len(momentums)


@_accessor(_probe_adam_slots)
def variable_index(optimizer, variable):
    """`variable`'s index in `optimizer`'s slot lists."""
    return optimizer._get_variable_index(variable)


@_accessor(_probe_adam_slots)
def adam_slots(optimizer):
    """An `Adam`'s first- and second-moment variables (two lists)."""
    return optimizer._momentums, optimizer._velocities


def _probe_variable_tensor():
    _, dense = _sample()
    return variable_tensor(dense.kernel) is not None


@_accessor(_probe_variable_tensor)
def variable_tensor(variable):
    """The backend tensor behind a Keras variable (`None`: uninitialised)."""
    return getattr(variable, "_value", None)


@_accessor(_probe_variable_tensor)
def set_variable_tensor(variable, tensor):
    """Make `tensor` the backend tensor behind a Keras variable."""
    variable._value = tensor


def _probe_torch_optimizer():
    return is_backend_optimizer(_sample()[0].optimizer)


@_accessor(_probe_torch_optimizer)
def is_backend_optimizer(optimizer):
    """Whether `optimizer` is the backend's own class (not a user subclass)."""
    return type(optimizer).__module__.startswith("keras.src.backend.")


def _probe_retrack():
    layer = keras.layers.LSTM(
        1, kernel_initializer="zeros", recurrent_initializer="zeros", seed=1
    )
    layer.build((None, 1, 1))
    retrack_torch_parameters(layer.cell)
    return True


@_accessor(_probe_retrack)
def retrack_torch_parameters(layer):
    """Register `layer`'s variables with torch again after their tensors changed."""
    if hasattr(layer, "_torch_params"):
        layer._track_variables()


# === Keras: callbacks ===


@_accessor(lambda: is_default_hook(keras.callbacks.Callback().on_train_batch_end))
def is_default_hook(method):
    """Whether a callback method is `keras.callbacks.Callback`'s no-op."""
    return getattr(method, "_is_default", False)


def _probe_async_dispatch():
    callbacks = keras.callbacks.CallbackList([], model=_sample()[0])
    return all(hasattr(callbacks, name) for name in ASYNC_DISPATCH_FLAGS) and hasattr(
        keras.callbacks.CallbackList, "_configure_async_dispatch"
    )


#: `CallbackList`'s switches for its worker thread, per loop.
ASYNC_DISPATCH_FLAGS = ("_async_train", "_async_test", "_async_predict")


@_accessor(_probe_async_dispatch)
def run_batch_hooks_in_caller(callbacks):
    """Make a `CallbackList` call its batch-end hooks in the calling thread."""
    for name in ASYNC_DISPATCH_FLAGS:
        setattr(callbacks, name, False)


# === Keras: the torch backend ===


@_accessor(lambda: torch_device() is not None)
def torch_device():
    """Keras' torch device (where its tensors and logs live), as a string."""
    from keras.src.backend.torch.core import get_device

    return get_device()


@_accessor(lambda: torch_convert_to_tensor(1.0) is not None)
def torch_convert_to_tensor(x, dtype=None):
    """Keras' torch `convert_to_tensor`, without `keras.ops`' dispatch."""
    from keras.src.backend.torch.core import convert_to_tensor

    return convert_to_tensor(x, dtype)


# === torch ===


def _probe_fused_adam():
    return callable(fused_adam()) and "cpu" in fused_kernel_devices()


@_accessor(_probe_fused_adam)
def fused_adam():
    """`torch._fused_adam_`, the kernel of `torch.optim.Adam(fused=True)`."""
    import torch

    return torch._fused_adam_


@_accessor(_probe_fused_adam)
def fused_kernel_devices():
    """The device types torch has fused optimizer kernels for."""
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    return _get_fused_kernels_supported_devices()


@_accessor(lambda: callable(fused_lstm_op()))
def fused_lstm_op():
    """`torch._VF.lstm`, the op behind `torch.nn.LSTM`."""
    import torch

    return torch._VF.lstm


# === Generic, each with its own fallback ===


def keras_object_sharing():
    """Keras' object-sharing state while a `.keras` file loads, or `None`."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a Keras without it has no such scope
        return None
    return global_state


def cpu_features():
    """numpy's run-time CPU feature flags (`{"AVX512F": True, ...}`), or `{}`."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        try:  # numpy < 2
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return dict(__cpu_features__)


# === The gate's check ===

#: The fast torch path's accessors (the torch backend's probes need torch).
ACCESSORS = tuple(_PROBES)


def unresolved():
    """Names of the accessors whose probe fails on the installed versions."""
    failed = []
    for name, probe in _PROBES.items():
        try:
            ok = probe()
        except Exception:
            ok = False
        if not ok:
            failed.append(name)
    return failed
