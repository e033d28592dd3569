"""Argument and input checks shared by every layer and op.

Each check raises a `ValueError` in the Keras house style:
"`arg` must be X. Received: arg=value".
"""

import math

import keras


def check_finite_non_negative(name, value):
    """Return `value` as a float after checking it is finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}"
        )
    return value


def check_positive(name, value):
    """Return `value` as a float after checking it is finite and > 0."""
    value = check_finite_non_negative(name, value)
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value!r}")
    return value


def check_fraction(name, value):
    """Return `value` as a float after checking it lies in [0, 1]."""
    value = check_finite_non_negative(name, value)
    if value > 1:
        raise ValueError(
            f"`{name}` must be in the range [0, 1]. Received: {name}={value!r}"
        )
    return value


def check_positive_int(name, value):
    """Return `value` after checking it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return value


def check_choice(name, value, choices):
    """Return `value` after checking it is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}"
        )
    return value


def check_rank(name, shape, ranks, layer):
    """Check that a tensor `shape` has one of the allowed `ranks`."""
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"{layer} expects `{name}` of rank {expected}. "
            f"Received: {name}.shape={tuple(shape)}"
        )


def check_float_dtype(name, dtype, layer):
    """Reject integer and boolean images: the toolkit works on floats in [0, 1]."""
    dtype = keras.backend.standardize_dtype(dtype)
    if not dtype.startswith(("float", "bfloat")):
        raise ValueError(
            f"{layer} expects `{name}` as floats in [0, 1]; scale integer images "
            f"first, e.g. `images.astype('float32') / 255`. "
            f"Received: {name}.dtype={dtype}"
        )
