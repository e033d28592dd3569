"""Shared base of the image-to-image models: input checks, config and presets."""

from keras_seqimage._validation import (
    check_choice,
    check_float_dtype,
    check_image_input,
    check_size_divisible,
)
from keras_seqimage.models.fast_model import FastModel


class ImageModel(FastModel):
    """Base of the functional image-to-image models (KerasHub backbone pattern).

    A subclass builds its functional graph in `__init__` from checked
    arguments, calls `super().__init__(inputs=..., outputs=..., **kwargs)`, then
    stores every argument on an attribute of the same name and returns them
    from `get_config()`. This base adds to `FastModel` (the lean torch steps,
    `fast_train_step` and `fast_array_batches`):

    - a check of every input batch against `image_shape` (rank 4, known
      height, width and channels equal, float dtype), raised as a house-style
      `ValueError` before the graph runs;
    - `presets`, a dict of named constructor-argument dicts, and
      `from_preset(name, **overrides)`.
    """

    presets = {}

    # `call` is an input check then the functional `call`: `FastModel`'s fast
    # path may walk into the graph after running the check (`_walk_accepts`).
    supports_direct_call = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `call` checks inputs itself, with a clearer message than the
        # functional input spec (which also lets a rank-5 input through).
        self.input_spec = None

    def call(self, inputs, training=None, mask=None, **kwargs):
        if hasattr(inputs, "shape") and hasattr(inputs, "dtype"):
            self._check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask, **kwargs)

    def _walk_accepts(self, x):
        """The lean step's walk takes every batch `_check_inputs` lets through."""
        self._check_inputs(x)
        return True

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
