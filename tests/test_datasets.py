"""Loaders on tiny archives built here in the official layouts; splits; pairs."""

import gzip
import io
import math
import os
import pickle
import tarfile

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from keras_seqimage.datasets import (
    CIFAR10_CLASSES,
    CorruptedPairs,
    corrupt_in_batches,
    load_cifar10,
    load_mnist,
    read_idx,
    to_float,
    train_val_split,
)
from keras_seqimage.layers import GaussianBlurLayer

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


# --------------------------------------------------------------------------
# CIFAR-10 archives in the official python layout
# --------------------------------------------------------------------------


def make_cifar_batches(n=3, seed=0):
    """{name: (dict to pickle, images NHWC, labels)} with n images per batch."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in BATCHES:
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        content = {
            b"batch_label": name.encode(),
            b"labels": labels,
            # Official layout: channel-planar rows of 3072 = R plane, G, B.
            b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072),
            b"filenames": [f"{i}.png".encode() for i in range(n)],
        }
        batches[name] = content, images, np.array(labels, dtype=np.uint8)
    return batches


META = {b"label_names": [c.encode() for c in CIFAR10_CLASSES]}


def write_cifar_tar(path, batches, protocol=2, order=None, skip=()):
    with tarfile.open(path, "w:gz") as tar:
        names = [*BATCHES, "batches.meta"] if order is None else order
        for name in names:
            if name in skip:
                continue
            obj = META if name == "batches.meta" else batches[name][0]
            blob = pickle.dumps(obj, protocol=protocol)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def write_cifar_folder(root, batches):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in BATCHES:
        (folder / name).write_bytes(pickle.dumps(batches[name][0], protocol=4))
    (folder / "batches.meta").write_bytes(pickle.dumps(META))
    return folder


def expected_cifar(batches):
    x_train = np.concatenate([batches[n][1] for n in BATCHES[:5]])
    y_train = np.concatenate([batches[n][2] for n in BATCHES[:5]])[:, None]
    return (x_train, y_train), (
        batches["test_batch"][1],
        batches["test_batch"][2][:, None],
    )


def assert_cifar_equal(actual, expected):
    for got, want in zip(
        (*actual[0], *actual[1]), (*expected[0], *expected[1]), strict=True
    ):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar_from_tar_gz(tmp_path, protocol):
    batches = make_cifar_batches()
    archive = write_cifar_tar(tmp_path / "cifar-10-python.tar.gz", batches, protocol)
    before = sorted(os.listdir(tmp_path))
    (x_train, y_train), (x_test, y_test) = result = load_cifar10(archive)
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert_cifar_equal(result, expected_cifar(batches))
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted


def test_cifar_member_order_in_tar_does_not_matter(tmp_path):
    batches = make_cifar_batches(seed=1)
    order = ["batches.meta", "test_batch", *reversed(BATCHES[:5])]
    archive = write_cifar_tar(tmp_path / "c.tar.gz", batches, order=order)
    assert_cifar_equal(load_cifar10(str(archive)), expected_cifar(batches))


def test_cifar_from_extracted_folder_and_its_parent(tmp_path):
    batches = make_cifar_batches(seed=2)
    folder = write_cifar_folder(tmp_path, batches)
    assert_cifar_equal(load_cifar10(folder), expected_cifar(batches))
    assert_cifar_equal(load_cifar10(tmp_path), expected_cifar(batches))


def test_cifar_classes_official_order():
    assert len(CIFAR10_CLASSES) == 10
    assert CIFAR10_CLASSES[0] == "airplane" and CIFAR10_CLASSES[9] == "truck"


def test_cifar_missing_path(tmp_path):
    missing = tmp_path / "nope.tar.gz"
    with pytest.raises(FileNotFoundError, match=r"nope\.tar\.gz.*cifar-10-python"):
        load_cifar10(missing)


def test_cifar_truncated_archive(tmp_path):
    archive = write_cifar_tar(tmp_path / "full.tar.gz", make_cifar_batches())
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(
        ValueError, match=r"truncated\.tar\.gz.*truncated or of another"
    ):
        load_cifar10(truncated)


def test_cifar_foreign_file(tmp_path):
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not an archive\n" * 10)
    with pytest.raises(ValueError, match=r"notes\.txt.*cifar-10-python\.tar\.gz"):
        load_cifar10(foreign)


def test_cifar_archive_without_test_batch(tmp_path):
    archive = write_cifar_tar(
        tmp_path / "c.tar.gz", make_cifar_batches(), skip={"test_batch"}
    )
    with pytest.raises(ValueError, match=r"c\.tar\.gz: it lacks test_batch"):
        load_cifar10(archive)


def test_cifar_folder_without_batches(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: it lacks data_batch_1"):
        load_cifar10(tmp_path / "empty")


def test_cifar_wrong_data_shape(tmp_path):
    batches = make_cifar_batches()
    batches["data_batch_3"][0][b"data"] = np.zeros((3, 100), dtype=np.uint8)
    archive = write_cifar_tar(tmp_path / "c.tar.gz", batches)
    with pytest.raises(ValueError, match=r"data_batch_3: `data` must be a uint8"):
        load_cifar10(archive)


def test_cifar_missing_labels_key(tmp_path):
    batches = make_cifar_batches()
    del batches["test_batch"][0][b"labels"]
    archive = write_cifar_tar(tmp_path / "c.tar.gz", batches)
    with pytest.raises(ValueError, match=r"test_batch lacks the key\(s\) \['labels'\]"):
        load_cifar10(archive)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_cifar_pickle_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    batches = make_cifar_batches()
    batches["data_batch_1"][0][b"data"] = _RunsCode(marker)
    archive = write_cifar_tar(tmp_path / "c.tar.gz", batches)
    with pytest.raises(ValueError, match=r"data_batch_1 is not a CIFAR-10.*refused"):
        load_cifar10(archive)
    assert not marker.exists()


# --------------------------------------------------------------------------
# MNIST: IDX and npz
# --------------------------------------------------------------------------


def idx_bytes(array):
    magic = (0x0800 + array.ndim).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic + dims + array.astype(np.uint8).tobytes()


def make_mnist(n_train=12, n_test=8, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def write_idx_folder(folder, arrays, gz, keys=tuple(IDX_NAMES)):
    folder.mkdir(exist_ok=True)
    for key in keys:
        data = idx_bytes(arrays[key])
        if gz:
            (folder / (IDX_NAMES[key] + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / IDX_NAMES[key]).write_bytes(data)
    return folder


def assert_mnist_equal(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, key in zip((x_train, y_train, x_test, y_test), IDX_NAMES, strict=True):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_idx_folder(tmp_path, gz):
    arrays = make_mnist()
    folder = write_idx_folder(tmp_path / "mnist", arrays, gz)
    assert_mnist_equal(load_mnist(folder), arrays)


def test_mnist_from_npz(tmp_path):
    arrays = make_mnist(seed=3)
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert_mnist_equal(load_mnist(tmp_path / "mnist.npz"), arrays)


def test_mnist_npz_missing_key(tmp_path):
    arrays = make_mnist()
    del arrays["y_test"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz.*lacks \['y_test'\]"):
        load_mnist(tmp_path / "bad.npz")


def test_mnist_test_only_split(tmp_path):
    arrays = make_mnist(n_test=40, seed=4)
    folder = write_idx_folder(tmp_path / "m", arrays, True, keys=("x_test", "y_test"))
    (x_train, y_train), (x_test, y_test) = load_mnist(folder)
    assert x_train.shape == (30, 28, 28) and x_test.shape == (10, 28, 28)
    train, test = train_val_split(40, val_fraction=0.25, seed=42)
    np.testing.assert_array_equal(x_train, arrays["x_test"][train])
    np.testing.assert_array_equal(y_test, arrays["y_test"][test])
    # Deterministic, and the seed matters.
    np.testing.assert_array_equal(load_mnist(folder)[0][0], x_train)
    assert not np.array_equal(load_mnist(folder, seed=1)[0][0], x_train)
    (x_train, _), (x_test, _) = load_mnist(folder, test_only_split=0.5)
    assert len(x_train) == len(x_test) == 20


def test_mnist_test_only_without_split_is_an_error(tmp_path):
    folder = write_idx_folder(
        tmp_path / "m", make_mnist(), False, keys=("x_test", "y_test")
    )
    with pytest.raises(FileNotFoundError, match=r"lacks the MNIST file\(s\) train-"):
        load_mnist(folder, test_only_split=None)


def test_mnist_bad_magic(tmp_path):
    arrays = make_mnist()
    folder = write_idx_folder(tmp_path / "m", arrays, False)
    # A label file where the image file should be: magic 0x801, not 0x803.
    (folder / IDX_NAMES["x_test"]).write_bytes(idx_bytes(arrays["y_test"]))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*0x00000803"):
        load_mnist(folder)


def test_mnist_truncated_idx(tmp_path):
    arrays = make_mnist()
    folder = write_idx_folder(tmp_path / "m", arrays, False)
    path = folder / IDX_NAMES["x_train"]
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"idx3-ubyte holds 9403 bytes.*\(truncated"):
        load_mnist(folder)


def test_mnist_truncated_gzip(tmp_path):
    folder = write_idx_folder(tmp_path / "m", make_mnist(), True)
    path = folder / (IDX_NAMES["y_train"] + ".gz")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz.*truncated"):
        load_mnist(folder)


def test_mnist_label_count_mismatch(tmp_path):
    arrays = make_mnist()
    arrays["y_test"] = arrays["y_test"][:-1]
    folder = write_idx_folder(tmp_path / "m", arrays, True)
    with pytest.raises(ValueError, match=r"8 test images but 7 labels"):
        load_mnist(folder)


def test_mnist_missing_folder_and_bad_args(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*mnist\.npz"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"`test_only_split` must be .* 0 and 1"):
        load_mnist(tmp_path, test_only_split=1.0)
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer"):
        load_mnist(tmp_path, seed=-1)


def test_read_idx_raw(tmp_path):
    digits = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "f").write_bytes(idx_bytes(digits))
    np.testing.assert_array_equal(read_idx(tmp_path / "f", 3), digits)


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 99))
def test_train_val_split_partitions(n, fraction, seed):
    n_val = math.ceil(fraction * n)
    if n_val >= n:
        with pytest.raises(ValueError, match="leaves an empty part"):
            train_val_split(n, fraction, seed)
        return
    train, val = train_val_split(n, fraction, seed)
    assert len(val) == n_val and len(train) == n - n_val
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    again = train_val_split(n, fraction, seed)
    np.testing.assert_array_equal(again[0], train)


def test_train_val_split_arrays_and_tuples():
    x, y = np.arange(50).reshape(25, 2), np.arange(25)
    (x_tr, y_tr), (x_va, y_va) = train_val_split((x, y), val_fraction=0.2, seed=7)
    assert x_tr.shape == (20, 2) and x_va.shape == (5, 2)
    np.testing.assert_array_equal(x_tr[:, 1] // 2, y_tr)  # rows stay paired
    np.testing.assert_array_equal(x_va[:, 1] // 2, y_va)
    train, val = train_val_split(x, 0.2, seed=7)
    np.testing.assert_array_equal(train, x_tr)
    # The documented algorithm: RandomState(seed).permutation, validation first.
    order = np.random.RandomState(7).permutation(25)
    np.testing.assert_array_equal(y_va, order[:5])


def test_train_val_split_matches_sklearn():
    sklearn_model_selection = pytest.importorskip("sklearn.model_selection")
    x = np.arange(1000)
    ours = train_val_split(x, 0.2, seed=42)
    theirs = sklearn_model_selection.train_test_split(x, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_train_val_split_errors():
    with pytest.raises(ValueError, match=r"`val_fraction` must be .* Received: val"):
        train_val_split(10, val_fraction=0)
    with pytest.raises(ValueError, match=r"same length. Received lengths: \[2, 3\]"):
        train_val_split((np.zeros(2), np.zeros(3)))
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer"):
        train_val_split(10, seed=1.5)


# --------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------


def numbered_images(n, size=4):
    """uint8 images whose every pixel holds the image's index (n <= 256)."""
    return np.broadcast_to(
        np.arange(n, dtype=np.uint8)[:, None, None, None], (n, size, size, 3)
    ).copy()


