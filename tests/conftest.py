"""Shared pytest set-up: hypothesis profile and paths to the optional real data."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Eager JAX compiles every op once per new shape, and hypothesis draws new shapes
# at every example: fewer examples there keep the suite minutes, not tens.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=10 if keras.backend.backend() == "jax" else 25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", parent=settings.get_profile("default"), derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED_DATA = Path(
    os.environ.get(
        "KERAS_SEQIMAGE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


@pytest.fixture
def shared_data():
    """Path to ../shared/data, or skip when this machine does not have it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)


def backend():
    return keras.backend.backend()
