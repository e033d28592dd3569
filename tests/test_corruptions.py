import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keras_seqimage.layers import (
    AdditiveGaussianNoise,
    ImageToRowSequence,
    RowOcclusion,
    SaltAndPepperNoise,
)
from tests.helpers import assert_config_round_trip


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


# RowOcclusion


def test_default_blanks_the_lower_half_of_an_mnist_digit():
    digits = np.random.rand(3, 28, 28, 1).astype("float32") + 0.5
    out = to_numpy(RowOcclusion()(digits))
    np.testing.assert_array_equal(out[:, :14], digits[:, :14])
    assert np.all(out[:, 14:] == 0)


@given(
    height=st.integers(1, 20),
    start=st.one_of(st.none(), st.integers(-25, 25)),
    stop=st.one_of(st.none(), st.integers(-25, 25)),
    fill=st.floats(-1, 1, width=32),
)
def test_matches_python_slicing(height, start, stop, fill):
    images = np.random.rand(2, height, 3, 2).astype("float32") + 2.0
    expected = images.copy()
    expected[:, slice(height // 2 if start is None else start, stop)] = fill
    out = to_numpy(RowOcclusion(start, stop, fill_value=fill)(images))
    np.testing.assert_array_equal(out, expected)


def test_row_occlusion_works_on_row_sequences_and_commutes_with_them():
    images = np.random.rand(2, 10, 4, 3).astype("float32")
    to_rows = ImageToRowSequence()
    occluded_rows = to_numpy(RowOcclusion(2, 7, fill_value=0.5)(to_rows(images)))
    rows_of_occluded = to_numpy(to_rows(RowOcclusion(2, 7, fill_value=0.5)(images)))
    np.testing.assert_array_equal(occluded_rows, rows_of_occluded)


def test_row_occlusion_with_unknown_height():
    inputs = keras.Input(shape=(None, 12))
    model = keras.Model(inputs, RowOcclusion()(inputs))
    rows = np.ones((2, 9, 12), "float32")
    out = to_numpy(model(rows))
    assert np.all(out[:, :4] == 1) and np.all(out[:, 4:] == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": 1.5}, r"`start` must be an integer row index.*start=1.5"),
        ({"stop": "end"}, r"`stop`.*stop='end'"),
        ({"fill_value": None}, r"`fill_value` must be a number.*fill_value=None"),
    ],
)
def test_row_occlusion_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RowOcclusion(**kwargs)


# Noise layers

NOISE_LAYERS = [
    lambda seed: SaltAndPepperNoise(amount=0.3, seed=seed),
    lambda seed: AdditiveGaussianNoise(stddev=0.2, seed=seed),
]


@pytest.mark.parametrize("make", NOISE_LAYERS)
def test_noise_is_seeded_and_active_at_inference(make):
    images = np.full((4, 8, 8, 1), 0.5, "float32")
    first = to_numpy(make(3)(images, training=False))
    again = to_numpy(make(3)(images, training=False))
    other = to_numpy(make(4)(images, training=False))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, images)


@pytest.mark.parametrize("make", NOISE_LAYERS)
def test_noise_accepts_row_sequences(make):
    rows = np.full((2, 28, 28), 0.5, "float32")
    out = to_numpy(make(0)(rows))
    assert out.shape == rows.shape and not np.array_equal(out, rows)


@given(
    amount=st.floats(0, 1),
    salt_vs_pepper=st.floats(0, 1),
)
def test_salt_and_pepper_statistics(amount, salt_vs_pepper):
    images = np.full((8, 32, 32, 1), 0.5, "float32")
    out = to_numpy(SaltAndPepperNoise(amount, salt_vs_pepper, seed=0)(images))
    assert set(np.unique(out)) <= {0.0, 0.5, 1.0}
    noisy = out != 0.5
    # 8192 draws: 5 standard deviations of a binomial fraction is < 0.03.
    assert abs(noisy.mean() - amount) < 0.03
    if noisy.sum() > 400:
        assert abs((out[noisy] == 1.0).mean() - salt_vs_pepper) < 0.15


def test_salt_and_pepper_value_range():
    images = np.zeros((1, 16, 16, 3), "float32")
    out = to_numpy(
        SaltAndPepperNoise(1.0, 0.5, value_range=(-1.0, 2.0), seed=0)(images)
    )
    assert set(np.unique(out)) == {-1.0, 2.0}


def test_gaussian_noise_statistics_and_clipping():
    images = np.full((16, 32, 32, 1), 0.5, "float32")
    out = to_numpy(AdditiveGaussianNoise(stddev=0.1, seed=0)(images))
    assert abs(out.mean() - 0.5) < 0.005 and abs(out.std() - 0.1) < 0.005
    clipped = to_numpy(AdditiveGaussianNoise(stddev=1.0, seed=0)(images))
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    free = to_numpy(AdditiveGaussianNoise(1.0, value_range=None, seed=0)(images))
    assert free.min() < 0.0 and free.max() > 1.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SaltAndPepperNoise(amount=1.5), r"`amount`.*\[0, 1\].*amount=1.5"),
        (lambda: SaltAndPepperNoise(amount=-0.1), r"`amount`.*amount=-0.1"),
        (lambda: SaltAndPepperNoise(salt_vs_pepper=2), r"`salt_vs_pepper`.*=2"),
        (lambda: SaltAndPepperNoise(value_range=(1, 0)), r"`value_range`.*\(1, 0\)"),
        (lambda: AdditiveGaussianNoise(stddev=0), r"`stddev` must be > 0.*stddev=0"),
        (lambda: AdditiveGaussianNoise(stddev=float("nan")), r"`stddev`.*nan"),
        (lambda: AdditiveGaussianNoise(value_range=[0]), r"`value_range`.*\[0\]"),
    ],
)
def test_noise_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


ALL_CORRUPTIONS = [
    RowOcclusion(),
    SaltAndPepperNoise(seed=1),
    AdditiveGaussianNoise(seed=1),
]


@pytest.mark.parametrize("layer", ALL_CORRUPTIONS, ids=lambda layer: layer.name)
def test_integer_images_and_wrong_rank_are_rejected(layer):
    with pytest.raises(ValueError, match=r"scale integer images first.*uint8"):
        layer(np.zeros((1, 4, 4, 1), "uint8"))
    with pytest.raises(ValueError, match=r"rank 3 or 4.*shape=\(4, 4\)"):
        layer(np.zeros((4, 4), "float32"))


@pytest.mark.parametrize("layer", ALL_CORRUPTIONS, ids=lambda layer: layer.name)
def test_corruption_config_round_trip(layer):
    assert_config_round_trip(layer)
    assert layer.compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 1)
