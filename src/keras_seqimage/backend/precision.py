"""The precision a restorer's network predicts in: where bfloat16 pays, and where not.

A convolutional network that refines a photo spends most of its time in
multiply-adds. CPUs with native bfloat16 arithmetic (Intel's AMX tiles or
AVX-512 BF16 instructions, reported as `amx_bf16` / `avx512_bf16` in
`/proc/cpuinfo`) do them much faster in bfloat16 through oneDNN, which
TensorFlow and torch call on the CPU; JAX's CPU compiler gains nothing, and
a CPU without those instructions emulates bfloat16 slowly. So
`"auto"` picks bfloat16 only on TensorFlow or torch, on a CPU-only machine
whose CPU has the instructions, and float32 everywhere else. Weights stay
float32 either way (Keras' `"mixed_bfloat16"` policy): only the
activations are rounded, which moves a restored pixel far less than the
error of any restoration. The measured speed-ups and differences are on the
documentation's performance page (`benchmarks/network_precision.py`).
"""

import functools

import keras

from keras_seqimage._validation import check_choice

#: The values of a restorer's `precision` argument.
PRECISIONS = ("auto", "float32", "bfloat16")

#: The CPU flags (Linux `/proc/cpuinfo`) of native bfloat16 arithmetic.
BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")

#: The backends whose CPU convolutions use bfloat16 natively (oneDNN).
_BFLOAT16_BACKENDS = ("tensorflow", "torch")


@functools.cache
def native_bfloat16():
    """Whether this machine's CPU computes bfloat16 natively (`BFLOAT16_FLAGS`).

    `False` where `/proc/cpuinfo` cannot be read (macOS, Windows): there
    `"auto"` keeps float32, which is never wrong, only sometimes slower.

    Example:

    >>> from keras_seqimage.backend import precision
    >>> isinstance(precision.native_bfloat16(), bool)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in BFLOAT16_FLAGS)
    except OSError:
        pass
    return False


def _cpu_only(backend):
    """Whether `backend` has no accelerator to run on (it then runs on the CPU)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    if backend == "torch":
        import torch

        return not torch.cuda.is_available()
    return False


def inference_policy(precision="auto"):
    """The Keras dtype policy a restorer's network should predict with.

    Args:
        precision: one of `PRECISIONS`: `"float32"`, `"bfloat16"` (float32
            weights, bfloat16 activations), or `"auto"` (bfloat16 where it
            is measured faster: see this module). Defaults to `"auto"`.

    Returns:
        `"float32"` or `"mixed_bfloat16"`.

    Example:

    >>> from keras_seqimage.backend import precision
    >>> precision.inference_policy("float32")
    'float32'
    >>> precision.inference_policy("bfloat16")
    'mixed_bfloat16'
    """
    precision = check_choice("precision", precision, PRECISIONS)
    if precision == "auto":
        backend = keras.backend.backend()
        fast = (
            backend in _BFLOAT16_BACKENDS and native_bfloat16() and _cpu_only(backend)
        )
        precision = "bfloat16" if fast else "float32"
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"
