"""`FastModel`: a functional `keras.Model` with the toolkit's lean torch steps."""

import keras

from keras_seqimage._validation import check_bool
from keras_seqimage.models._torch_batches import fit_arguments, predict_arrays
from keras_seqimage.models._torch_train_step import (
    accepts_exact_shape,
    plan_for,
    torch_predict_step,
    torch_train_step,
)


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
    results), with the toolkit's lean steps on the torch backend, where
    Keras' eager training step spends milliseconds per batch in Python
    around the kernels: `fit` and `predict` call each layer's `call`
    directly (no `Layer.__call__`) when every layer of the graph is one of
    a known list whose `call` needs nothing else (`Dense`, `Reshape`,
    `RepeatVector`, `Add`, the RNN layers, `FastLSTM`, `GaussianBlurLayer`,
    the row-sequence layers), or a nested functional model (such as a
    toolkit model) whose layers are, compute plain `"mse"` with torch's
    fused op,
    run a plain `Adam` as torch's fused kernel, and batch numpy arrays
    without Keras' per-index sampler; each only where it provably gives
    Keras' results, Keras' own code otherwise (see `fast_train_step` and
    `fast_array_batches`). On TensorFlow and JAX, which compile their
    steps, it is a plain `keras.Model`.

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
        fast_train_step: bool, on the torch backend let `fit` skip Keras'
            per-layer `__call__` and compiled-loss Python where that changes
            nothing: the same update, losses and metrics, 9-22 % faster per
            step for source 000's model in the benchmarks. `predict` walks
            the graph the same way (with `training=False`): 1.37x faster at
            Keras' default batch of 32 images in a probe. Set it to `False`
            on a model (before `fit`) for Keras' own steps. Other backends
            compile the steps and ignore it. Defaults to `True`.
        fast_array_batches: bool, on the torch backend let `fit` batch
            numpy `x` and `y` itself: the same batches in the same order
            as Keras' batching, including under
            `keras.utils.set_random_seed`, for about 1 ms less per batch of
            64 CIFAR images, with the callbacks in Keras' list minus the
            batch hooks no callback implements (at `verbose=0`, no worker
            thread woken at every step). Only for float arrays of
            `keras.config.floatx()` without `sample_weight`, `class_weight`
            or `steps_per_epoch`
            (a `validation_split` is split off as Keras does). Likewise
            `predict` on such an array without `steps` or `callbacks`
            runs Keras' loop on slices and copies each batch's output once
            (equal outputs, 1.2x faster for source 000's model with the
            walked `predict_step`). A `keras.utils.PyDataset` `x` (such as
            `datasets.CorruptedPairs`) keeps Keras' batching and gets the
            same callback list. Other calls go to Keras unchanged. Set it
            to `False` for Keras' own batching and callbacks. Defaults to
            `True`.

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
        """`keras.Model.fit`; on torch, numpy arrays batched leaner.

        Same arguments and results as Keras' `fit`; see `fast_array_batches`.
        """
        if keras.backend.backend() == "torch" and self.fast_array_batches:
            args, kwargs = fit_arguments(self, super().fit, args, kwargs)
        return super().fit(*args, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict`; on torch, numpy arrays batched leaner.

        Same arguments and results as Keras' `predict`; see
        `fast_array_batches`.
        """
        if keras.backend.backend() == "torch" and self.fast_array_batches:
            outputs = predict_arrays(self, x, batch_size, verbose, steps, callbacks)
            if outputs is not None:
                return outputs
        return super().predict(
            x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks
        )

    def predict_step(self, *args, **kwargs):
        """Keras' `predict_step`; on torch, the lean step's graph walk.

        The arguments are the backend's (JAX passes a state first).
        """
        if keras.backend.backend() == "torch" and self.fast_train_step:
            outputs = torch_predict_step(self, *args, **kwargs)
            if outputs is not None:
                return outputs
        return super().predict_step(*args, **kwargs)

    def train_step(self, *args, **kwargs):
        """Keras' training step; on torch, the leaner one (`fast_train_step`)."""
        if keras.backend.backend() != "torch" or not self.fast_train_step:
            return super().train_step(*args, **kwargs)
        return torch_train_step(self, *args, plan=plan_for(self), **kwargs)

    def _walk_accepts(self, x):
        """Whether the graph walk may take the batch `x` (a tensor).

        Only a batch of exactly the input's shape (unknown entries aside):
        Keras' own call adjusts other ranks or raises its errors.
        """
        return accepts_exact_shape(self, x)
