"""Datasets: CIFAR-10 and MNIST loaders, offline photo patches, corrupted pairs.

- `load_cifar10` and `load_mnist` return the arrays of
  `keras.datasets.cifar10.load_data()` and `keras.datasets.mnist.load_data()`,
  either through Keras (download) or from a local copy in the official layouts.
- `photo_patches`: real photographs bundled with scikit-image, downscaled and
  cut into 32x32 patches, for the offline demo and the tests.
- `train_val_split`: a deterministic split (the same indices as scikit-learn's
  `train_test_split` with `random_state=seed`).
- `CorruptedPairs` and `corrupt_in_batches`: `(corrupted, clean)` training
  batches and whole-array corruption, holding the images once as given (uint8
  stays uint8) and scaling each batch to float32 in [0, 1] on the fly.
"""

import gzip
import io
import math
import os
import pickle
import re
import tarfile
import zlib
from pathlib import Path

import keras
import numpy as np

from keras_seqimage._validation import (
    check_bool,
    check_open_fraction,
    check_positive,
    check_positive_int,
    check_seed,
    is_integer,
)

#: RGB photographs that scikit-image bundles (no download needed).
BUNDLED_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
)


def photo_patches(size=32, scale=0.25, stride=None, photos=BUNDLED_PHOTOS):
    """Cut scikit-image's bundled colour photographs into square patches.

    Each photo is downscaled by `scale` with anti-aliasing (so a patch holds
    about as much scene as a CIFAR-10 image), converted to floats in [0, 1],
    and cut on a regular grid. Deterministic: the same arguments give the same
    patches in the same order.

    Args:
        size: int, the patch side in pixels. Defaults to `32`.
        scale: float > 0, the downscaling factor applied first.
            Defaults to `0.25`.
        stride: optional int, the grid step; defaults to `size`
            (non-overlapping patches).
        photos: names of `skimage.data` RGB photographs. Defaults to all of
            `BUNDLED_PHOTOS`.

    Returns:
        A pair `(patches, photo_index)`: float32 array `(n, size, size, 3)` in
        [0, 1] and int array `(n,)` giving each patch's photo (index into
        `photos`), so that a train/test split can keep photos apart.

    Example:

    >>> patches, photo = photo_patches(photos=("astronaut",))
    >>> patches.shape, patches.dtype.name
    ((16, 32, 32, 3), 'float32')
    """
    try:
        import skimage.data
        import skimage.transform
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "photo_patches needs scikit-image: pip install 'keras-seqimage[examples]'"
        ) from error
    size = check_positive_int("size", size)
    scale = check_positive("scale", scale)
    stride = size if stride is None else check_positive_int("stride", stride)
    unknown = sorted(set(photos) - set(BUNDLED_PHOTOS))
    if unknown or not photos:
        raise ValueError(
            f"`photos` must be a non-empty selection of {list(BUNDLED_PHOTOS)}. "
            f"Received: photos={photos!r}"
        )

    patches, owners = [], []
    for index, name in enumerate(photos):
        image = getattr(skimage.data, name)()
        if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
            image = image[0]
        image = image[..., :3]
        image = skimage.transform.rescale(
            image.astype("float64") / 255.0,
            scale,
            anti_aliasing=True,
            channel_axis=-1,
        )
        height, width = image.shape[:2]
        for top in range(0, height - size + 1, stride):
            for left in range(0, width - size + 1, stride):
                patches.append(image[top : top + size, left : left + size])
                owners.append(index)
    if not patches:
        raise ValueError(
            f"No {size}x{size} patch fits in the photos at scale={scale}. "
            "Use a larger `scale` or a smaller `size`."
        )
    patches = np.clip(np.stack(patches), 0.0, 1.0).astype("float32")
    return patches, np.asarray(owners)


# --------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------

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
_CIFAR_EXPECTED = (
    "the official CIFAR-10 python archive `cifar-10-python.tar.gz` or its "
    "extracted `cifar-10-batches-py/` folder (data_batch_1..5 and test_batch)"
)

# The only globals a CIFAR-10 pickle needs: numpy's array reconstruction (and
# `_codecs.encode`, which Python 3 writes for bytes under pickle protocol 2).
_SAFE_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _DataFileError(ValueError):
    """A local dataset file is missing pieces, truncated or of another kind."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, nothing that runs code."""

    def find_class(self, module, name):
        if (module, name) in _SAFE_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load the global {module}.{name}")


