"""Keras layers: row sequences, scipy-exact blur and the corruptions of the sources."""

from keras_seqimage.layers.blur_estimator import BlurEstimator, BlurInterpolation
from keras_seqimage.layers.degradation import DegradationLayer
from keras_seqimage.layers.direct_attention_lstm_decoder import (
    DirectAttentionLSTMDecoder,
)
from keras_seqimage.layers.fast_lstm import FastLSTM
from keras_seqimage.layers.gaussian_blur import GaussianBlurLayer
from keras_seqimage.layers.line_sweep import LineSweep
from keras_seqimage.layers.noise import AdditiveGaussianNoise, SaltAndPepperNoise
from keras_seqimage.layers.pixel_sweep import PixelSweep
from keras_seqimage.layers.row_occlusion import RowOcclusion
from keras_seqimage.layers.row_sequence import ImageToRowSequence, RowSequenceToImage

__all__ = [
    "AdditiveGaussianNoise",
    "DegradationLayer",
    "DirectAttentionLSTMDecoder",
    "FastLSTM",
    "GaussianBlurLayer",
    "ImageToRowSequence",
    "LineSweep",
    "PixelSweep",
    "RowOcclusion",
    "RowSequenceToImage",
    "SaltAndPepperNoise",
    "BlurEstimator",
    "BlurInterpolation",
]