def ids(batch):
    return np.rint(batch[:, 0, 0, 0] * 255).astype(int)


def test_to_float():
    np.testing.assert_array_equal(
        to_float(np.array([0, 255], dtype=np.uint8)), np.array([0.0, 1.0], "float32")
    )
    x = np.array([0.25], dtype="float64")
    assert to_float(x).dtype == np.float32
    with pytest.raises(ValueError, match=r"Received: images.dtype=int64"):
        to_float(np.array([1, 2]))


def test_pairs_shapes_dtypes_and_scaling():
    images = numbered_images(10)
    pairs = CorruptedPairs(images, lambda x: x * 0.5, batch_size=4, seed=0)
    assert len(pairs) == 3
    sizes = []
    for index in range(len(pairs)):
        corrupted, clean = pairs[index]
        assert corrupted.dtype == clean.dtype == np.float32
        np.testing.assert_allclose(corrupted, clean * 0.5)
        sizes.append(len(clean))
    assert sizes == [4, 4, 2]
    assert pairs.images is images  # stored as given, not converted


def test_pairs_cover_each_image_once_per_epoch_and_reshuffle():
    pairs = CorruptedPairs(numbered_images(20), batch_size=6, seed=3)
    orders = []
    for _ in range(3):
        order = np.concatenate([ids(pairs[i][1]) for i in range(len(pairs))])
        np.testing.assert_array_equal(np.sort(order), np.arange(20))
        orders.append(order)
        pairs.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    # Same seed, same epoch: same batches (also after setting the epoch).
    other = CorruptedPairs(numbered_images(20), batch_size=6, seed=3)
    other.epoch = 1
    np.testing.assert_array_equal(ids(other[0][1]), orders[1][: len(other[0][1])])
    different = CorruptedPairs(numbered_images(20), batch_size=6, seed=4)
    assert not np.array_equal(ids(different[0][1]), ids(other[0][1]))


