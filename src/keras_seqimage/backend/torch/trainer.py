"""`FastModel`'s leaner training and predict steps on the torch backend.

Keras' torch training step spends a few milliseconds per batch in Python
around the kernels: every layer's `Layer.__call__` (call context, autocast,
masks, input checks) and the compiled loss (`CompileLoss`, `Loss.__call__`),
a large share of the step for the small recurrent models of this toolkit
(`docs/performance.md`). `torch_train_step` is the same step, with the same
optimizer update, loss tracker and metrics, minus that Python, where it
provably changes nothing:

- forward: the functional graph is walked calling each layer's `call`
  directly, when every layer is one whose `call` does all its work given an
  explicit `training`: one of Keras' layers in `KERAS_DIRECT_CALL_LAYERS`, a
  layer whose class declares `supports_direct_call = True` where it defines
  `call` (`declares_direct_call`), or a nested functional model walkable in
  turn (walked into: its layers' `call`s, after the input check its own
  `call` would run: `_walk_accepts`), all in the input's float dtype
  (nothing for autocast to do), with no activity regulariser; the walk is
  planned once per model (`GraphStep`s) rather than looked up from the
  graph's nodes at every step; a plain `Dense` runs as torch's own `matmul`
  and `add` (`NATIVE_CALLS`, bit-identical); `predict_step` walks it too,
  with `training=False` (`torch_predict_step`);
- loss: torch's `mse_loss` (mean of squared differences, one fused op each
  way), when the compiled loss is plain mean squared error (no loss weights,
  no sample weights, no regularisation losses), which is what Keras'
  `"mse"` computes;
- loss tracker: Keras' `Mean.update_state(loss, sample_weight=batch)` is
  `total += loss * batch; count += batch`, done so in place;
- update: Keras' Adam (no clipping, weight decay, EMA, gradient accumulation,
  loss scaling or AMSGrad; no constrained variables) as one call of torch's
  fused Adam kernel (`torch._fused_adam_`, the kernel of
  `torch.optim.Adam(fused=True)`, called without the optimizer's Python) on
  the Keras variables and Keras' own moment slots, with its epsilon moved
  inside the bias correction so the update is Keras' formula, not torch's;
  the kernel's tensor lists are made once per plan and kept while the
  variables and slots hold the same torch tensors (`_AdamTensors`);
- otherwise that part runs Keras' own code.

`FastModel.train_step` (every model of the toolkit) calls it on the torch
backend, when the gate lets the fast path run (`keras_seqimage.backend`),
unless the model's `fast_train_step` attribute is `False`. Tests check that
both paths give the same losses and weights.
"""

import warnings
from dataclasses import dataclass, field

import keras
import torch

from keras_seqimage.backend import compat
from keras_seqimage.backend.generic import KERAS_OPS
from keras_seqimage.backend.torch.layout import set_memory_layout
from keras_seqimage.backend.torch.native import native_ops

# Keras' layer types (exact: a subclass may override `call`) whose `call`
# needs nothing from `Layer.__call__` but an explicit `training`: no sublayer
# called through the call context, no mask, no `add_loss`. The RNN layers
# pass `training` to their cell themselves. The toolkit's own layers declare
# it instead (`declares_direct_call`).
KERAS_DIRECT_CALL_LAYERS = (
    keras.layers.Dense,
    keras.layers.Reshape,
    keras.layers.RepeatVector,
    keras.layers.Add,
    keras.layers.LSTM,
    keras.layers.GRU,
    keras.layers.SimpleRNN,
)
MSE_NAMES = ("mse", "mean_squared_error", "MeanSquaredError")


@dataclass(frozen=True)
class GraphStep:
    """One layer call of a planned graph walk: tensors are named by `id`."""

    layer: object
    inputs: tuple  # ids of the positional tensor arguments, in order
    as_list: bool  # the layer takes them as one list (`Add`)
    kwargs: dict  # the node's other arguments but `training`
    takes_training: bool  # `call` takes `training` (passed at each walk)
    outputs: tuple  # ids of the output tensors
    # A nested functional model's own planned walk (`None`: call `layer.call`).
    walk: tuple = None
    # `fn(layer, *tensors)` run instead of `layer.call` (`NATIVE_CALLS`).
    native_call: object = None


