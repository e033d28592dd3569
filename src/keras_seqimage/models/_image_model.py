"""Shared base of the image-to-image models: input checks, config and presets."""

from keras_seqimage._validation import (
    check_choice,
    check_finite_values,
    check_float_dtype,
    check_image_input,
    check_size_divisible,
    nan_where_non_finite,
    values_at_hand,
)
from keras_seqimage.models.fast_model import FastModel


class ImageModel(FastModel):
    """Base of the functional image-to-image models (KerasHub backbone pattern).

    A subclass builds its functional graph in `__init__` from checked
    arguments, calls `super().__init__(inputs=..., outputs=..., **kwargs)`, then
    stores every argument on an attribute of the same name and returns them
    from `get_config()`. This base adds to `FastModel` (the lean torch steps,
    `fast_train_step` and `fast_array_batches`):

    - `_check_inputs`, the check of an input batch against the shape the
      model was built for (rank 4, at least one image, height, width and
      channels of `image_shape`, multiples of `size_divisor()`, a float
      dtype) and, where its values are at hand, against NaN and infinity,
      each a house-style `ValueError` naming what was expected and what came.
      It runs on `model(images)` before Keras' `__call__`, on every batch of
      the lean torch steps (`_walk_accepts`), and is what `FastModel`'s
      `fit`, `predict` and `evaluate` run on an array before Keras does;
      `call` (also the body of compiled steps and of `stateless_call`)
      checks the shape part, `_check_input_shape`;
    - the rule for non-finite inputs, which no model turns into a finite
      image: refused where the values can be read (a numpy array or an eager
      tensor), and where they cannot (a step compiled by TensorFlow or JAX
      reading a dataset) `call` returns every image whose input holds a NaN
      or inf as all NaN;
    - `presets`, a dict of named constructor-argument dicts, and
      `from_preset(name, **overrides)`.
    """

    presets = {}

    # `call` is an input check then the functional `call`: `FastModel`'s fast
    # path may walk into the graph after running the check (`_walk_accepts`).
    supports_direct_call = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `__call__` and `call` check inputs themselves, with clearer messages
        # than the functional input spec (which also lets rank 5 through).
        self.input_spec = None

    def __call__(self, *args, **kwargs):
        # Before Keras' `__call__`: the error is ours alone, not wrapped in
        # Keras' "Exception encountered when calling ..." report.
        images = _single_input(args[0] if args else kwargs.get("inputs"))
        if images is not None:
            self._check_inputs(images)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None, **kwargs):
        # Shapes only here (`__call__` read the values, if it could): `call`
        # also runs inside compiled steps, and from `stateless_call`.
        images = _single_input(inputs)
        if images is not None:
            self._check_input_shape(images)
        outputs = super().call(inputs, training=training, mask=mask, **kwargs)
        if images is None:
            return outputs
        return nan_where_non_finite(images, outputs)

    def _walk_accepts(self, x):
        """The lean step's walk takes every batch `_check_inputs` lets through."""
        self._check_inputs(x)
        return True

    def size_divisor(self):
        """Height and width must be multiples of this (pooling models: > 1)."""
        return 1

    def _check_inputs(self, inputs):
        """Raise a `ValueError` for an input batch the model cannot take.

        Cheap enough for every call: `_check_input_shape` reads only
        `inputs.shape` and `inputs.dtype`; the NaN and infinity check runs
        only where `inputs` is a numpy array or an eager tensor, as one
        vectorised sum (the values are counted only when it is not finite).

        Args:
            inputs: a numpy array or a backend tensor (eager or symbolic).
        """
        self._check_input_shape(inputs)
        if values_at_hand(inputs):
            check_finite_values("inputs", inputs, self.__class__.__name__)

    def _check_input_shape(self, inputs):
        """`_check_inputs` without reading values: shape and dtype only.

        Rank 4, at least one image, the height, width and channels of
        `image_shape`, multiples of `size_divisor()`, a float dtype; entries
        unknown in a traced graph are skipped.
        """
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


def _single_input(inputs):
    """The image batch of a call (also as a one-item list), or `None`."""
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    if hasattr(inputs, "shape") and hasattr(inputs, "dtype"):
        return inputs
    return None
