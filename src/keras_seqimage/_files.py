"""Files that are either whole or absent: atomic writes, and a fault hook.

A file is written to a temporary name in its own folder, flushed and
`fsync`ed, then renamed over the target with `os.replace` (atomic on POSIX
and Windows), and the folder is `fsync`ed so the rename survives a power
cut. A process killed at any moment leaves the old file or the new one,
never a mixture; a failed write (disk full, no permission) removes the
temporary file and raises an `OSError` that names the target.

`fault_point(name, step)` lets the fault-injection tests kill the process at
an exact place of a write: with `KERAS_SEQIMAGE_FAULT=name@step` in the
environment, the process SIGKILLs itself there (after truncating the file
being written to half its size for the `*_half` points, as a kill in the
middle of the write would leave it). Without the variable it does nothing.
"""

import hashlib
import os
import signal
from pathlib import Path

FAULT_ENV = "KERAS_SEQIMAGE_FAULT"


def fault_point(name, step=None, partial=None):
    """SIGKILL this process here if `KERAS_SEQIMAGE_FAULT` names this point.

    Args:
        name: str, the point (e.g. `"checkpoint_half"`).
        step: optional int; the variable `name@step` matches only this step.
        partial: optional path, truncated to half its size before the kill.
    """
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, at = wanted.partition("@")
    if point != name or (at and step is not None and int(at) != step):
        return
    if partial is not None:
        size = os.path.getsize(partial)
        with open(partial, "r+b") as file:
            file.truncate(size // 2)
    os.kill(os.getpid(), signal.SIGKILL)


def fsync_folder(folder):
    """Make a rename or unlink in `folder` durable (a no-op where unsupported)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_file(path):
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def temporary_path(path):
    """The temporary name `path` is written under (same folder and suffix)."""
    path = Path(path)
    return path.with_name(f".partial-{path.name}")


def is_temporary(path):
    return Path(path).name.startswith(".partial-")


def file_digest(path):
    """`(size in bytes, sha256 hex digest)` of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def write_atomic(path, write, fault=None, step=None):
    """Write `path` whole or not at all.

    Args:
        path: the target file.
        write: a function of one path that writes the content there (e.g.
            `model.save`); it is given the temporary name.
        fault: optional name of this write for `fault_point`: the points
            `f"{fault}_half"` (temporary file half written) and
            `f"{fault}_written"` (renamed into place) are offered.
        step: the step `fault_point` compares with.

    Returns:
        `(size, sha256)` of the written file.

    Raises:
        OSError: the write failed (disk full, permission...); the message
            names `path`, the temporary file is removed and a file that was
            at `path` is left as it was.
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        write(temporary)
        if fault:
            fault_point(f"{fault}_half", step, partial=temporary)
        _fsync_file(temporary)
        digest = file_digest(temporary)
        os.replace(temporary, path)
        fsync_folder(path.parent)
    except BaseException as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise naming_path(error, path) from error
        raise
    if fault:
        fault_point(f"{fault}_written", step)
    return digest


def naming_path(error, path):
    """`error` (an `OSError`) as one of its class whose message names `path`."""
    if error.errno is None:
        return OSError(f"{error}: {str(path)!r}")
    return OSError(error.errno, error.strerror or str(error), str(path))


def write_text_atomic(path, text):
    """Write `text` (UTF-8) to `path` whole or not at all; see `write_atomic`."""
    return write_atomic(path, lambda target: Path(target).write_text(text, "utf-8"))
