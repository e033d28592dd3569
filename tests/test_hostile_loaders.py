"""Hostile files for the loaders, by kind: each is refused, by name, in little memory.

Every file here is built in `tmp_path` in the official layouts, then made
hostile one way: a member that inflates far past what its format needs (a
decompression bomb, built from a megabyte of deflate blocks repeated, so the
test stays fast and the file small), a member twice, a member the format does
not have, labels out of range, images of the wrong shape, an IDX or `.npy`
header that lies about the size, a truncated file. Where memory is the point,
the peak of Python's and numpy's allocations (tracemalloc) during the refusal
is checked against a bound far below what the file announces.
"""

import gzip
import io
import pickle
import struct
import tarfile
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from keras_seqimage.datasets import load_cifar10, load_mnist, read_idx

MIB = 2**20
GIB = 2**30
ZERO_MIB = bytes(MIB)
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
FOLDER = "cifar-10-batches-py"
# A refusal may allocate a few buffers (tar blocks, a zlib window, a header):
# far below the 64 MiB a CIFAR-10 member may hold and the 1 GiB a bomb holds.
SMALL_PEAK = 16 * MIB


# --------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------


def deflate_parts(parts):
    """Raw deflate of the concatenated `(bytes, repeat)` parts: `(data, crc, size)`.

    Each part is compressed once by a fresh compressor and closed with a full
    flush (which leaves no reference to earlier bytes), so its compressed
    bytes can be repeated as they are: a gigabyte of zeros costs a megabyte
    and a few milliseconds.
    """
    body, crc, size = [], 0, 0
    for data, repeat in parts:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)
        body.append(block * repeat)
        for _ in range(repeat):
            crc = zlib.crc32(data, crc)
        size += len(data) * repeat
    body.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # final block
    return b"".join(body), crc, size


def gzip_bytes(parts):
    """A valid gzip file of the `(bytes, repeat)` parts (see `deflate_parts`)."""
    data, crc, size = deflate_parts(parts)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + data + struct.pack("<II", crc, size % 2**32)


def zip_bytes(members, understate=()):
    """A zip of `[(name, parts)]`, deflated as `deflate_parts` does.

    Names may repeat. A member named in `understate` gets a directory entry
    claiming it holds 16 bytes.
    """
    body, directory = b"", b""
    for name, parts in members:
        data, crc, size = deflate_parts(parts)
        size = 16 if name in understate else size
        encoded, offset = name.encode(), len(body)
        fields = (8, 0, 0x21, crc, len(data), size, len(encoded))  # deflate, 1980
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, *fields, 0)
        body += encoded + data
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset
        )
        directory += encoded
    count = len(members)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), len(body), 0
    )
    return body + directory + end


def tar_header(name, size, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def cifar_batch(n=3, seed=0, labels=None, data=None):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    return {
        b"batch_label": b"a batch",
        b"labels": rng.integers(0, 10, n).tolist() if labels is None else labels,
        b"data": images if data is None else data,
        b"filenames": [f"{i}.png".encode() for i in range(n)],
    }


def cifar_members(**replace):
    """`[(member name, bytes)]` of a small official-layout archive."""
    members = [
        (f"{FOLDER}/{name}", pickle.dumps(cifar_batch(seed=i)))
        for i, name in enumerate(BATCHES)
    ]
    members.append((f"{FOLDER}/batches.meta", pickle.dumps({b"label_names": []})))
    for name, blob in replace.items():
        members = [(m, blob if m == f"{FOLDER}/{name}" else b) for m, b in members]
    return members


def write_tar(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, blob in members:
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def idx_bytes(array, shape=None):
    """IDX bytes of `array`; `shape` overrides what the header announces."""
    shape = array.shape if shape is None else shape
    magic = (0x0800 + len(shape)).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in shape)
    return magic + dims + array.astype(np.uint8).tobytes()


def mnist_arrays(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n, dtype=np.uint8),
    }


