"""MNIST through Keras, from Keras' `mnist.npz`, or from the official IDX files."""

import gzip
import math
import os
import re
import zipfile
import zlib
from pathlib import Path

import keras

from keras_seqimage._validation import (
    check_open_fraction,
    check_positive_int,
    check_seed,
)
from keras_seqimage.datasets._archive import (
    DataFileError,
    open_maybe_gzip,
    read_exactly,
    read_npz,
)
from keras_seqimage.datasets._checks import check_labelled_images
from keras_seqimage.datasets.splits import train_val_split

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_MNIST_EXPECTED = (
    "`mnist.npz` (Keras' file: x_train, y_train, x_test, y_test) or a folder "
    "with the IDX files " + ", ".join(f"{name}[.gz]" for name in _IDX_FILES.values())
)
# The largest official file, train-images, holds 60,000 digits of 28x28 bytes
# (47 MB): no MNIST file may announce more than twice that many digits.
_MAX_DIGITS = 2 * 60_000
IDX_MAX_BYTES = _MAX_DIGITS * 28 * 28
"""`read_idx`'s default cap: twice the bytes of MNIST's largest file."""
_NPZ_CAPS = {
    "x_train": IDX_MAX_BYTES,
    "y_train": _MAX_DIGITS * 8,  # labels may be stored as int64
    "x_test": IDX_MAX_BYTES,
    "y_test": _MAX_DIGITS * 8,
}


def _find_idx(folder, stem):
    """The IDX file for `stem` in `folder` (`.gz` or not; `-idx` or `.idx`).

    The uncompressed file wins when both are present (torchvision keeps both).
    """
    dotted = re.sub(r"-(idx\d)", r".\1", stem)
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path, ndim, max_bytes=IDX_MAX_BYTES):
    """Read an IDX file of unsigned bytes (MNIST's format), gzipped or not.

    The header gives the array's shape, so the file's size is known before its
    data is read: a header that announces more than `max_bytes`, or a file
    whose data is shorter or longer than its header says, is refused. A
    gzipped file is inflated only as far as its header allows (plus one byte,
    to see that nothing follows), never further.

    Args:
        path: path of the file; gzip is detected from its first bytes.
        ndim: int, the expected number of dimensions (3 for images, 1 for
            labels).
        max_bytes: int, the most data bytes the header may announce. Defaults
            to `IDX_MAX_BYTES` (94,080,000: twice MNIST's largest file).

    Returns:
        A uint8 numpy array with the shape the file's header gives.

    Raises:
        ValueError: the magic number, the dimensions or the size do not
            match, or the size exceeds `max_bytes`; the message names the path.
    """
    path = Path(path)
    ndim = check_positive_int("ndim", ndim)
    max_bytes = check_positive_int("max_bytes", max_bytes)
    header = 4 + 4 * ndim
    try:
        with open_maybe_gzip(path) as handle:
            raw = handle.read(header)
            expected_magic = 0x0800 + ndim
            magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
            if magic != expected_magic:
                found = "nothing" if magic is None else f"0x{magic:08x}"
                raise ValueError(
                    f"{path} is not an IDX file of {ndim}-D unsigned bytes: "
                    f"expected the magic number 0x{expected_magic:08x}, found "
                    f"{found}."
                )
            if len(raw) < header:
                raise ValueError(f"{path} is truncated: its IDX header is incomplete.")
            shape = tuple(
                int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
            )
            size = math.prod(shape)
            announced = f"its header announces shape {shape}"
            if size > max_bytes:
                raise ValueError(
                    f"{path}: {announced} = {size} bytes, more than the "
                    f"{max_bytes} allowed (`max_bytes`). Expected an IDX file "
                    "of at most that size."
                )
            if not isinstance(handle, gzip.GzipFile):
                actual = path.stat().st_size - header  # uncompressed: known now
                if actual != size:
                    raise ValueError(
                        f"{path} holds {actual} bytes of data, but {announced} "
                        f"= {size} bytes (truncated or corrupt)."
                    )
            data = read_exactly(handle, size, str(path), announced)
    except DataFileError as error:
        raise ValueError(f"{error}.") from None
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"Could not read the IDX file {path} ({type(error).__name__}: "
            f"{error}): it is truncated or not gzip."
        ) from None
    return data.reshape(shape)


def _check_split(arrays, split, where):
    """One split through the loaders' shared check: 28x28 uint8, labels 0..9."""
    arrays[f"x_{split}"], arrays[f"y_{split}"] = check_labelled_images(
        where,
        arrays[f"x_{split}"],
        arrays[f"y_{split}"],
        image_shape=(28, 28),
        num_classes=10,
        names=(f"x_{split}", f"y_{split}"),
    )


