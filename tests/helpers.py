"""Test helpers shared by the layer and model tests."""

import keras
import numpy as np


def assert_saving_round_trip(model, inputs, tmp_path, atol=1e-6):
    """Save `model` to .keras, load it back without custom objects, compare.

    Checks the class comes back and predictions are equal. Returns the loaded
    model.
    """
    path = tmp_path / "model.keras"
    expected = keras.ops.convert_to_numpy(model(inputs))
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model), (type(loaded), type(model))
    actual = keras.ops.convert_to_numpy(loaded(inputs))
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=0)
    return loaded


def assert_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    return clone
