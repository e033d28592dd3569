"""The toolkit's backend-specific fast paths, behind one gate.

Everything that is specific to one Keras backend lives in this package, as
Keras keeps its torch code under `keras/src/backend/torch/`. Today that is
the torch backend's fast path (`keras_seqimage.backend.torch`): `FastModel`'s
leaner training and predict steps, its batching of numpy arrays, the callback
list without per-step work nobody asked for, torch's own ops in the blur and
the row-sequence layers, and `FastLSTM`'s fused kernel. TensorFlow and JAX
compile their steps, so there the generic code runs; the TensorFlow package
holds its distribution strategy, and the JAX package keeps a model whole when
one of Keras' loops raises. The `jit_compile` policy of the model factory sits beside it
(`jit_compile.py`).

The fast path reads a few private Keras and torch names (`compat.py`, one
accessor each), so it runs only where it is known to work:

- on the torch backend, with Keras and torch within the versions CI tests
  (`TESTED_VERSIONS`);
- when every accessor in `compat` resolves on the installed versions;
- unless it is switched off: `set_fast_path(False)`, or the environment
  variable `KERAS_SEQIMAGE_FAST_PATH=0` read when the gate is first asked.
  `KERAS_SEQIMAGE_FAST_PATH=force` skips the version check (not the
  accessor check).

Otherwise Keras' own code runs, with the same results, after one warning
that says why. Generic code asks `fast_path()` for the backend's module
(`None`: use Keras' code); it never imports a backend module itself.
"""

import contextlib
import importlib
import os
import warnings

import keras

from keras_seqimage.backend.generic import KERAS_OPS

__all__ = ["fast_path_enabled", "fast_path_status", "set_fast_path"]

#: The environment variable read by the gate: `0`/`false`/`off` turns the fast
#: path off, `1`/`true`/`on` (or unset) leaves it to the gate, `force` skips
#: the version check.
ENV_VAR = "KERAS_SEQIMAGE_FAST_PATH"

#: `(oldest, newest)` `major.minor` releases CI tests the fast path on.
TESTED_VERSIONS = {"keras": ("3.10", "3.15"), "torch": ("2.13", "2.13")}

_ENV_VALUES = {
    "0": "off",
    "false": "off",
    "off": "off",
    "1": "on",
    "true": "on",
    "on": "on",
    "": "on",
    "force": "force",
}

_switch = None  # `set_fast_path`'s value; `None`: the environment decides
_gate = {}  # backend name -> (module or None, status message)


def set_fast_path(enabled):
    """Switch the backend fast path on or off for this process.

    `True` leaves it to the gate (on where the versions are tested and every
    accessor resolves), `False` runs Keras' own code everywhere, and `None`
    goes back to the environment variable `KERAS_SEQIMAGE_FAST_PATH`. Takes
    effect at the next `fit`, `predict` or layer call.

    Args:
        enabled: bool or `None`.

    Example:

    >>> from keras_seqimage import backend
    >>> backend.set_fast_path(False)
    >>> backend.fast_path_enabled()
    False
    >>> backend.set_fast_path(None)
    """
    global _switch
    if enabled is not None and not isinstance(enabled, bool):
        raise ValueError(
            f"`enabled` must be True, False or None. Received: enabled={enabled!r}"
        )
    _switch = enabled
    _gate.clear()


def fast_path_enabled():
    """Whether the current backend's fast path runs (`False` off torch).

    Example:

    >>> from keras_seqimage import backend
    >>> isinstance(backend.fast_path_enabled(), bool)
    True
    """
    return fast_path() is not None


def fast_path_status():
    """One line saying whether the fast path runs, and why.

    Example:

    >>> from keras_seqimage import backend
    >>> isinstance(backend.fast_path_status(), str)
    True
    """
    _resolved()
    return _gate[keras.backend.backend()][1]


def fast_path():
    """The current backend's fast-path module, or `None`: run Keras' code.

    Cheap after the first call (the gate's answer is kept per backend).
    """
    gate = _gate.get(keras.backend.backend())
    return gate[0] if gate is not None else _resolved()


def backend_module(name):
    """`keras_seqimage.backend.<name>`, the code of Keras backend `name`.

    Imported on first use: it imports its backend's library.
    """
    if name not in ("jax", "tensorflow", "torch"):
        raise ValueError(
            f"`name` must be 'jax', 'tensorflow' or 'torch'. Received: name={name!r}"
        )
    return importlib.import_module(f"keras_seqimage.backend.{name}")


def loop_guard(model):
    """A context for `model`'s `fit`/`evaluate`/`predict` that keeps it whole.

    On JAX, a loop that raises gives the model its variables back
    (`backend.jax.variables_kept_on_error`); elsewhere Keras keeps them in
    the model and there is nothing to do.
    """
    if keras.backend.backend() == "jax":
        return backend_module("jax").variables_kept_on_error(model)
    return contextlib.nullcontext()


def native_ops(x):
    """`matmul`, `add`, `reshape` and `constant(array, dtype)` for tensor `x`.

    The backend's own functions where the fast path has them for `x` (torch's
    for a float32 CPU tensor), else `keras.ops` (`generic.KERAS_OPS`); the
    same ops in the same order either way, so results are bit-identical.
    """
    module = fast_path()
    return KERAS_OPS if module is None else module.native_ops(x)


def _resolved():
    backend = keras.backend.backend()
    if backend not in _gate:
        _gate[backend] = _decide(backend)
        module, status = _gate[backend]
        if module is None and status.startswith("off:"):
            warnings.warn(f"keras-seqimage fast path {status}", stacklevel=3)
    return _gate[backend][0]


def _mode():
    if _switch is not None:
        return "on" if _switch else "off"
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value not in _ENV_VALUES:
        raise ValueError(
            f"The environment variable {ENV_VAR} must be one of 0, 1 or force. "
            f"Received: {ENV_VAR}={os.environ[ENV_VAR]!r}"
        )
    return _ENV_VALUES[value]


def _decide(backend):
    """`(module or None, status)`; a status starting `off:` is warned about."""
    if backend != "torch":
        return None, f"not used: the {backend} backend compiles its steps"
    mode = _mode()
    if mode == "off":
        return None, "switched off (set_fast_path or KERAS_SEQIMAGE_FAST_PATH)"
    import torch

    versions = {"keras": keras.__version__, "torch": torch.__version__}
    if mode != "force":
        for package, version in versions.items():
            if not _within(version, TESTED_VERSIONS[package]):
                oldest, newest = TESTED_VERSIONS[package]
                return None, (
                    f"off: {package} {version} is outside the tested "
                    f"{oldest}-{newest}; Keras' own steps run (same results, "
                    f"slower). Set {ENV_VAR}=force to try it anyway."
                )
    from keras_seqimage.backend import compat

    missing = compat.unresolved()
    if missing:
        return None, (
            f"off: private names it needs do not resolve on keras "
            f"{versions['keras']} / torch {versions['torch']} "
            f"({', '.join(missing)}); Keras' own steps run (same results, slower)."
        )
    torch_fast_path = backend_module("torch")

    return torch_fast_path, (
        f"on: keras {versions['keras']}, torch {versions['torch']}"
        + (" (forced)" if mode == "force" else "")
    )


def _minor(version):
    major, minor = version.split("+")[0].split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def _within(version, tested):
    oldest, newest = tested
    return _minor(oldest) <= _minor(version) <= _minor(newest)
