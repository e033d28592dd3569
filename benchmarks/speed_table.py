"""One speed table: the row-LSTM on every backend, stock Keras and ours.

The model is `lstm_sequence_128_64` (LSTM 128 -> LSTM 64 -> Dense 96 on the
32 rows of a 32x32x3 image, 170,848 parameters, batch 64). Rows (each
backend in its own process, via `_harness.run_workers`):

- `stock`: `keras.Sequential` of `keras.layers.LSTM(128)`, `LSTM(64)`,
  `Dense(96)` on row sequences `(32, 96)`, Adam, MSE, no metrics; on
  TensorFlow with `jit_compile=False` and `True` (XLA), the XLA row in a
  TensorFlow process of its own: once an XLA-compiled model has trained in
  a TensorFlow process, whole `fit` calls of that process' other models ran
  about 2x slower at random;
- `ours`: `build_model("lstm_autoencoder", preset="lstm_sequence_128_64",
  metrics=[])`: images in and out, `FastLSTM` layers (torch's fused LSTM op
  on the torch backend), the factory's `jit_compile`; and the same with the
  factory's default metrics (MSE, PSNR, SSIM); on torch also with Keras'
  own fit step (`model.fast_train_step = False`) and with Keras' own
  batching of the arrays in `fit` and `predict`
  (`model.fast_array_batches = False`);
- `plain PyTorch`: `torch.nn.LSTM` model and `torch.optim.Adam`, the
  reference for training speed on torch (torch backend worker): batches in
  order (Keras' `fit` shuffles), and inference returns one numpy array like
  Keras' `predict`.

Training: `--steps` batches of 64 random images per round, `--rounds` rounds,
configurations interleaved round by round so machine noise falls on all
alike; the first round (tracing, warm-up) is dropped; s/epoch is the median
per-step time of the other rounds times 625 (40,000 images at batch 64).
Ratio: to the fastest stock Keras row. Inference: images/s of `predict` on
`--predict-images` images at batch `--predict-batch` (best of 3 after a
warm-up). Layer cost: one functional model of `GaussianBlurLayer`,
`ImageToRowSequence`, the LSTM stack and `RowSequenceToImage` against the
same LSTM stack fed precomputed blurred row sequences (time ratio, 1.00 =
free), as the ratio of the medians, as the median of each round's ratio
(the two run side by side in every round) and as the ratio of CPU time per
step; also the factory's `LSTMAutoencoder` behind a blur layer (a model
nested in a model, which adds Keras' call of the inner model), and on torch
the same three graphs as `FastModel`s (the toolkit's lean step, which walks
into the nested model). On torch, ours against plain PyTorch in the same
three ratios. Peak RSS: the worker process (all its configurations).

Usage:
    python benchmarks/speed_table.py [--quick] [--backends tensorflow,jax,torch]
        [--steps 40] [--rounds 4] [--predict-images 10000] [--predict-batch 1000]

Smallest run (a smoke test, figures meaningless):
    python benchmarks/speed_table.py --backends tensorflow --steps 1 --rounds 2
        --predict-images 8 --predict-batch 8
"""

import argparse
import os
import resource
import sys
import time

from _harness import (
    emit,
    exit_status,
    median,
    median_seconds,
    plain_torch_epoch,
    plain_torch_model,
    print_run_metadata,
    run_worker,
    run_workers,
)

STEPS_PER_EPOCH = 625  # 40,000 images / batch 64
BATCH = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--predict-images", type=int, default=None)
    parser.add_argument("--predict-batch", type=int, default=1000)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: default)"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--xla-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 2:
        parser.error(
            "--rounds must be >= 2 (the first round is a warm-up). "
            f"Received: --rounds {args.rounds}"
        )
    quick = {"steps": 10, "rounds": 3, "predict_images": 2000}
    full = {"steps": 40, "rounds": 4, "predict_images": 10_000}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def stock_model(jit_compile):
    import keras

    model = keras.Sequential(
        [
            keras.Input((32, 96)),
            keras.layers.LSTM(128, return_sequences=True),
            keras.layers.LSTM(64, return_sequences=True),
            keras.layers.Dense(96),
        ]
    )
    model.compile(keras.optimizers.Adam(), "mse", jit_compile=jit_compile)
    return model


