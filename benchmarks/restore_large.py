"""`keras_seqimage.restore` on a full-size photo: time, throughput, peak memory.

Builds a uint8 RGB image of `--size` (default 4000x6000, a 24-megapixel
photo) by tiling a blurred, noisy, 8-bit rounded crop of scikit-image's
astronaut (blur sigma 1.5, noise 0.01), then runs `restore(image,
method=--method, sigma=1.5)` once (noise estimated). Prints the seconds,
megapixels per second, the process's resident memory before the call and its
peak during it (`VmHWM`, reset through `/proc/self/clear_refs` before the
call), both in MiB. Target (issue 25): peak RSS <= 2 GB.

With `--precision float32,auto` (a learned method) it restores the same
photo once per precision, in that order, one row each, so their times are
measured side by side in one process; the last column is the largest
difference from the first row's result, in 8-bit levels.

Usage:
    python benchmarks/restore_large.py [--size 4000x6000] [--method wiener]
    python benchmarks/restore_large.py --method photo_deblur_cnn \
        --precision float32,auto
"""

import argparse
import time

from _harness import memory_mib, print_run_metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4000x6000", help="HEIGHTxWIDTH")
    parser.add_argument("--method", default="wiener")
    parser.add_argument(
        "--precision",
        default="auto",
        help="comma-separated precisions of a learned method's network "
        "(auto, float32, bfloat16), run in turn",
    )
    args = parser.parse_args()
    precisions = [p for p in args.precision.split(",") if p]
    height, width = (int(v) for v in args.size.split("x"))

    import keras
    import numpy as np
    import scipy.ndimage as ndi
    import skimage.data

    import keras_seqimage

    print_run_metadata([keras.backend.backend()], f"size {args.size}")
    clean = skimage.data.astronaut().astype("float32") / 255
    rng = np.random.default_rng(0)
    crop = ndi.gaussian_filter(clean, (1.5, 1.5, 0))
    crop = crop + 0.01 * rng.standard_normal(crop.shape)
    crop = np.round(np.clip(crop, 0, 1) * 255).astype("uint8")
    reps = (-(-height // crop.shape[0]), -(-width // crop.shape[1]), 1)
    image = np.tile(crop, reps)[:height, :width]
    del clean, crop
    print(
        "| size | method | precision | seconds | MP/s | RSS before (MiB) | "
        "peak RSS (MiB) | max diff (levels) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    megapixels = height * width / 1e6
    first = None
    for precision in precisions:
        before = memory_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        began = time.perf_counter()
        out = keras_seqimage.restore(
            image, method=args.method, sigma=1.5, progress=False, precision=precision
        )
        seconds = time.perf_counter() - began
        peak = memory_mib("VmHWM")
        assert out.shape == image.shape and out.dtype == image.dtype
        if first is None:
            first, diff = out, 0
        else:
            diff = int(np.abs(out.astype("int16") - first).max())
        print(
            f"| {width}x{height} RGB uint8 | {args.method} | {precision} | "
            f"{seconds:.1f} | {megapixels / seconds:.2f} | {before:.0f} | "
            f"{peak:.0f} | {diff} |",
            flush=True,
        )
        del out


if __name__ == "__main__":
    main()
