"""Training data for the photo restorer: degraded photos and their patches."""

import numpy as np

from keras_seqimage._validation import check_finite_non_negative, check_positive_int
from keras_seqimage.baselines.self_tuning import estimate_noise
from keras_seqimage.degradation import degrade
from keras_seqimage.models.deblur_network import INPUT_CHANNELS
from keras_seqimage.restoration.blur_estimation import estimate_blur
from keras_seqimage.restoration.front_end import (
    channel_noises,
    network_inputs,
    photo_balances,
    working_channels,
)


def degradation_pool(
    photos,
    per_photo=12,
    sigma_range=(0.8, 3.2),
    noise_range=(0.002, 0.03),
    noiseless=0.25,
    sigma_jitter=0.3,
    jitter_std=0.08,
    blind_share=0.0,
    seed=0,
    progress=None,
    colour="decorrelated",
    balance="gcv",
):
    """Degrade each photo several times and compute the restorer's inputs.

    For each photo and draw: a blur sigma uniform in `sigma_range`; a noise
    level uniform in `noise_range`, or 0 with probability `noiseless` (8-bit
    rounding is then the only noise); `keras_seqimage.degrade` with 8-bit
    rounding; the noise level estimated from the degraded photo
    (`baselines.estimate_noise`, as the restorer does when it is not given);
    with probability `sigma_jitter`, the sigma the front end is told is off
    by a factor `exp(N(0, jitter_std))` (so the network learns to tolerate
    the error of a blur estimate); then the working channels
    (`front_end.working_channels`) and `front_end.network_inputs`, with the
    photo's balances (`front_end.photo_balances`).

    Args:
        photos: iterable of float arrays `(height, width, channels)` in
            [0, 1] (e.g. `datasets.load_photos("train").values()`).
        per_photo: int > 0, degradations per photo. Defaults to `12`.
        sigma_range: pair, the blur sigmas drawn. Defaults to `(0.8, 3.2)`.
        noise_range: pair, the noise levels drawn. Defaults to
            `(0.002, 0.03)`.
        noiseless: float in [0, 1], the share of noise-free draws.
            Defaults to `0.25`.
        blind_share: float in [0, 1], the share of draws in which the
            front end is told the blind estimate (`estimate_blur`) instead,
            so the network learns the errors the blind restorer meets.
            Defaults to `0.0`.
        sigma_jitter: float in [0, 1], the share of draws with a perturbed
            sigma. Defaults to `0.3`.
        jitter_std: float >= 0, the standard deviation of the log of the
            perturbation's factor. Defaults to `0.08`.
        seed: int, the seed of every draw. Defaults to `0`.
        progress: optional `keras.utils.Progbar`-like object with
            `add(1)`, advanced once per degraded photo.
        colour: `"decorrelated"` or `"rgb"`, the front end's channels (see
            `PhotoRestorer`). Defaults to `"decorrelated"`.
        balance: `"gcv"` or `"rule"`, the front end's balance. Defaults to
            `"gcv"`.

    Returns:
        A list of `(inputs, clean)` pairs, one per channel of each degraded
        photo: `inputs` float32 `(height, width, 6)` (see `DeblurNetwork`),
        `clean` float32 `(height, width, 1)` (in the working channels).
    """
    per_photo = check_positive_int("per_photo", per_photo)
    jitter_std = check_finite_non_negative("jitter_std", jitter_std)
    rng = np.random.default_rng(seed)
    pool = []
    for index, photo in enumerate(photos):
        photo = np.asarray(photo, dtype="float32")
        target = working_channels(photo, colour)  # once per photo, not per draw
        for draw in range(per_photo):
            sigma = float(rng.uniform(*sigma_range))
            noise = (
                0.0 if rng.uniform() < noiseless else float(rng.uniform(*noise_range))
            )
            degraded, _ = degrade(
                photo,
                sigma=sigma,
                noise=noise,
                quantize=True,
                seed=int(seed * 100003 + index * 1009 + draw),
            )
            degraded = np.asarray(degraded)
            told = sigma
            if rng.uniform() < sigma_jitter:
                told = sigma * float(np.exp(rng.normal(0.0, jitter_std)))
            estimated = estimate_noise(degraded)
            if blind_share and rng.uniform() < blind_share:
                told = float(np.mean(estimate_blur(degraded, noise=estimated)))
            balances = photo_balances(degraded, told, estimated, colour, balance)
            noises = channel_noises(estimated, degraded.shape[-1], colour)
            inputs = network_inputs(
                working_channels(degraded, colour), told, noises, balances
            )
            for channel, channel_inputs in enumerate(inputs):
                pool.append((channel_inputs, target[..., channel : channel + 1]))
            if progress is not None:
                progress.add(1)
    return pool


def patch_batches(pool, batch_size=24, patch_size=80, seed=0):
    """Endless `(inputs, targets)` batches of random patches from a pool.

    Each patch comes from an entry drawn with probability proportional to
    its pixel count, at a uniform position, under one of the 8 flips and
    quarter turns (they keep an isotropic Gaussian blur what it was).

    Args:
        pool: list of `(inputs, clean)` pairs from `degradation_pool`.
        batch_size: int > 0. Defaults to `24`.
        patch_size: int > 0, no larger than the smallest entry. Defaults to
            `80`.
        seed: int. Defaults to `0`.

    Yields:
        `(inputs, targets)`: float32 arrays `(batch_size, patch_size,
        patch_size, 6)` and `(batch_size, patch_size, patch_size, 1)`.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    patch_size = check_positive_int("patch_size", patch_size)
    smallest = min(min(inputs.shape[:2]) for inputs, _ in pool)
    if patch_size > smallest:
        raise ValueError(
            f"`patch_size` must be at most the smallest photo side ({smallest}). "
            f"Received: patch_size={patch_size}"
        )
    rng = np.random.default_rng(seed)
    areas = np.array([inputs.shape[0] * inputs.shape[1] for inputs, _ in pool], float)
    weights = areas / areas.sum()
    while True:
        x = np.empty(
            (batch_size, patch_size, patch_size, len(INPUT_CHANNELS)), "float32"
        )
        y = np.empty((batch_size, patch_size, patch_size, 1), "float32")
        for i, entry in enumerate(rng.choice(len(pool), batch_size, p=weights)):
            inputs, clean = pool[entry]
            top = rng.integers(0, inputs.shape[0] - patch_size + 1)
            left = rng.integers(0, inputs.shape[1] - patch_size + 1)
            window = np.s_[top : top + patch_size, left : left + patch_size]
            turns, flip = rng.integers(0, 4), rng.integers(0, 2)
            a, b = inputs[window], clean[window]
            a, b = np.rot90(a, turns), np.rot90(b, turns)
            if flip:
                a, b = a[:, ::-1], b[:, ::-1]
            x[i], y[i] = a, b
        yield x, y