def test_pairs_without_shuffle_keep_order_and_identity_task():
    pairs = CorruptedPairs(numbered_images(7), batch_size=3, shuffle=False)
    np.testing.assert_array_equal(ids(pairs[2][1]), [6])
    corrupted, clean = pairs[1]
    np.testing.assert_array_equal(corrupted, clean)  # corruption=None: (x, x)
    np.testing.assert_array_equal(ids(clean), [3, 4, 5])
    dropped = CorruptedPairs(numbered_images(7), batch_size=3, drop_remainder=True)
    assert len(dropped) == 2
    with pytest.raises(IndexError):
        dropped[2]


def test_pairs_with_blur_layer_equal_scipy():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    pairs = CorruptedPairs(images, GaussianBlurLayer(1.0), batch_size=6, shuffle=False)
    blurred, clean = pairs[0]
    np.testing.assert_allclose(clean, images / 255.0, atol=1e-7)
    expected = ndi.gaussian_filter(clean, sigma=(0, 1, 1, 0), mode="reflect")
    np.testing.assert_allclose(blurred, expected, atol=1e-5)
    assert isinstance(blurred, np.ndarray)


def test_pairs_in_model_fit():
    images = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8)
    train = CorruptedPairs(images, GaussianBlurLayer(1.0), batch_size=4, seed=0)
    val = CorruptedPairs(
        images[:4], GaussianBlurLayer(1.0), batch_size=4, shuffle=False
    )
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, padding="same")]
    )
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(
        train, validation_data=val, epochs=2, steps_per_epoch=1, verbose=0
    )
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["val_loss"]).all()
    assert train.epoch >= 1  # fit called on_epoch_end


