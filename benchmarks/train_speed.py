"""Training speed: the factory's row-LSTM against the same layers in plain Keras.

Seconds per epoch of the row-LSTM `lstm_sequence_128_64` (LSTM 128 -> LSTM 64
-> Dense 96, 170,848 parameters) on random 32x32x3 images (default 40,000,
batch 64: 80% of CIFAR-10's training set):

- `factory`: `build_model("lstm_autoencoder", preset="lstm_sequence_128_64")`,
  images in and out (row sequences made inside the model), compiled by the
  factory (Adam, MSE, metrics MSE/PSNR/SSIM; `jit_compile=False` on TF);
- `factory, loss only`: the same model compiled like the plain one (no
  metrics, same `jit_compile`), to isolate the cost of the toolkit's layers;
- `plain Sequential`: the same layers as a `keras.Sequential` on row sequences
  `(32, 96)`, compiled with Adam and MSE, with Keras' default `jit_compile`
  and with the factory's setting.

Every configuration trains one epoch per round, in turn, so machine noise
falls on all alike; the first round (tracing, compiling) is dropped and the
median and the fastest of the others are reported (on a shared machine TF
epochs here came out bimodal, ~45 s or ~87 s, so look at both), with ratios
to the plain model with the same `jit_compile`. Each backend runs in its own process.

Usage:
    python benchmarks/train_speed.py [--images 40000] [--batch-size 64] [--rounds 3]
        [--backends tensorflow,jax]

Smallest run (a smoke test, figures meaningless):
    python benchmarks/train_speed.py --images 64 --rounds 2 --backends tensorflow
"""

import argparse
import sys
import time

from _harness import emit, exit_status, median, print_run_metadata, run_workers


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 2:
        parser.error(
            "--rounds must be >= 2 (the first round is a warm-up). "
            f"Received: --rounds {args.rounds}"
        )
    return args


def plain_sequential():
    import keras

    return keras.Sequential(
        [
            keras.Input((32, 96)),
            keras.layers.LSTM(128, return_sequences=True),
            keras.layers.LSTM(64, return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(96)),
        ]
    )


def worker(args):
    import keras
    import numpy as np

    from keras_seqimage.models import build_model

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    images = rng.random((args.images, 32, 32, 3), dtype="float32")
    targets = rng.random((args.images, 32, 32, 3), dtype="float32")
    rows, row_targets = images.reshape(-1, 32, 96), targets.reshape(-1, 32, 96)

    factory = build_model("lstm_autoencoder", preset="lstm_sequence_128_64")
    factory_jit = factory.jit_compile
    lean = build_model(
        "lstm_autoencoder",
        preset="lstm_sequence_128_64",
        metrics=[],
    )
    configs = {
        "factory (defaults: metrics MSE/PSNR/SSIM)": (factory, images, targets),
        "factory, loss only": (lean, images, targets),
    }
    plain = plain_sequential()
    plain.compile(keras.optimizers.Adam(), "mse")  # Keras' default jit_compile
    configs["plain Sequential, Keras default jit_compile"] = (plain, rows, row_targets)
    if plain.jit_compile != factory_jit:
        same = plain_sequential()
        same.compile(keras.optimizers.Adam(), "mse", jit_compile=factory_jit)
        configs["plain Sequential, the factory's jit_compile"] = (
            same,
            rows,
            row_targets,
        )

    times = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, (model, x, y) in configs.items():
            start = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)
            times[name].append(time.perf_counter() - start)
    rows_out = []
    for name, (model, _, _) in configs.items():
        rows_out.append(
            {
                "backend": backend,
                "config": name,
                "params": model.count_params(),
                "jit_compile": str(model.jit_compile),
                "seconds": median(times[name][1:]),
                "all": list(times[name]),
            }
        )
    emit(rows_out)


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    worker_args = ["--images", str(args.images), "--rounds", str(args.rounds)]
    worker_args += ["--batch-size", str(args.batch_size)]
    backends = args.backends.split(",")
    print_run_metadata(backends, " ".join(worker_args))
    rows = run_workers(__file__, backends, worker_args)
    print(
        f"Training epochs of the row-LSTM, {args.images} random 32x32x3 "
        f"images, batch {args.batch_size}, median of {args.rounds - 1} epochs after "
        f"a warm-up epoch\n"
    )
    print(
        "| backend | configuration | params | jit_compile | s/epoch "
        "| ratio to plain (same jit) | fastest epoch (s) | ratio of fastest "
        "| every epoch (s) |"
    )
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        plain = [
            r
            for r in rows
            if r["backend"] == row["backend"]
            and r["config"].startswith("plain")
            and r["jit_compile"] == row["jit_compile"]
        ]
        fastest = min(row["all"][1:])
        ratio = fastest_ratio = "n/a"
        if plain:
            ratio = _ratio(row["seconds"], plain[0]["seconds"])
            fastest_ratio = _ratio(fastest, min(plain[0]["all"][1:]))
        print(
            f"| {row['backend']} | {row['config']} | {row['params']:,} "
            f"| {row['jit_compile']} | {row['seconds']:.1f} | {ratio} "
            f"| {fastest:.1f} | {fastest_ratio} "
            f"| {[round(t, 1) for t in row['all']]} |"
        )
    return exit_status()


def _ratio(value, reference):
    """`value / reference` to three places; "n/a" for a time too short to read."""
    return f"{value / reference:.3f}" if reference > 0 else "n/a"


if __name__ == "__main__":
    sys.exit(main())
