"""Save small models with the release before the backend move (0.1.0 at f098de7)."""

import sys
from pathlib import Path

import keras
import numpy as np

from keras_seqimage.layers import (
    FastLSTM,
    GaussianBlurLayer,
    ImageToRowSequence,
    RowSequenceToImage,
)
from keras_seqimage.models import (
    BlindReNetRestorer,
    CNNLSTMDirectAttention,
    ConvAutoencoder,
    ConvEncoderDecoder,
    FastModel,
    LSTMAutoencoder,
    ReNetRestorer,
    SimpleRNNAutoencoder,
)


def main(out):
    keras.utils.set_random_seed(0)
    models = {
        "lstm_autoencoder": LSTMAutoencoder(
            image_shape=(8, 8, 3),
            encoder_units=(8, 4),
            decoder_units=(),
            bottleneck="sequence",
            head="dense",
        ),
        "simple_rnn_autoencoder": SimpleRNNAutoencoder(
            image_shape=(8, 8, 3),
            encoder_units=(6,),
            decoder_units=(6,),
            bottleneck="vector",
            head="dense",
        ),
        "conv_autoencoder": ConvAutoencoder(image_shape=(8, 8, 3), filters=(4, 4)),
        "renet_restorer": ReNetRestorer.from_preset(
            list(ReNetRestorer.presets)[0], image_shape=(8, 8, 3)
        ),
        "blind_renet_restorer": BlindReNetRestorer(
            image_shape=(8, 8, 3),
            sigmas=(1.0, 2.0),
            units=2,
            sweeps=("rows", "columns"),
        ),
        "cnn_lstm_direct_attention": CNNLSTMDirectAttention(
            image_shape=(8, 8, 1),
            filters=(4, 4),
            kernel_size=3,
            thought_size=4,
            units=4,
            num_layers=2,
        ),
        "conv_encoder_decoder": ConvEncoderDecoder(
            image_shape=(8, 8, 1), filters=(4, 4), kernel_size=3
        ),
    }
    images = keras.Input((8, 8, 3))
    rows = ImageToRowSequence()(GaussianBlurLayer(sigma=1.0)(images))
    rows = FastLSTM(6, return_sequences=True)(rows)
    rows = keras.layers.Dense(24)(rows)
    models["fast_model"] = FastModel(
        images, RowSequenceToImage(width=8, channels=3)(rows)
    )
    rng = np.random.default_rng(0)
    for name, model in models.items():
        shape = tuple(model.inputs[0].shape[1:])
        x = rng.random((2, *shape), dtype="float32")
        model.save(out / f"{name}.keras")
        np.savez(out / f"{name}.npz", x=x, y=keras.ops.convert_to_numpy(model(x)))
        print(name, (out / f"{name}.keras").stat().st_size, model.count_params())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
