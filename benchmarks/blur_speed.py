"""Blur speed: keras_seqimage.ops.gaussian_filter vs scipy vs keras.ops.image.

On N random 32x32x3 float32 images (default 10,000), sigma 1.0, mode
'reflect': times scipy.ndimage.gaussian_filter(sigma=(0, 1, 1, 0)), our op
and keras.ops.image.gaussian_blur(kernel_size=9, sigma=1) (the closest stock
call: same 9 taps, but zero padding at the border), each backend in its own
subprocess that also times scipy, so every ratio is measured side by side in
one process. Ours and Keras' are timed compiled (tf.function / jax.jit;
eager on torch), tensor in and tensor out, after a warm-up call. Prints
medians of --repeats runs, ratios to scipy and the max abs difference to
scipy. Backends: tensorflow, jax and torch by default (one that is not
installed is skipped).

Usage:
    python benchmarks/blur_speed.py [--images 10000] [--repeats 7] [--chunk 0]
        [--backends tensorflow,jax,torch]

Smallest run (a smoke test, figures meaningless):
    python benchmarks/blur_speed.py --images 16 --repeats 1 --backends tensorflow
"""

import argparse
import sys

from _harness import (
    compiled_for_backend,
    emit,
    exit_status,
    median_seconds,
    print_run_metadata,
    run_workers,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--chunk",
        type=int,
        default=0,
        help="also time calls on chunks of this many images (0: off)",
    )
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def worker(args):
    import keras
    import numpy as np
    import scipy.ndimage as ndi

    from keras_seqimage.ops import gaussian_filter

    backend = keras.backend.backend()
    images = np.random.default_rng(0).random((args.images, 32, 32, 3), "float32")
    reference = ndi.gaussian_filter(images, sigma=(0, 1, 1, 0))

    candidates = {
        "keras_seqimage.ops.gaussian_filter": lambda x: gaussian_filter(x, 1.0),
        "keras.ops.image.gaussian_blur (9x9, zero pad)": lambda x: (
            keras.ops.image.gaussian_blur(x, kernel_size=(9, 9), sigma=(1.0, 1.0))
        ),
    }
    tensor = keras.ops.convert_to_tensor(images)
    rows = [
        {
            "backend": "numpy",
            "method": "scipy.ndimage.gaussian_filter",
            "batch": args.images,
            "seconds": median_seconds(
                lambda: ndi.gaussian_filter(images, sigma=(0, 1, 1, 0)), args.repeats
            ),
            "max_abs_diff": 0.0,
        }
    ]
    chunks = [args.images] + ([args.chunk] if args.chunk else [])
    for name, fn in candidates.items():
        compiled = compiled_for_backend(fn)
        out = keras.ops.convert_to_numpy(compiled(tensor))
        diff = float(np.abs(out - reference).max())
        for chunk in chunks:
            pieces = [tensor[i : i + chunk] for i in range(0, args.images, chunk)]
            rows.append(
                {
                    "backend": backend,
                    "method": name,
                    "batch": chunk,
                    "seconds": median_seconds(
                        lambda pieces=pieces, compiled=compiled: [
                            compiled(p) for p in pieces
                        ],
                        args.repeats,
                    ),
                    "max_abs_diff": diff,
                }
            )
    emit(rows)


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    worker_args = ["--images", str(args.images), "--repeats", str(args.repeats)]
    worker_args += ["--chunk", str(args.chunk)]
    backends = args.backends.split(",")
    print_run_metadata(backends, " ".join(worker_args))
    rows = run_workers(__file__, backends, worker_args)
    print(
        f"Blur of {args.images} random 32x32x3 float32 images, sigma 1.0, "
        f"median of {args.repeats} runs\n"
    )
    print(
        "| process | method | images per call | median s "
        "| speed-up vs scipy (same process) | max abs diff to scipy |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    scipy_time = None
    process = None
    for row in rows:
        if row["backend"] == "numpy":
            scipy_time = row["seconds"]
            continue
        if row["backend"] != process:
            process = row["backend"]
            print(
                f"| {process} | scipy.ndimage.gaussian_filter | {args.images} | "
                f"{scipy_time:.3f} | 1.00x | 0 |"
            )
        speedup = scipy_time / row["seconds"]
        print(
            f"| {process} | {row['method']} | {row['batch']} | {row['seconds']:.3f} "
            f"| {speedup:.2f}x | {row['max_abs_diff']:.2e} |"
        )
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())
