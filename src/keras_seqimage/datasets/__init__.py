"""Datasets: CIFAR-10 and MNIST loaders, offline photo patches, corrupted pairs.

One concept per module, everything importable from `keras_seqimage.datasets`:

- `load_cifar10` and `load_mnist` return the arrays of
  `keras.datasets.cifar10.load_data()` and `keras.datasets.mnist.load_data()`,
  either through Keras (download) or from a local copy in the official layouts
  (`cifar10`, `mnist`). A local file is read with a size cap from its format,
  never inflated past it, and refused with a `ValueError` naming it when it
  holds a member twice, a member the format does not have, or images and
  labels of the wrong shape or range.
- `photo_patches`: real photographs bundled with scikit-image, downscaled and
  cut into 32x32 patches, for the offline demo and the tests; `load_photo` /
  `load_photos`: full-size photographs in a TEST split (`PHOTO_TEST_SET`, never
  trained or tuned on) and a TRAIN split (`PHOTO_TRAIN_SET`) (`photos`).
- `train_val_split`: a deterministic split (the same indices as scikit-learn's
  `train_test_split` with `random_state=seed`; `splits`).
- `CorruptedPairs` and `corrupt_in_batches`: `(corrupted, clean)` training
  batches and whole-array corruption, holding the images once as given (uint8
  stays uint8) and scaling each batch to float32 in [0, 1] on the fly
  (`to_float`; `pairs`).
"""

from keras_seqimage.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10
from keras_seqimage.datasets.mnist import IDX_MAX_BYTES, load_mnist, read_idx
from keras_seqimage.datasets.pairs import CorruptedPairs, corrupt_in_batches, to_float
from keras_seqimage.datasets.photos import (
    BUNDLED_PHOTOS,
    PHOTO_TEST_SET,
    PHOTO_TRAIN_SET,
    load_photo,
    load_photos,
    photo_patches,
)
from keras_seqimage.datasets.splits import train_val_split

__all__ = [
    "BUNDLED_PHOTOS",
    "CIFAR10_CLASSES",
    "IDX_MAX_BYTES",
    "PHOTO_TEST_SET",
    "PHOTO_TRAIN_SET",
    "CorruptedPairs",
    "corrupt_in_batches",
    "load_cifar10",
    "load_mnist",
    "load_photo",
    "load_photos",
    "photo_patches",
    "read_idx",
    "to_float",
    "train_val_split",
]
