"""torch's own ops in the walk against `keras.ops`, side by side on one batch.

Source 000's factory model (`build_model("lstm_autoencoder",
preset="lstm_sequence_128_64")`) on the torch backend, one batch of 64 random
CIFAR-sized images, `FastModel`'s planned walk timed two ways in one process:

- `native`: as shipped, `Dense` as torch's `matmul` and `add`
  (`_torch_train_step.NATIVE_CALLS`), `FastLSTM`'s conversions and the
  row-sequence reshapes through `keras_seqimage._native_ops`;
- `keras.ops`: the same walk planned without `NATIVE_CALLS`, and the
  conversions and reshapes sent to `keras.ops` (what they did before).

Rounds of `--calls` walks alternate between the two (the order flips every
round). Prints medians, the median of the rounds' paired differences and
ratios, for the forward pass alone (no grad) and for forward and backward;
and checks that both give the same bits.

Usage:
    python benchmarks/native_ops_ab.py [--rounds 40] [--calls 20]
"""

import argparse
import os
import time

from _harness import median

os.environ["KERAS_BACKEND"] = "torch"  # the shortcut is torch's


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=20)
    return parser.parse_args()


def main():
    args = parse_args()
    import keras
    import numpy as np
    import torch

    from keras_seqimage import _native_ops
    from keras_seqimage.layers import fast_lstm, row_sequence
    from keras_seqimage.models import _torch_train_step, build_model

    images = np.random.default_rng(0).random((640, 32, 32, 3), dtype="float32")
    model = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])
    model.fit(images, images, batch_size=64, epochs=1, verbose=0)
    native_graph = _torch_train_step._plan_graph(model)
    native_calls = dict(_torch_train_step.NATIVE_CALLS)
    _torch_train_step.NATIVE_CALLS.clear()
    keras_graph = _torch_train_step._plan_graph(model)
    _torch_train_step.NATIVE_CALLS.update(native_calls)
    batch = torch.from_numpy(images[:64].copy())

    def use(native):
        """Point the layers at `_native_ops` or at `keras.ops`; the walk's graph."""
        fast_lstm.convert_to_tensor = (
            _native_ops.convert_to_tensor if native else keras.ops.convert_to_tensor
        )
        row_sequence.native_ops = (
            _native_ops.native_ops if native else (lambda x: _native_ops.KERAS_OPS)
        )
        return native_graph if native else keras_graph

    def walk(native, grad):
        graph = use(native)
        start = time.perf_counter()
        for _ in range(args.calls):
            if grad:
                outputs = _torch_train_step._walk_graph(model, batch, graph)
                model.zero_grad()
                torch.nn.functional.mse_loss(outputs, batch).backward()
            else:
                with torch.no_grad():
                    _torch_train_step._walk_graph(model, batch, graph)
        return (time.perf_counter() - start) / args.calls * 1000

    with torch.no_grad():
        via_keras = _torch_train_step._walk_graph(model, batch, use(False))
        via_torch = _torch_train_step._walk_graph(model, batch, use(True))
    print(
        f"Source 000's model, one batch of 64, {args.rounds} rounds of "
        f"{args.calls} walks, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; same bits: "
        f"{bool(torch.equal(via_keras, via_torch))}\n"
    )
    print(
        "| part | keras.ops, ms | native, ms | median paired difference, ms "
        "| median ratio native / keras.ops |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for grad, name in ((False, "forward (no grad)"), (True, "forward and backward")):
        times = {False: [], True: []}
        for index in range(args.rounds):
            for native in (True, False) if index % 2 else (False, True):
                times[native].append(walk(native, grad))
        old, new = times[False], times[True]
        print(
            f"| {name} | {median(old):.3f} | {median(new):.3f} "
            f"| {median([o - n for o, n in zip(old, new, strict=True)]):.3f} "
            f"| {median([n / o for o, n in zip(old, new, strict=True)]):.3f} |"
        )
    use(True)


if __name__ == "__main__":
    main()
