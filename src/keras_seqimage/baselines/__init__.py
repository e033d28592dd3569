"""Classical baselines: deconvolution of a Gaussian blur whose kernel is known.

Every results table compares a learned restorer with two baselines: the
corrupted input itself and Wiener deconvolution with the blur kernel known
exactly. This package gives the second, in numpy/scipy only (no training, no
backend), and its separable counterpart, one concept per module:

- `wiener`: `wiener_deconvolution` (exact at the boundary: it deconvolves the
  periodic extension scipy's blur reads), `tune_wiener`,
  `WienerDeconvolution`, `gaussian_transfer`;
- `inverse`: `regularized_inverse` (one axis), `separable_deconvolution`,
  `tune_separable_deconvolution`;
- `self_tuning`: `self_tuning_wiener` (the balance from the image alone:
  generalized cross-validation, or the fitted rule `wiener_balance` from
  the image's own noise, `estimate_noise`);
- `gcv`: `gcv_balance` (generalized cross-validation of the Wiener balance),
  `gcv_terms`, `gcv_curve`, `safeguarded_balance`, `GCV_BALANCES`;
- `tuning`: what both share: `REGULARIZERS`, `DEFAULT_BALANCES` and the rule
  by which a `tune_*` function chooses a balance.

Everything is importable from `keras_seqimage.baselines` itself.
"""

from keras_seqimage.baselines.gcv import (
    GCV_BALANCES,
    gcv_balance,
    gcv_curve,
    gcv_terms,
    safeguarded_balance,
)
from keras_seqimage.baselines.inverse import (
    regularized_inverse,
    separable_deconvolution,
    tune_separable_deconvolution,
)
from keras_seqimage.baselines.self_tuning import (
    estimate_noise,
    self_tuning_wiener,
    signal_power,
    wiener_balance,
)
from keras_seqimage.baselines.tuning import DEFAULT_BALANCES, REGULARIZERS
from keras_seqimage.baselines.wiener import (
    WIENER_MODES,
    WienerDeconvolution,
    gaussian_transfer,
    tune_wiener,
    wiener_deconvolution,
)

__all__ = [
    "DEFAULT_BALANCES",
    "GCV_BALANCES",
    "REGULARIZERS",
    "WIENER_MODES",
    "WienerDeconvolution",
    "estimate_noise",
    "gaussian_transfer",
    "gcv_balance",
    "gcv_curve",
    "gcv_terms",
    "regularized_inverse",
    "safeguarded_balance",
    "self_tuning_wiener",
    "separable_deconvolution",
    "signal_power",
    "tune_separable_deconvolution",
    "tune_wiener",
    "wiener_balance",
    "wiener_deconvolution",
]
