"""Shared base of the image-to-image models: input checks, config and presets."""

import keras

from keras_seqimage._validation import (
    check_bool,
    check_choice,
    check_float_dtype,
    check_image_input,
    check_size_divisible,
)
from keras_seqimage.models._torch_batches import fit_arguments, predict_arrays
from keras_seqimage.models._torch_train_step import (
    plan_for,
    torch_predict_step,
    torch_train_step,
)


class ImageModel(keras.Model):
    """Base of the functional image-to-image models (KerasHub backbone pattern).

    A subclass builds its functional graph in `__init__` from checked
    arguments, calls `super().__init__(inputs=..., outputs=..., **kwargs)`, then
    stores every argument on an attribute of the same name and returns them
    from `get_config()`. This base adds:

    - a check of every input batch against `image_shape` (rank 4, known
      height, width and channels equal, float dtype), raised as a house-style
      `ValueError` before the graph runs;
    - `presets`, a dict of named constructor-argument dicts, and
      `from_preset(name, **overrides)`;
    - on the torch backend, a leaner `fit` step (`fast_train_step`) and
      leaner batching of numpy arrays in `fit` and `predict`
      (`fast_array_batches`).

    Attributes:
        fast_train_step: bool, on the torch backend let `fit` skip Keras'
            per-layer `__call__` and compiled-loss Python where that changes
            nothing (see `_torch_train_step`): the same update, losses and
            metrics, 9-22 % faster per step for source 000's model in the
            benchmarks. `predict` walks the graph the same way (with
            `training=False`): 1.37x faster at Keras' default batch of 32
            images in a probe. Set it to `False` on a model (before `fit`)
            for Keras' own steps. Other backends compile the steps and
            ignore it. Defaults to `True`.
        fast_array_batches: bool, on the torch backend let `fit` batch
            numpy `x` and `y` itself (see `_torch_batches`): the same
            batches in the same order as Keras' batching, including under
            `keras.utils.set_random_seed`, for about 1 ms less per batch of
            64 CIFAR images. Only for float arrays of `keras.config.floatx()`
            without `sample_weight`, `class_weight` or `steps_per_epoch`
            (a `validation_split` is split off as Keras does). Likewise
            `predict` on such an array without `steps` or `callbacks`
            runs Keras' loop on slices and copies each batch's output once
            (equal outputs, 1.2x faster for source 000's model with the
            walked `predict_step`, see `fast_train_step`).
            Other calls go to Keras unchanged. Set it to `False` for
            Keras' own batching. Defaults to `True`.
    """

    presets = {}
    _fast_train_step = True
    _fast_array_batches = True

    @property
    def fast_train_step(self):
        return self._fast_train_step

    @fast_train_step.setter
    def fast_train_step(self, value):
        self._fast_train_step = check_bool("fast_train_step", value)

    @property
    def fast_array_batches(self):
        return self._fast_array_batches

    @fast_array_batches.setter
    def fast_array_batches(self, value):
        self._fast_array_batches = check_bool("fast_array_batches", value)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `call` checks inputs itself, with a clearer message than the
        # functional input spec (which also lets a rank-5 input through).
        self.input_spec = None

    def call(self, inputs, training=None, mask=None, **kwargs):
        if hasattr(inputs, "shape") and hasattr(inputs, "dtype"):
            self._check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask, **kwargs)

    def fit(self, *args, **kwargs):
        """`keras.Model.fit`; on torch, numpy arrays batched leaner.

        Same arguments and results as Keras' `fit`; see `fast_array_batches`.
        """
        if keras.backend.backend() == "torch" and self.fast_array_batches:
            args, kwargs = fit_arguments(super().fit, args, kwargs)
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

    def size_divisor(self):
        """Height and width must be multiples of this (pooling models: > 1)."""
        return 1

    def _check_inputs(self, inputs):
        """Raise a `ValueError` for an input batch the model cannot take."""
        name = self.__class__.__name__
        check_image_input("inputs", inputs.shape, self.image_shape, name)
        check_float_dtype("inputs", inputs.dtype, name)
        check_size_divisible("inputs", inputs.shape, self.size_divisor(), "", name)

    @classmethod
    def from_preset(cls, preset: str, **overrides):
        """Build the model of a named preset; keyword arguments override it.

        Args:
            preset: str, a key of `presets`.
            **overrides: constructor arguments that replace the preset's.
        """
        check_choice("preset", preset, cls.presets)
        return cls(**{**cls.presets[preset], **overrides})

    def get_config(self):
        # Constructor arguments only, not the layer graph: `from_config` calls
        # `cls(**config)` and rebuilds the graph.
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
