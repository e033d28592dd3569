"""CIFAR-10 through Keras or from a local copy of the official python archive."""

import lzma
import os
import tarfile
import zlib
from pathlib import Path

import keras
import numpy as np

from keras_seqimage.datasets._archive import (
    MIB,
    DataFileError,
    read_file_capped,
    read_tar_members,
    unpickle_plain,
)
from keras_seqimage.datasets._checks import check_labelled_images

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
"""The ten CIFAR-10 class names, in the official label order (label 0 first)."""

_CIFAR_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_EXPECTED = (
    "the official CIFAR-10 python archive `cifar-10-python.tar.gz` or its "
    "extracted `cifar-10-batches-py/` folder (data_batch_1..5 and test_batch)"
)
_BATCH_IMAGES = 10_000  # images in one official batch
# An official batch pickle is 31.0 MB (10,000 images of 3,072 bytes, labels
# and file names): a member may be at most about twice that. The archive's
# other members (batches.meta, readme.html) are a few hundred bytes.
_BATCH_CAP = 64 * MIB
_OTHER_MEMBERS = {"batches.meta": MIB, "readme.html": MIB}


def _unpickle_cifar_batch(blob, where):
    """Decode one CIFAR-10 batch pickle into `(images (n, 3, 32, 32), labels)`."""
    try:
        batch = unpickle_plain(blob)
    except Exception as error:  # any decoding failure of a foreign file
        raise DataFileError(
            f"{where} is not a CIFAR-10 batch pickle ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(batch, dict):
        raise DataFileError(f"{where} must hold a dict, found {type(batch).__name__}")
    batch = {
        k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in batch.items()
    }
    missing = {"data", "labels"} - set(batch)
    if missing:
        found = sorted(str(key) for key in batch)
        raise DataFileError(
            f"{where} lacks the key(s) {sorted(missing)}; found {found}"
        )
    data, labels = check_labelled_images(
        where,
        batch["data"],
        batch["labels"],
        image_shape=(3 * 32 * 32,),  # channel-planar rows: R plane, G, B
        num_classes=len(CIFAR10_CLASSES),
        max_count=_BATCH_IMAGES,
        names=("data", "labels"),
    )
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_blobs(path):
    """Yield `(name, bytes)` of the batch files, one at a time.

    From a folder (each file's size checked before it is read), or member by
    member from the tar stream (nothing is written to disk; see
    `read_tar_members` for what is refused).
    """
    if path.is_dir():
        folder = _cifar_folder(path)
        for name in _CIFAR_BATCHES:
            if (folder / name).is_file():
                yield name, read_file_capped(folder / name, _BATCH_CAP)
        return
    wanted = dict.fromkeys(_CIFAR_BATCHES, _BATCH_CAP)
    yield from read_tar_members(path, wanted, _OTHER_MEMBERS, _CIFAR_FOLDER)


def _cifar_folder(path):
    """The folder holding the batch files: `path` or its `cifar-10-batches-py`."""
    if (path / _CIFAR_FOLDER).is_dir() and not (path / "test_batch").exists():
        return path / _CIFAR_FOLDER
    return path


def load_cifar10(path=None):
    """Load CIFAR-10 through Keras or from a local copy of the official archive.

    Returns exactly what `keras.datasets.cifar10.load_data()` returns: uint8
    images `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)` (channels first if
    `keras.config.image_data_format()` says so, as Keras does) and uint8 labels
    of shape `(n, 1)`; class names are in `CIFAR10_CLASSES`.

    With a path, the archive is read member by member from the tar stream, so
    nothing is extracted to disk and nothing half-extracted can be left behind.
    A file is refused (a `ValueError` naming it) before it costs memory when
    it does not look like the official archive: a member other than the six
    batches, `batches.meta` and `readme.html`, a member twice, a link, or a
    member larger than about twice an official batch (64 MiB; a compressed
    member is never inflated past that). The batches are Python pickles,
    decoded with a restricted unpickler that builds only containers and numpy
    arrays (no code runs); each must hold at most 10,000 uint8 images of
    3,072 bytes and as many labels in 0..9.

    Args:
        path: `None` to use `keras.datasets.cifar10.load_data()` (downloads
            once to `~/.keras/datasets`), or the path of the official
            `cifar-10-python.tar.gz`, or of its extracted
            `cifar-10-batches-py/` folder (or the folder containing it).
            Defaults to `None`.

    Returns:
        `((x_train, y_train), (x_test, y_test))`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `path` is truncated, not a CIFAR-10 archive, lacks a
            batch, or holds something the official archive does not; the
            message names the path, the member, what was expected and what
            came.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = load_cifar10(
        "~/data/cifar-10-python.tar.gz"
    )
    x_train.shape, y_train.shape  # ((50000, 32, 32, 3), (50000, 1))
    CIFAR10_CLASSES[int(y_train[0, 0])]
    ```
    """
    if path is None:
        return keras.datasets.cifar10.load_data()
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"No file or folder at {path}. `load_cifar10` expects {_CIFAR_EXPECTED}."
        )
    channels_last = keras.config.image_data_format() == "channels_last"
    batches = {}
    try:
        for name, blob in _cifar_blobs(path):
            images, labels = _unpickle_cifar_batch(blob, name)
            del blob
            if channels_last:
                images = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
            batches[name] = images, labels
        missing = [name for name in _CIFAR_BATCHES if name not in batches]
        if missing:
            raise DataFileError(f"it lacks {', '.join(missing)}")
    except DataFileError as error:
        raise ValueError(
            f"Could not load CIFAR-10 from {path}: {error}. Expected {_CIFAR_EXPECTED}."
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as error:
        raise ValueError(
            f"Could not read {path} ({type(error).__name__}: {error}): the file "
            f"is truncated or of another kind. Expected {_CIFAR_EXPECTED}."
        ) from None

    train = [batches.pop(name) for name in _CIFAR_BATCHES[:5]]
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train]).reshape(-1, 1)
    x_test, y_test = batches.pop("test_batch")
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
