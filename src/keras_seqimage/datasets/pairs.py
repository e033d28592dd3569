"""`(corrupted, clean)` pairs made on the fly, and whole-array corruption.

`CorruptedPairs` feeds `model.fit` and `corrupt_in_batches` corrupts an
evaluation split; both hold the images once as given (uint8 stays uint8) and
scale each batch to float32 in [0, 1] (`to_float`) only when it is used.
"""

import keras
import numpy as np

from keras_seqimage._validation import (
    check_bool,
    check_image_dtype,
    check_images,
    check_positive_int,
    check_seed,
    is_integer,
)


def _image_batch(images):
    """uint8 or float images `(n, ...)`, n >= 1, as a numpy array (not copied)."""
    images = images if isinstance(images, np.ndarray) else np.asarray(images)
    return check_images(
        "images", images, ranks=None, dtypes="uint8_or_float", non_empty=True
    )


def to_float(images):
    """Scale images to float32 in [0, 1]: uint8 is divided by 255.

    Float images are taken to be in [0, 1] already and only cast to float32.

    Example:

    >>> to_float(np.array([[0, 51, 255]], dtype="uint8")).tolist()
    [[0.0, 0.20000000298023224, 1.0]]
    """
    images = np.asarray(images)
    check_image_dtype("images", images.dtype, "uint8_or_float")
    if images.dtype == np.uint8:
        return images.astype("float32") / np.float32(255.0)
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
            `(clean, clean)` pairs (identity reconstruction, the task of
            Bhunu's report). Defaults to `None`.
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
        self.images = _image_batch(images)
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
    images = _image_batch(images)
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
