"""The package as users get it: version, type marker, metadata, a cheap import.

With `KERAS_SEQIMAGE_TEST_INSTALLED=1` (set by `make test-installed`, which runs a
copy of these tests against the wheel installed in a fresh venv) the tests also
check that the package under test is the installed one, not a checkout's `src/`.
"""

import importlib.metadata
import importlib.resources
import inspect
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import keras
import pytest

import keras_seqimage

DIST = "keras-seqimage"
INSTALLED = os.environ.get("KERAS_SEQIMAGE_TEST_INSTALLED") == "1"
# Set by `make test-min`, which installs the releases pinned in MIN_VERSIONS.
MIN_VERSIONS_RUN = os.environ.get("KERAS_SEQIMAGE_TEST_MIN") == "1"
ROOT = Path(__file__).resolve().parents[1]
MIN_VERSIONS = ROOT / ".ci" / "min-versions.txt"
# The dependencies whose floors `make test-min` tests (torch: the `torch` extra's).
FLOORED = {"keras", "tensorflow", "numpy", "scipy", "torch"}
# Top-level modules `import keras_seqimage` may add to those `import keras` loaded.
ALLOWED_AT_IMPORT = {"keras_seqimage", "numpy", "scipy"}


def test_version_is_the_installed_metadata():
    assert re.fullmatch(
        r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", keras_seqimage.__version__
    )
    assert importlib.metadata.version(DIST) == keras_seqimage.__version__


def test_py_typed_marker_is_shipped():
    marker = importlib.resources.files("keras_seqimage").joinpath("py.typed")
    assert marker.is_file()


def test_metadata_license_and_urls():
    meta = importlib.metadata.metadata(DIST)
    assert meta["License-Expression"] == "Apache-2.0"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Repository", "Issues"} <= set(urls)
    assert "Typing :: Typed" in meta.get_all("Classifier")


def test_public_names_exist():
    for name in keras_seqimage.__all__:
        assert hasattr(keras_seqimage, name), name
    for sub in (keras_seqimage.layers, keras_seqimage.models):
        for name in sub.__all__:
            assert getattr(keras_seqimage, name) is getattr(sub, name)


# The constructors and functions annotated for `py.typed`: every parameter but
# `self`, `*args` and `**kwargs` carries a hint.
ANNOTATED = [
    "layers.GaussianBlurLayer",
    "layers.ImageToRowSequence",
    "layers.RowSequenceToImage",
    "layers.RowOcclusion",
    "layers.SaltAndPepperNoise",
    "layers.AdditiveGaussianNoise",
    "layers.DirectAttentionLSTMDecoder",
    "models.CNNLSTMDirectAttention",
    "models.ConvAutoencoder",
    "models.ConvEncoder",
    "models.ConvEncoderDecoder",
    "metrics.PSNR",
    "metrics.SSIM",
]
# Functions whose tensor arguments stay unannotated (any backend tensor or array).
TENSOR_ARGUMENTS = {"images", "sigma", "y_true", "y_pred"}
ANNOTATED_FUNCTIONS = ["metrics.psnr", "metrics.ssim", "ops.gaussian_filter"]


@pytest.mark.parametrize("path", ANNOTATED + ANNOTATED_FUNCTIONS)
def test_public_signatures_are_annotated(path):
    module, name = path.split(".")
    obj = getattr(getattr(keras_seqimage, module), name)
    func = obj.__init__ if inspect.isclass(obj) else obj
    missing = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.name != "self"
        and not (path in ANNOTATED_FUNCTIONS and p.name in TENSOR_ARGUMENTS)
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.annotation is inspect.Parameter.empty
    ]
    assert not missing, f"{path}: parameters without a type hint: {missing}"


