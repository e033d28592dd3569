"""The model factory's `jit_compile` default, per backend and CPU.

Measured on two CPUs (`docs/performance.md`): XLA trained the recurrent
autoencoders faster than TensorFlow's graph mode on an AVX2 CPU and slower
on AVX-512 ones; torch and TensorFlow gain nothing from compiling the other
recurrent models on the CPU. Everything else keeps Keras' `"auto"`.
"""

import keras

from keras_seqimage.backend import compat


def default_jit_compile(kind):
    """`jit_compile` for a model of `kind` on the current backend.

    Args:
        kind: str, `"recurrent_autoencoder"` (the row-LSTM autoencoders),
            `"recurrent"` (other recurrent models) or `"other"`.
    """
    backend = keras.backend.backend()
    if kind == "recurrent_autoencoder" and backend == "tensorflow":
        return tensorflow_sees_gpu() or not cpu_has_avx512()
    if kind in ("recurrent_autoencoder", "recurrent") and backend in (
        "tensorflow",
        "torch",
    ):
        return False
    return "auto"


def cpu_has_avx512():
    """Whether this CPU has AVX-512 (numpy's run-time CPU feature detection)."""
    return bool(compat.cpu_features().get("AVX512F", False))


def tensorflow_sees_gpu():
    """Whether TensorFlow lists a GPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
