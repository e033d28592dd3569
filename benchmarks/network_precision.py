"""The photo restorer's network in float32 and in bfloat16, per backend.

For each backend (one process each), a preset's `DeblurNetwork` predicts one
`--size` x `--size` tile of random inputs, once in float32 and once as a
`"mixed_bfloat16"` copy with the same weights (what
`PhotoRestorer(precision="bfloat16")` runs), alternating `--repeats` times
after a warm-up call each. The table gives the median seconds of each, their
ratio, the largest and root-mean-square difference of the outputs, and what
`precision="auto"` picks on this machine (`keras_seqimage.backend.precision`).

Usage:
    python benchmarks/network_precision.py [--size 1024] [--repeats 5]
        [--backends tensorflow jax torch] [--preset photo_deblur_cnn]

Smallest run (a smoke test):
    python benchmarks/network_precision.py --size 32 --repeats 1 --backends tensorflow
"""

import argparse
import sys
import time

from _harness import (
    BACKENDS,
    emit,
    exit_status,
    median,
    print_run_metadata,
    run_workers,
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--preset", default="photo_deblur_cnn")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("size", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1. Received: {getattr(args, name)}")
    return args


def worker(args):
    import keras
    import numpy as np

    from keras_seqimage.backend import precision
    from keras_seqimage.models.deblur_network import INPUT_CHANNELS
    from keras_seqimage.restoration import PhotoRestorer

    network = PhotoRestorer.from_preset(args.preset).network
    copy = type(network).from_config(
        {**network.get_config(), "dtype": "mixed_bfloat16"}
    )
    copy.build((None, None, None, len(INPUT_CHANNELS)))
    copy.set_weights(network.get_weights())
    rng = np.random.default_rng(0)
    x = rng.random((1, args.size, args.size, len(INPUT_CHANNELS)), dtype="float32")
    models = {"float32": network, "bfloat16": copy}
    outputs = {name: model.predict_on_batch(x) for name, model in models.items()}
    times = {name: [] for name in models}
    for _ in range(args.repeats):  # alternating: both see the same load
        for name, model in models.items():
            began = time.perf_counter()
            model.predict_on_batch(x)
            times[name].append(time.perf_counter() - began)
    exact = np.asarray(outputs["float32"], "float32")
    rounded = np.asarray(outputs["bfloat16"], "float32")
    emit(
        [
            {
                "backend": keras.backend.backend(),
                "float32": median(times["float32"]),
                "bfloat16": median(times["bfloat16"]),
                "max_diff": float(np.abs(exact - rounded).max()),
                "rms_diff": float(np.sqrt(np.mean((exact - rounded) ** 2))),
                "auto": precision.inference_policy("auto"),
            }
        ]
    )


def main():
    args = parse_args()
    if args.worker:
        return worker(args)
    print_run_metadata(
        args.backends,
        f"preset {args.preset}, tile {args.size}x{args.size}, {args.repeats} repeats",
    )
    worker_args = [
        "--size",
        str(args.size),
        "--repeats",
        str(args.repeats),
        "--preset",
        args.preset,
    ]
    rows = run_workers(__file__, args.backends, worker_args)
    print(
        "| backend | float32 (s) | bfloat16 (s) | speed-up | max diff | rms diff "
        "| `auto` picks |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['backend']} | {row['float32']:.3f} | {row['bfloat16']:.3f} | "
            f"{row['float32'] / row['bfloat16']:.2f}x | {row['max_diff']:.4f} | "
            f"{row['rms_diff']:.5f} | {row['auto']} |"
        )
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())