def write_idx_test_files(folder, images, labels):
    folder.mkdir(exist_ok=True)
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    return folder


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def refused_peak(pattern, load, *args):
    """Run `load(*args)`, expect a ValueError matching `pattern`; its peak bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=pattern):
            load(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_builders_make_valid_files(tmp_path):
    parts = [(b"head", 1), (bytes(1000), 3), (b"tail", 1)]
    expected = b"head" + bytes(3000) + b"tail"
    assert gzip.decompress(gzip_bytes(parts)) == expected
    (tmp_path / "a.zip").write_bytes(zip_bytes([("a.bin", parts)]))
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.read("a.bin") == expected


# --------------------------------------------------------------------------
# Decompression bombs and oversized headers
# --------------------------------------------------------------------------


class TestDecompressionBombs:
    def test_cifar_member_that_inflates_to_a_gibibyte_is_refused_unread(self, tmp_path):
        name = f"{FOLDER}/data_batch_1"
        stream = [(tar_header(name, GIB), 1), (ZERO_MIB, 1024), (bytes(1024), 1)]
        bomb = tmp_path / "bomb.tar.gz"
        bomb.write_bytes(gzip_bytes(stream))
        assert bomb.stat().st_size < 2 * MIB  # a thousandfold inflation
        peak = refused_peak(
            r"bomb\.tar\.gz: member 'cifar-10-batches-py/data_batch_1' announces "
            r"1073741824 bytes; a member of this archive may hold at most 67108864",
            load_cifar10,
            bomb,
        )
        assert peak < SMALL_PEAK

    def test_small_member_past_its_own_cap_is_refused(self, tmp_path):
        # batches.meta is never read, but skipping it would inflate it whole.
        members = cifar_members()
        members.insert(0, (f"{FOLDER}/batches.meta", bytes(2 * MIB)))
        archive = write_tar(tmp_path / "c.tar.gz", members[:-1])
        with pytest.raises(ValueError, match=r"batches\.meta' is 2097152 bytes; "):
            load_cifar10(archive)

    def test_tar_extended_header_bomb_is_refused(self, tmp_path):
        # tarfile reads a pax header's data whole before the member it names.
        header = tar_header("././@PaxHeader", GIB, kind=tarfile.XHDTYPE)
        stream = [(header, 1), (ZERO_MIB, 1024), (bytes(1024), 1)]
        bomb = tmp_path / "pax.tar.gz"
        bomb.write_bytes(gzip_bytes(stream))
        peak = refused_peak(
            r"pax\.tar\.gz: member '\./\./@PaxHeader' announces 1073741824 bytes; "
            r"an extended header of this archive may hold at most 65536",
            load_cifar10,
            bomb,
        )
        assert peak < SMALL_PEAK

    def test_gzipped_idx_inflating_past_its_header_is_refused(self, tmp_path):
        folder = tmp_path / "mnist"
        folder.mkdir()
        digit = np.zeros((1, 28, 28), np.uint8)
        bomb = [(idx_bytes(digit), 1), (ZERO_MIB, 1024)]
        (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip_bytes(bomb))
        (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(1)))
        peak = refused_peak(
            r"t10k-images-idx3-ubyte\.gz holds more bytes of data than its header "
            r"announces shape \(1, 28, 28\) = 784 bytes \(corrupt\)",
            load_mnist,
            folder,
        )
        assert peak < SMALL_PEAK

    def test_npz_member_inflating_past_its_cap_is_refused(self, tmp_path):
        count = GIB // 784
        header = npy_bytes(np.zeros((0, 28, 28), np.uint8)).replace(
            b"(0, 28, 28)", f"({count}, 28, 28)".encode()
        )
        small = mnist_arrays()
        members = [(f"{k}.npy", [(npy_bytes(v), 1)]) for k, v in small.items()]
        size = count * 784
        zeros = [(ZERO_MIB, size // MIB), (bytes(size % MIB), 1)]
        members[0] = ("x_train.npy", [(header, 1), *zeros])
        bomb = tmp_path / "mnist.npz"
        bomb.write_bytes(zip_bytes(members))
        assert bomb.stat().st_size < 2 * MIB
        peak = refused_peak(
            r"mnist\.npz: x_train\.npy is \d{10} bytes once decompressed; "
            r"expected at most 94090000",
            load_mnist,
            bomb,
        )
        assert peak < SMALL_PEAK

    def test_zip_directory_understating_a_member_gets_no_further(self, tmp_path):
        # zipfile stops at the size the directory gives and checks the CRC.
        members = [(f"{k}.npy", [(npy_bytes(v), 1)]) for k, v in mnist_arrays().items()]
        members[2] = ("x_test.npy", [(npy_bytes(np.zeros((8, 28, 28), np.uint8)), 1)])
        path = tmp_path / "mnist.npz"
        path.write_bytes(zip_bytes(members, understate={"x_test.npy"}))
        with pytest.raises(
            ValueError, match=r"mnist\.npz: Bad CRC-32 for .*x_test\.npy"
        ):
            load_mnist(path)


# --------------------------------------------------------------------------
# Headers that lie about sizes
# --------------------------------------------------------------------------


class TestLyingHeaders:
    def test_idx_announcing_more_than_the_cap_is_refused_before_reading(self, tmp_path):
        path = tmp_path / "t10k-images-idx3-ubyte"
        path.write_bytes(idx_bytes(np.zeros(10), shape=(10**6, 28, 28)))
        peak = refused_peak(
            r"t10k-images-idx3-ubyte: its header announces shape \(1000000, 28, 28\) "
            r"= 784000000 bytes, more than the 94080000 allowed \(`max_bytes`\)",
            read_idx,
            path,
            3,
        )
        assert peak < SMALL_PEAK

    @pytest.mark.parametrize("gz", [False, True])
    def test_idx_holding_more_than_its_header_announces(self, tmp_path, gz):
        data = idx_bytes(np.zeros((3, 28, 28)), shape=(2, 28, 28))
        path = tmp_path / ("x.idx.gz" if gz else "x.idx")
        path.write_bytes(gzip.compress(data) if gz else data)
        held = "more bytes of data than" if gz else "2352 bytes of data, but"
        with pytest.raises(
            ValueError,
            match=rf"x\.idx(\.gz)? holds {held} its header announces shape "
            r"\(2, 28, 28\) = 1568 bytes",
        ):
            read_idx(path, 3)

    @pytest.mark.parametrize("gz", [False, True])
    def test_idx_holding_less_than_its_header_announces(self, tmp_path, gz):
        data = idx_bytes(np.zeros((1, 28, 28)), shape=(2, 28, 28))
        path = tmp_path / ("x.idx.gz" if gz else "x.idx")
        path.write_bytes(gzip.compress(data) if gz else data)
        with pytest.raises(
            ValueError,
            match=r"holds 784 bytes of data, but its header announces shape "
            r"\(2, 28, 28\) = 1568 bytes \(truncated or corrupt\)",
        ):
            read_idx(path, 3)

    def test_read_idx_cap_is_an_argument(self, tmp_path):
        path = tmp_path / "labels.idx"
        path.write_bytes(idx_bytes(np.arange(10)))
        np.testing.assert_array_equal(read_idx(path, 1, max_bytes=10), np.arange(10))
        with pytest.raises(ValueError, match=r"= 10 bytes, more than the 9 allowed"):
            read_idx(path, 1, max_bytes=9)
        with pytest.raises(ValueError, match=r"`max_bytes` must be a positive int"):
            read_idx(path, 1, max_bytes=0)
        with pytest.raises(ValueError, match=r"`ndim` must be a positive integer"):
            read_idx(path, 0)

    def test_npy_header_announcing_more_than_the_member_holds(self, tmp_path):
        arrays = mnist_arrays()
        arrays["x_test"] = arrays["x_test"][:2]
        blob = npy_bytes(arrays["x_test"])[:-784]  # header says 2 digits, holds 1
        path = tmp_path / "mnist.npz"
        with zipfile.ZipFile(path, "w") as archive:
            for key, value in arrays.items():
                archive.writestr(
                    f"{key}.npy", blob if key == "x_test" else npy_bytes(value)
                )
        with pytest.raises(
            ValueError,
            match=r"x_test\.npy holds 784 bytes of data, but its header announces "
            r"shape \(2, 28, 28\) of uint8 = 1568 bytes",
        ):
            load_mnist(path)

    def test_npy_header_announcing_more_than_the_cap(self, tmp_path):
        arrays = mnist_arrays()
        blob = npy_bytes(arrays["x_test"]).replace(b"(8, 28, 28)", b"(800000, 28, 28)")
        path = tmp_path / "mnist.npz"
        with zipfile.ZipFile(path, "w") as archive:
            for key, value in arrays.items():
                archive.writestr(
                    f"{key}.npy", blob if key == "x_test" else npy_bytes(value)
                )
        peak = refused_peak(
            r"x_test\.npy: its header announces shape \(800000, 28, 28\) of uint8 = "
            r"627200000 bytes, more than the 94080000 expected",
            load_mnist,
            path,
        )
        assert peak < SMALL_PEAK


# --------------------------------------------------------------------------
# Duplicate members
# --------------------------------------------------------------------------


class TestDuplicateMembers:
    def test_cifar_member_twice(self, tmp_path):
        members = cifar_members()
        members.append((f"{FOLDER}/data_batch_2", pickle.dumps(cifar_batch(seed=9))))
        archive = write_tar(tmp_path / "c.tar.gz", members)
        with pytest.raises(
            ValueError,
            match=r"c\.tar\.gz: member 'cifar-10-batches-py/data_batch_2' "
            r"appears twice",
        ):
            load_cifar10(archive)

    def test_cifar_member_in_the_folder_and_at_the_top_level(self, tmp_path):
        members = cifar_members()
        members.append(("./data_batch_2", pickle.dumps(cifar_batch(seed=9))))
        archive = write_tar(tmp_path / "c.tar", members, mode="w")
        with pytest.raises(ValueError, match=r"member '\./data_batch_2' appears twice"):
            load_cifar10(archive)

    def test_npz_member_twice(self, tmp_path):
        arrays = mnist_arrays()
        members = [(f"{k}.npy", [(npy_bytes(v), 1)]) for k, v in arrays.items()]
        members.append(("y_test.npy", [(npy_bytes(arrays["y_test"] * 0), 1)]))
        path = tmp_path / "mnist.npz"
        path.write_bytes(zip_bytes(members))
        with pytest.raises(
            ValueError, match=r"holds the member\(s\) \['y_test\.npy'\] more than once"
        ):
            load_mnist(path)


# --------------------------------------------------------------------------
# Unexpected members
# --------------------------------------------------------------------------


class TestUnexpectedMembers:
    @pytest.mark.parametrize(
        "name",
        [f"{FOLDER}/run.sh", "elsewhere/data_batch_1", "../data_batch_1", "notes"],
    )
    def test_cifar_member_the_archive_does_not_have(self, tmp_path, name):
        members = [*cifar_members(), (name, b"#!/bin/sh\n")]
        archive = write_tar(tmp_path / "c.tar.gz", members)
        with pytest.raises(
            ValueError,
            match=rf"unexpected member '{name}': expected only batches\.meta, "
            r"data_batch_1, .*, test_batch \(in cifar-10-batches-py/",
        ):
            load_cifar10(archive)

    def test_cifar_batch_that_is_a_link(self, tmp_path):
        archive = tmp_path / "c.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for name, blob in cifar_members()[:5]:
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
            link = tarfile.TarInfo(f"{FOLDER}/test_batch")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
        with pytest.raises(
            ValueError, match=r"test_batch' must be a regular file; it is a symbolic"
        ):
            load_cifar10(archive)

    def test_npz_member_the_file_does_not_have(self, tmp_path):
        path = write_npz(
            tmp_path / "mnist.npz", {**mnist_arrays(), "notes": np.zeros(2)}
        )
        with pytest.raises(
            ValueError, match=r"unexpected member\(s\) \['notes\.npy'\]"
        ):
            load_mnist(path)

    def test_npz_holding_a_pickle(self, tmp_path):
        arrays = {**mnist_arrays(), "y_test": np.array([1, "a"], dtype=object)}
        path = write_npz(tmp_path / "mnist.npz", arrays)
        with pytest.raises(ValueError, match=r"y_test\.npy holds Python objects"):
            load_mnist(path)


# --------------------------------------------------------------------------
# Labels and shapes: one rule in every loader
# --------------------------------------------------------------------------


def cifar_with(tmp_path, labels=None, data=None):
    batch = pickle.dumps(cifar_batch(labels=labels, data=data))
    archive = write_tar(tmp_path / "c.tar.gz", cifar_members(data_batch_3=batch))
    return lambda: load_cifar10(archive)


def idx_with(tmp_path, labels=None, images=None):
    arrays = mnist_arrays()
    images = arrays["x_test"] if images is None else images
    labels = arrays["y_test"] if labels is None else labels
    folder = write_idx_test_files(tmp_path / "mnist", images, np.asarray(labels))
    return lambda: load_mnist(folder)


def npz_with(tmp_path, labels=None, images=None):
    arrays = mnist_arrays()
    if labels is not None:
        arrays["y_train"] = np.asarray(labels)
    if images is not None:
        arrays["x_train"] = images
    path = write_npz(tmp_path / "mnist.npz", arrays)
    return lambda: load_mnist(path)


class TestLabelsAndShapes:
    @pytest.mark.parametrize(
        "make, field",
        [(cifar_with, "labels"), (idx_with, "y_test"), (npz_with, "y_train")],
    )
    @pytest.mark.parametrize("bad, low, high", [(10, 0, 10), (-1, -1, 9)])
    def test_label_out_of_range(self, tmp_path, make, field, bad, low, high):
        labels = np.array([bad, 0, 9] + [1] * 5, dtype=np.int64)
        labels = labels[:3] if make is cifar_with else labels
        if make is idx_with:  # IDX stores unsigned bytes: -1 arrives as 255
            low, high = 0, max(high, bad % 256)
        load = make(tmp_path, labels=labels)
        with pytest.raises(
            ValueError,
            match=rf"`{field}` must lie in 0\.\.9\. Received: labels from {low} to "
            rf"{high}",
        ):
            load()

    @pytest.mark.parametrize(
        "load, pattern",
        [
            (
                lambda t: cifar_with(t, data=np.zeros((3, 3071), np.uint8)),
                r"data_batch_3: `data` must be a uint8 array of shape \(n, 3072\). "
                r"Received: uint8 array of shape \(3, 3071\)",
            ),
            (
                lambda t: cifar_with(t, data=np.zeros((3, 3072), np.float32)),
                r"`data` must be a uint8 array .* Received: float32 array",
            ),
            (
                lambda t: idx_with(t, images=np.zeros((8, 32, 32), np.uint8)),
                r"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte: `x_test` must be "
                r"a uint8 array of shape \(n, 28, 28\). Received: uint8 array of "
                r"shape \(8, 32, 32\)",
            ),
            (
                lambda t: npz_with(t, images=np.zeros((8, 28, 28), np.float32)),
                r"mnist\.npz: x_train\.npy and y_train\.npy: `x_train` must be a uint8 "
                r"array of shape \(n, 28, 28\). Received: float32 array",
            ),
        ],
    )
    def test_images_of_the_wrong_shape_or_dtype(self, tmp_path, load, pattern):
        with pytest.raises(ValueError, match=pattern):
            load(tmp_path)()

    @pytest.mark.parametrize(
        "labels, received",
        [
            ([1, 2], r"a list of 2 items"),
            ([[1] * 1000] * 3, r"a list of 3 items"),  # would inflate in numpy
            ([1.0, 2.0, 3.0], r"a list of 3 items"),
            ([True, False, True], r"a list of 3 items"),
            (np.zeros((3, 1), np.int64), r"int64 array of shape \(3, 1\)"),
            (np.zeros(3, np.float32), r"float32 array of shape \(3,\)"),
            ("012", r"a str"),
        ],
    )
    def test_cifar_labels_that_are_not_one_integer_per_image(
        self, tmp_path, labels, received
    ):
        with pytest.raises(
            ValueError,
            match=r"data_batch_3: `labels` must hold 3 integer labels, one per "
            rf"image. Received: {received}",
        ):
            cifar_with(tmp_path, labels=labels)()

    def test_npz_labels_not_one_per_image(self, tmp_path):
        with pytest.raises(
            ValueError, match=r"`y_train` must hold 8 integer labels, one per image"
        ):
            npz_with(tmp_path, labels=np.zeros(7, np.uint8))()

    @pytest.mark.parametrize(
        "load, pattern",
        [
            (
                lambda t: cifar_with(t, labels=[], data=np.zeros((0, 3072), np.uint8)),
                r"`data` must hold 1 to 10000 images. Received: 0",
            ),
            (
                lambda t: idx_with(
                    t, labels=np.zeros(0), images=np.zeros((0, 28, 28), np.uint8)
                ),
                r"`x_test` must hold at least one image. Received: 0",
            ),
        ],
    )
    def test_empty_splits(self, tmp_path, load, pattern):
        with pytest.raises(ValueError, match=pattern):
            load(tmp_path)()


# --------------------------------------------------------------------------
# Truncated files
# --------------------------------------------------------------------------


class TestTruncatedFiles:
    def test_cifar_archive_cut_inside_a_member(self, tmp_path):
        full = write_tar(tmp_path / "full.tar.gz", cifar_members())
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
        with pytest.raises(ValueError, match=r"cut\.tar\.gz .*truncated or of another"):
            load_cifar10(cut)

    def test_cifar_member_holding_a_cut_pickle(self, tmp_path):
        blob = pickle.dumps(cifar_batch())
        members = cifar_members(data_batch_4=blob[: len(blob) // 2])
        archive = write_tar(tmp_path / "c.tar.gz", members)
        with pytest.raises(ValueError, match=r"data_batch_4 is not a CIFAR-10 batch"):
            load_cifar10(archive)

    def test_cifar_folder_with_a_cut_batch(self, tmp_path):
        folder = tmp_path / FOLDER
        folder.mkdir()
        for name, blob in cifar_members():
            (tmp_path / name).write_bytes(blob)
        (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:99])
        with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 batch"):
            load_cifar10(tmp_path)

    def test_gzipped_idx_cut_inside_the_data(self, tmp_path):
        path = tmp_path / "x.idx.gz"
        blob = gzip.compress(idx_bytes(np.arange(2 * 784).reshape(2, 28, 28) % 251))
        path.write_bytes(blob[: len(blob) // 2])
        with pytest.raises(ValueError, match=r"x\.idx\.gz .*it is truncated or not"):
            read_idx(path, 3)

    def test_idx_cut_inside_the_header(self, tmp_path):
        path = tmp_path / "x.idx"
        path.write_bytes(idx_bytes(np.zeros((2, 28, 28)))[:9])
        with pytest.raises(ValueError, match=r"x\.idx is truncated: its IDX header"):
            read_idx(path, 3)

    @pytest.mark.parametrize("keep", [0, 0.5])
    def test_npz_cut(self, tmp_path, keep):
        full = write_npz(tmp_path / "full.npz", mnist_arrays())
        cut = tmp_path / "cut.npz"
        cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * keep)])
        with pytest.raises(ValueError, match=r"Could not load MNIST from .*cut\.npz"):
            load_mnist(cut)
