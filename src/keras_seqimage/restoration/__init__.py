"""Restore real photographs: Wiener deconvolution refined by a learned network."""

from keras_seqimage.restoration.front_end import network_inputs
from keras_seqimage.restoration.training import degradation_pool, patch_batches

__all__ = ["degradation_pool", "network_inputs", "patch_batches"]
