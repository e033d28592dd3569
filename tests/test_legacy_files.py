"""`.keras` files saved by release 0.1.0 (before the backend package) still load.

`tests/data/legacy/` holds small models of every family, saved on TensorFlow by
`tests/data/legacy/make_legacy.py` at commit f098de7, each with a batch of
inputs and the outputs the model gave then. Loading needs no custom objects
(the classes are registered) and gives the same outputs on every backend.
"""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_seqimage  # noqa: F401  (registers the classes)

LEGACY = Path(__file__).parent / "data" / "legacy"
NAMES = sorted(path.stem for path in LEGACY.glob("*.keras"))


def test_every_model_family_has_a_legacy_file():
    expected = {*keras_seqimage.models.MODELS, "fast_model"}
    assert set(NAMES) == expected


def _minor(version):
    return tuple(int(part) for part in version.split(".")[:2])


@pytest.mark.parametrize("name", NAMES)
def test_a_file_saved_before_the_move_loads_and_predicts_the_same(name):
    path = LEGACY / f"{name}.keras"
    with zipfile.ZipFile(path) as archive:
        saved_by = json.loads(archive.read("metadata.json"))["keras_version"]
    if _minor(keras.__version__) < _minor(saved_by):
        # Keras reads files of its own release and older ones, not newer ones.
        pytest.skip(f"saved by Keras {saved_by}, newer than {keras.__version__}")
    model = keras.saving.load_model(path)
    saved = np.load(LEGACY / f"{name}.npz")
    outputs = keras.ops.convert_to_numpy(model(saved["x"]))
    np.testing.assert_allclose(outputs, saved["y"], atol=2e-5, rtol=0)
    assert type(model).__module__.startswith(("keras_seqimage.", "keras."))
