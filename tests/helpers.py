"""Test helpers shared by the layer and model tests."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np


def noisy_pairs(shape, seed=0, count=24):
    """`count` random images of `shape` and noisy targets in `[0, 1]`: `(x, y)`."""
    rng = np.random.default_rng(seed)
    x = rng.random((count, *shape), dtype="float32")
    y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1).astype("float32")
    return x, y


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


def assert_file_passes_on_torch(test_file):
    """Run the pytest file `test_file` on the torch backend in a subprocess.

    For code that only exists on torch (the fused LSTM kernel, the lean
    training step), so that the TensorFlow and JAX runs check it too.
    """
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(Path(test_file).resolve().relative_to(root)),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
