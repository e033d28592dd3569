"""Every benchmark script runs end to end on tiny settings, on the public API only.

Smoke tests: each script runs in a subprocess on the current backend with the
smallest settings it takes, and must exit 0 and print its run metadata and a
table row. No timing is asserted (speed targets are read from the scripts'
tables, not from tests).
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BACKEND = keras.backend.backend()

# Script -> (its tiniest arguments, a table row its output must contain).
CASES = {
    "blur_memory.py": (
        ["--backend", BACKEND, "--sizes", "8x40", "--repeats", "1"],
        "| 8x40 |",
    ),
    "blur_speed.py": (
        ["--images", "16", "--repeats", "1", "--backends", BACKEND],
        f"| {BACKEND} | keras_seqimage.ops.gaussian_filter |",
    ),
    "fit_blur_estimator.py": (
        ["--photos", "coins", "--crop", "96", "--sigmas", "1.5,2.0", "--noises", "0"],
        "| 2.0 |",
    ),
    "import_time.py": (
        ["--runs", "1", "--top", "1", "--backends", BACKEND],
        f"| {BACKEND} |",
    ),
    "layer_cost.py": (
        ["--steps", "1", "--rounds", "2"]
        + (["--profile-rounds", "1"] if BACKEND == "torch" else []),
        "| FastModel | the stack on precomputed rows |",
    ),
    "network_precision.py": (
        ["--size", "32", "--repeats", "1", "--backends", BACKEND],
        f"| {BACKEND} |",
    ),
    "photo_restoration.py": (
        ["--photos", "camera", "--crop", "48", "--sigmas", "1.5", "--noises", "0.01"],
        "| 1.5 | 0.01 | self-tuning Wiener |",
    ),
    "restore_large.py": (["--size", "64x96"], "| 96x64 RGB uint8 | wiener | auto |"),
    "speed_table.py": (
        ["--steps", "1", "--rounds", "2", "--predict-images", "8"]
        + ["--predict-batch", "8", "--backends", BACKEND],
        f"| {BACKEND} | ours: factory model, loss only |",
    ),
    "train_speed.py": (
        ["--images", "64", "--rounds", "2", "--backends", BACKEND],
        f"| {BACKEND} | factory, loss only |",
    ),
}

pytestmark = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason="benchmarks/ is not shipped with the package"
)


def scripts():
    return sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name[0] == "_")


def test_every_benchmark_has_a_smoke_case_and_a_readme_entry():
    readme = (BENCHMARKS / "README.md").read_text()
    for script in scripts():
        assert script in CASES, f"add tiny settings for {script} to CASES"
        assert f"`{script}`" in readme, f"describe {script} in benchmarks/README.md"


@pytest.mark.parametrize("path", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_benchmark_uses_the_public_api_only(path):
    source = path.read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            if node.module.startswith("keras_seqimage"):
                modules += [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            assert not module.startswith("keras.src"), (path.name, module)
            if parts[0] == "keras_seqimage":
                assert not any(p.startswith("_") for p in parts), (path.name, module)
    # No reaching into private modules through attributes either.
    assert not re.search(r"\b_torch_\w+|\b_native_ops\b", source), path.name


@pytest.mark.skipif(
    os.environ.get("KERAS_SEQIMAGE_TEST_INSTALLED") == "1" or BACKEND != "tensorflow",
    reason="smoke-run once, in the source tree's TensorFlow run (each script "
    "starts its own processes; the backends' own runs add CI time, not checks)",
)
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_on_tiny_settings(script):
    args, row = CASES[script]
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for line in ("# keras_seqimage ", "# CPU: ", f"# backends: {BACKEND}"):
        assert line in out, out
    assert re.search(r"# .*keras 3\.", out), out
    assert row in out, out
