"""Inference side by side: ours' `predict` against plain PyTorch's loop.

Source 000's model (LSTM 128 -> LSTM 64 -> Dense 96) on the torch backend,
restoring `--images` random CIFAR-sized images at batch `--batch`, four ways
in one process, in rounds whose order rotates:

- `ours, predict`: `build_model(..., metrics=[])` and Keras `predict`
  (`verbose=0`): on torch, `FastModel`'s lean loop over slices of the array;
- `ours, predict_function loop`: the same model's predict function called on
  each slice by hand and the outputs concatenated (no callbacks, no copy into
  a preallocated array);
- `plain PyTorch, no_grad` and `plain PyTorch, inference_mode`: `nn.LSTM`
  layers called on each slice of the row sequences, outputs concatenated
  into one numpy array (as `predict` returns), under `torch.no_grad()`
  (which Keras' torch predict step uses) and `torch.inference_mode()` (the
  speed table's plain PyTorch row).

Per configuration: the median images/s over rounds (and the slowest and
fastest round), and the median over rounds of the round's time ratio to
`plain PyTorch, inference_mode`.

Usage:
    python benchmarks/predict_ab.py [--images 10000] [--batch 1000] [--rounds 7]
"""

import argparse
import os

from _harness import median, plain_torch_model, rotating_rounds

os.environ["KERAS_BACKEND"] = "torch"  # the comparison is on torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    return parser.parse_args()


def main():
    args = parse_args()
    import numpy as np
    import torch

    from keras_seqimage.models import build_model

    images = np.random.default_rng(0).random((args.images, 32, 32, 3), dtype="float32")
    ours = build_model("lstm_autoencoder", preset="lstm_sequence_128_64", metrics=[])
    net = plain_torch_model()
    image_tensor = torch.from_numpy(images)
    rows = torch.from_numpy(images.reshape(-1, 32, 96))
    starts = range(0, args.images, args.batch)

    def predict_function_loop():
        ours.make_predict_function()
        with torch.no_grad():
            outputs = [
                ours.predict_function([(image_tensor[s : s + args.batch],)])
                for s in starts
            ]
            return torch.cat(outputs).numpy()

    def plain(grad_mode):
        def run():
            with grad_mode():
                outputs = [net(rows[s : s + args.batch]) for s in starts]
                return torch.cat(outputs).numpy()

        return run

    runs = {
        "ours, predict": lambda: ours.predict(images, batch_size=args.batch, verbose=0),
        "ours, predict_function loop": predict_function_loop,
        "plain PyTorch, no_grad": plain(torch.no_grad),
        "plain PyTorch, inference_mode": plain(torch.inference_mode),
    }
    seconds = rotating_rounds(runs, args.rounds)

    print(
        f"Source 000's model, {args.images} images at batch {args.batch}, "
        f"{args.rounds} rounds (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs)\n"
    )
    print(
        "| configuration | images/s (median) | slowest round | fastest round "
        "| time / plain PyTorch, inference_mode (rounds) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    reference = seconds["plain PyTorch, inference_mode"]
    for name, times in seconds.items():
        ratio = median([t / r for t, r in zip(times, reference, strict=True)])
        print(
            f"| {name} | {args.images / median(times):,.0f} "
            f"| {args.images / max(times):,.0f} | {args.images / min(times):,.0f} "
            f"| {ratio:.3f} |"
        )


if __name__ == "__main__":
    main()
