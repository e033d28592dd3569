"""keras-seqimage: Keras 3 tools for treating images as sequences of rows."""

from keras_seqimage import (
    baselines,
    datasets,
    degradation,
    distribution,
    layers,
    metrics,
    models,
    ops,
    restoration,
)
from keras_seqimage.degradation import Degradation, degrade
from keras_seqimage.layers import *  # noqa: F403
from keras_seqimage.models import *  # noqa: F403
from keras_seqimage.restoring import restore

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "baselines",
    "datasets",
    "degradation",
    "Degradation",
    "degrade",
    "distribution",
    "layers",
    "metrics",
    "models",
    "ops",
    "restore",
    "restoration",
    *layers.__all__,
    *models.__all__,
]
