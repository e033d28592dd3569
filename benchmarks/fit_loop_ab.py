"""`fit`'s loop around the step: Keras' callback list against the lean one.

Source 000's model (LSTM 128 -> LSTM 64 -> Dense 96, batch 64) on the torch
backend, seven ways in one process, in rounds whose order rotates:

- `ours, lean callbacks`: `build_model(..., metrics=[])` and Keras `fit`
  (`verbose=0`, `shuffle=False`), which on torch gets `LeanCallbackList`:
  no work for the batch hooks no callback implements;
- `ours, Keras' CallbackList`: the same model and `fit`, passed the list
  Keras' `fit` makes itself (`History` only, no progress bar), whose
  `on_train_batch_end` hands every step's logs to a worker thread;
- `ours, progress bar, lean callbacks` and `ours, progress bar, Keras'
  CallbackList`: the same two at `verbose=1` (`fit`'s default), printing
  into a string buffer rather than a terminal; Keras' list runs the
  progress bar's hook in its worker thread, the lean list on a CPU in the
  calling thread;
- `ours, a PyDataset, verbose=2, ...`: the same two with `x` a
  `keras.utils.PyDataset` of the same batches (slices in order, as
  `datasets.CorruptedPairs` hands the examples' batches to `fit`), at the
  examples' `verbose=2` (a progress bar that prints once per epoch but has
  a batch-end hook); Keras batches the dataset either way;
- `plain PyTorch`: `nn.LSTM` layers, `torch.optim.Adam`, `mse_loss`, a hand
  loop over contiguous slices;

on the same random images and (other random) target images.

Per configuration: median wall and CPU (user + system, all threads) ms per
step, and the process' voluntary and involuntary context switches per step
(`getrusage`, where the platform has it), and the median over rounds of
the round's time ratio to plain PyTorch.

Usage:
    python benchmarks/fit_loop_ab.py [--steps 100] [--rounds 12]
"""

import argparse
import contextlib
import io
import os
import time

from _harness import median, plain_torch_epoch, plain_torch_model, rotating_rounds

os.environ["KERAS_BACKEND"] = "torch"  # the comparison is on torch

BATCH = 64

try:
    import resource
except ImportError:  # Windows
    resource = None


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=12)
    return parser.parse_args()


def measured(run):
    """`(wall s, cpu s, voluntary, involuntary context switches)` of `run()`."""
    before = resource.getrusage(resource.RUSAGE_SELF) if resource else None
    cpu, start = time.process_time(), time.perf_counter()
    run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if resource is None:
        return wall, cpu, float("nan"), float("nan")
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (
        wall,
        cpu,
        after.ru_nvcsw - before.ru_nvcsw,
        after.ru_nivcsw - before.ru_nivcsw,
    )


def main():
    args = parse_args()
    import keras
    import numpy as np
    import torch

    from keras_seqimage.models import build_model

    count = args.steps * BATCH
    rng = np.random.default_rng(0)
    # Inputs and targets apart, as in source 000's task (blurred -> clean).
    images = rng.random((count, 32, 32, 3), dtype="float32")
    targets = rng.random((count, 32, 32, 3), dtype="float32")
    ours = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])
    net = plain_torch_model()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    rows = torch.from_numpy(images.reshape(count, 32, 96))
    target_rows = torch.from_numpy(targets.reshape(count, 32, 96))

    def fit(callbacks=None, verbose=0):
        with contextlib.redirect_stdout(io.StringIO()):
            ours.fit(
                images,
                targets,
                batch_size=BATCH,
                epochs=1,
                verbose=verbose,
                shuffle=False,
                callbacks=callbacks,
            )

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return args.steps

        def __getitem__(self, index):
            batch = slice(index * BATCH, (index + 1) * BATCH)
            return images[batch], targets[batch]

    def fit_dataset(callbacks=None):
        with contextlib.redirect_stdout(io.StringIO()):
            ours.fit(Batches(), epochs=1, verbose=2, callbacks=callbacks)

    def keras_callback_list(verbose=0):
        # What Keras' torch `fit` makes for `callbacks=None`.
        return keras.callbacks.CallbackList(
            None,
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=1,
            steps=args.steps,
            model=ours,
        )

    runs = {
        "ours, lean callbacks": fit,
        "ours, Keras' CallbackList": lambda: fit(keras_callback_list()),
        "ours, progress bar, lean callbacks": lambda: fit(verbose=1),
        "ours, progress bar, Keras' CallbackList": lambda: fit(
            keras_callback_list(1), verbose=1
        ),
        "ours, a PyDataset, verbose=2, lean callbacks": fit_dataset,
        "ours, a PyDataset, verbose=2, Keras' CallbackList": lambda: fit_dataset(
            keras_callback_list(2)
        ),
        "plain PyTorch": lambda: plain_torch_epoch(
            net, optimizer, rows, target_rows, BATCH
        ),
    }
    results = rotating_rounds(runs, args.rounds, measured)

    print(
        f"Source 000's model, batch 64, {args.rounds} rounds of {args.steps} "
        f"steps (torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs)\n"
    )
    print(
        "| configuration | ms/step | CPU ms/step | voluntary switches/step "
        "| involuntary switches/step | / plain PyTorch (rounds) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    plain = results["plain PyTorch"]
    for name, rounds in results.items():
        wall, cpu, voluntary, involuntary = (
            median([r[i] for r in rounds]) * (1000 if i < 2 else 1) / args.steps
            for i in range(4)
        )
        ratio = median([r[0] / p[0] for r, p in zip(rounds, plain, strict=True)])
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {voluntary:.2f} "
            f"| {involuntary:.2f} | {ratio:.3f} |"
        )


if __name__ == "__main__":
    main()
