"""Restore real photographs: Wiener deconvolution refined by a learned network.

`PhotoRestorer.from_preset("photo_deblur")` loads a shipped, trained restorer
(offline: the weights are inside the package); `keras_seqimage.restore` is
the one-call front door (dtypes, alpha, layouts). `estimate_blur` and the
statistics serve blind restoration; `degradation_pool` and `patch_batches`
are the training data of the presets (`examples/train_photo_restorer.py`).
"""

from keras_seqimage.restoration.blur_estimation import estimate_blur
from keras_seqimage.restoration.colour import from_decorrelated, to_decorrelated
from keras_seqimage.restoration.front_end import (
    BALANCE_FACTORS,
    COLOUR_CHOICES,
    channel_noises,
    image_channels,
    network_inputs,
    photo_balances,
    working_channels,
)
from keras_seqimage.restoration.photo_restorer import (
    PRESETS,
    PhotoRestorer,
    preset_record,
)
from keras_seqimage.restoration.statistics import image_noise, image_signal_power
from keras_seqimage.restoration.training import degradation_pool, patch_batches

__all__ = [
    "BALANCE_FACTORS",
    "COLOUR_CHOICES",
    "PRESETS",
    "PhotoRestorer",
    "channel_noises",
    "degradation_pool",
    "estimate_blur",
    "from_decorrelated",
    "image_channels",
    "image_noise",
    "image_signal_power",
    "network_inputs",
    "patch_batches",
    "photo_balances",
    "preset_record",
    "to_decorrelated",
    "working_channels",
]
