"""What the blur and row layers cost inside `fit`, as keras.Model and FastModel.

The speed issue's target 5: a model with `GaussianBlurLayer`,
`ImageToRowSequence` and `RowSequenceToImage` around source 000's LSTM stack
(`FastLSTM` 128 -> 64 -> Dense 96), against the same stack fed precomputed
blurred row sequences, should train no slower than 1.05x. Six models, built
by `speed_table.py`'s own builders: three graphs (the layers around the
stack; the factory's `LSTMAutoencoder`, a nested model, behind a blur
layer; the stack on precomputed rows), each as a `keras.Model` (Keras'
step) and as a `FastModel` (the toolkit's lean step on torch, which walks
into the nested model). Every round
trains each model for `--steps` batches of 64, in an order that reverses
every other round (so neither side always runs first); the first round is
dropped. Prints ms/step medians and, per class, the median of the rounds'
ratios with quartiles, and the ratio of CPU time.

Usage:
    KERAS_BACKEND=torch python benchmarks/layer_cost.py [--steps 30] [--rounds 21]
"""

import argparse
import time

import numpy as np
from _harness import median
from speed_table import (
    BATCH,
    ours_blur_model,
    ours_nested_blur_model,
    ours_rows_model,
    training_arrays,
)


def quartiles(values):
    return tuple(float(q) for q in np.percentile(values, [25, 50, 75]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()

    import keras

    from keras_seqimage.models import FastModel

    rng = np.random.default_rng(0)
    images, blurred_rows, rows = training_arrays(rng, args.steps * BATCH)
    models = {}
    for label, model_class in (("keras.Model", keras.Model), ("FastModel", FastModel)):
        models[(label, "layers")] = (
            ours_blur_model("auto", model_class),
            images,
            images,
        )
        models[(label, "nested")] = (
            ours_nested_blur_model("auto", model_class),
            images,
            images,
        )
        models[(label, "rows")] = (
            ours_rows_model("auto", model_class),
            blurred_rows,
            rows,
        )
    times = {key: [] for key in models}
    cpu = {key: [] for key in models}
    order = list(models)
    for round_index in range(args.rounds):
        for key in order if round_index % 2 == 0 else order[::-1]:
            model, x, y = models[key]
            start, cpu_start = time.perf_counter(), time.process_time()
            model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
            times[key].append((time.perf_counter() - start) / args.steps)
            cpu[key].append((time.process_time() - cpu_start) / args.steps)
    print(
        f"backend {keras.backend.backend()}, {args.rounds - 1} rounds of "
        f"{args.steps} steps (first round dropped)\n"
    )
    print(
        "| model class | graph | ms/step | ratio to the stack on precomputed rows, "
        "median of rounds (quartiles) | ratio of CPU time |"
    )
    print("| --- | --- | ---: | --- | ---: |")
    graphs = {
        "layers": "blur + row layers around the stack",
        "nested": "the factory model behind a blur layer",
    }
    for label in ("keras.Model", "FastModel"):
        outside = times[(label, "rows")][1:]
        outside_cpu = median(cpu[(label, "rows")][1:])
        for graph, what in graphs.items():
            inside = times[(label, graph)][1:]
            ratios = [a / b for a, b in zip(inside, outside, strict=True)]
            low, mid, high = quartiles(ratios)
            cpu_ratio = median(cpu[(label, graph)][1:]) / outside_cpu
            print(
                f"| {label} | {what} | {median(inside) * 1000:.1f} "
                f"| {mid:.3f} ({low:.3f}-{high:.3f}) | {cpu_ratio:.3f} |"
            )
        print(
            f"| {label} | the stack on precomputed rows "
            f"| {median(outside) * 1000:.1f} | 1 | 1 |"
        )
    fast, plain = (
        times[("FastModel", "layers")][1:],
        times[("keras.Model", "layers")][1:],
    )
    low, mid, high = quartiles([a / b for a, b in zip(fast, plain, strict=True)])
    print(
        f"\nFastModel / keras.Model, the graph with the layers: {mid:.3f} "
        f"({low:.3f}-{high:.3f})"
    )


if __name__ == "__main__":
    main()
