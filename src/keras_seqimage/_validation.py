"""Argument and input checks shared by every layer and op.

Each check raises a `ValueError` in the Keras house style:
"`arg` must be X. Received: arg=value".
"""

import math
import numbers

import keras
import numpy as np

from keras_seqimage import backend


def is_number(value):
    """True for real numbers (numpy scalars included), False for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_integer(value):
    """True for integers (numpy integers included), False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_finite_non_negative(name, value):
    """Return `value` as a float after checking it is finite and >= 0."""
    if not is_number(value):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a finite number >= 0. Received: {name}={value!r}"
        )
    return value


def check_finite(name, value):
    """Return `value` as a float after checking it is a finite number."""
    if not is_number(value):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    return float(value)


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
    if not is_integer(value) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_choice(name, value, choices):
    """Return `value` after checking it is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {sorted(choices)}. Received: {name}={value!r}"
        )
    return value


def check_rank(name, shape, ranks, layer):
    """Check that a tensor `shape` has one of the allowed `ranks`.

    A shape of unknown rank (a TensorFlow graph traced for inputs of several
    ranks) is refused too, as `<unknown rank>`.
    """
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    dims = known_shape(shape)
    if dims is None or len(dims) not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"{layer} expects `{name}` of rank {expected}. "
            f"Received: {name}.shape={_shape_text(dims)}"
        )


def known_shape(shape):
    """`shape` as a tuple (`None` for unknown entries), or `None` if its rank is.

    Only a TensorFlow graph tensor can have an unknown rank: one traced for
    inputs of several ranks.
    """
    try:
        return tuple(None if dim is None else int(dim) for dim in shape)
    except (TypeError, ValueError):
        return None


def _shape_text(dims):
    return "<unknown rank>" if dims is None else str(dims)


def check_known_image_size(name, shape, caller):
    """Rank 4 with known height and width (for ops that need them static)."""
    check_rank(name, shape, 4, caller)
    for axis, dim in ((1, "height"), (2, "width")):
        if shape[axis] is None:
            raise ValueError(
                f"{caller} needs a known image {dim}. "
                f"Received: {name}.shape={tuple(shape)}"
            )


def check_value_range(value_range, allow_none=False):
    """Return `value_range` as a `(low, high)` pair of floats, low < high."""
    if value_range is None and allow_none:
        return None
    if (
        not isinstance(value_range, (list, tuple))
        or len(value_range) != 2
        or not all(is_number(v) for v in value_range)
        or not value_range[0] < value_range[1]
    ):
        raise ValueError(
            "`value_range` must be a pair (low, high) of numbers with low < high"
            f"{' or None' if allow_none else ''}. Received: value_range={value_range!r}"
        )
    return (float(value_range[0]), float(value_range[1]))


def check_float_dtype(name, dtype, layer):
    """Reject integer and boolean images: the toolkit works on floats in [0, 1]."""
    try:
        dtype = keras.backend.standardize_dtype(dtype)
    except ValueError:  # strings, Python objects: no tensor dtype at all
        dtype = str(getattr(dtype, "name", dtype))
    if not dtype.startswith(("float", "bfloat")):
        raise ValueError(
            f"{layer} expects `{name}` as floats in [0, 1]; scale integer images "
            f"first, e.g. `images.astype('float32') / 255`. "
            f"Received: {name}.dtype={dtype}"
        )


def check_bool(name, value):
    """Return `value` after checking it is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")
    return value


def check_activation(name, value):
    """Return a Keras activation's serialized name (`None` gives `"linear"`)."""
    try:
        return keras.activations.serialize(keras.activations.get(value))
    except (ValueError, TypeError):
        raise ValueError(
            f"`{name}` must be a Keras activation name or function. "
            f"Received: {name}={value!r}"
        ) from None


