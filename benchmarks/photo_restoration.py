"""Restoring full-size real photographs: blur x noise grid, 8-bit, fixed seeds.

The photographs that ship inside installed packages
(`keras_seqimage.datasets.PHOTO_TEST_SET`: scikit-image's astronaut, chelsea,
coffee, rocket and camera, and matplotlib's grace_hopper.jpg), never used for
training or tuning, at full size. Each is degraded with
`keras_seqimage.degrade` (Gaussian blur sigma x noise std, clipped, rounded to
8 bits, one fixed seed per photo and cell) and restored by each method of
`METHODS`; the table gives per cell the mean PSNR and SSIM over the photos
(`keras_seqimage.metrics`: SSIM with Wang et al.'s 11x11 Gaussian window),
the worst photo's PSNR, and megapixels per second; then each method's
distance to the oracle Wiener per cell, and the run's peak RSS.

Methods (`--methods`, by name; a learned restorer is added to `METHODS` as one
more callable `(degraded, clean, sigma) -> restored`):

- `blurred`: the degraded input itself;
- `wiener_oracle`: `baselines.wiener_deconvolution` with the balance that
  scores best against the clean image (29 balances, 1e-7 to 1, a quarter
  decade apart): the strongest classical number, not a usable method;
- `unsupervised_wiener`: `skimage.restoration.unsupervised_wiener` per
  channel with the true PSF (skipped if scikit-image is absent);
- `self_tuning_wiener`: `baselines.self_tuning_wiener`, only the image and
  sigma (its default balance: generalized cross-validation, safeguarded by
  the fitted rule);
- `self_tuning_wiener_rule`: the same with `balance="rule"` (the fitted rule
  alone);
- `decorrelated_wiener`: the learned presets' classical front end alone: RGB
  turned into decorrelated channels (`restoration.to_decorrelated`), each
  deconvolved by the Wiener filter at its own GCV balance
  (`restoration.photo_balances`), back to RGB; it shows how much of a
  preset's gain is the colour transform and how much the network;
- `photo_deblur`: the shipped `PhotoRestorer` preset (Wiener estimates
  refined by a network with row and column sweeps), sigma given, noise
  estimated;
- `photo_deblur_blind`: the same, sigma and noise estimated from the photo;
- `photo_deblur_cnn`: the preset whose network has no sweeps (a small CNN
  trained the same way), sigma given;
- `photo_deblur_cnn_blind`: the same, sigma and noise estimated from the
  photo.

`--presets-from DIR` scores the preset records in DIR (a retrain's output)
instead of the shipped presets.

`--fit` instead fits the self-tuning Wiener's balance rule
(`baselines.BALANCE_RULE`) on 256x256 centre crops of the TRAIN photos and
prints it.

Full run (docs/photo-restoration.md):
    python benchmarks/photo_restoration.py
Smallest run:
    python benchmarks/photo_restoration.py --photos camera --crop 48 \
        --sigmas 1.5 --noises 0.01
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import print_run_metadata  # noqa: E402

ORACLE_BALANCES = tuple(float(b) for b in np.logspace(-7, 0, 29))


def restore_blurred(degraded, clean, sigma):
    return degraded


def restore_wiener_oracle(degraded, clean, sigma):
    from keras_seqimage.baselines import tune_wiener, wiener_deconvolution

    best, _ = tune_wiener(degraded[None], clean[None], sigma, ORACLE_BALANCES)
    return wiener_deconvolution(degraded, sigma, best)


def restore_unsupervised_wiener(degraded, clean, sigma):
    from skimage.restoration import unsupervised_wiener

    from keras_seqimage.kernels import blur_matrix

    radius = int(4.0 * sigma + 0.5)
    taps = blur_matrix(2 * radius + 1, sigma, mode="constant")[radius]
    psf = np.outer(taps, taps)
    return np.stack(
        [
            unsupervised_wiener(degraded[..., c].astype("float64"), psf, rng=0)[0]
            for c in range(degraded.shape[-1])
        ],
        axis=-1,
    ).astype("float32")


def restore_self_tuning_wiener(degraded, clean, sigma):
    from keras_seqimage.baselines import self_tuning_wiener

    return self_tuning_wiener(degraded, sigma)


def restore_self_tuning_wiener_rule(degraded, clean, sigma):
    from keras_seqimage.baselines import self_tuning_wiener

    return self_tuning_wiener(degraded, sigma, balance="rule")


def restore_decorrelated_wiener(degraded, clean, sigma):
    from keras_seqimage.baselines import wiener_deconvolution
    from keras_seqimage.restoration import (
        image_channels,
        image_noise,
        photo_balances,
        working_channels,
    )

    balances = photo_balances(degraded, sigma, image_noise(degraded))
    working = working_channels(degraded)
    restored = np.concatenate(
        [
            wiener_deconvolution(working[..., c : c + 1], sigma, balance)
            for c, balance in enumerate(balances)
        ],
        axis=-1,
    )
    return image_channels(np.clip(restored, 0.0, 1.0))


#: Where the presets are loaded from: `None` (the package) or a folder of
#: `<name>.json` records (`--presets-from`, e.g. a retrain's output).
PRESET_SOURCE = None
#: The presets' network precision (`--precision`).
PRECISION = "auto"


def _preset(name):
    from keras_seqimage.restoration import PhotoRestorer

    if PRESET_SOURCE is not None:
        name = os.path.join(PRESET_SOURCE, f"{name}.json")
    return PhotoRestorer.from_preset(name, precision=PRECISION)


def restore_photo_deblur(degraded, clean, sigma):
    return _preset("photo_deblur").restore(degraded, sigma=sigma, progress=False)


def restore_photo_deblur_blind(degraded, clean, sigma):
    return _preset("photo_deblur").restore(degraded, progress=False)


def restore_photo_deblur_cnn_blind(degraded, clean, sigma):
    return _preset("photo_deblur_cnn").restore(degraded, progress=False)


def restore_photo_deblur_cnn(degraded, clean, sigma):
    return _preset("photo_deblur_cnn").restore(degraded, sigma=sigma, progress=False)


# Name -> (label, callable). The oracle reads the clean image; no other may.
METHODS = {
    "blurred": ("blurred input", restore_blurred),
    "wiener_oracle": ("Wiener, oracle balance", restore_wiener_oracle),
    "unsupervised_wiener": (
        "skimage unsupervised_wiener",
        restore_unsupervised_wiener,
    ),
    "self_tuning_wiener": ("self-tuning Wiener", restore_self_tuning_wiener),
    "self_tuning_wiener_rule": (
        "self-tuning Wiener, rule only",
        restore_self_tuning_wiener_rule,
    ),
    "decorrelated_wiener": (
        "Wiener per decorrelated channel",
        restore_decorrelated_wiener,
    ),
    "photo_deblur": ("photo_deblur (sigma given)", restore_photo_deblur),
    "photo_deblur_blind": ("photo_deblur, blind", restore_photo_deblur_blind),
    "photo_deblur_cnn": ("photo_deblur_cnn (sigma given)", restore_photo_deblur_cnn),
    "photo_deblur_cnn_blind": (
        "photo_deblur_cnn, blind",
        restore_photo_deblur_cnn_blind,
    ),
}


def _floats(text):
    return [float(v) for v in text.split(",") if v]


def _centre_crop(image, crop):
    if not crop:
        return image
    h, w = image.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return image[top : top + crop, left : left + crop]


def _scores(clean, restored):
    from keras_seqimage.metrics import psnr, ssim

    pair = (clean[None], np.clip(restored, 0.0, 1.0)[None].astype("float32"))
    score_ssim = float(ssim(*pair)[0]) if min(clean.shape[:2]) >= 11 else float("nan")
    return float(psnr(*pair)[0]), score_ssim


def fit_rule(seed):
    """Fit `BALANCE_RULE` on the TRAIN photos' centre crops; print it."""
    from keras_seqimage import degrade
    from keras_seqimage.baselines import estimate_noise, signal_power, tune_wiener
    from keras_seqimage.datasets import load_photos

    grid = [float(b) for b in np.logspace(-7, -1, 25)]
    log_grid = np.log10(grid)
    features, curves = [], []
    for p, photo in enumerate(load_photos("train").values()):
        crop = _centre_crop(photo, 256)
        for s, sigma in enumerate((1.0, 1.5, 2.0, 3.0)):
            for n, noise in enumerate((0.0, 0.01, 0.02)):
                degraded, _ = degrade(
                    crop,
                    sigma=sigma,
                    noise=noise,
                    quantize=True,
                    seed=seed + 1000 + 100 * p + 10 * s + n,
                )
                estimate = estimate_noise(degraded)
                power = signal_power(degraded, estimate)
                _, scores = tune_wiener(degraded[None], crop[None], sigma, grid)
                features.append([1.0, *np.log10([estimate, sigma, power])])
                curves.append(list(scores.values()))
    x, curves = np.array(features), np.array(curves)
    best = curves.max(axis=1)

    def loss(rule):
        logs = np.clip(x @ rule, log_grid[0], log_grid[-1])
        return best - np.array(
            [np.interp(v, log_grid, c) for v, c in zip(logs, curves, strict=True)]
        )

    rule, *_ = np.linalg.lstsq(x, log_grid[curves.argmax(axis=1)], rcond=None)
    mean = loss(rule).mean()
    rng = np.random.default_rng(0)
    for _ in range(3000):  # refine the least-squares start on the PSNR loss
        trial = rule + rng.normal(0.0, 0.05, 4)
        trial_mean = loss(trial).mean()
        if trial_mean < mean:
            rule, mean = trial, trial_mean
    print("| c0 | c1 (log noise) | c2 (log sigma) | c3 (log power) | mean loss, dB |")
    print("| --- | --- | --- | --- | --- |")
    print("| " + " | ".join(f"{c:.2f}" for c in rule) + f" | {mean:.3f} |")


