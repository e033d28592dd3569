"""Layers on real CIFAR-10 and MNIST images (skipped where ../shared/data is absent)."""

import gzip
import io
import os
import tarfile
from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi

from keras_seqimage.baselines import tune_wiener, wiener_deconvolution
from keras_seqimage.datasets import load_cifar10, load_mnist, read_idx, train_val_split
from keras_seqimage.layers import (
    GaussianBlurLayer,
    ImageToRowSequence,
    RowOcclusion,
    RowSequenceToImage,
)


def first_cifar_images(data_dir, count=64):
    from PIL import Image

    images = []
    with tarfile.open(data_dir / "cifar10-jpeg.tar.gz", mode="r|gz") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".jpg"):
                data = archive.extractfile(member).read()
                images.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                if len(images) == count:
                    break
    return np.stack(images).astype("float32") / 255.0


def first_mnist_digits(data_dir, count=100):
    with gzip.open(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz") as handle:
        raw = handle.read(16 + count * 28 * 28)
    digits = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 28, 28, 1)
    return digits.astype("float32") / 255.0


def test_blur_equals_scipy_on_real_cifar10(shared_data):
    images = first_cifar_images(shared_data)
    assert images.shape == (64, 32, 32, 3)
    for sigma in (0.5, 1.0, 2.0):
        expected = ndi.gaussian_filter(images, sigma=(0, sigma, sigma, 0))
        actual = keras.ops.convert_to_numpy(GaussianBlurLayer(sigma)(images))
        np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    rows = ImageToRowSequence()(images)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(RowSequenceToImage(32, 3)(rows)), images
    )


def test_lower_half_occlusion_on_real_mnist(shared_data):
    digits = first_mnist_digits(shared_data)
    occluded = keras.ops.convert_to_numpy(RowOcclusion()(digits))
    np.testing.assert_array_equal(occluded[:, :14], digits[:, :14])
    assert np.all(occluded[:, 14:] == 0)
    # Real digits have ink in their lower half, which the occlusion removes.
    assert (digits[:, 14:].sum(axis=(1, 2, 3)) > 0).all()


# The official-layout archive built from the shared JPEG copy (see its README);
# it lives outside the repository and may be absent.
CIFAR_ARCHIVE = Path(
    os.environ.get("KERAS_SEQIMAGE_CIFAR", "~/data/cifar-10-python.tar.gz")
).expanduser()


def test_load_cifar10_official_archive(shared_data):
    if not CIFAR_ARCHIVE.is_file():
        pytest.skip(f"no official-layout CIFAR-10 archive at {CIFAR_ARCHIVE}")
    (x_train, y_train), (x_test, y_test) = load_cifar10(CIFAR_ARCHIVE)
    assert x_train.shape == (50000, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 32, 32, 3) and y_test.shape == (10000, 1)
    np.testing.assert_array_equal(np.bincount(y_train[:, 0]), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test[:, 0]), [1000] * 10)
    # Per-channel means of the training split, as the data README states.
    means = x_train.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, [125.3, 122.9, 113.9], atol=0.1)


def test_load_mnist_splits_the_real_test_files(shared_data):
    (x_train, y_train), (x_test, y_test) = load_mnist(shared_data / "mnist")
    assert x_train.shape == (7500, 28, 28) and x_test.shape == (2500, 28, 28)
    digits = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz", 3)
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz", 1)
    train, test = train_val_split(10000, val_fraction=0.25, seed=42)
    np.testing.assert_array_equal(x_train, digits[train])
    np.testing.assert_array_equal(y_test, labels[test])
    assert set(np.unique(y_train)) == set(range(10))


def test_wiener_on_real_cifar10(shared_data):
    images = first_cifar_images(shared_data).astype("float64")
    blurred = ndi.gaussian_filter(images, sigma=(0, 1, 1, 0)).astype("float32")

    def psnr(x):
        return np.mean(-10 * np.log10(np.mean((x - images) ** 2, axis=(1, 2, 3))))

    # The float32 blur with the known kernel and boundary is nearly invertible ...
    assert psnr(wiener_deconvolution(blurred, 1.0, 1e-9)) > 60.0
    # ... and an 8-bit copy of it still gains several dB once `balance` is tuned.
    quantized = np.round(blurred * 255) / 255
    best, _ = tune_wiener(quantized, images, 1.0)
    assert psnr(wiener_deconvolution(quantized, 1.0, best)) > psnr(quantized) + 6.0


def train_on_half_blanked_digits(model, data_dir):
    """One epoch (MSE, Adam 1e-3) on 3,000 real digits with rows 14.. blanked.

    Returns the training history and the model's outputs on the first 200.
    Seed before building the model: the seed covers its weights and the fit.
    """
    digits = first_mnist_digits(data_dir, count=3000)
    corrupted = digits.copy()
    corrupted[:, 14:] = 0.0
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    history = model.fit(corrupted, digits, batch_size=100, epochs=1, verbose=0)
    outputs = keras.ops.convert_to_numpy(model.predict(corrupted[:200], verbose=0))
    return history, outputs


def test_cnn_cnn_baseline_does_not_collapse_on_half_blanked_mnist(shared_data):
    """With a sigmoid output and MSE it collapsed to black (loss stuck at 0.114)."""
    from keras_seqimage.models import ConvEncoderDecoder

    keras.utils.set_random_seed(0)
    model = ConvEncoderDecoder.from_preset("paper")
    history, outputs = train_on_half_blanked_digits(model, shared_data)
    assert history.history["loss"][-1] < 0.1
    assert outputs[:, :14].mean() > 0.05  # the kept upper half is not black


def test_cnn_lstm_output_depends_on_the_digit_on_half_blanked_mnist(shared_data):
    """With the paper's sigmoid output and MSE it wrote one mean digit for all."""
    from keras_seqimage.models import CNNLSTMDirectAttention

    keras.utils.set_random_seed(0)
    model = CNNLSTMDirectAttention.from_preset("paper")
    _, outputs = train_on_half_blanked_digits(model, shared_data)
    # Spread across images, per pixel: zero when the model ignores its input.
    assert outputs.std(axis=0).mean() > 0.005  # 0.023-0.037 here; sigmoid: 0.0
