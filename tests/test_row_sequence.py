import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keras_seqimage.layers import ImageToRowSequence, RowSequenceToImage
from tests.helpers import assert_config_round_trip

shapes = st.tuples(
    st.integers(1, 3), st.integers(1, 12), st.integers(1, 12), st.integers(1, 4)
)


def test_rows_match_the_sources_reshape():
    images = np.random.rand(5, 32, 32, 3).astype("float32")
    rows = keras.ops.convert_to_numpy(ImageToRowSequence()(images))
    np.testing.assert_array_equal(rows, images.reshape(-1, 32, 96))


def test_columns_are_rows_of_the_transposed_image():
    images = np.random.rand(2, 5, 7, 3).astype("float32")
    columns = keras.ops.convert_to_numpy(ImageToRowSequence(order="columns")(images))
    np.testing.assert_array_equal(
        columns, images.transpose(0, 2, 1, 3).reshape(2, 7, 15)
    )


@given(shape=shapes, order=st.sampled_from(["rows", "columns"]))
def test_round_trip_is_exact(shape, order):
    batch, height, width, channels = shape
    images = np.random.rand(*shape).astype("float32")
    sequence = ImageToRowSequence(order=order)(images)
    back = RowSequenceToImage(width, channels, order=order)(sequence)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(back), images)
    assert ImageToRowSequence(order=order).compute_output_shape(shape) == tuple(
        sequence.shape
    )
    assert RowSequenceToImage(width, channels, order=order).compute_output_shape(
        tuple(sequence.shape)
    ) == (batch, height, width, channels)


def test_unknown_batch_and_sequence_length_rows():
    inputs = keras.Input(shape=(None, 6, 3))
    sequence = ImageToRowSequence()(inputs)
    assert tuple(sequence.shape) == (None, None, 18)
    images = RowSequenceToImage(width=6, channels=3)(sequence)
    assert tuple(images.shape) == (None, None, 6, 3)
    data = np.random.rand(2, 9, 6, 3).astype("float32")
    out = keras.ops.convert_to_numpy(keras.Model(inputs, images)(data))
    np.testing.assert_array_equal(out, data)


def test_unknown_batch_and_sequence_length_columns():
    inputs = keras.Input(shape=(5, None, 3))
    sequence = ImageToRowSequence(order="columns")(inputs)
    assert tuple(sequence.shape) == (None, None, 15)
    data = np.random.rand(2, 5, 4, 3).astype("float32")
    out = keras.ops.convert_to_numpy(keras.Model(inputs, sequence)(data))
    np.testing.assert_array_equal(out, data.transpose(0, 2, 1, 3).reshape(2, 4, 15))


def test_configs_round_trip():
    assert_config_round_trip(ImageToRowSequence(order="columns"))
    assert_config_round_trip(RowSequenceToImage(8, 2, order="columns"))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"rank 4.*shape=\(2, 32, 96\)"):
        ImageToRowSequence()(np.zeros((2, 32, 96), "float32"))
    with pytest.raises(ValueError, match=r"rank 3.*shape=\(2, 4, 4, 3\)"):
        RowSequenceToImage(4, 3)(np.zeros((2, 4, 4, 3), "float32"))


def test_unknown_width_or_channels():
    with pytest.raises(ValueError, match=r"known width.*None, None, 3"):
        ImageToRowSequence()(keras.Input(shape=(None, None, 3)))
    with pytest.raises(ValueError, match=r"known channels.*8, 8, None"):
        ImageToRowSequence()(keras.Input(shape=(8, 8, None)))
    with pytest.raises(ValueError, match=r"known height.*None, 8, 3"):
        ImageToRowSequence(order="columns")(keras.Input(shape=(None, 8, 3)))
    with pytest.raises(ValueError, match=r"known feature.*None, None"):
        RowSequenceToImage(4, 3)(keras.Input(shape=(None, None)))


def test_feature_count_must_fit_width_and_channels():
    with pytest.raises(ValueError, match=r"width \* channels = 32 \* 3 = 96.*100"):
        RowSequenceToImage(32, 3)(np.zeros((1, 32, 100), "float32"))
    with pytest.raises(ValueError, match=r"divisible by channels=3.*\(1, 4, 10\)"):
        RowSequenceToImage(4, 3, order="columns")(np.zeros((1, 4, 10), "float32"))
    with pytest.raises(ValueError, match=r"width=5 steps.*\(1, 4, 12\)"):
        RowSequenceToImage(5, 3, order="columns")(np.zeros((1, 4, 12), "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width": 0, "channels": 3}, r"`width` must be a positive integer.*width=0"),
        ({"width": 4, "channels": 2.5}, r"`channels`.*channels=2.5"),
        ({"width": 4, "channels": 3, "order": "diag"}, r"`order`.*order='diag'"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RowSequenceToImage(**kwargs)


def test_bad_order():
    with pytest.raises(ValueError, match=r"\['columns', 'rows'\].*order='cols'"):
        ImageToRowSequence(order="cols")
