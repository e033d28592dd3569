"""Layers on real CIFAR-10 and MNIST images (skipped where ../shared/data is absent)."""

import gzip
import io
import tarfile

import keras
import numpy as np
import scipy.ndimage as ndi

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