def main():
    from keras_seqimage.datasets import PHOTO_TEST_SET

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default=",".join(PHOTO_TEST_SET))
    parser.add_argument("--sigmas", default="1.0,1.5,2.0,3.0")
    parser.add_argument("--noises", default="0,0.01,0.02")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--crop", type=int, default=0, help="centre crop (0: full)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit", action="store_true", help="fit BALANCE_RULE")
    parser.add_argument(
        "--presets-from",
        help="a folder of preset records (<name>.json and <name>.weights.h5, as "
        "examples/train_photo_restorer.py writes them) to score instead of the "
        "shipped presets: does a retrain reproduce the scores?",
    )
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "bfloat16"),
        help="the presets' network precision (see keras_seqimage.backend.precision)",
    )
    args = parser.parse_args()
    global PRESET_SOURCE, PRECISION
    PRESET_SOURCE = args.presets_from
    PRECISION = args.precision

    import keras

    from keras_seqimage.backend.precision import inference_policy

    backend = keras.backend.backend()
    if args.fit:
        print_run_metadata([backend], f"--fit, seed {args.seed}")
        fit_rule(args.seed)
        return 0
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown --methods {unknown}; known: {list(METHODS)}")
    if "unsupervised_wiener" in methods:
        try:
            import skimage.restoration  # noqa: F401
        except ImportError:
            print("# scikit-image not installed: unsupervised_wiener skipped")
            methods.remove("unsupervised_wiener")
    photos_names = [p for p in args.photos.split(",") if p]
    sigmas, noises = _floats(args.sigmas), _floats(args.noises)
    print_run_metadata(
        [backend],
        f"photos {photos_names}, crop {args.crop or 'none'}, sigmas {sigmas}, "
        f"noises {noises}, 8-bit, seed {args.seed}, methods {methods}, "
        f"network precision {args.precision} "
        f"({inference_policy(args.precision)} here)",
    )
    from keras_seqimage import degrade
    from keras_seqimage.datasets import load_photo

    photos = {n: _centre_crop(load_photo(n), args.crop) for n in photos_names}
    results = {}  # (sigma, noise, method) -> list of (photo, psnr, ssim, seconds)
    for s, sigma in enumerate(sigmas):
        for n, noise in enumerate(noises):
            for p, (name, clean) in enumerate(photos.items()):
                degraded, _ = degrade(
                    clean,
                    sigma=sigma,
                    noise=noise,
                    quantize=True,
                    seed=args.seed + 100 * p + 10 * s + n,
                )
                for method in methods:
                    start = time.perf_counter()
                    restored = METHODS[method][1](degraded, clean, sigma)
                    seconds = time.perf_counter() - start
                    psnr_value, ssim_value = _scores(clean, restored)
                    results.setdefault((sigma, noise, method), []).append(
                        (name, psnr_value, ssim_value, seconds)
                    )
    megapixels = sum(c.shape[0] * c.shape[1] for c in photos.values()) / 1e6

    print(
        "| sigma | noise | method | mean PSNR | mean SSIM | worst PSNR (photo) | MP/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (sigma, noise, method), rows in results.items():
        worst = min(rows, key=lambda r: r[1])
        seconds = sum(r[3] for r in rows)
        speed = f"{megapixels / seconds:.2f}" if method != "blurred" else "-"
        print(
            f"| {sigma} | {noise} | {METHODS[method][0]} | "
            f"{np.mean([r[1] for r in rows]):.2f} | "
            f"{np.mean([r[2] for r in rows]):.4f} | "
            f"{worst[1]:.2f} ({worst[0]}) | {speed} |"
        )
    if "wiener_oracle" in methods:
        others = [m for m in methods if m != "wiener_oracle"]
        print()
        print("Distance to the oracle Wiener, dB (mean over photos; worst photo):")
        print()
        print("| sigma | noise | " + " | ".join(METHODS[m][0] for m in others) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in others) + " |")
        for sigma in sigmas:
            for noise in noises:
                oracle = np.array(
                    [r[1] for r in results[(sigma, noise, "wiener_oracle")]]
                )
                cells = []
                for method in others:
                    delta = np.array([r[1] for r in results[(sigma, noise, method)]])
                    delta = delta - oracle
                    cells.append(f"{delta.mean():+.2f} ({delta.min():+.2f})")
                print(f"| {sigma} | {noise} | " + " | ".join(cells) + " |")
    if "blurred" in methods:
        others = [m for m in methods if m != "blurred"]
        print()
        print("Gain over the blurred input, dB (worst photo of the cell):")
        print()
        print("| sigma | noise | " + " | ".join(METHODS[m][0] for m in others) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in others) + " |")
        for sigma in sigmas:
            for noise in noises:
                base = np.array([r[1] for r in results[(sigma, noise, "blurred")]])
                cells = []
                for method in others:
                    gain = np.array([r[1] for r in results[(sigma, noise, method)]])
                    cells.append(f"{(gain - base).min():+.2f}")
                print(f"| {sigma} | {noise} | " + " | ".join(cells) + " |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"# peak RSS of the run: {peak:.0f} MB; {megapixels:.3f} megapixels per cell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