def _unpickle_cifar_batch(blob, where):
    """Decode one CIFAR-10 batch pickle into `(images (n, 32, 32, 3), labels)`."""
    try:
        batch = _RestrictedUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except Exception as error:  # any decoding failure of a foreign file
        raise _DataFileError(
            f"{where} is not a CIFAR-10 batch pickle ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(batch, dict):
        raise _DataFileError(f"{where} must hold a dict, found {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = {"data", "labels"} - set(batch)
    if missing:
        raise _DataFileError(
            f"{where} lacks the key(s) {sorted(missing)}; found {sorted(batch)}"
        )
    data, labels = batch["data"], np.asarray(batch["labels"])
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        raise _DataFileError(
            f"{where}: `data` must be a uint8 array of shape (n, 3072), found "
            f"{getattr(data, 'dtype', type(data).__name__)} "
            f"{getattr(data, 'shape', '')}"
        )
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise _DataFileError(
            f"{where}: `labels` must be {len(data)} integers, found "
            f"{labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise _DataFileError(f"{where}: labels must lie in 0..9")
    images = data.reshape(-1, 3, 32, 32)
    return images, labels.astype("uint8")


def _cifar_blobs(path):
    """Yield `(name, bytes)` of the batch files, one at a time.

    From a folder, or member by member from the tar stream (nothing is
    written to disk).
    """
    if path.is_dir():
        folder = _cifar_folder(path)
        for name in _CIFAR_BATCHES:
            if (folder / name).is_file():
                yield name, (folder / name).read_bytes()
        return
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            name = member.name.rsplit("/", 1)[-1]
            if member.isfile() and name in _CIFAR_BATCHES:
                yield name, archive.extractfile(member).read()


def _cifar_folder(path):
    """The folder holding the batch files: `path` or its `cifar-10-batches-py`."""
    if (path / "cifar-10-batches-py").is_dir() and not (path / "test_batch").exists():
        return path / "cifar-10-batches-py"
    return path


def load_cifar10(path=None):
    """Load CIFAR-10 through Keras or from a local copy of the official archive.

    Returns exactly what `keras.datasets.cifar10.load_data()` returns: uint8
    images `(50000, 32, 32, 3)` and `(10000, 32, 32, 3)` (channels first if
    `keras.config.image_data_format()` says so, as Keras does) and uint8 labels
    of shape `(n, 1)`; class names are in `CIFAR10_CLASSES`.

    With a path, the archive is read member by member from the tar stream, so
    nothing is extracted to disk and nothing half-extracted can be left behind.
    The batches are Python pickles: they are decoded with a restricted
    unpickler that only builds containers and numpy arrays, but unpickling
    still trusts the file's structure, so only load archives you trust.

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
        ValueError: `path` is truncated, not a CIFAR-10 archive, or lacks a
            batch; the message names the path and what was expected.

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
            raise _DataFileError(f"it lacks {', '.join(missing)}")
    except _DataFileError as error:
        raise ValueError(
            f"Could not load CIFAR-10 from {path}: {error}. Expected {_CIFAR_EXPECTED}."
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ValueError(
            f"Could not read {path} ({type(error).__name__}: {error}): the file "
            f"is truncated or of another kind. Expected {_CIFAR_EXPECTED}."
        ) from None

    train = [batches.pop(name) for name in _CIFAR_BATCHES[:5]]
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train]).reshape(-1, 1)
    x_test, y_test = batches.pop("test_batch")
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------

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


def _find_idx(folder, stem):
    """The IDX file for `stem` in `folder` (`.gz` or not; `-idx` or `.idx`)."""
    dotted = re.sub(r"-(idx\d)", r".\1", stem)
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path, ndim):
    """Read an IDX file of unsigned bytes (MNIST's format), gzipped or not.

    Args:
        path: path of the file; gzip is detected from its first bytes.
        ndim: int, the expected number of dimensions (3 for images, 1 for
            labels).

    Returns:
        A uint8 numpy array with the shape the file's header gives.

    Raises:
        ValueError: the magic number, the dimensions or the size do not
            match; the message names the path.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"Could not read the IDX file {path} ({type(error).__name__}: "
            f"{error}): it is truncated or not gzip."
        ) from None
    expected_magic = 0x0800 + ndim
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != expected_magic:
        found = "nothing" if magic is None else f"0x{magic:08x}"
        raise ValueError(
            f"{path} is not an IDX file of {ndim}-D unsigned bytes: expected the "
            f"magic number 0x{expected_magic:08x}, found {found}."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its IDX header is incomplete.")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    size = math.prod(shape)
    if len(raw) - header != size:
        raise ValueError(
            f"{path} holds {len(raw) - header} bytes of data, but its header "
            f"announces shape {shape} = {size} bytes (truncated or corrupt)."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _check_mnist_arrays(arrays, where):
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.dtype != np.uint8:
            raise ValueError(
                f"{where}: x_{split} must be uint8 images (n, height, width). "
                f"Received: {x.dtype} {x.shape}"
            )
        if y.shape != (len(x),):
            raise ValueError(
                f"{where}: y_{split} must hold one label per image ({len(x)}). "
                f"Received: shape {y.shape}"
            )
    return (
        (arrays["x_train"], arrays["y_train"].astype("uint8")),
        (arrays["x_test"], arrays["y_test"].astype("uint8")),
    )


def load_mnist(path=None, *, test_only_split=0.75, seed=42):
    """Load MNIST through Keras, from `mnist.npz`, or from the IDX files.

    Returns what `keras.datasets.mnist.load_data()` returns: uint8 digits
    `(n, 28, 28)` in 0..255 and uint8 labels `(n,)`.

    When a folder holds only the official test files (`t10k-images-idx3-ubyte`
    and `t10k-labels-idx1-ubyte`, as on machines without the 47 MB training
    half), their 10,000 digits are split into train and test: 75% / 25% by
    default (7,500 / 2,500, the proportion of the inpainting paper, source
    004), shuffled deterministically with `train_val_split(10000,
    1 - test_only_split, seed)`. The split says nothing about the official
    train set: say so when reporting numbers.

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
        ValueError: a file is truncated or not in the expected format; the
            message names the path.

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
            with np.load(path, allow_pickle=False) as npz:
                missing = [k for k in _IDX_FILES if k not in npz.files]
                if missing:
                    raise ValueError(f"it lacks {missing}; found {npz.files}")
                arrays = {k: npz[k] for k in _IDX_FILES}
        except (ValueError, OSError, EOFError, zlib.error) as error:
            raise ValueError(
                f"Could not load MNIST from {path}: {error}. Expected "
                f"{_MNIST_EXPECTED}."
            ) from None
        return _check_mnist_arrays(arrays, str(path))

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
        key: read_idx(file, 3 if key.startswith("x") else 1)
        for key, file in files.items()
        if file is not None and (have_train or key.endswith("test"))
    }
    for split in ("train", "test") if have_train else ("test",):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise ValueError(
                f"{path}: {len(arrays[f'x_{split}'])} {split} images but "
                f"{len(arrays[f'y_{split}'])} labels."
            )
    if not have_train:
        x, y = arrays.pop("x_test"), arrays.pop("y_test")
        (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]) = (
            train_val_split((x, y), val_fraction=1.0 - test_only_split, seed=seed)
        )
    return _check_mnist_arrays(arrays, str(path))


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def train_val_split(data, val_fraction=0.2, seed=42):
    """Split deterministically into a training and a validation part.

    The indices are those of scikit-learn's `train_test_split(...,
    test_size=val_fraction, random_state=seed)` (shuffled, not stratified):
    `numpy.random.RandomState(seed).permutation(n)`, the first
    `ceil(val_fraction * n)` entries for validation, the rest for training.
    With the defaults, CIFAR-10's 50,000 training images become 40,000 /
    10,000, the 80/20 split of sources 000 and 001.

    Args:
        data: an int `n` (returns index arrays), an array (split along its
            first axis), or a tuple/list of arrays of the same length (split
            alike, e.g. `(x, y)`).
        val_fraction: float in (0, 1), the validation share. Defaults to `0.2`.
        seed: int, the shuffling seed. Defaults to `42` (source 001's
            `random_state`).

    Returns:
        `(train, val)`: index arrays, arrays, or tuples of arrays, following
        `data`.

    Example:

    >>> train, val = train_val_split(10, val_fraction=0.2, seed=42)
    >>> train.tolist(), val.tolist()
    ([5, 0, 7, 2, 9, 4, 3, 6], [8, 1])
    >>> (x_tr, y_tr), (x_va, y_va) = train_val_split((np.zeros((5, 2)), np.arange(5)))
    >>> x_tr.shape, y_va.shape
    ((4, 2), (1,))
    """
    val_fraction = check_open_fraction("val_fraction", val_fraction)
    seed = check_seed("seed", seed)
    if is_integer(data):
        n, arrays = int(data), None
    else:
        arrays = data if isinstance(data, (tuple, list)) else None
        lengths = {len(a) for a in (arrays if arrays is not None else [data])}
        if arrays is not None and not arrays or len(lengths) != 1:
            raise ValueError(
                "`data` must be an int, an array, or a non-empty tuple of arrays "
                f"of the same length. Received lengths: {sorted(lengths)}"
            )
        n = lengths.pop()
    n_val = math.ceil(val_fraction * n)
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"Splitting {n} items with val_fraction={val_fraction} leaves an "
            "empty part; use more items or another `val_fraction`."
        )
    order = np.random.RandomState(seed).permutation(n)
    train, val = order[n_val:], order[:n_val]
    if is_integer(data):
        return train, val
    if arrays is None:
        return data[train], data[val]
    return tuple(a[train] for a in arrays), tuple(a[val] for a in arrays)


# --------------------------------------------------------------------------
# Corrupted / clean pairs
# --------------------------------------------------------------------------


def _check_images(name, images):
    images = np.asarray(images) if not isinstance(images, np.ndarray) else images
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"`{name}` must be uint8 (0..255) or float (in [0, 1]) images. "
            f"Received: {name}.dtype={images.dtype}"
        )
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(
            f"`{name}` must be a non-empty batch of images (n, ...). "
            f"Received: {name}.shape={images.shape}"
        )
    return images


def to_float(images):
    """Scale images to float32 in [0, 1]: uint8 is divided by 255.

    Float images are taken to be in [0, 1] already and only cast to float32.

    Example:

    >>> to_float(np.array([[0, 51, 255]], dtype="uint8")).tolist()
    [[0.0, 0.20000000298023224, 1.0]]
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype("float32") / np.float32(255.0)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            "`images` must be uint8 (0..255) or float (in [0, 1]). "
            f"Received: images.dtype={images.dtype}"
        )
    return images.astype("float32", copy=False)


def _apply_corruption(corruption, clean):
    if corruption is None:
        return clean
    corrupted = corruption(clean)
    return np.asarray(keras.ops.convert_to_numpy(corrupted), dtype="float32")


def _check_corruption(corruption):
    if corruption is not None and not callable(corruption):
        raise ValueError(
            "`corruption` must be a callable on a float32 batch (a layer or a "
            f"function) or None. Received: corruption={corruption!r}"
        )
    return corruption


class CorruptedPairs(keras.utils.PyDataset):
    """`(corrupted, clean)` float32 batches for `model.fit`, made on the fly.

    Holds `images` as given (uint8 stays uint8: CIFAR-10's training split is
    154 MB as uint8, 614 MB per float32 copy) and, for each batch, scales the clean
    images to float32 in [0, 1] and applies `corruption` to them. A
    `keras.utils.PyDataset`, so `model.fit(pairs, validation_data=val_pairs)`
    works on every backend.

    The order is a permutation drawn from `(seed, epoch)`, so two datasets with
    the same seed give the same batches, and `on_epoch_end` (called by `fit`)
    moves to the next epoch's order. A run resumed at epoch `k` (e.g. by
    `keras.callbacks.BackupAndRestore`) gets the same order as the original
    run if `epoch` is set to `k` first. A random corruption (noise) draws from
    its own seed, not from this one.

    Args:
        images: uint8 array (values 0..255) or float array (values in
            [0, 1]) of shape `(n, ...)`, e.g. `(n, 32, 32, 3)`. Not copied.
        corruption: callable mapping a float32 batch (numpy) to a batch of the
            same shape (numpy or backend tensor), e.g. a
            `keras_seqimage.layers.GaussianBlurLayer`, a chain of corruption
            layers in a `keras.Sequential`, or a numpy function. `None` gives
            `(clean, clean)` pairs (identity reconstruction, source 001's
            task). Defaults to `None`.
        batch_size: int, images per batch. Defaults to `64`.
        shuffle: bool, draw a new order each epoch; `False` keeps the stored
            order (for validation and test sets). Defaults to `True`.
        seed: optional int; `None` draws one from numpy's global generator
            (so `keras.utils.set_random_seed` makes it reproducible).
        drop_remainder: bool, skip the last incomplete batch. Defaults to
            `False`.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of
            `keras.utils.PyDataset`. Keep the default single worker with a
            Keras-layer corruption.

    Example:

    >>> from keras_seqimage.layers import GaussianBlurLayer
    >>> images = np.zeros((10, 8, 8, 3), dtype="uint8")
    >>> pairs = CorruptedPairs(images, GaussianBlurLayer(1.0), batch_size=4, seed=0)
    >>> len(pairs)
    3
    >>> blurred, clean = pairs[0]
    >>> blurred.shape, clean.dtype.name
    ((4, 8, 8, 3), 'float32')
    """

    def __init__(
        self,
        images,
        corruption=None,
        batch_size=64,
        shuffle=True,
        seed=None,
        drop_remainder=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.images = _check_images("images", images)
        self.corruption = _check_corruption(corruption)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_remainder = check_bool("drop_remainder", drop_remainder)
        seed = check_seed("seed", seed, allow_none=True)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self.seed = seed
        if self.drop_remainder and len(self.images) < self.batch_size:
            raise ValueError(
                f"`batch_size` must be at most the number of images "
                f"({len(self.images)}) with drop_remainder=True. "
                f"Received: batch_size={batch_size!r}"
            )
        self._epoch = 0
        self._order = self._make_order()

    @property
    def epoch(self):
        """int, the epoch whose order the batches follow (0 first)."""
        return self._epoch

    @epoch.setter
    def epoch(self, value):
        self._epoch = check_seed("epoch", value)
        self._order = self._make_order()

    def _make_order(self):
        if not self.shuffle:
            return None
        rng = np.random.default_rng([self.seed, self._epoch])
        return rng.permutation(len(self.images))

    def __len__(self):
        n = len(self.images)
        if self.drop_remainder:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __getitem__(self, index):
        if not is_integer(index) or not 0 <= index < len(self):
            raise IndexError(
                f"batch index {index!r} out of range for {len(self)} batches"
            )
        start, stop = index * self.batch_size, (index + 1) * self.batch_size
        if self._order is None:
            batch = self.images[start:stop]
        else:
            batch = self.images[np.sort(self._order[start:stop])]
        clean = to_float(batch)
        return _apply_corruption(self.corruption, clean), clean

    def on_epoch_end(self):
        """Move to the next epoch's order (called by `model.fit`)."""
        self.epoch = self._epoch + 1


def corrupt_in_batches(images, corruption, batch_size=256):
    """Corrupt a whole image array chunk by chunk (for evaluation sets).

    Scales each chunk to float32 in [0, 1] (uint8 is divided by 255) and
    applies `corruption`, filling one preallocated float32 array: peak memory
    is the result plus one chunk.

    Args:
        images: uint8 or float array `(n, ...)`, as for `CorruptedPairs`.
        corruption: callable on a float32 batch (layer or numpy function), or
            `None` to only scale.
        batch_size: int, images per call of `corruption`. Defaults to `256`.

    Returns:
        float32 numpy array of the corrupted images, the shape of `images`.

    Example:

    >>> blurred = corrupt_in_batches(
    ...     np.full((5, 4, 4, 1), 255, "uint8"), lambda x: x * 0.5, batch_size=2
    ... )
    >>> blurred.shape, float(blurred.max())
    ((5, 4, 4, 1), 0.5)
    """
    images = _check_images("images", images)
    corruption = _check_corruption(corruption)
    batch_size = check_positive_int("batch_size", batch_size)
    out = None
    for start in range(0, len(images), batch_size):
        clean = to_float(images[start : start + batch_size])
        chunk = _apply_corruption(corruption, clean)
        if out is None:
            out = np.empty((len(images), *chunk.shape[1:]), dtype="float32")
        out[start : start + len(chunk)] = chunk
    return out