def test_corrupt_in_batches_equals_whole_array():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (9, 8, 8, 3), dtype=np.uint8)
    blur = GaussianBlurLayer(1.5)
    out = corrupt_in_batches(images, blur, batch_size=4)
    assert out.dtype == np.float32 and out.shape == images.shape
    expected = ndi.gaussian_filter(images / 255.0, sigma=(0, 1.5, 1.5, 0))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_array_equal(
        corrupt_in_batches(images, None, batch_size=2), to_float(images)
    )


def test_pairs_argument_errors():
    images = numbered_images(4)
    with pytest.raises(ValueError, match=r"Received: images.dtype=int64"):
        CorruptedPairs(np.zeros((4, 2, 2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"`corruption` must be a callable"):
        CorruptedPairs(images, corruption="blur")
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer"):
        CorruptedPairs(images, batch_size=0)
    with pytest.raises(ValueError, match=r"`seed` must be a non-negative integer or"):
        CorruptedPairs(images, seed=-3)
    with pytest.raises(ValueError, match=r"`shuffle` must be True or False"):
        CorruptedPairs(images, shuffle="yes")
    with pytest.raises(ValueError, match=r"at most the number of images \(4\)"):
        CorruptedPairs(images, batch_size=5, drop_remainder=True)
    with pytest.raises(ValueError, match=r"Received: images.shape=\(0, 2\)"):
        corrupt_in_batches(np.zeros((0, 2), np.uint8), None)


def test_photo_splits_are_disjoint_and_load_full_size():
    from keras_seqimage.datasets import (
        PHOTO_TEST_SET,
        PHOTO_TRAIN_SET,
        load_photo,
        load_photos,
    )

    pytest.importorskip("skimage")
    assert not set(PHOTO_TEST_SET) & set(PHOTO_TRAIN_SET)
    assert "cat" not in PHOTO_TRAIN_SET  # skimage.data.cat is chelsea (TEST)
    camera = load_photo("camera")
    assert camera.shape == (512, 512, 1) and camera.dtype == np.float32
    grace = load_photo("grace_hopper")
    assert grace.shape == (600, 512, 3) and 0.0 <= grace.min() <= grace.max() <= 1.0
    assert list(load_photos("test")) == list(PHOTO_TEST_SET)
    with pytest.raises(ValueError, match=r"`name` must be one of .*name='cat'"):
        load_photo("cat")
    with pytest.raises(ValueError, match=r"`split` must be one of .*split='val'"):
        load_photos("val")
