"""One rule for what a loader hands back: uint8 images, one label each, in range.

Every loader (CIFAR-10 batches, MNIST IDX files, `mnist.npz`) checks each
split it read with `check_labelled_images`, so the same defect gets the same
refusal whichever file format carried it.
"""

import numpy as np

from keras_seqimage._validation import is_integer
from keras_seqimage.datasets._archive import DataFileError


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _labels_array(labels, count):
    """`labels` as an int64 array of `count` entries, or None if it is not one.

    A list is checked item by item before numpy sees it: a list of lists (a
    pickle can repeat one list many times for a few bytes) would otherwise
    become a huge array.
    """
    if isinstance(labels, (list, tuple)):
        if len(labels) != count or not all(is_integer(v) for v in labels):
            return None
        if labels and (min(labels) < -(2**63) or max(labels) >= 2**63):
            return None
        return np.array(labels, dtype=np.int64)
    if (
        isinstance(labels, np.ndarray)
        and labels.dtype.kind in "iu"
        and labels.shape == (count,)
    ):
        return labels
    return None


def check_labelled_images(
    where,
    images,
    labels,
    *,
    image_shape,
    num_classes,
    max_count=None,
    names=("images", "labels"),
):
    """Check one split as a loader read it; return `(images, labels as uint8)`.

    Args:
        where: the file or member the split came from, for the message.
        images: must be a uint8 numpy array of shape `(n, *image_shape)` with
            `1 <= n` (and `n <= max_count` if given).
        labels: must be a 1-D integer numpy array or a list of ints, `n` of
            them, each in `0 .. num_classes - 1`.
        image_shape: tuple, the shape of one image in the format.
        num_classes: int, the number of classes.
        max_count: optional int, the most images the format puts in one file.
        names: the names of the two fields in the file, for the message.

    Raises:
        DataFileError: a `ValueError` naming `where`, the field, what was
            expected and what came.
    """
    images_name, labels_name = names
    image_shape = tuple(image_shape)
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.shape[1:] != image_shape
        or images.ndim != len(image_shape) + 1
    ):
        expected = ", ".join(str(d) for d in ("n", *image_shape))
        raise DataFileError(
            f"{where}: `{images_name}` must be a uint8 array of shape "
            f"({expected}). Received: {_describe(images)}"
        )
    count = len(images)
    if count < 1 or (max_count is not None and count > max_count):
        many = "at least one image" if max_count is None else f"1 to {max_count} images"
        raise DataFileError(
            f"{where}: `{images_name}` must hold {many}. Received: {count}"
        )
    array = _labels_array(labels, count)
    if array is None:
        raise DataFileError(
            f"{where}: `{labels_name}` must hold {count} integer labels, one per "
            f"image. Received: {_describe(labels)}"
        )
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= num_classes:
        raise DataFileError(
            f"{where}: `{labels_name}` must lie in 0..{num_classes - 1}. "
            f"Received: labels from {low} to {high}"
        )
    return images, array.astype(np.uint8)
