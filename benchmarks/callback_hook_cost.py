"""What the progress bar's batch hook costs inside `fit`, with and without floats first.

Source 000's model on the torch backend, `fit` at `verbose=1` (printing into
a string buffer) on `--steps` batches of 64, in rounds alternating two ways:

- `floats first`: `LeanCallbackList` as it is, handing the hook the step's
  CPU scalar logs as Python floats (`cpu_scalars_as_floats`);
- `Keras' conversion`: the same list with that conversion turned off, so
  Keras' `pythonify_logs` converts the loss tensor through numpy.

Keras' `CallbackList._on_train_batch_end` (the whole hook),
`python_utils.pythonify_logs` and `ProgbarLogger._update_progbar` are wrapped
to time each call where it runs, right after the step's kernels. Prints the
median microseconds per call of each, per way, and the median ms per step.

Usage:
    python benchmarks/callback_hook_cost.py [--steps 100] [--rounds 6]
"""

import argparse
import contextlib
import io
import os
import time

from _harness import median

os.environ["KERAS_BACKEND"] = "torch"  # the hook under test is torch's

BATCH = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    return parser.parse_args()


def timed(owner, name, calls):
    """Wrap `owner.name` so each call's seconds are appended to `calls`."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = original(*args, **kwargs)
        calls.append(time.perf_counter() - start)
        return result

    setattr(owner, name, wrapper)


def main():
    args = parse_args()
    import keras
    import numpy as np
    from keras.src.callbacks import callback_list, progbar_logger
    from keras.src.utils import python_utils

    from keras_seqimage.models import _torch_callbacks, build_model

    rng = np.random.default_rng(0)
    images = rng.random((args.steps * BATCH, 32, 32, 3), dtype="float32")
    targets = rng.random((args.steps * BATCH, 32, 32, 3), dtype="float32")
    model = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])

    calls = {"hook": [], "pythonify_logs": [], "progress bar update": []}
    timed(keras.callbacks.CallbackList, "_on_train_batch_end", calls["hook"])
    timed(python_utils, "pythonify_logs", calls["pythonify_logs"])
    # `callback_list` calls it through its own reference to the module.
    callback_list.python_utils = python_utils
    timed(progbar_logger.ProgbarLogger, "_update_progbar", calls["progress bar update"])

    floats_first = _torch_callbacks.cpu_scalars_as_floats
    ways = {"floats first": floats_first, "Keras' conversion": lambda logs: logs}
    results = {way: {name: [] for name in [*calls, "ms/step"]} for way in ways}
    for round_index in range(args.rounds + 1):  # the first is a warm-up
        for way, convert in ways.items():
            _torch_callbacks.cpu_scalars_as_floats = convert
            for times in calls.values():
                times.clear()
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                model.fit(images, targets, batch_size=BATCH, epochs=1, verbose=1)
            step_ms = (time.perf_counter() - start) / args.steps * 1000
            if round_index:
                results[way]["ms/step"].append(step_ms)
                for name, times in calls.items():
                    results[way][name].append(median(times) * 1e6)
    _torch_callbacks.cpu_scalars_as_floats = floats_first

    print(
        f"Source 000's model, fit at verbose=1, {args.rounds} rounds of "
        f"{args.steps} steps; median over rounds of each round's median call\n"
    )
    print("| way | hook, µs | pythonify_logs, µs | progress bar update, µs | ms/step |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for way, columns in results.items():
        cells = " | ".join(
            f"{median(values):.{2 if name == 'ms/step' else 1}f}"
            for name, values in columns.items()
        )
        print(f"| {way} | {cells} |")


if __name__ == "__main__":
    main()
