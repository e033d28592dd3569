"""Image layout: `data_format`, as Keras' image layers take it.

The toolkit works channels-last, `(batch, height, width, channels)`. A
channels-first batch `(batch, channels, height, width)` given to a blur as if
it were channels-last would be blurred along the channels and the height:
a wrong result without an error. Every public function and layer that takes
images therefore takes `data_format` (transposing channels-first data in and
out), and warns when a channels-last batch looks channels-first.
"""

import warnings

import keras

DATA_FORMATS = ("channels_last", "channels_first")

#: Channel counts of photographs: grey, grey + alpha, RGB, RGBA.
_IMAGE_CHANNELS = (1, 2, 3, 4)


def check_data_format(data_format):
    """`data_format`, or Keras' global default for `None`, after checking it."""
    if data_format is None:
        return keras.config.image_data_format()
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"`data_format` must be one of {list(DATA_FORMATS)} or None. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


def to_channels_last(images, data_format):
    """A rank-4 batch moved to `(batch, height, width, channels)`."""
    if data_format == "channels_first":
        return keras.ops.transpose(images, (0, 2, 3, 1))
    return images


def from_channels_last(images, data_format):
    """The inverse of `to_channels_last`."""
    if data_format == "channels_first":
        return keras.ops.transpose(images, (0, 3, 1, 2))
    return images


def shape_channels_last(shape, data_format):
    """A rank-4 shape tuple in `(batch, height, width, channels)` order."""
    shape = tuple(shape)
    if data_format == "channels_first" and len(shape) == 4:
        return (shape[0], shape[2], shape[3], shape[1])
    return shape


def warn_if_channels_first(name, shape, data_format, caller, channel_axis=-1):
    """Warn when a channels-last image shape looks channels-first.

    The sign: the channels axis (`channel_axis`, the last by default) is not
    1 to 4 entries long while the axis after the batch is. A feature map with
    many channels and a height of 1 to 4 rows gets the warning too, which is
    why this is a warning (silenced by `warnings.filterwarnings`), not an
    error.
    """
    if data_format != "channels_last":
        return
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        return
    if len(shape) < 3:
        return
    channels, lead = shape[channel_axis], shape[1 if len(shape) == 4 else 0]
    if channels is None or lead is None:
        return
    if channels not in _IMAGE_CHANNELS and lead in _IMAGE_CHANNELS:
        warnings.warn(
            f"{caller} received `{name}` of shape {shape} with "
            "data_format='channels_last': it is blurred along the axes of "
            f"size {shape[-3]} and {shape[-2]}, as height and width. If its "
            f"channels come first ({lead} channels), pass "
            "`data_format='channels_first'`.",
            UserWarning,
            stacklevel=3,
        )
