"""A deterministic train/validation split (scikit-learn's indices)."""

import math

import numpy as np

from keras_seqimage._validation import check_open_fraction, check_seed, is_integer


def train_val_split(data, val_fraction=0.2, seed=42):
    """Split deterministically into a training and a validation part.

    The indices are those of scikit-learn's `train_test_split(...,
    test_size=val_fraction, random_state=seed)` (shuffled, not stratified):
    `numpy.random.RandomState(seed).permutation(n)`, the first
    `ceil(val_fraction * n)` entries for validation, the rest for training.
    With the defaults, CIFAR-10's 50,000 training images become 40,000 /
    10,000, the 80/20 split of Ayob's and Bhunu's reports.

    Args:
        data: an int `n` (returns index arrays), an array (split along its
            first axis), or a tuple/list of arrays of the same length (split
            alike, e.g. `(x, y)`).
        val_fraction: float in (0, 1), the validation share. Defaults to `0.2`.
        seed: int, the shuffling seed. Defaults to `42` (the
            `random_state` of Bhunu's report).

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
