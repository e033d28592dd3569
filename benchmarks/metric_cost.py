"""What SSIM costs per batch: the toolkit's `ssim` against its former layout.

`keras_seqimage.metrics.ssim` filters four windowed means (of x, y, x*x +
y*y and x*y: SSIM needs the two variances only as their sum) one call each,
computing only the pixels the SSIM map keeps (`gaussian_filter(...,
crop=5)`). Until 2026-12-02 it stacked the textbook's five (x, y, x*x, y*y,
x*y) along the batch, filtered the whole stack in one call and cropped the
5-pixel border afterwards. This script times, per backend (each in its own
subprocess, compiled as a model's step would run it: `tf.function` with jit
off, `jax.jit`, eager torch), on random 32x32x3 float32 batches:

- `stacked, whole image`: the former layout (written out below);
- `five calls, whole image`: the five filtered one call each, cropped after;
- `four calls, interior only`: the toolkit's `ssim`;
- the `PSNR` formula and `keras.metrics.MeanSquaredError`'s per-image mean,
  for scale.

Every round calls each formulation once in an order that rotates from round
to round; prints the median ms per call, the ratio to the former layout and
the largest difference from the toolkit's `ssim`.

Usage:
    python benchmarks/metric_cost.py [--batches 64,256] [--rounds 200]
        [--backends tensorflow,jax,torch]
"""

import argparse
import os

from _harness import compiled_for_backend, emit, median, rotating_rounds, run_workers


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def ssim_formulations():
    """`{name: fn(y_true, y_pred)}`, each SSIM per image with Wang's settings."""
    from keras import ops

    from keras_seqimage.metrics import (
        SSIM_K1,
        SSIM_K2,
        SSIM_RADIUS,
        SSIM_SIGMA,
        SSIM_TRUNCATE,
        psnr,
        ssim,
    )
    from keras_seqimage.ops import gaussian_filter

    def blur(images):
        return gaussian_filter(images, sigma=SSIM_SIGMA, truncate=SSIM_TRUNCATE)

    def interior(images):
        r = SSIM_RADIUS
        return images[:, r : images.shape[1] - r, r : images.shape[2] - r, :]

    def from_means(means, shift_x, shift_y):
        mu_x, mu_y, e_xx, e_yy, e_xy = means
        var_x, var_y = e_xx - mu_x * mu_x, e_yy - mu_y * mu_y
        cov_xy = e_xy - mu_x * mu_y
        mu_x, mu_y = mu_x + shift_x, mu_y + shift_y
        c1, c2 = SSIM_K1**2, SSIM_K2**2
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
            (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
        )
        return ops.mean(ssim_map, axis=(1, 2, 3))

    def centred(y_true, y_pred):
        shift_x = ops.mean(y_true, axis=(1, 2), keepdims=True)
        shift_y = ops.mean(y_pred, axis=(1, 2), keepdims=True)
        x, y = y_true - shift_x, y_pred - shift_y
        return (x, y, x * x, y * y, x * y), shift_x, shift_y

    def stacked_whole(y_true, y_pred):
        maps, shift_x, shift_y = centred(y_true, y_pred)
        means = interior(blur(ops.concatenate(maps, axis=0)))
        return from_means(ops.split(means, 5, axis=0), shift_x, shift_y)

    def each_whole(y_true, y_pred):
        maps, shift_x, shift_y = centred(y_true, y_pred)
        return from_means([interior(blur(m)) for m in maps], shift_x, shift_y)

    def per_image_mse(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))

    return {
        "ssim: stacked, whole image (former)": stacked_whole,
        "ssim: five calls, whole image": each_whole,
        "ssim: four calls, interior only (toolkit)": ssim,
        "psnr (for scale)": psnr,
        "per-image MSE (for scale)": per_image_mse,
    }


def worker(args):
    import keras
    import numpy as np

    backend = keras.backend.backend()
    formulations = ssim_formulations()
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        rng = np.random.default_rng(batch)
        clean = rng.random((batch, 32, 32, 3), "float32")
        noisy = np.clip(clean + 0.05 * rng.standard_normal(clean.shape), 0, 1)
        y_true = keras.ops.convert_to_tensor(clean)
        y_pred = keras.ops.convert_to_tensor(noisy.astype("float32"))
        compiled = {name: compiled_for_backend(fn) for name, fn in formulations.items()}
        toolkit = keras.ops.convert_to_numpy(
            compiled["ssim: four calls, interior only (toolkit)"](y_true, y_pred)
        )
        times = rotating_rounds(
            {
                name: (lambda fn=fn, a=y_true, b=y_pred: fn(a, b))
                for name, fn in compiled.items()
            },
            args.rounds,
        )
        for name, fn in compiled.items():
            values = keras.ops.convert_to_numpy(fn(y_true, y_pred))
            difference = None
            if name.startswith("ssim"):
                difference = float(np.abs(values - toolkit).max())
            rows.append(
                {
                    "backend": backend,
                    "batch": batch,
                    "name": name,
                    "ms": median(times[name]) * 1000,
                    "difference": difference,
                }
            )
    emit(rows)


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    worker_args = ["--batches", args.batches, "--rounds", str(args.rounds)]
    rows = run_workers(__file__, args.backends.split(","), worker_args)
    print(
        f"Per-image metrics of random 32x32x3 float32 batches, median of "
        f"{args.rounds} rotating rounds ({os.cpu_count()} CPUs)\n"
    )
    print(
        "| backend | batch | formulation | ms per call | ratio to the former "
        "ssim | max abs difference to the toolkit's ssim |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    former = {
        (row["backend"], row["batch"]): row["ms"]
        for row in rows
        if row["name"].endswith("(former)")
    }
    for row in rows:
        ratio = row["ms"] / former[(row["backend"], row["batch"])]
        difference = "" if row["difference"] is None else f"{row['difference']:.1e}"
        print(
            f"| {row['backend']} | {row['batch']} | {row['name']} | {row['ms']:.3f} "
            f"| {ratio:.2f} | {difference} |"
        )


if __name__ == "__main__":
    main()
