"""Image-to-image models of the sources, and the fit-ready factory."""

from keras_seqimage.models.blind_renet_restorer import BlindReNetRestorer
from keras_seqimage.models.cnn_lstm_direct_attention import CNNLSTMDirectAttention
from keras_seqimage.models.conv_autoencoder import ConvAutoencoder
from keras_seqimage.models.conv_encoder import ConvEncoder
from keras_seqimage.models.conv_encoder_decoder import ConvEncoderDecoder
from keras_seqimage.models.deblur_network import DeblurNetwork
from keras_seqimage.models.factory import MODELS, build_model, list_models
from keras_seqimage.models.fast_model import FastModel
from keras_seqimage.models.recurrent_autoencoder import (
    LSTMAutoencoder,
    SimpleRNNAutoencoder,
)
from keras_seqimage.models.renet_restorer import ReNetRestorer

__all__ = [
    "BlindReNetRestorer",
    "CNNLSTMDirectAttention",
    "ConvAutoencoder",
    "ConvEncoder",
    "ConvEncoderDecoder",
    "DeblurNetwork",
    "FastModel",
    "LSTMAutoencoder",
    "MODELS",
    "ReNetRestorer",
    "SimpleRNNAutoencoder",
    "build_model",
    "list_models",
]