@dataclass(frozen=True)
class TrainStepPlan:
    """What of Keras' step `torch_train_step` may replace, for one compile."""

    walk_graph: bool
    plain_mse: bool
    fused_adam: bool
    # The walk planned once (`None`: walk Keras' nodes at each step).
    graph: tuple = field(default=None, compare=False, repr=False)
    # What it was made for: `compile` makes a new optimizer or compiled loss.
    optimizer: object = field(default=None, compare=False, repr=False)
    compile_loss: object = field(default=None, compare=False, repr=False)
    # `_fused_adam_update`'s tensors, kept from step to step.
    adam_tensors: dict = field(default_factory=dict, compare=False, repr=False)


def declares_direct_call(layer):
    """Whether `layer`'s `call` may run without `Layer.__call__`.

    True for Keras' layers in `KERAS_DIRECT_CALL_LAYERS` (exact types), and
    for a layer whose class that defines `call` also sets
    `supports_direct_call = True` (a subclass that overrides `call` must
    declare it again).
    """
    cls = type(layer)
    if cls in KERAS_DIRECT_CALL_LAYERS:
        return True
    for klass in cls.__mro__:
        if "call" in vars(klass):
            return vars(klass).get("supports_direct_call", False) is True
    return False


def plan_for(model):
    """`model`'s plan, made again when `model` was compiled since."""
    plan = getattr(model, "_train_step_plan", None)
    if (
        plan is None
        or plan.optimizer is not model.optimizer
        or plan.compile_loss is not compat.compiled_loss(model)
    ):
        plan = make_plan(model)
        model._train_step_plan = plan
    return plan


def make_plan(model):
    """The `TrainStepPlan` for `model` as compiled now."""
    layers = list(compat.flatten_layers(model))
    walk_graph = _walkable(model)
    regularised = any(
        getattr(v, "regularizer", None) is not None for v in model.weights
    ) or any(layer.activity_regularizer is not None for layer in layers)
    compile_loss = compat.compiled_loss(model)
    plain_mse = (
        _is_plain_mse(model.loss)
        and compile_loss is not None
        and compat.user_loss_weights(compile_loss) is None
        and not regularised
        and type(model).compute_loss is keras.Model.compute_loss
    )
    return TrainStepPlan(
        walk_graph=walk_graph,
        plain_mse=plain_mse,
        fused_adam=_is_plain_adam(model),
        graph=_planned_walk(model) if walk_graph else None,
        optimizer=model.optimizer,
        compile_loss=compile_loss,
    )