def _run(code, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=cwd,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_does_no_heavy_work(tmp_path):
    """`import keras_seqimage` adds no heavy module on top of `import keras`.

    scikit-image, matplotlib, PIL and friends are for the examples and datasets
    and must be imported only where they are used. The time it adds is measured
    by `benchmarks/import_time.py` (not here: timings in tests are flaky).
    """
    added = _run(
        "import json, sys\n"
        "import keras\n"
        "before = set(sys.modules)\n"
        "import keras_seqimage\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(json.dumps(sorted(new)))\n",
        cwd=tmp_path,
    )
    assert set(added) <= ALLOWED_AT_IMPORT, (
        f"`import keras_seqimage` imports {sorted(set(added) - ALLOWED_AT_IMPORT)}; "
        "import them lazily, where they are used"
    )


@pytest.mark.skipif(not INSTALLED, reason="only for `make test-installed`")
def test_the_installed_wheel_is_under_test():
    package = Path(keras_seqimage.__file__).resolve().parent
    purelib = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert package.parent == purelib, f"{package} is not installed in {purelib}"
    assert not (package.parent.name == "src"), package
    recorded = {str(f) for f in importlib.metadata.files(DIST)}
    assert "keras_seqimage/py.typed" in recorded
    # The wheel holds every module of the package: nothing was left behind.
    for module in ("layers", "models", "metrics", "ops"):
        assert any(r.startswith(f"keras_seqimage/{module}") for r in recorded), module


GETTING_STARTED = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def test_getting_started_snippets_run(tmp_path, monkeypatch):
    """The Python blocks of docs/getting-started.md run as written, in order."""
    if keras.backend.backend() == "jax":
        # Same code on every backend; compiling the bidirectional LSTM's train
        # step took over a minute under JAX on the 2-core CI machine.
        pytest.skip("run on TensorFlow only, to keep the suite fast")
    if not GETTING_STARTED.is_file():
        pytest.skip("docs/ is not shipped with an installed package")
    blocks = re.findall(r"```python\n(.*?)```", GETTING_STARTED.read_text(), re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, str(GETTING_STARTED), "exec"), namespace)
    assert namespace["restorer"].output_shape == (None, 32, 32, 3)
    assert namespace["model"].count_params() == 170_848


def _pins():
    """`{name: Version}` of MIN_VERSIONS' `name==version` lines."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins = {}
    for line in MIN_VERSIONS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            (spec,) = Requirement(line).specifier
            assert spec.operator == "==", line
            pins[Requirement(line).name] = Version(spec.version)
    return pins


def test_min_versions_pin_the_declared_floors():
    """`.ci/min-versions.txt` pins a release of each floor's own minor release.

    `keras>=3.10` in pyproject.toml, `keras==3.10.x` there: what `make test-min`
    tests is what the package declares.
    """
    if not MIN_VERSIONS.is_file():
        pytest.skip(".ci/ is not shipped with an installed package")
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for text in [*project["dependencies"], *project["optional-dependencies"]["torch"]]:
        requirement = Requirement(text)
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        if lower:
            floors[requirement.name] = Version(lower[0])
    pins = _pins()
    assert set(pins) == FLOORED and FLOORED <= set(floors)
    for name, pin in pins.items():
        floor = floors[name]
        assert pin >= floor and pin.release[:2] == floor.release[:2], (name, pin, floor)


@pytest.mark.skipif(not MIN_VERSIONS_RUN, reason="only for `make test-min`")
def test_min_versions_are_installed():
    from packaging.version import Version

    for name, pin in _pins().items():
        installed = Version(importlib.metadata.version(name))
        assert Version(installed.public) == pin, (name, str(installed), str(pin))


def test_the_fast_path_gate_starts_at_the_tested_floors():
    """The gate's oldest Keras and torch are the floors `make test-min` tests."""
    if not MIN_VERSIONS.is_file():
        pytest.skip(".ci/ is not shipped with an installed package")
    from keras_seqimage import backend

    pins = _pins()
    for name in ("keras", "torch"):
        oldest = backend.TESTED_VERSIONS[name][0]
        assert ".".join(map(str, pins[name].release[:2])) == oldest, name
