"""Where a training step's time goes: ours on torch against plain PyTorch.

Source 000's model (LSTM 128 -> LSTM 64 -> Dense 96, batch 64) trained two
ways in one process, rounds interleaved (the order alternates):

- `ours`: `build_model("lstm_autoencoder", preset="lstm_sequence_128_64",
  metrics=[])` with Keras `fit` (`FastLSTM` on torch's fused LSTM op, the
  lean `fit` step), numpy images in, shuffled as `fit` does by default;
- `plain PyTorch`: `nn.LSTM` layers, `torch.optim.Adam`, `mse_loss`, a hand
  loop over contiguous slices of a tensor.

Each round runs `--steps` steps under `torch.profiler` (CPU activities) and
splits the wall time per step into: the fused LSTM kernels (oneDNN's
`mkldnn_rnn_layer` and its backward, self time), every other torch op (self
time, with the profiler's own ranges such as the data loader's and the
optimizer's), and the rest: Python that runs outside any op or range. The
table shows medians over rounds (the first round, a warm-up, is dropped).
The profiler adds a little to both sides alike; `speed_table.py` gives the
unprofiled speeds.

Usage:
    python benchmarks/torch_step_profile.py [--steps 50] [--rounds 7]
"""

import argparse
import os

from _harness import median, plain_torch_epoch, plain_torch_model, split_step

os.environ["KERAS_BACKEND"] = "torch"  # the comparison is on torch

BATCH = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    return parser.parse_args()


def main():
    args = parse_args()
    import numpy as np
    import torch

    from keras_seqimage.models import build_model

    count = args.steps * BATCH
    images = np.random.default_rng(0).random((count, 32, 32, 3), dtype="float32")
    ours = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])
    net = plain_torch_model()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    rows = torch.from_numpy(images.reshape(count, 32, 96))

    def plain():
        plain_torch_epoch(net, optimizer, rows, rows, BATCH)

    runs = {
        "ours (Keras fit, lean step)": lambda: ours.fit(
            images, images, batch_size=BATCH, epochs=1, verbose=0
        ),
        "plain PyTorch": plain,
    }
    splits = {name: [] for name in runs}
    for round_index in range(args.rounds):
        names = list(runs) if round_index % 2 == 0 else list(runs)[::-1]
        for name in names:
            splits[name].append(split_step(runs[name], args.steps))

    print(
        f"Source 000's model, batch 64, ms per training step: medians of "
        f"{args.rounds - 1} profiled rounds of {args.steps} steps "
        f"(torch {torch.__version__}, {torch.get_num_threads()} threads)\n"
    )
    print(
        "| configuration | wall | LSTM kernels (fwd + bwd) | other torch ops "
        "| outside ops (Python) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    medians = {}
    for name, rounds in splits.items():
        medians[name] = [median([r[i] for r in rounds[1:]]) for i in range(4)]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in medians[name]) + " |")
    ours_wall, plain_wall = (medians[name][0] for name in runs)
    print(f"\nwall ratio ours / plain PyTorch: {ours_wall / plain_wall:.3f}")


if __name__ == "__main__":
    main()