def torch_train_step(model, data, plan):
    """One training step: Keras' torch `train_step` with `plan`'s shortcuts."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    same_dtype = getattr(x, "dtype", None) == getattr(torch, model.compute_dtype)
    if plan.walk_graph and same_dtype and model._walk_accepts(x):
        y_pred = _walk_graph(model, x, plan.graph)
    else:
        y_pred = model(x, training=True)
    model.zero_grad()
    floatx = getattr(torch, keras.config.floatx())
    if (
        plan.plain_mse
        and sample_weight is None
        and isinstance(y, torch.Tensor)
        # Keras' losses compute in floatx whatever the prediction's dtype.
        and y.dtype == y_pred.dtype == floatx
        and y.shape == y_pred.shape
    ):
        loss = torch.nn.functional.mse_loss(y_pred, y)
    else:
        loss = compat.compute_loss(
            model, x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
    _track_loss(compat.loss_tracker(model), loss, x.shape[0])
    loss = model.optimizer.scale_loss(loss)
    trainable_weights = model.trainable_weights[:]
    if trainable_weights:
        loss.backward()
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            optimizer = model.optimizer
            fused = (
                plan.fused_adam
                and optimizer.built
                and not any(g is None for g in gradients)
                and _fused_adam_update(
                    optimizer, gradients, trainable_weights, plan.adam_tensors
                )
            )
            if not fused:
                optimizer.apply(gradients, trainable_weights)
    else:
        warnings.warn("The model does not have any trainable weights.", stacklevel=2)
    return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def _fused_adam_update(optimizer, gradients, variables, cache=None):
    """`optimizer.apply` of a plain Keras `Adam`, in torch's fused kernel.

    Keras: `p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`;
    torch: `p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps')`:
    the same update for `eps' = eps / sqrt(1 - b2^t)`.

    The four tensors of a variable (value, gradient, two moments) must share
    one memory order: torch's kernel pairs elements by memory position when
    they do not. So a moment slot gets its variable's order first (see
    `_AdamTensors`); returns `False`, having changed nothing, when a
    gradient's order differs from its variable's. `cache` (a dict, the
    plan's) keeps the `_AdamTensors` from step to step.
    """
    tensors = cache.get("adam") if cache is not None else None
    if tensors is not None and not tensors.made_for(optimizer, variables):
        tensors = None
    values = tensors.values if tensors else [v.value for v in variables]
    if any(g.stride() != p.stride() for g, p in zip(gradients, values, strict=True)):
        return False
    if tensors is None:
        tensors = _AdamTensors.make(optimizer, variables)
        if cache is not None:
            cache["adam"] = tensors
    gradients = [
        g.T if transposed else g
        for g, transposed in zip(gradients, tensors.transposed, strict=True)
    ]
    iterations = optimizer.iterations.value
    step = int(iterations) + 1
    learning_rate = optimizer.learning_rate
    if isinstance(learning_rate, keras.Variable):
        # What its `__torch_function__` would hand the kernel.
        learning_rate = learning_rate.value
    elif isinstance(learning_rate, torch.Tensor):  # a schedule's value
        learning_rate = float(learning_rate)
    beta_1, beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
    # The kernel reads the step count (the number of this update) from here.
    state_step = torch.tensor(float(step), device=tensors.params[0].device)
    compat.fused_adam()(
        tensors.params,
        gradients,
        tensors.momentums,
        tensors.velocities,
        [],  # max_exp_avg_sqs: no AMSGrad
        [state_step] * len(gradients),
        lr=learning_rate,
        beta1=beta_1,
        beta2=beta_2,
        weight_decay=0.0,
        eps=float(optimizer.epsilon) / (1.0 - beta_2**step) ** 0.5,
        amsgrad=False,
        maximize=False,
    )
    iterations.add_(1)  # `optimizer.iterations.assign_add(1)`, in place
    return True


@dataclass(frozen=True)
class _AdamTensors:
    """The fused kernel's tensors for a Keras `Adam` and its variables.

    A moment slot first gets its variable's memory order (Keras' orthogonal
    initialiser stores a square recurrent kernel transposed, and creates the
    slots contiguous). Transposed 2-D tensors go in as their (contiguous)
    transposes, which the elementwise update does not mind and which spares
    the kernel a copy of each. Made once, used while the same variables and
    slots hold the same torch tensors (`made_for`).
    """

    optimizer: object
    variables: tuple
    values: tuple  # the variables' torch tensors
    indices: tuple  # the variables' indices in the optimizer's slot lists
    momentum_values: tuple  # their moments' torch tensors
    velocity_values: tuple
    transposed: tuple  # per variable: passed to the kernel as its transpose
    params: list
    momentums: list
    velocities: list

    @classmethod
    def make(cls, optimizer, variables):
        indices = tuple(compat.variable_index(optimizer, v) for v in variables)
        values, transposed = [], []
        moments = {"momentums": [], "velocities": []}
        slots = dict(zip(moments, compat.adam_slots(optimizer), strict=True))
        for variable, index in zip(variables, indices, strict=True):
            value = variable.value
            for name, moment_values in moments.items():
                slot = slots[name][index]
                set_memory_layout(slot, value.stride())
                moment_values.append(slot.value)
            values.append(value)
            transposed.append(
                value.ndim == 2
                and not value.is_contiguous()
                and value.T.is_contiguous()
            )

        def kernel_order(tensors):
            pairs = zip(tensors, transposed, strict=True)
            return [tensor.T if flip else tensor for tensor, flip in pairs]

        return cls(
            optimizer,
            tuple(variables),
            tuple(values),
            indices,
            tuple(moments["momentums"]),
            tuple(moments["velocities"]),
            tuple(transposed),
            kernel_order(values),
            kernel_order(moments["momentums"]),
            kernel_order(moments["velocities"]),
        )

    def made_for(self, optimizer, variables):
        """Whether these are still `optimizer`'s tensors for `variables`."""
        if optimizer is not self.optimizer or len(variables) != len(self.variables):
            return False
        momentums, velocities = compat.adam_slots(optimizer)
        tensor = compat.variable_tensor
        return all(
            variable is known
            and tensor(variable) is value
            and tensor(momentums[index]) is momentum
            and tensor(velocities[index]) is velocity
            for variable, known, value, index, momentum, velocity in zip(
                variables,
                self.variables,
                self.values,
                self.indices,
                self.momentum_values,
                self.velocity_values,
                strict=True,
            )
        )


