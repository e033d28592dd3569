"""`FastModel`: a functional `keras.Model` with the toolkit's lean torch steps."""

import keras

from keras_seqimage import backend
from keras_seqimage._validation import check_bool


def _bool_attribute(name):
    """A property that defaults to `True` and takes `True` or `False` only.

    The value lives on `_<name>` (a class default until first set), so Keras
    neither tracks nor saves it.
    """
    private = f"_{name}"

    def get(self):
        return getattr(self, private, True)

    def set(self, value):
        setattr(self, private, check_bool(name, value))

    return property(get, set)


def _functional_arguments(inputs, outputs, name=None, **kwargs):
    """`FastModel`'s arguments, bound as `(inputs, outputs, name=None, **kwargs)`."""
    return inputs, outputs, name, kwargs


@keras.saving.register_keras_serializable(package="keras_seqimage")
class FastModel(keras.Model):
    """A functional `keras.Model` that trains and predicts leaner on torch.

    Built like `keras.Model(inputs, outputs)`, and a `keras.Model` in every
    respect (compile, fit, evaluate, predict, `.keras` saving, the same
    results). On the torch backend Keras' eager training step spends much of
    a small model's step in Python around the kernels; there `fit` and
    `predict` take the toolkit's fast path (`keras_seqimage.backend`), which
    does the same work with less of it:

    - each layer's `call` runs directly (no `Layer.__call__`) when every
      layer's `call` needs nothing else: Keras' `Dense`, `Reshape`,
      `RepeatVector`, `Add` and RNN layers, and every layer or model whose
      class declares `supports_direct_call = True` (the toolkit's sequence
      layers, blur, `FastLSTM` and models), nested functional models
      included;
    - a plain `"mse"` loss is torch's fused op, and a plain `Adam` runs as
      torch's fused kernel;
    - numpy arrays are batched without Keras' per-index sampler, and the
      callback list skips batch hooks no callback implements.

    Each shortcut is taken only where it provably gives Keras' results,
    Keras' own code otherwise. The fast path runs only on Keras and torch
    versions CI tests, and can be switched off globally
    (`keras_seqimage.backend.set_fast_path(False)` or
    `KERAS_SEQIMAGE_FAST_PATH=0`) or per model (the attributes below). On
    TensorFlow and JAX, which compile their steps, it is a plain
    `keras.Model`.

    Every model of `keras_seqimage.models` is one; use this class for a
    graph of your own, e.g. the toolkit's layers around a stack of
    `FastLSTM`s. An input batch whose shape does not match the model's
    input exactly goes through Keras' own call (and its errors).

    Args:
        inputs: the model's `keras.Input` (or a list of them).
        outputs: the tensor (or list of tensors) computed from `inputs`.
        name: optional str, the model's name.
        **kwargs: other `keras.Model` keyword arguments, such as
            `trainable`.

    Attributes:
        fast_train_step: bool, on the torch fast path let `fit` and
            `predict` run the layers' `call`s directly, the plain loss and
            the fused Adam update (set it before `fit`). `False` runs
            Keras' own steps. Defaults to `True`.
        fast_array_batches: bool, on the torch fast path let `fit` and
            `predict` batch float numpy arrays of `keras.config.floatx()`
            themselves (the same batches in the same order as Keras',
            including under `keras.utils.set_random_seed`; only without
            `sample_weight`, `class_weight` or `steps_per_epoch`, a
            `validation_split` split off as Keras does), with Keras'
            callback list minus the batch hooks no callback implements. A
            `keras.utils.PyDataset` `x` keeps Keras' batching and gets the
            same callback list. `False` runs Keras' own batching and
            callbacks. Defaults to `True`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_seqimage.layers import (
    ...     FastLSTM, GaussianBlurLayer, ImageToRowSequence, RowSequenceToImage)
    >>> images = keras.Input((8, 8, 3))
    >>> rows = ImageToRowSequence()(GaussianBlurLayer(sigma=1.0)(images))
    >>> rows = FastLSTM(16, return_sequences=True)(rows)
    >>> rows = keras.layers.Dense(24)(rows)
    >>> model = FastModel(images, RowSequenceToImage(width=8, channels=3)(rows))
    >>> model.compile("adam", "mse")
    >>> x = np.random.rand(4, 8, 8, 3).astype("float32")
    >>> history = model.fit(x, x, batch_size=2, epochs=1, verbose=0)
    >>> model.predict(x, verbose=0).shape
    (4, 8, 8, 3)
    """

    fast_train_step = _bool_attribute("fast_train_step")
    fast_array_batches = _bool_attribute("fast_array_batches")

    def __init__(self, *args, **kwargs):
        # `(*args, **kwargs)`, bound to the documented arguments here, so that a
        # `.keras` file holds the graph: Keras' `get_config` writes it only for
        # a subclass whose `__init__` reads, to `inspect`, like
        # `Functional.__init__`, which before Keras 3.15 reads `(*args,
        # **kwargs)` (a decorator); 3.15 takes `(*args, **kwargs)` as well.
        inputs, outputs, name, kwargs = _functional_arguments(*args, **kwargs)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`; on the torch fast path, numpy arrays batched leaner.

        Same arguments and results as Keras' `fit`; see `fast_array_batches`.
        """
        self._check_call_data(*_fit_data(args, kwargs))
        fast = backend.fast_path()
        if fast is not None and self.fast_array_batches:
            args, kwargs = fast.fit_arguments(self, super().fit, args, kwargs)
        with backend.loop_guard(self):
            return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        """`keras.Model.evaluate`, after the model's input checks."""
        self._check_call_data(_first_argument(args, kwargs, "x"))
        with backend.loop_guard(self):
            return super().evaluate(*args, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict`; on the torch fast path, numpy arrays batched leaner.

        Same arguments and results as Keras' `predict`; see
        `fast_array_batches`.
        """
        self._check_call_data(x)
        fast = backend.fast_path()
        if fast is not None and self.fast_array_batches:
            outputs = fast.predict_arrays(
                self, x, batch_size, verbose, steps, callbacks
            )
            if outputs is not None:
                return outputs
        with backend.loop_guard(self):
            return super().predict(
                x,
                batch_size=batch_size,
                verbose=verbose,
                steps=steps,
                callbacks=callbacks,
            )

    def predict_step(self, *args, **kwargs):
        """Keras' `predict_step`; on the torch fast path, the graph walk.

        The arguments are the backend's (JAX passes a state first).
        """
        fast = backend.fast_path()
        if fast is not None and self.fast_train_step:
            outputs = fast.predict_step(self, *args, **kwargs)
            if outputs is not None:
                return outputs
        return super().predict_step(*args, **kwargs)

    def train_step(self, *args, **kwargs):
        """Keras' training step; on the torch fast path, the leaner one."""
        fast = backend.fast_path()
        if fast is None or not self.fast_train_step:
            return super().train_step(*args, **kwargs)
        return fast.train_step(self, *args, **kwargs)

    def _check_call_data(self, *arrays):
        """Check each array-like input batch before Keras' loops start.

        A refusal then leaves the model as it was: Keras' JAX loops, for one,
        take the variables out of the model before the loop and put them back
        only when it ends (`backend.loop_guard` repairs that for errors raised
        inside a loop). Subclasses check a batch in `_check_inputs`;
        datasets and generators are checked batch by batch in `call`.
        """
        check = getattr(self, "_check_inputs", None)
        if check is None:
            return
        for x in arrays:
            if (
                hasattr(x, "shape")
                and hasattr(x, "dtype")
                and not isinstance(x, keras.KerasTensor)
            ):
                check(x)

    def _walk_accepts(self, x):
        """Whether the graph walk may take the batch `x` (a tensor).

        Only a batch of exactly the input's shape (unknown entries aside):
        Keras' own call adjusts other ranks or raises its errors.
        """
        expected = tuple(self.inputs[0].shape)
        return len(x.shape) == len(expected) and all(
            want is None or want == got
            for want, got in zip(expected, x.shape, strict=True)
        )


def _first_argument(args, kwargs, name):
    return args[0] if args else kwargs.get(name)


def _fit_data(args, kwargs):
    """The input batches of a `fit` call: `x` and the validation inputs."""
    x = _first_argument(args, kwargs, "x")
    validation = kwargs.get("validation_data")
    if validation is None and len(args) > 7:
        validation = args[7]
    if isinstance(validation, (tuple, list)) and validation:
        return x, validation[0]
    return (x,)
