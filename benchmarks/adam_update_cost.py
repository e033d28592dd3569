"""One Adam update of source 000's model's weights on torch, four ways.

Source 000's model (8 variables, 170,848 weights) after one short `fit`, with
fixed gradients, each way called in turn in rounds (in one process):

- `lean step, tensors kept`: `_fused_adam_update` as the lean `fit` step
  calls it, with its plan's cache (`_AdamTensors` made once);
- `lean step, tensors made per call`: the same without the cache, the
  kernel's tensor lists rebuilt at every call (the step before the cache);
- `torch._fused_adam_ alone`: the bare kernel on the same tensors, the
  floor for any Python around it;
- `Keras' optimizer.apply`: stock Keras' Adam update (the step's fallback).

Prints the median microseconds per call over rounds of `--calls` calls.
The weights move (each call is a real update), which does not change the
cost.

Usage:
    python benchmarks/adam_update_cost.py [--calls 100] [--rounds 15]
"""

import argparse
import os
import time

from _harness import median

os.environ["KERAS_BACKEND"] = "torch"  # the lean step is torch's


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    return parser.parse_args()


def main():
    args = parse_args()
    import numpy as np
    import torch

    from keras_seqimage.models import _torch_train_step, build_model

    images = np.random.default_rng(0).random((128, 32, 32, 3), dtype="float32")
    model = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])
    model.fit(images, images, batch_size=64, epochs=1, verbose=0)
    optimizer, variables = model.optimizer, model.trainable_weights
    generator = torch.Generator().manual_seed(0)
    gradients = []
    for variable in variables:
        value = variable.value
        gradient = torch.empty_strided(value.shape, value.stride())
        gradients.append(gradient.copy_(torch.randn(value.shape, generator=generator)))
    update = _torch_train_step._fused_adam_update
    cache = {}
    update(optimizer, gradients, variables, cache)
    tensors = cache["adam"]
    pairs = zip(gradients, tensors.transposed, strict=True)
    kernel_gradients = [g.T if flip else g for g, flip in pairs]
    state_step = torch.tensor(1.0)

    def bare_kernel():
        torch._fused_adam_(
            tensors.params,
            kernel_gradients,
            tensors.momentums,
            tensors.velocities,
            [],
            [state_step] * len(gradients),
            lr=1e-3,
            beta1=0.9,
            beta2=0.999,
            weight_decay=0.0,
            eps=1e-7,
            amsgrad=False,
            maximize=False,
        )

    runs = {
        "lean step, tensors kept": lambda: update(
            optimizer, gradients, variables, cache
        ),
        "lean step, tensors made per call": lambda: update(
            optimizer, gradients, variables
        ),
        "torch._fused_adam_ alone": bare_kernel,
        "Keras' optimizer.apply": lambda: optimizer.apply(gradients, variables),
    }
    times = {name: [] for name in runs}
    with torch.no_grad():
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                for _ in range(args.calls):
                    run()
                times[name].append((time.perf_counter() - start) / args.calls)
    weights = sum(v.value.numel() for v in variables)
    print(
        f"One Adam update of {len(variables)} variables ({weights} weights), "
        f"median of {args.rounds} rounds of {args.calls} calls "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads)\n"
    )
    print("| way | us per update |")
    print("| --- | ---: |")
    for name, rounds in times.items():
        print(f"| {name} | {median(rounds) * 1e6:.1f} |")


if __name__ == "__main__":
    main()