def _is_plain_adam(model):
    """Whether the model's optimizer is Keras' Adam with nothing added."""
    optimizer = model.optimizer
    return (
        isinstance(optimizer, keras.optimizers.Adam)
        and compat.is_backend_optimizer(optimizer)
        and not optimizer.amsgrad
        and optimizer.weight_decay is None
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
        and optimizer.global_clipnorm is None
        and not optimizer.use_ema
        and not optimizer.gradient_accumulation_steps
        and optimizer.loss_scale_factor is None
        and not any(
            v.constraint is not None or getattr(v, "overwrite_with_gradient", False)
            for v in model.trainable_weights
        )
        and _fused_kernels_run_on(model.trainable_weights)
    )


def _fused_kernels_run_on(variables):
    """Whether torch has a fused Adam kernel for these variables' one device."""
    devices = {v.value.device for v in variables}
    return len(devices) == 1 and devices.pop().type in compat.fused_kernel_devices()


def _graph_layers(model):
    """The layers of the model's own functional graph (not nested ones)."""
    return [
        node.operation
        for nodes in compat.nodes_by_depth(model).values()
        for node in nodes
        if node.operation is not None and not node.is_input
    ]


def torch_predict_step(model, data):
    """Keras' `predict_step` as the planned walk, or `None`: not walkable.

    The same conditions as the training step's walk; `training=False`.
    """
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    if not (
        isinstance(x, torch.Tensor)
        and x.dtype == getattr(torch, model.compute_dtype)
        and _walkable(model)
    ):
        return None
    graph = _planned_walk(model)
    if graph is None or not model._walk_accepts(x):
        return None
    return _run_planned(graph, x, id(model.inputs[0]), id(model.outputs[0]), False)


def _walkable(model):
    """Whether every layer's `call` may run without `Layer.__call__`."""
    dtype = model.compute_dtype
    return (
        len(model.inputs) == 1
        and len(model.outputs) == 1
        and all(
            (_is_layer_step(layer) or _walkable_nested(layer))
            # One dtype for inputs, weights and compute: nothing to autocast.
            and layer.compute_dtype == layer.variable_dtype == dtype
            and layer.activity_regularizer is None
            for layer in _graph_layers(model)
        )
    )


def _walkable_nested(layer):
    """Whether `layer` is a functional model the walk may go into.

    Its `call` must be Keras' functional `call`, or one whose class declares
    `supports_direct_call` (`ImageModel`'s: an input check, run by the walk
    as `_walk_accepts`, then the functional `call`), and its own graph
    walkable.
    """
    functional = compat.functional_class()
    return (
        isinstance(layer, functional)
        and (type(layer).call is functional.call or declares_direct_call(layer))
        and _walkable(layer)
    )


def accepts_exact_shape(model, x):
    """Whether `x` has exactly the shape of `model`'s input (`None`: any)."""
    expected = tuple(model.inputs[0].shape)
    return len(x.shape) == len(expected) and all(
        want is None or want == got for want, got in zip(expected, x.shape, strict=True)
    )


@dataclass(frozen=True)
class _PlannedWalk:
    """A model's cached `_plan_graph` (a dataclass: no container to track)."""

    graph: tuple


def _planned_walk(model):
    """`_plan_graph(model)`, made once per model (its graph is fixed)."""
    cached = getattr(model, "_planned_walk_cache", None)
    if cached is None:
        cached = model._planned_walk_cache = _PlannedWalk(_plan_graph(model))
    return cached.graph


def _plan_graph(model):
    """`GraphStep`s in `Function._run_through_graph`'s order, or `None`.

    `None` where a node's positional arguments are anything but tensors (or
    one list of them), or its keyword arguments hold a tensor: those walk
    Keras' nodes.
    """
    available = {id(tensor) for tensor in model.inputs}
    graph = []
    nodes_by_depth = compat.nodes_by_depth(model)
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            args, kwargs = compat.node_call_arguments(node)
            as_list = len(args) == 1 and isinstance(args[0], (list, tuple))
            tensors = args[0] if as_list else args
            if not all(isinstance(t, keras.KerasTensor) for t in tensors) or any(
                isinstance(value, keras.KerasTensor)
                for value in keras.tree.flatten(kwargs)
            ):
                return None
            inputs = tuple(id(tensor) for tensor in tensors)
            if not available.issuperset(inputs):
                continue  # as `_run_through_graph`: not computable, skipped
            layer = node.operation
            takes_training = compat.call_has_training_arg(layer)
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
            outputs = tuple(id(tensor) for tensor in node.outputs)
            walk = None
            if not _is_layer_step(layer):  # a nested model
                # Keras records its call with `mask=None`: no mask to apply.
                walk = _planned_walk(layer)
                plain_call = kwargs in ({}, {"mask": None}) and not as_list
                if walk is None or not plain_call or len(inputs) != 1:
                    return None
                kwargs = {}
            native_call = None if as_list or kwargs else NATIVE_CALLS.get(type(layer))
            graph.append(
                GraphStep(
                    layer,
                    inputs,
                    as_list,
                    kwargs,
                    takes_training,
                    outputs,
                    walk,
                    native_call,
                )
            )
            available.update(outputs)
    return tuple(graph) if id(model.outputs[0]) in available else None


