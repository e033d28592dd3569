"""A functional model using every layer survives a .keras round trip."""

import keras
import numpy as np

from keras_seqimage.layers import (
    AdditiveGaussianNoise,
    GaussianBlurLayer,
    ImageToRowSequence,
    RowOcclusion,
    RowSequenceToImage,
    SaltAndPepperNoise,
)


def test_every_layer_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input(shape=(12, 10, 3))
    x = GaussianBlurLayer(sigma=(1.0, 0.5), mode="mirror")(inputs)
    x = GaussianBlurLayer(sigma_range=(0.5, 1.5), seed=2)(x)
    x = RowOcclusion(start=8, fill_value=0.25)(x)
    x = ImageToRowSequence()(x)
    x = keras.layers.Dense(30)(x)
    x = RowSequenceToImage(width=10, channels=3)(x)
    x = ImageToRowSequence(order="columns")(x)
    x = RowSequenceToImage(width=10, channels=3, order="columns")(x)
    model = keras.Model(inputs, x)
    noisy = keras.Sequential(
        [SaltAndPepperNoise(amount=0.1, seed=5), AdditiveGaussianNoise(0.05, seed=6)]
    )

    images = np.random.rand(4, 12, 10, 3).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(images)),
        keras.ops.convert_to_numpy(model(images)),
        atol=1e-6,
    )
    assert [type(layer) for layer in loaded.layers] == [
        type(layer) for layer in model.layers
    ]

    # A seeded noise model restarts its draws from the seed when loaded.
    expected = keras.ops.convert_to_numpy(noisy(images))
    noisy_path = tmp_path / "noisy.keras"
    fresh = keras.Sequential(
        [SaltAndPepperNoise(amount=0.1, seed=5), AdditiveGaussianNoise(0.05, seed=6)]
    )
    fresh.build((None, 12, 10, 3))
    fresh.save(noisy_path)
    reloaded = keras.saving.load_model(noisy_path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(reloaded(images)), expected
    )
