"""Bounded reading of dataset files: every read has a cap the format justifies.

A loader reads files it did not write. A compressed member can inflate a
thousandfold (a 14 MB archive to 3 GiB), a header can announce any size, a
tar can hold one name twice or names nobody asked for, and a pickle can name
any function. So each reader here is told the most bytes its format can need,
checks what a header announces against that before reading anything, reads at
most that (and one byte more, to see whether more follows), and refuses
anything else with a `DataFileError` (a `ValueError`) naming the file or
member, what was expected and what came. Nothing is extracted to disk.
"""

import gzip
import io
import math
import pickle
import tarfile
import zipfile

import numpy as np
from numpy.lib import format as npy_format

MIB = 2**20

#: The most a tar's pax or GNU long-name header may hold: names and times,
#: never data (tarfile reads such a header whole before the member it names).
TAR_HEADER_CAP = 64 * 1024
_TAR_HEADER_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)
_TAR_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.DIRTYPE: "a folder",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a pipe",
}

#: The most a `.npy` header may take (numpy's own default limit).
NPY_HEADER_CAP = 10_000


class DataFileError(ValueError):
    """A dataset file is missing pieces, truncated, oversized or of another kind."""


def read_capped(handle, cap, where):
    """The rest of `handle`, refused if it holds more than `cap` bytes."""
    data = handle.read(cap + 1)
    if len(data) > cap:
        raise DataFileError(
            f"{where} holds more than {cap} bytes, the most its format needs"
        )
    return data


def read_exactly(handle, nbytes, where, announced):
    """Exactly `nbytes` from `handle` as a new uint8 array; fewer or more refused.

    Reads into one preallocated array (no second copy of the data). `announced`
    says what gave the size, for the message (e.g. "its header announces
    shape (2, 28, 28)").
    """
    out = np.empty(nbytes, dtype=np.uint8)
    view, got = memoryview(out), 0
    while got < nbytes:
        count = handle.readinto(view[got:])
        if not count:
            break
        got += count
    if got < nbytes:
        raise DataFileError(
            f"{where} holds {got} bytes of data, but {announced} = {nbytes} "
            "bytes (truncated or corrupt)"
        )
    if handle.read(1):
        raise DataFileError(
            f"{where} holds more bytes of data than {announced} = {nbytes} "
            "bytes (corrupt)"
        )
    return out


def read_file_capped(path, cap):
    """The bytes of the file `path`, refused (before reading) beyond `cap`."""
    size = path.stat().st_size
    if size > cap:
        raise DataFileError(f"{path.name} is {size} bytes; expected at most {cap}")
    with open(path, "rb") as handle:
        return read_capped(handle, cap, path.name)


def open_maybe_gzip(path):
    """`path` opened for reading bytes, decompressed on the fly if it is gzip.

    Reading `n` bytes from the result inflates only about `n` bytes, so a
    reader that knows its size never inflates more.
    """
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


# --------------------------------------------------------------------------
# tar
# --------------------------------------------------------------------------


def _capped_tarinfo(member_cap):
    """A `TarInfo` class that refuses an oversized header as soon as it is read.

    tarfile reads a pax or long-name header's data whole, and in stream mode
    it skips a member by inflating it: both happen inside `next()`, before the
    caller sees the member, so the sizes are checked where the header is
    parsed (`frombuf`, tarfile's public constructor from a header block).
    """

    class CappedTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf, encoding, errors):
            info = super().frombuf(buf, encoding, errors)
            header = info.type in _TAR_HEADER_TYPES
            cap = TAR_HEADER_CAP if header else member_cap
            if info.size > cap:
                what = "an extended header" if header else "a member"
                raise DataFileError(
                    f"member {info.name!r} announces {info.size} bytes; "
                    f"{what} of this archive may hold at most {cap}"
                )
            return info

    return CappedTarInfo


def _member_key(name, folder):
    """`name` inside `folder` (or at the top level), or None elsewhere."""
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    if name == folder:
        return folder + "/"
    if name.startswith(folder + "/"):
        name = name[len(folder) + 1 :]
    return None if "/" in name else name