def _is_layer_step(layer):
    """A layer the walk calls itself (not a functional model it walks into)."""
    return declares_direct_call(layer) and not isinstance(
        layer, compat.functional_class()
    )


def _walk_graph(model, x, graph=None):
    """The model's functional graph, each layer's `call` run directly."""
    if graph is not None:
        return _run_planned(graph, x, id(model.inputs[0]), id(model.outputs[0]), True)

    def direct_call(layer):
        if not compat.call_has_training_arg(layer):
            return layer.call
        return lambda *args, **kwargs: layer.call(*args, **{**kwargs, "training": True})

    return compat.run_through_graph(model, x, direct_call)


def _run_planned(graph, x, input_id, output_id, training):
    tensors = {input_id: x}
    for step in graph:
        args = [tensors[i] for i in step.inputs]
        if step.as_list:
            args = [args]
        if step.walk is not None:
            outputs = _run_nested(step.layer, step.walk, args[0], training)
        elif step.native_call is not None:
            outputs = step.native_call(step.layer, *args)
        elif step.takes_training:
            outputs = step.layer.call(*args, **step.kwargs, training=training)
        else:
            outputs = step.layer.call(*args, **step.kwargs)
        if len(step.outputs) == 1:
            tensors[step.outputs[0]] = outputs
        else:
            tensors.update(zip(step.outputs, keras.tree.flatten(outputs), strict=True))
    return tensors[output_id]


def _run_nested(model, graph, x, training):
    """A nested model's planned walk, or its `__call__` for a batch it declines."""
    walk_accepts = getattr(model, "_walk_accepts", None)
    if walk_accepts(x) if walk_accepts else accepts_exact_shape(model, x):
        return _run_planned(
            graph, x, id(model.inputs[0]), id(model.outputs[0]), training
        )
    return model(x, training=training)


def _dense_call(layer, inputs):
    """`keras.layers.Dense.call` in torch's own ops where `native_ops` allows.

    Keras' `call` is `matmul(inputs, kernel)`, `add(x, bias)`, `activation`:
    this runs the same torch ops on the variables' values (bit-identical),
    without `keras.ops`' dispatch or the `kernel` property's quantisation
    checks. A LoRA or quantised layer, and any tensor `native_ops` leaves
    to `keras.ops`, runs `Dense.call` itself (checked at each call: LoRA can
    be enabled after the walk is planned).
    """
    xp = native_ops(inputs)
    if xp is KERAS_OPS or layer.lora_enabled or layer.quantization_mode is not None:
        return layer.call(inputs)
    x = xp.matmul(inputs, compat.dense_kernel(layer).value)
    if layer.bias is not None:
        x = xp.add(x, layer.bias.value)
    if layer.activation is not None:
        x = layer.activation(x)
    return x


# Layer types whose call the walk runs as `fn(layer, *tensors)`.
NATIVE_CALLS = {keras.layers.Dense: _dense_call}


def _track_loss(tracker, loss, batch_size):
    """`tracker.update_state(loss, sample_weight=batch_size)`, less Python.

    For Keras' `Mean` and a scalar loss of its dtype, that update is
    `total = total + loss * batch_size; count = count + batch_size` in its
    dtype: the same operations, in place. Anything else: Keras' update.
    """
    if (
        type(tracker) is not keras.metrics.Mean
        or loss.ndim != 0
        or not (loss.dtype == tracker.total.value.dtype == tracker.count.value.dtype)
    ):
        tracker.update_state(loss, sample_weight=batch_size)
        return
    with torch.no_grad():
        tracker.total.value.add_(loss * batch_size)
        tracker.count.value.add_(batch_size)


def _is_plain_mse(loss):
    if isinstance(loss, str):
        return loss in MSE_NAMES
    if loss is keras.losses.mean_squared_error:
        return True
    return (
        type(loss) is keras.losses.MeanSquaredError
        and loss.reduction == "sum_over_batch_size"
    )