def check_positive_int_tuple(name, value, allow_empty=False):
    """Return `value` as a tuple of ints after checking each is >= 1."""
    if isinstance(value, (list, tuple)) and (value or allow_empty):
        if all(is_integer(v) and v >= 1 for v in value):
            return tuple(int(v) for v in value)
    what = "a tuple" if allow_empty else "a non-empty tuple"
    raise ValueError(
        f"`{name}` must be {what} of positive integers. Received: {name}={value!r}"
    )


def check_image_shape(name, value, allow_none=(False, False)):
    """Return `value` as a `(height, width, channels)` tuple after checking it.

    Each entry must be a positive integer; `allow_none` says whether height and
    width may be `None` (unknown). Channels must always be known.
    """
    ok = isinstance(value, (list, tuple)) and len(value) == 3
    if ok:
        for dim, none_ok in zip(value, (*allow_none, False), strict=True):
            if not (dim is None and none_ok) and not (is_integer(dim) and dim >= 1):
                ok = False
    if not ok:
        unknown = [a for a, n in zip(("height", "width"), allow_none, strict=True) if n]
        may_be_none = f" ({' and '.join(unknown)} may be None)" if unknown else ""
        raise ValueError(
            f"`{name}` must be a tuple (height, width, channels) of positive "
            f"integers{may_be_none}. Received: {name}={value!r}"
        )
    return tuple(None if dim is None else int(dim) for dim in value)


def check_image_input(name, shape, image_shape, layer):
    """Check an image batch `shape` against a model's `image_shape`.

    Rank 4, at least one image, and every entry known in both `shape` and
    `image_shape` equal; an entry unknown in `shape` (a traced graph) is
    skipped. The message names what differs, the shape the model was built
    for and the shape received.
    """
    dims = known_shape(shape)
    built = f"(batch, {', '.join(str(d) for d in image_shape)})"
    if dims is None or len(dims) != 4:
        hint = ""
        if dims is not None and len(dims) == 3:
            hint = "; a single image needs a batch axis, e.g. `images[None]`"
        raise ValueError(
            f"{layer} expects `{name}` of shape (batch, height, width, channels) "
            f"= {built}, rank 4. Received: {name}.shape={_shape_text(dims)}{hint}"
        )
    if dims[0] == 0:
        raise ValueError(
            f"{layer} expects `{name}` with at least one image. "
            f"Received: {name}.shape={dims}"
        )
    wrong = [
        f"{what} {expected}"
        for what, actual, expected in zip(
            ("height", "width", "channels"), dims[1:], image_shape, strict=True
        )
        if expected is not None and actual is not None and actual != expected
    ]
    if wrong:
        if wrong[-1].startswith("channels"):
            wrong[-1] = f"{image_shape[2]} channels"
        raise ValueError(
            f"{layer} expects `{name}` of shape (batch, height, width, channels) "
            f"with the {' and '.join(wrong)} it was built for: {built}. "
            f"Received: {name}.shape={dims}"
        )


def values_at_hand(x):
    """Whether the values of `x` can be read now: a numpy array or eager tensor.

    False for a symbolic tensor: a `keras.KerasTensor`, a TensorFlow graph
    tensor (inside a `tf.function`, such as Keras' compiled steps), a JAX
    tracer (inside `jax.jit`), a torch "meta" tensor (shapes only: Keras'
    symbolic build on torch) or a tensor that `torch.compile` traces.
    """
    if isinstance(x, np.ndarray | np.generic):
        return True
    if isinstance(x, keras.KerasTensor):
        return False
    name = keras.backend.backend()
    if name in ("jax", "tensorflow", "torch"):
        return backend.backend_module(name).values_at_hand(x)
    return True