def read_tar_members(path, wanted, tolerated, folder):
    """Yield `(name, bytes)` for the members named in `wanted`, streaming.

    The archive is read once, front to back (plain, gzip, bz2 or xz, detected
    from its bytes), one member in memory at a time. A member may sit in
    `folder` or at the top level; the entry of `folder` itself is allowed.

    Args:
        path: the tar file.
        wanted: `{name: cap in bytes}` of the members to read.
        tolerated: `{name: cap in bytes}` of members that may be present and
            are skipped (skipping a compressed member still inflates it,
            hence its cap).
        folder: the folder the members sit in, e.g. `"cifar-10-batches-py"`.

    Raises:
        DataFileError: a member is not one of `wanted` or `tolerated`, appears
            twice, is not a regular file, or is larger than its cap.
        tarfile.TarError, EOFError, zlib.error, OSError: the stream is
            truncated or not a tar.
    """
    caps = {**tolerated, **wanted}
    expected = ", ".join(sorted(caps))
    tarinfo = _capped_tarinfo(max(caps.values()))
    seen = set()
    with tarfile.open(path, mode="r|*", tarinfo=tarinfo) as archive:
        for member in archive:
            key = _member_key(member.name, folder)
            if key is None or (key not in caps and key != folder + "/"):
                raise DataFileError(
                    f"unexpected member {member.name!r}: expected only {expected} "
                    f"(in {folder}/ or at the top level)"
                )
            if key in seen:
                raise DataFileError(f"member {member.name!r} appears twice")
            seen.add(key)
            if key == folder + "/":
                if not member.isdir():
                    raise DataFileError(f"member {member.name!r} must be a folder")
                continue
            if not member.isreg():
                kind = _TAR_KINDS.get(member.type, f"of type {member.type!r}")
                raise DataFileError(
                    f"member {member.name!r} must be a regular file; it is {kind}"
                )
            if member.size > caps[key]:
                raise DataFileError(
                    f"member {member.name!r} is {member.size} bytes; expected at "
                    f"most {caps[key]}"
                )
            if key in wanted:
                # tarfile reads no more than the header's size, checked above.
                yield key, archive.extractfile(member).read()


# --------------------------------------------------------------------------
# npz
# --------------------------------------------------------------------------


def _read_npy(archive, info, cap):
    """One `.npy` member: header checked against `cap`, then exactly its data."""
    where = info.filename
    if info.file_size > cap + NPY_HEADER_CAP:
        raise DataFileError(
            f"{where} is {info.file_size} bytes once decompressed; expected at "
            f"most {cap + NPY_HEADER_CAP}"
        )
    with archive.open(info) as handle:
        try:
            version = npy_format.read_magic(handle)
            read_header = (
                npy_format.read_array_header_1_0
                if version == (1, 0)
                else npy_format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(
                handle, max_header_size=NPY_HEADER_CAP
            )
        except ValueError as error:
            raise DataFileError(f"{where} is not a .npy array ({error})") from None
        if dtype.hasobject:
            raise DataFileError(
                f"{where} holds Python objects (a pickle); expected numbers"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        announced = f"its header announces shape {shape} of {dtype}"
        if nbytes > cap:
            raise DataFileError(
                f"{where}: {announced} = {nbytes} bytes, more than the {cap} expected"
            )
        data = read_exactly(handle, nbytes, where, announced)
    array = data.view(dtype)
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def read_npz(path, caps):
    """The arrays of an `.npz` file, each checked against its cap; no pickles.

    Args:
        path: the `.npz` file (a zip of `.npy` members, compressed or not).
        caps: `{key: cap in bytes}` of the arrays expected, stored as
            `key.npy`; no other member is accepted.

    Returns:
        `{key: numpy array}`.

    Raises:
        DataFileError: a member is missing, unexpected, duplicated, oversized,
            holds objects or disagrees with its header.
        zipfile.BadZipFile, OSError, EOFError, zlib.error: not a readable zip.
    """
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise DataFileError(f"it holds the member(s) {twice} more than once")
        members = {f"{key}.npy": key for key in caps}
        missing = [key for name, key in members.items() if name not in names]
        if missing:
            found = [name.removesuffix(".npy") for name in names]
            raise DataFileError(f"it lacks {missing}; found {found}")
        unexpected = sorted(set(names) - set(members))
        if unexpected:
            raise DataFileError(
                f"unexpected member(s) {unexpected}: expected only {sorted(members)}"
            )
        return {
            members[info.filename]: _read_npy(
                archive, info, caps[members[info.filename]]
            )
            for info in infos
        }


# --------------------------------------------------------------------------
# pickle
# --------------------------------------------------------------------------

# The only globals a numpy-array pickle needs: numpy's array reconstruction
# (and `_codecs.encode`, which Python 3 writes for bytes under protocol 2).
_SAFE_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays, nothing that runs code."""

    def find_class(self, module, name):
        if (module, name) in _SAFE_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load the global {module}.{name}")


def unpickle_plain(blob):
    """Unpickle `blob` (bytes) allowing only containers and numpy arrays.

    Bytes keys and strings stay bytes (`encoding="bytes"`, as the Python 2
    pickles of CIFAR-10 need). Any failure, a refused global included, is
    raised as it comes; the caller names the file.
    """
    return _RestrictedUnpickler(io.BytesIO(blob), encoding="bytes").load()