def _result(arrays):
    return (
        (arrays["x_train"], arrays["y_train"]),
        (arrays["x_test"], arrays["y_test"]),
    )


def load_mnist(path=None, *, test_only_split=0.75, seed=42):
    """Load MNIST through Keras, from `mnist.npz`, or from the IDX files.

    Returns what `keras.datasets.mnist.load_data()` returns: uint8 digits
    `(n, 28, 28)` in 0..255 and uint8 labels `(n,)` in 0..9.

    When a folder holds only the official test files (`t10k-images-idx3-ubyte`
    and `t10k-labels-idx1-ubyte`, as on machines without the 47 MB training
    half), their 10,000 digits are split into train and test: 75% / 25% by
    default (7,500 / 2,500, the proportion of Haque et al.'s inpainting
    paper), shuffled deterministically with `train_val_split(10000,
    1 - test_only_split, seed)`. The split says nothing about the official
    train set: say so when reporting numbers.

    Every file is read against a cap from its format (an IDX header gives the
    size; no file may announce more than twice MNIST's largest, 120,000
    digits), gzipped data is never inflated past it, an `.npz` must hold
    exactly the four arrays (no pickles, no other member), and each split
    must be 28x28 uint8 digits with one label in 0..9 each.

    Args:
        path: `None` for `keras.datasets.mnist.load_data()` (downloads once),
            a `.npz` file in Keras' layout, or a folder with the four IDX files
            (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
            `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`), each gzipped
            (`.gz`) or not. Defaults to `None`.
        test_only_split: float in (0, 1), the training fraction used when only
            the test IDX files are present, or `None` to raise an error
            instead. Defaults to `0.75`.
        seed: int, the shuffling seed of that split. Defaults to `42`.

    Returns:
        `((x_train, y_train), (x_test, y_test))`.

    Raises:
        FileNotFoundError: `path` does not exist or lacks the files.
        ValueError: a file is truncated, oversized or not in the expected
            format; the message names the path, what was expected and what
            came.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = load_mnist("data/mnist")
    # With only t10k-* present: x_train.shape == (7500, 28, 28),
    # x_test.shape == (2500, 28, 28).
    ```
    """
    if test_only_split is not None:
        test_only_split = check_open_fraction("test_only_split", test_only_split)
    seed = check_seed("seed", seed)
    if path is None:
        return keras.datasets.mnist.load_data()
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"No file or folder at {path}. `load_mnist` expects {_MNIST_EXPECTED}."
        )
    if path.is_file():
        try:
            arrays = read_npz(path, _NPZ_CAPS)
            for split in ("train", "test"):
                _check_split(arrays, split, f"x_{split}.npy and y_{split}.npy")
        except (
            DataFileError,
            zipfile.BadZipFile,
            OSError,
            EOFError,
            zlib.error,
        ) as error:
            raise ValueError(
                f"Could not load MNIST from {path}: {error}. Expected "
                f"{_MNIST_EXPECTED}."
            ) from None
        return _result(arrays)

    files = {key: _find_idx(path, stem) for key, stem in _IDX_FILES.items()}
    have_test = files["x_test"] is not None and files["y_test"] is not None
    have_train = files["x_train"] is not None and files["y_train"] is not None
    if not have_test or (not have_train and test_only_split is None):
        missing = [_IDX_FILES[k] for k, f in files.items() if f is None]
        raise FileNotFoundError(
            f"{path} lacks the MNIST file(s) {', '.join(missing)} (`.gz` or "
            f"not). Expected {_MNIST_EXPECTED}."
        )
    arrays = {
        key: read_idx(
            file,
            3 if key.startswith("x") else 1,
            max_bytes=IDX_MAX_BYTES if key.startswith("x") else _MAX_DIGITS,
        )
        for key, file in files.items()
        if file is not None and (have_train or key.endswith("test"))
    }
    for split in ("train", "test") if have_train else ("test",):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise ValueError(
                f"{path}: {len(arrays[f'x_{split}'])} {split} images but "
                f"{len(arrays[f'y_{split}'])} labels."
            )
        where = f"{files[f'x_{split}'].name} and {files[f'y_{split}'].name}"
        try:
            _check_split(arrays, split, where)
        except DataFileError as error:
            raise ValueError(f"Could not load MNIST from {path}: {error}.") from None
    if not have_train:
        x, y = arrays.pop("x_test"), arrays.pop("y_test")
        (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]) = (
            train_val_split((x, y), val_fraction=1.0 - test_only_split, seed=seed)
        )
    return _result(arrays)
