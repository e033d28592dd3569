"""Fit-ready factory: a model by name and preset, compiled with documented defaults."""

import inspect
from typing import Any

import keras

from keras_seqimage._validation import check_choice
from keras_seqimage.backend.jit_compile import default_jit_compile
from keras_seqimage.metrics import PSNR, SSIM
from keras_seqimage.models.blind_renet_restorer import BlindReNetRestorer
from keras_seqimage.models.cnn_lstm_direct_attention import CNNLSTMDirectAttention
from keras_seqimage.models.conv_autoencoder import ConvAutoencoder
from keras_seqimage.models.conv_encoder_decoder import ConvEncoderDecoder
from keras_seqimage.models.recurrent_autoencoder import (
    LSTMAutoencoder,
    RecurrentAutoencoder,
    SimpleRNNAutoencoder,
)
from keras_seqimage.models.renet_restorer import ReNetRestorer

#: Factory names and the model classes they build.
MODELS = {
    "lstm_autoencoder": LSTMAutoencoder,
    "simple_rnn_autoencoder": SimpleRNNAutoencoder,
    "conv_autoencoder": ConvAutoencoder,
    "cnn_lstm_direct_attention": CNNLSTMDirectAttention,
    "conv_encoder_decoder": ConvEncoderDecoder,
    "renet_restorer": ReNetRestorer,
    "blind_renet_restorer": BlindReNetRestorer,
}

# SSIM's 11x11 window needs images at least this large.
_SSIM_MIN_SIZE = 11


def list_models() -> dict[str, list[str]]:
    """Factory names mapped to the names of their presets.

    Example:

    >>> list_models()["lstm_autoencoder"][0]
    'lstm_sequence_128_64'
    """
    return {name: list(cls.presets) for name, cls in MODELS.items()}


def build_model(
    name: str,
    *,
    preset: str | None = None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    compile: bool = True,
    optimizer: str | keras.optimizers.Optimizer = "auto",
    loss: Any = "auto",
    metrics: Any = "auto",
    jit_compile: bool | str = "auto",
    **overrides: Any,
) -> keras.Model:
    """Build a model by name (and preset), compiled and ready to `fit`.

    Defaults when `compile=True` (KerasHub's `"auto"` convention):

    - `optimizer="auto"`: `keras.optimizers.Adam()` (learning rate 1e-3);
    - `loss="auto"`: mean squared error;
    - `metrics="auto"`: MSE, `PSNR` and `SSIM` (SSIM only when height and
      width are at least 11, the size of its window);
    - `jit_compile="auto"`: Keras' own choice, except: the row-sequence
      autoencoders (`lstm_autoencoder`, `simple_rnn_autoencoder`) on TensorFlow get
      `jit_compile=True` (XLA) unless the CPU has AVX-512 and TensorFlow sees
      no GPU (XLA trained the row-LSTM autoencoder faster on AVX2 CPUs and
      slower on AVX-512 ones; Keras' "auto" leaves it off on CPU); the
      CNN-LSTM model on
      TensorFlow and every recurrent model on torch get `jit_compile=False`
      (`torch.compile` fails on the fused LSTM op that `FastLSTM` calls).
      See docs/performance.md.

    Args:
        name: str, a key of `MODELS` (see `list_models()`).
        preset: optional str, a preset of that model (see `list_models()`).
        input_shape: optional tuple `(height, width, channels)`; defaults to
            the preset's image shape, or `(32, 32, 3)` without a preset.
        compile: bool, compile the model. Defaults to `True`.
        optimizer, loss, metrics, jit_compile: passed to `model.compile`;
            `"auto"` gives the defaults above.
        **overrides: constructor arguments of the model class, replacing the
            preset's.

    Returns:
        The model, compiled unless `compile=False`.

    Example:

    >>> model = build_model("lstm_autoencoder", preset="lstm_sequence_128_64")
    >>> model.count_params()
    170848
    """
    check_choice("name", name, MODELS)
    cls = MODELS[name]
    if preset is not None:
        check_choice("preset", preset, cls.presets)
        arguments = dict(cls.presets[preset])
    else:
        arguments = {"image_shape": (32, 32, 3)}
    if input_shape is not None:
        arguments["image_shape"] = tuple(input_shape)
    _check_overrides(name, cls, overrides)
    model = cls(**{**arguments, **overrides})
    if compile:
        compile_model(
            model,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            jit_compile=jit_compile,
        )
    return model


# `keras.Model` keyword arguments every model class passes on.
_MODEL_KWARGS = ("dtype", "trainable")


def _check_overrides(name, cls, overrides):
    """Reject overrides the model class would swallow silently in `**kwargs`."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    accepted = {
        p.name
        for p in parameters
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    accepted.update(_MODEL_KWARGS)
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise TypeError(
            f"build_model({name!r}) got unexpected argument(s) {unknown}. "
            f"Expected `{cls.__name__}` arguments: {sorted(accepted)}, or the "
            "compile arguments optimizer, loss, metrics, jit_compile (e.g. "
            "optimizer=keras.optimizers.Adam(learning_rate=3e-4))."
        )


def compile_model(
    model, optimizer="auto", loss="auto", metrics="auto", jit_compile="auto"
):
    """Compile `model` with the factory's `"auto"` defaults (see `build_model`)."""
    if optimizer == "auto":
        optimizer = keras.optimizers.Adam()
    if loss == "auto":
        loss = "mse"
    if metrics == "auto":
        metrics = [keras.metrics.MeanSquaredError(name="mse"), PSNR()]
        height, width = model.image_shape[:2]
        if min(height or 0, width or 0) >= _SSIM_MIN_SIZE:
            metrics.append(SSIM())
    if jit_compile == "auto":
        jit_compile = _default_jit_compile(model)
    model.compile(
        optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile
    )
    return model


def _default_jit_compile(model):
    if isinstance(model, RecurrentAutoencoder):
        return default_jit_compile("recurrent_autoencoder")
    if isinstance(model, CNNLSTMDirectAttention):
        return default_jit_compile("recurrent")
    return default_jit_compile("other")
