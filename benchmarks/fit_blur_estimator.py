"""Fit and check the blind blur estimate's calibration on the TRAIN photos.

`keras_seqimage.restoration.estimate_blur` measures edge widths
(`raw_blur`) and maps them through
`log(sigma) = a + b log(raw) + c noise + d noise log(raw)`
(`CALIBRATION`). This script degrades photos of the TRAIN split
(`PHOTO_TRAIN_SET`, never the photo benchmark's TEST split) on a grid of
blurs and noise levels (8-bit rounding, fixed seeds), fits `(a, b, c, d)` by
least squares on the log error, and prints a table of the estimate's error
before and after the calibration, per sigma.

    python benchmarks/fit_blur_estimator.py
    python benchmarks/fit_blur_estimator.py --check   # error of the shipped calibration
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import print_run_metadata  # noqa: E402

#: TRAIN photos with photographic edges (the textures brick, grass and gravel
#: and the dark cell/clock/moon scenes have few clean edges).
FIT_PHOTOS = (
    "stereo_motorcycle",
    "retina",
    "immunohistochemistry",
    "coins",
    "hubble_deep_field",
)
SIGMAS = (0.8, 1.0, 1.5, 2.0, 2.5, 3.0)
NOISES = (0.0, 0.005, 0.01, 0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--photos", default=",".join(FIT_PHOTOS))
    parser.add_argument("--sigmas", default=",".join(str(s) for s in SIGMAS))
    parser.add_argument("--noises", default=",".join(str(n) for n in NOISES))
    parser.add_argument("--crop", type=int, default=0, help="top-left crop (0: full)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    photos = [p for p in args.photos.split(",") if p]
    sigmas = [float(v) for v in args.sigmas.split(",") if v]
    noises = [float(v) for v in args.noises.split(",") if v]

    import keras

    from keras_seqimage import degrade
    from keras_seqimage.datasets import load_photo
    from keras_seqimage.restoration import blur_estimation, image_noise

    print_run_metadata(
        [keras.backend.backend()], f"photos {FIT_PHOTOS}, seed {args.seed}"
    )
    rows = []  # (sigma, noise, raw, estimated noise)
    for p, name in enumerate(photos):
        photo = load_photo(name)
        if max(photo.shape[:2]) > 1000:
            photo = photo[::2, ::2]
        if args.crop:
            photo = photo[: args.crop, : args.crop]
        for s, sigma in enumerate(sigmas):
            for n, noise in enumerate(noises):
                degraded, _ = degrade(
                    photo,
                    sigma=sigma,
                    noise=noise,
                    quantize=True,
                    seed=args.seed + 1000 * p + 10 * s + n,
                )
                degraded = np.asarray(degraded)
                grey = degraded.astype("float64").mean(-1)
                estimated = image_noise(degraded)
                raw = blur_estimation.raw_blur(grey)
                rows.append((sigma, noise, raw, estimated))
    rows = np.array(rows)
    sigma, raw, noise = rows[:, 0], rows[:, 2], rows[:, 3]
    if args.check:
        a, b, c, d = blur_estimation.CALIBRATION
    else:
        log_raw = np.log(raw)
        design = np.stack([np.ones_like(raw), log_raw, noise, noise * log_raw], -1)
        (a, b, c, d), *_ = np.linalg.lstsq(design, np.log(sigma), rcond=None)
    calibrated = np.exp(a + b * np.log(raw) + c * noise + d * noise * np.log(raw))
    print(f"CALIBRATION = ({a:.4f}, {b:.4f}, {c:.4f}, {d:.4f})")
    print()
    print(
        "| sigma | raw: mean error | raw: worst | calibrated: mean error "
        "| calibrated: worst |"
    )
    print("| --- | --- | --- | --- | --- |")
    for value in sigmas:
        pick = sigma == value
        raw_err = raw[pick] / value - 1
        cal_err = calibrated[pick] / value - 1
        print(
            f"| {value} | {100 * raw_err.mean():+.1f} % | "
            f"{100 * raw_err[np.argmax(abs(raw_err))]:+.1f} % | "
            f"{100 * cal_err.mean():+.1f} % | "
            f"{100 * cal_err[np.argmax(abs(cal_err))]:+.1f} % |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
