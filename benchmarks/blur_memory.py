"""Blur time and memory on large images: GaussianBlurLayer vs scipy.

For each image size (batch 1, RGB float32, default: height 16 with widths
32 ... 8000, and a 6000x4000 photo), blurs with sigma 2 (mode 'reflect')
by `keras_seqimage.layers.GaussianBlurLayer` and by
`scipy.ndimage.gaussian_filter(sigma=(0, 2, 2, 0))`, each case in a fresh
subprocess: it imports everything, makes the image (a backend tensor for
ours), blurs three small images (8x8, 8x300, 300x8: the backend's one-time
allocations for every route, which are not the blur's), resets the peak
resident set size (`/proc/self/clear_refs`), then times a first call and
`--repeats` more. Prints the median seconds of the later calls, the peak
resident memory above the process's own before the first call (the
output included) in MiB and in multiples of the image's bytes, and the
max abs difference to scipy (computed after the measurement). Targets: within 2x
of scipy's time, at most 4x the image's bytes in extra memory.

Usage:
    python benchmarks/blur_memory.py [--backend tensorflow] [--repeats 5]
        [--sizes 16x32,16x128,16x512,16x2000,16x8000,4000x6000]
        [--sigma 2.0] [--compiled]
"""

import argparse
import json
import os
import subprocess
import sys
import time

from _harness import RESULT_PREFIX, median, memory_mib, print_run_metadata

DEFAULT_SIZES = "16x32,16x128,16x512,16x2000,16x8000,4000x6000"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sizes", default=DEFAULT_SIZES, help="HEIGHTxWIDTH, comma-separated"
    )
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="call the layer in tf.function / jax.jit (eager on torch)",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def reset_peak():
    """Reset VmHWM to the current VmRSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def worker(args):
    method, size = args.worker.split(":")
    height, width = (int(n) for n in size.split("x"))
    import numpy as np
    import scipy.ndimage as ndi

    images = np.random.default_rng(0).random((1, height, width, 3), "float32")
    sigma = (0, args.sigma, args.sigma, 0)
    if method == "scipy":

        def run():
            return ndi.gaussian_filter(images, sigma=sigma)

        def blur_small(small):
            return ndi.gaussian_filter(small, sigma=sigma)

        finish = np.asarray
    else:
        import keras
        from _harness import compiled_for_backend

        from keras_seqimage.layers import GaussianBlurLayer

        layer = GaussianBlurLayer(sigma=args.sigma)
        tensor = keras.ops.convert_to_tensor(images)
        call = compiled_for_backend(layer) if args.compiled else layer

        def run():
            return call(tensor)

        def blur_small(small):
            return layer(keras.ops.convert_to_tensor(small))

        def finish(result):
            return keras.ops.convert_to_numpy(result)

        if keras.backend.backend() == "jax":

            def run(call=call):
                return call(tensor).block_until_ready()

    # The backend's one-time allocations (kernels, thread pools) made on
    # small images of every route first: they are not the blur's.
    for shape in [(1, 8, 8, 3), (1, 8, 300, 3), (1, 300, 8, 3)]:
        finish(blur_small(np.zeros(shape, "float32")))
    reset_peak()
    before = memory_mib("VmRSS")
    times = []
    for _ in range(args.repeats + 1):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        del result
    extra = memory_mib("VmHWM") - before
    diff = float(np.abs(finish(run()) - ndi.gaussian_filter(images, sigma)).max())
    row = {
        "method": method,
        "size": size,
        "image_mib": images.nbytes / 2**20,
        "seconds": median(times[1:]),
        "extra_mib": extra,
        "max_abs_diff": diff,
    }
    print(RESULT_PREFIX + json.dumps(row), flush=True)


def run_case(args, method, size):
    env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, __file__, "--worker", f"{method}:{size}"]
    command += ["--repeats", str(args.repeats), "--sigma", str(args.sigma)]
    command += ["--compiled"] if args.compiled else []
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if done.returncode or not lines:
        print(f"# {method} {size}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    how = "compiled" if args.compiled else "eager"
    print_run_metadata(
        [args.backend],
        f"--sizes {args.sizes} --repeats {args.repeats} --sigma {args.sigma}",
    )
    print(
        f"GaussianBlurLayer(sigma={args.sigma}) on {args.backend} ({how}) vs "
        f"scipy.ndimage.gaussian_filter, batch 1, RGB float32, mode 'reflect'; "
        f"median of {args.repeats} calls after a warm-up, each case in a fresh "
        f"process ({os.cpu_count()} CPUs)\n"
    )
    print(
        "| image (HxW) | image MiB | scipy s | ours s | time vs scipy "
        "| scipy extra MiB (x image) | ours extra MiB (x image) | max abs diff |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes.split(","):
        scipy_row = run_case(args, "scipy", size)
        ours = run_case(args, "ours", size)
        if scipy_row is None or ours is None:
            print(f"| {size} | failed | | | | | | |")
            continue
        image = ours["image_mib"]
        print(
            f"| {size} | {image:.2f} | {scipy_row['seconds']:.4f} "
            f"| {ours['seconds']:.4f} "
            f"| {ours['seconds'] / scipy_row['seconds']:.2f}x "
            f"| {scipy_row['extra_mib']:.1f} ({scipy_row['extra_mib'] / image:.1f}x) "
            f"| {ours['extra_mib']:.1f} ({ours['extra_mib'] / image:.1f}x) "
            f"| {ours['max_abs_diff']:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