def check_finite_values(name, values, caller):
    """Refuse NaN and infinity in an image batch (numpy array or eager tensor).

    One vectorised pass and no copy when every value is finite: their sum
    (accumulated in float32 or wider) is then finite, while a NaN or an inf
    makes it NaN or inf. Only a sum that is not finite has the values
    counted, for the message; a sum of finite values that overflows passes.
    """
    if isinstance(values, np.ndarray | np.generic):
        values = np.asarray(values)
        total = values.sum(dtype=np.result_type(values.dtype, np.float32))
    else:
        dtype = keras.backend.standardize_dtype(values.dtype)
        wide = (
            values
            if dtype in ("float32", "float64")
            else keras.ops.cast(values, "float32")
        )
        total = keras.ops.convert_to_numpy(keras.ops.sum(wide))
    if np.isfinite(total):
        return
    values = np.asarray(keras.ops.convert_to_numpy(values))
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    if not count:
        return
    nan = int(np.isnan(values).sum())
    images = np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))
    raise ValueError(
        f"{caller} expects `{name}` of finite values: an image with NaN or inf "
        "is refused, not restored. Received: "
        f"{name}.shape={values.shape} with {nan} NaN and {count - nan} inf "
        f"values, in {len(images)} of its {len(values)} images (the first: "
        f"{name}[{images[0]}])"
    )


def nan_where_non_finite(images, outputs):
    """`outputs` with every image whose input image holds a NaN or inf all NaN.

    For a compiled step, where `check_finite_values` cannot read the values:
    such an image then comes out as NaN (as does the loss), never finite.
    `outputs` has the batch axis of `images` first.
    """
    finite = keras.ops.isfinite(images)
    # One axis at a time, last first: Keras 3.10's torch `all` mishandles a
    # tuple of axes (it reduces them in turn without renumbering).
    for axis in reversed(range(1, len(images.shape))):
        finite = keras.ops.all(finite, axis=axis)
    finite = keras.ops.reshape(finite, (-1,) + (1,) * (len(outputs.shape) - 1))
    return keras.ops.where(finite, outputs, float("nan"))


def check_size_divisible(name, shape, factor, why, caller=None):
    """Check that the known height and width in `shape` are multiples of `factor`.

    Args:
        name: the argument's name: `"image_shape"` (a `(height, width,
            channels)` tuple) or `"inputs"` (a batch shape).
        shape: the full shape; `None` entries are skipped.
        factor: int, the required divisor.
        why: str, the formula and reason behind `factor`, for the message.
        caller: the class name when checking an input batch at call time.
    """
    shape = tuple(shape)
    size = shape[:2] if caller is None else shape[1:3]
    if not any(d is not None and d % factor for d in size):
        return
    if caller is None:
        raise ValueError(
            f"`{name}` must have a height and width divisible by {why} = "
            f"{factor}. Received: {name}={shape}"
        )
    raise ValueError(
        f"{caller} expects `{name}` with a height and width divisible by "
        f"{factor}. Received: {name}.shape={shape}"
    )


