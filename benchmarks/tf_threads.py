"""TensorFlow's thread pools on a small CPU: the step time round by round.

Source 000's factory model (`build_model("lstm_autoencoder",
preset="lstm_sequence_128_64", metrics=[])`, the factory's `jit_compile` for
this CPU) trained with `fit` on the TensorFlow backend, batch 64, under
TensorFlow's thread settings, each in its own process (they must be set
before TensorFlow starts):

- `default`: TensorFlow's own choice (inter-op and intra-op pools sized
  from the CPU count);
- `inter_op=1`: `tf.config.threading.set_inter_op_parallelism_threads(1)`,
  one op at a time, each op still using every core;
- `intra_op=1`: `set_intra_op_parallelism_threads(1)` as well (one thread
  in all), for scale;
- `default, after an XLA fit`: the default, in a process that first trained
  an XLA-compiled copy of stock Keras' LSTM stack (`jit_compile=True`) for
  a few steps, as `speed_table.py` did before its XLA row got a process of
  its own.

On the project's 2-core machine some whole `fit` calls ran at about twice
the step time of the others, with the same CPU time (`speed_table.py`'s
TensorFlow rounds, 2026-12-02): this shows whether a thread setting avoids
that (a single thread did not), and how often it happens once an XLA model
has trained in the process.
Each process runs `--rounds` `fit` calls of `--steps` steps after a warm-up
call, in `--chunks` turns that alternate between the settings (so the
machine's noise falls on all of them); the table gives, per setting, the
median, fastest and slowest round's ms per step, how many rounds took over
1.5x the fastest, and the median CPU ms per step.

Usage:
    python benchmarks/tf_threads.py [--steps 30] [--rounds 16] [--chunks 2]
"""

import argparse
import os
import time

from _harness import emit, median, run_worker

SETTINGS = {
    "default": {},
    "inter_op=1": {"inter_op": 1},
    "intra_op=1": {"inter_op": 1, "intra_op": 1},
    "default, after an XLA fit": {"xla_first": True},
}
BATCH = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=2)
    parser.add_argument("--worker", nargs=2, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def worker(setting, rounds, args):
    import tensorflow as tf

    options = SETTINGS[setting]
    if "inter_op" in options:
        tf.config.threading.set_inter_op_parallelism_threads(options["inter_op"])
    if "intra_op" in options:
        tf.config.threading.set_intra_op_parallelism_threads(options["intra_op"])
    import numpy as np

    from keras_seqimage.models import build_model

    x = np.random.default_rng(0).random((args.steps * BATCH, 32, 32, 3), "float32")
    if options.get("xla_first"):
        from speed_table import stock_model

        rows = x.reshape(-1, 32, 96)[: 4 * BATCH]
        stock_model(True).fit(rows, rows, batch_size=BATCH, epochs=1, verbose=0)
    model = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])

    def fit():
        model.fit(x, x, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

    fit()  # warm-up: tracing
    rows = []
    for _ in range(rounds):
        cpu, start = time.process_time(), time.perf_counter()
        fit()
        rows.append(
            {
                "setting": setting,
                "jit_compile": model.jit_compile,
                "ms": (time.perf_counter() - start) / args.steps * 1000,
                "cpu_ms": (time.process_time() - cpu) / args.steps * 1000,
            }
        )
    emit(rows)


def main():
    args = parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args)
        return
    per_chunk = [args.rounds // args.chunks] * args.chunks
    per_chunk[-1] += args.rounds - sum(per_chunk)
    rows = []
    for chunk, rounds in enumerate(per_chunk):
        order = list(SETTINGS) if chunk % 2 == 0 else list(SETTINGS)[::-1]
        for setting in order:
            worker_args = [setting, str(rounds), "--steps", str(args.steps)]
            rows.extend(run_worker(__file__, "tensorflow", worker_args))
    jit = ", ".join(sorted({str(row["jit_compile"]) for row in rows}))
    print(
        f"Source 000's factory model on TensorFlow (jit_compile={jit}), batch "
        f"{BATCH}, {args.rounds} fit calls of {args.steps} steps per setting in "
        f"{args.chunks} alternating turns ({os.cpu_count()} CPUs)\n"
    )
    print(
        "| setting | median ms/step | fastest | slowest | rounds over 1.5x the "
        "fastest | median CPU ms/step | s/epoch (median x 625) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for setting in SETTINGS:
        times = [row["ms"] for row in rows if row["setting"] == setting]
        if not times:
            continue
        cpu = [row["cpu_ms"] for row in rows if row["setting"] == setting]
        fastest = min(times)
        slow = sum(t > 1.5 * fastest for t in times)
        print(
            f"| {setting} | {median(times):.1f} | {fastest:.1f} | {max(times):.1f} "
            f"| {slow} of {len(times)} | {median(cpu):.1f} "
            f"| {median(times) * 625 / 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
