"""What the blur and row layers cost inside `fit`, as keras.Model and FastModel.

Target: a model with `GaussianBlurLayer`, `ImageToRowSequence` and
`RowSequenceToImage` around the row-LSTM's stack (`FastLSTM` 128 -> 64 ->
Dense 96), against the same stack fed precomputed blurred row sequences,
trains no slower than 1.05x. Six models, built
by `speed_table.py`'s own builders: three graphs (the layers around the
stack; the factory's `LSTMAutoencoder`, a nested model, behind a blur
layer; the stack on precomputed rows), each as a `keras.Model` (Keras'
step) and as a `FastModel` (the toolkit's lean step on torch, which walks
into the nested model). Every round
trains each model for `--steps` batches of 64, in an order that reverses
every other round (so neither side always runs first); the first round is
dropped. Prints ms/step medians and, per class, the median of the rounds'
ratios with quartiles, and the ratio of CPU time.

With `--profile-rounds N` (torch only), N more rounds of the three
`FastModel`s run under `torch.profiler`: the self time of every op but the
fused LSTM kernels (which are the same work in all three) per step, and
what the layers add to it as a share of the precomputed-rows model's step.
An estimate by op time, less exposed to the machine's noise than the wall
ratios (the Python around the ops is not in it).

Runs on the backend of `KERAS_BACKEND` (torch is the one it is for: on
TensorFlow and JAX a `FastModel` is a plain `keras.Model`).

Usage:
    KERAS_BACKEND=torch python benchmarks/layer_cost.py [--steps 30] [--rounds 21]
        [--profile-rounds 0]

Smallest run (a smoke test, figures meaningless):
    python benchmarks/layer_cost.py --steps 1 --rounds 2
"""

import argparse
import time

import numpy as np
from _harness import median, print_run_metadata, split_step
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
    parser.add_argument("--profile-rounds", type=int, default=0)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error(
            "--rounds must be >= 2 (the first round is a warm-up). "
            f"Received: --rounds {args.rounds}"
        )

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
    print_run_metadata(
        [keras.backend.backend()],
        f"--steps {args.steps} --rounds {args.rounds} "
        f"--profile-rounds {args.profile_rounds}",
    )
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
    if args.profile_rounds and keras.backend.backend() == "torch":
        base_step = median(times[("FastModel", "rows")][1:])
        profile_op_time(models, graphs, args, base_step)


def profile_op_time(models, graphs, args, base_step):
    """Print the FastModels' op time per step but the LSTM kernels'."""
    keys = [("FastModel", graph) for graph in (*graphs, "rows")]
    other_ops = {key: [] for key in keys}
    for round_index in range(args.profile_rounds):
        for key in keys if round_index % 2 == 0 else keys[::-1]:
            model, x, y = models[key]

            def run(model=model, x=x, y=y):
                model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)

            other_ops[key].append(split_step(run, args.steps)[2])
    base = median(other_ops[("FastModel", "rows")])
    print(
        f"\nFastModel under torch.profiler, {args.profile_rounds} rounds: self "
        "time of every op but the fused LSTM kernels, ms/step (medians)\n"
    )
    print("| graph | other ops, ms/step | added by the layers | share of the step |")
    print("| --- | ---: | ---: | ---: |")
    for graph, what in graphs.items():
        ops = median(other_ops[("FastModel", graph)])
        added = ops - base
        print(
            f"| {what} | {ops:.3f} | {added:+.3f} | {added / (base_step * 1000):+.1%} |"
        )
    print(f"| the stack on precomputed rows | {base:.3f} | 0 | 0 |")


if __name__ == "__main__":
    main()