def check_seed(name, value, allow_none=False):
    """Return `value` as an int after checking it is an integer >= 0 (or None)."""
    if value is None and allow_none:
        return None
    if not is_integer(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a non-negative integer"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )
    return int(value)


def check_open_fraction(name, value):
    """Return `value` as a float after checking 0 < value < 1."""
    if not is_number(value) or not 0.0 < float(value) < 1.0:
        raise ValueError(
            f"`{name}` must be a number strictly between 0 and 1. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def check_non_negative_int(name, value):
    """Return `value` after checking it is an integer >= 0."""
    if not is_integer(value) or value < 0:
        raise ValueError(
            f"`{name}` must be a non-negative integer. Received: {name}={value!r}"
        )
    return int(value)


# --------------------------------------------------------------------------
# Image batches: one rule for the loaders, the baselines and the metrics
# --------------------------------------------------------------------------

_IMAGE_DTYPES = {
    "float": "float images in [0, 1]; scale integer images first, e.g. "
    "`images.astype('float32') / 255`",
    "uint8_or_float": "uint8 (0..255) or float (in [0, 1]) images",
}
_LAYOUTS = {4: "(batch, height, width, channels)", 3: "(height, width, channels)"}


def _subject(name, caller):
    """The start of a message: "`x` must be" or "f expects `x` as"."""
    return f"{caller} expects `{name}` as" if caller else f"`{name}` must be"


def check_image_dtype(name, dtype, dtypes="float", caller=None):
    """Check an image dtype: floats (in [0, 1]), or also uint8 (0..255).

    Args:
        name: the argument's name, for the message.
        dtype: a numpy, backend or string dtype.
        dtypes: `"float"` or `"uint8_or_float"`.
        caller: optional name of the function or layer checking, for the
            message ("psnr expects `y_true` as ..."); without it the message
            reads "`y_true` must be ...".
    """
    try:
        dtype = keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError):  # object, structured, ...: not an image
        dtype = str(dtype)
    ok = dtype.startswith(("float", "bfloat")) or (
        dtypes == "uint8_or_float" and dtype == "uint8"
    )
    if not ok:
        raise ValueError(
            f"{_subject(name, caller)} {_IMAGE_DTYPES[dtypes]}. "
            f"Received: {name}.dtype={dtype}"
        )


def check_images(
    name, images, *, ranks=4, dtypes="float", non_empty=False, caller=None
):
    """Check a batch of images (numpy array or backend tensor); return it.

    The one rule every public entry point that takes images applies (the
    loaders' `CorruptedPairs`, the baselines, the metrics), so that the same
    bad batch gets the same message everywhere: the dtype first
    (`check_image_dtype`), then the rank, then (if asked) that the batch is
    not empty. Dimensions that are `None` (symbolic tensors) pass; a
    TensorFlow graph tensor of unknown rank is refused as `<unknown rank>`.

    Args:
        name: the argument's name, for the message.
        images: anything with `.shape` and `.dtype` (convert lists first).
        ranks: int or tuple of ints, the allowed ranks (4: `(batch, height,
            width, channels)`, 3: `(height, width, channels)`); `None` for
            any batch `(n, ...)` of rank 2 or more. Defaults to `4`.
        dtypes: `"float"` or `"uint8_or_float"`. Defaults to `"float"`.
        non_empty: bool, refuse a batch of zero images (its first axis).
            Defaults to `False`.
        caller: optional name of the function or layer, for the message.

    Returns:
        `images`, unchanged.
    """
    check_image_dtype(name, images.dtype, dtypes, caller)
    try:
        shape = tuple(images.shape)
    except (TypeError, ValueError):  # a TensorFlow graph tensor of unknown rank
        shape = None
    ranks = (ranks,) if isinstance(ranks, int) else ranks
    if ranks is None:
        layout = "(n, ...)"
        rank_ok = shape is not None and len(shape) >= 2
    else:
        layout = " or ".join(_LAYOUTS.get(r, f"rank {r}") for r in ranks)
        rank_ok = shape is not None and len(shape) in ranks
    if not rank_ok:
        received = "<unknown rank>" if shape is None else shape
        raise ValueError(
            f"{_subject(name, caller)} images of shape {layout}. "
            f"Received: {name}.shape={received}"
        )
    if non_empty and shape[0] == 0:
        raise ValueError(
            f"{_subject(name, caller)} a non-empty batch of images {layout}. "
            f"Received: {name}.shape={shape}"
        )
    return images


def check_image_pair(first, second, names=("y_true", "y_pred"), **kwargs):
    """`check_images` on two batches, which must also have the same shape.

    Args:
        first, second: the two batches (e.g. the target and the prediction).
        names: their argument names. Defaults to `("y_true", "y_pred")`.
        **kwargs: `ranks`, `dtypes` and `caller` of `check_images`.

    Returns:
        `(first, second)`, unchanged.
    """
    for name, images in zip(names, (first, second), strict=True):
        check_images(name, images, **kwargs)
    a, b = tuple(first.shape), tuple(second.shape)
    if len(a) != len(b) or any(
        x is not None and y is not None and x != y for x, y in zip(a, b, strict=True)
    ):
        caller = kwargs.get("caller")
        both = f"`{names[0]}` and `{names[1]}`"
        start = f"{caller} expects {both} of" if caller else f"{both} must have"
        raise ValueError(
            f"{start} the same shape. "
            f"Received: {names[0]}.shape={a}, {names[1]}.shape={b}"
        )
    return first, second