def _lstm_stack(x):
    """The row-LSTM's stack on row sequences, as in the factory model."""
    import keras

    from keras_seqimage.layers import FastLSTM

    x = FastLSTM(128, return_sequences=True)(x)
    x = FastLSTM(64, return_sequences=True)(x)
    return keras.layers.Dense(96)(x)


def _compiled(inputs, outputs, jit_compile, model_class=None):
    import keras

    model = (model_class or keras.Model)(inputs, outputs)
    model.compile(keras.optimizers.Adam(), "mse", jit_compile=jit_compile)
    return model


def ours_rows_model(jit_compile, model_class=None):
    """The LSTM stack alone, on precomputed row sequences (layer-cost base)."""
    import keras

    rows = keras.Input((32, 96))
    return _compiled(rows, _lstm_stack(rows), jit_compile, model_class)


def ours_blur_model(jit_compile, model_class=None):
    """Clean images in: blur, rows, the same LSTM stack, images out."""
    import keras

    from keras_seqimage.layers import (
        GaussianBlurLayer,
        ImageToRowSequence,
        RowSequenceToImage,
    )

    images = keras.Input((32, 32, 3))
    rows = ImageToRowSequence()(GaussianBlurLayer(sigma=1.0)(images))
    outputs = RowSequenceToImage(width=32, channels=3)(_lstm_stack(rows))
    return _compiled(images, outputs, jit_compile, model_class)


def ours_nested_blur_model(jit_compile, model_class=None):
    """The factory's `LSTMAutoencoder` behind a blur layer: a nested model."""
    import keras

    from keras_seqimage.layers import GaussianBlurLayer
    from keras_seqimage.models import LSTMAutoencoder

    inner = LSTMAutoencoder.from_preset("lstm_sequence_128_64")
    images = keras.Input((32, 32, 3))
    outputs = inner(GaussianBlurLayer(sigma=1.0)(images))
    return _compiled(images, outputs, jit_compile, model_class)


class TorchPlain:
    """Plain PyTorch: nn.LSTM (oneDNN), Adam, MSE; the fit/predict we time."""

    def __init__(self):
        import torch

        self.torch = torch
        self.net = plain_torch_model()
        self.opt = torch.optim.Adam(self.net.parameters(), 1e-3)

    def fit(self, x, y):
        torch = self.torch
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        plain_torch_epoch(self.net, self.opt, x, y, BATCH)

    def predict(self, x, batch_size):
        """Restored rows as one numpy array, as Keras' `predict` returns them."""
        torch = self.torch
        x = torch.from_numpy(x)
        with torch.inference_mode():
            outputs = [
                self.net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)
            ]
            return torch.cat(outputs).numpy()


def _model_products(batch):
    """`(m, k, n, count)` of every matrix product of the row-LSTM's forward pass.

    Per LSTM layer: the input projection of all 32 steps at once
    `(batch * 32, inputs) @ (inputs, 4 * units)` and one recurrent product
    `(batch, units) @ (units, 4 * units)` per step; then the Dense head.
    """
    steps, products, inputs = 32, [], 96
    for units in (128, 64):
        products.append((batch * steps, inputs, 4 * units, 1))
        products.append((batch, units, 4 * units, steps))
        inputs = units
    products.append((batch * steps, inputs, 96, 1))
    return products


def matmul_floor(batch, training, repeats=7):
    """Seconds per batch of the model's matrix products alone (numpy sgemm).

    With `training`, each forward product `(m, k) @ (k, n)` also counts its
    two backward products, `(m, n) @ (n, k)` (input gradient) and
    `(k, m) @ (m, n)` (weight gradient). Returns `(seconds, gflop)`.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    shapes = []
    for m, k, n, count in _model_products(batch):
        shapes.append(((m, k), (k, n), count))
        if training:
            shapes.append(((m, n), (n, k), count))
            shapes.append(((k, m), (m, n), count))
    total, flop = 0.0, 0.0
    for a_shape, b_shape, count in shapes:
        a = rng.random(a_shape, dtype="float32")
        b = rng.random(b_shape, dtype="float32")
        seconds = median_seconds(lambda a=a, b=b: a @ b, repeats)
        total += seconds * count
        flop += 2.0 * a_shape[0] * a_shape[1] * b_shape[1] * count
    return total, flop / 1e9


def training_arrays(rng, n):
    """`n` random images, their blurred row sequences and their row sequences.

    The blurred rows (`GaussianBlurLayer(sigma=1.0)`'s output, reshaped) feed
    the layer-cost base model, which trains on them to the clean rows.
    """
    import keras

    from keras_seqimage.ops import gaussian_filter

    images = rng.random((n, 32, 32, 3), dtype="float32")
    blurred = keras.ops.convert_to_numpy(gaussian_filter(images, sigma=1.0))
    return images, blurred.reshape(n, 32, 96), images.reshape(n, 32, 96)


def worker(args):
    import keras
    import numpy as np

    if args.threads and keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(args.threads)
    from keras_seqimage.models import build_model

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    images, blurred_rows, rows = training_arrays(rng, args.steps * BATCH)
    predict_images = rng.random((args.predict_images, 32, 32, 3), dtype="float32")

    def keras_fit(model, x, y):
        return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    def keras_predict(model, x):
        return lambda: model.predict(x, batch_size=args.predict_batch, verbose=0)

    configs = {}  # name -> (kind, fit, predict)
    if backend == "tensorflow":
        for jit in (True,) if args.xla_only else (False,):
            model = stock_model(jit)
            configs[f"stock Keras, jit_compile={jit}"] = (
                "stock",
                keras_fit(model, rows, rows),
                keras_predict(model, predict_images.reshape(-1, 32, 96)),
            )
        if args.xla_only:
            emit(measured_rows(configs, args, backend))
            return
    else:
        model = stock_model("auto")
        configs["stock Keras"] = (
            "stock",
            keras_fit(model, rows, rows),
            keras_predict(model, predict_images.reshape(-1, 32, 96)),
        )
    preset = "lstm_sequence_128_64"
    ours = build_model("lstm_autoencoder", preset=preset, metrics=[])
    configs["ours: factory model, loss only"] = (
        "ours",
        keras_fit(ours, images, images),
        keras_predict(ours, predict_images),
    )
    if backend == "torch":
        keras_step = build_model("lstm_autoencoder", preset=preset, metrics=[])
        keras_step.fast_train_step = False
        configs["ours: Keras' own fit step (fast_train_step=False)"] = (
            "ours",
            keras_fit(keras_step, images, images),
            None,
        )
        keras_batches = build_model("lstm_autoencoder", preset=preset, metrics=[])
        keras_batches.fast_array_batches = False
        configs["ours: Keras' batching (fast_array_batches=False)"] = (
            "ours",
            keras_fit(keras_batches, images, images),
            keras_predict(keras_batches, predict_images),
        )
    with_metrics = build_model("lstm_autoencoder", preset=preset)
    configs["ours: factory defaults (metrics MSE, PSNR, SSIM)"] = (
        "ours",
        keras_fit(with_metrics, images, images),
        None,
    )
    configs["layer cost: blur + row layers in the model"] = (
        "layer-in",
        keras_fit(ours_blur_model(ours.jit_compile), images, images),
        None,
    )
    configs["layer cost: the factory model behind a blur layer (nested)"] = (
        "layer-nested",
        keras_fit(ours_nested_blur_model(ours.jit_compile), images, images),
        None,
    )
    configs["layer cost: same LSTMs on precomputed rows"] = (
        "layer-out",
        keras_fit(ours_rows_model(ours.jit_compile), blurred_rows, rows),
        None,
    )
    if backend == "torch":
        # The same two graphs as `FastModel`s: the toolkit's lean torch step
        # (on TensorFlow and JAX a `FastModel` is a plain `keras.Model`).
        from keras_seqimage.models import FastModel

        configs["layer cost, FastModel: blur + row layers in the model"] = (
            "fast-layer-in",
            keras_fit(ours_blur_model(ours.jit_compile, FastModel), images, images),
            None,
        )
        configs["layer cost, FastModel: the factory model behind a blur layer"] = (
            "fast-layer-nested",
            keras_fit(
                ours_nested_blur_model(ours.jit_compile, FastModel), images, images
            ),
            None,
        )
        configs["layer cost, FastModel: same LSTMs on precomputed rows"] = (
            "fast-layer-out",
            keras_fit(ours_rows_model(ours.jit_compile, FastModel), blurred_rows, rows),
            None,
        )
        plain = TorchPlain()
        configs["plain PyTorch (nn.LSTM, oneDNN)"] = (
            "pytorch",
            lambda: plain.fit(rows, rows),
            lambda: plain.predict(
                predict_images.reshape(-1, 32, 96), args.predict_batch
            ),
        )

    emit(measured_rows(configs, args, backend))


def measured_rows(configs, args, backend):
    """Train `configs` round by round, then time their inference: the rows."""
    times = {name: [] for name in configs}
    cpu_times = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, (_, fit, _) in configs.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            fit()
            times[name].append((time.perf_counter() - start) / args.steps)
            cpu_times[name].append((time.process_time() - cpu_start) / args.steps)
    rows_out = []
    for name, (kind, _, predict) in configs.items():
        images_per_s = None
        if predict is not None:
            predict()  # warm-up, tracing
            best = min(_timed(predict) for _ in range(3))
            images_per_s = args.predict_images / best
        step = median(times[name][1:])
        rows_out.append(
            {
                "backend": backend,
                "config": name,
                "kind": kind,
                "s_per_epoch": step * STEPS_PER_EPOCH,
                "ms_per_step": [round(t * 1000, 1) for t in times[name]],
                "seconds_per_round": times[name],
                "cpu_ms_per_step": median(cpu_times[name][1:]) * 1000,
                "images_per_s": images_per_s,
            }
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for row in rows_out:
        row["worker_peak_mb"] = peak
    return rows_out


def _number(value):
    return "" if value != value else f"{value:.0f}"  # NaN: not measured


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    args = parse_args()
    if args.worker:
        worker(args)
        return
    worker_args = [
        "--steps",
        str(args.steps),
        "--rounds",
        str(args.rounds),
        "--predict-images",
        str(args.predict_images),
        "--predict-batch",
        str(args.predict_batch),
        "--threads",
        str(args.threads),
    ]
    backends = args.backends.split(",")
    print_run_metadata(
        backends,
        f"--steps {args.steps} --rounds {args.rounds} --predict-images "
        f"{args.predict_images} --predict-batch {args.predict_batch} "
        f"--threads {args.threads}",
    )
    rows = run_workers(__file__, backends, worker_args)
    if "tensorflow" in backends and any(r["backend"] == "tensorflow" for r in rows):
        xla_args = ["tensorflow", *worker_args, "--xla-only"]
        xla_rows = run_worker(__file__, "tensorflow", xla_args)
        at = next(
            (i for i, r in enumerate(rows) if r["backend"] == "tensorflow"), len(rows)
        )
        rows[at + 1 : at + 1] = xla_rows
    train_floor, train_gflop = matmul_floor(BATCH, training=True)
    predict_floor, predict_gflop = matmul_floor(args.predict_batch, training=False)
    rows.insert(
        0,
        {
            "backend": "numpy",
            "config": "floor: the matrix products alone (sgemm, same shapes)",
            "kind": "floor",
            "s_per_epoch": train_floor * STEPS_PER_EPOCH,
            "ms_per_step": [],
            "cpu_ms_per_step": float("nan"),
            "images_per_s": args.predict_batch / predict_floor,
            "worker_peak_mb": float("nan"),
        },
    )
    stock = [r["s_per_epoch"] for r in rows if r["kind"] == "stock"]
    fastest_stock = min(stock) if stock else float("nan")
    print(
        f"The row-LSTM (lstm_sequence_128_64, 170,848 parameters), batch {BATCH}: "
        "s/epoch = "
        f"median ms/step of {args.rounds - 1} rounds of {args.steps} steps "
        f"(after a warm-up round) x {STEPS_PER_EPOCH}; inference on "
        f"{args.predict_images} images at batch {args.predict_batch}; "
        f"{os.cpu_count()} CPUs\n"
    )
    print(
        "| backend | configuration | s/epoch | ratio to fastest stock Keras "
        "| inference images/s | CPU ms/step | ms/step per round "
        "| worker peak RSS (MB) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for row in rows:
        ips = row["images_per_s"]
        ips = f"{ips:,.0f}" if ips else ""
        print(
            f"| {row['backend']} | {row['config']} | {row['s_per_epoch']:.1f} "
            f"| {row['s_per_epoch'] / fastest_stock:.2f} | {ips} "
            f"| {_number(row['cpu_ms_per_step'])} | {row['ms_per_step'] or ''} "
            f"| {_number(row['worker_peak_mb'])} |"
        )
    print(
        f"\nfloor: {train_gflop:.2f} GFLOP per training step at "
        f"{train_gflop / train_floor:.0f} GFLOP/s, {predict_gflop:.1f} GFLOP per "
        f"{args.predict_batch}-image forward pass at "
        f"{predict_gflop / predict_floor:.0f} GFLOP/s\n"
    )
    for backend in dict.fromkeys(r["backend"] for r in rows):
        inside = {r["kind"]: r for r in rows if r["backend"] == backend}
        for kind, base, what in (
            ("layer-in", "layer-out", "blur + row layers in the model"),
            ("layer-nested", "layer-out", "the factory model behind a blur layer"),
            ("fast-layer-in", "fast-layer-out", "FastModel, blur + row layers"),
            (
                "fast-layer-nested",
                "fast-layer-out",
                "FastModel, the factory model behind a blur layer",
            ),
        ):
            if kind in inside and base in inside:
                print(
                    f"layer cost on {backend}: {what} / precomputed rows = "
                    + _ratios(inside[kind], inside[base])
                )
    by_config = {(r["backend"], r["config"]): r for r in rows}
    ours = by_config.get(("torch", "ours: factory model, loss only"))
    plain = by_config.get(("torch", "plain PyTorch (nn.LSTM, oneDNN)"))
    if ours and plain:
        print(f"training on torch: ours / plain PyTorch = {_ratios(ours, plain)}")
    return exit_status()


def _ratios(row, base):
    """`row`'s time over `base`'s: of medians, per round, of CPU time."""
    per_round = [
        a / b
        for a, b in zip(
            row["seconds_per_round"][1:], base["seconds_per_round"][1:], strict=True
        )
    ]
    return (
        f"{row['s_per_epoch'] / base['s_per_epoch']:.3f} (ratio of medians), "
        f"{median(per_round):.3f} (median of the rounds' ratios: "
        f"{', '.join(f'{r:.3f}' for r in per_round)}), "
        f"{row['cpu_ms_per_step'] / base['cpu_ms_per_step']:.3f} (CPU time per step)"
    )


if __name__ == "__main__":
    sys.exit(main())
