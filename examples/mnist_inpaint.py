"""Fill in the blanked lower half of MNIST digits: Haque et al.'s experiment.

Each digit's lower 14 rows are set to 0, then salt-and-pepper noise (or
additive white Gaussian noise) covers the whole image. Two models learn to
restore the clean digit: the CNN encoder with the 5-layer direct-attention
LSTM decoder (`cnn_lstm_direct_attention`, preset `paper`) and the CNN-CNN
encoder-decoder baseline (`conv_encoder_decoder`, preset `paper`). Both are
scored on the test split (MSE on the missing half and on the whole image,
PSNR, SSIM) next to the corrupted input itself. Writes to the output folder
a figure laid out like the paper's Fig. 7 (input / CNN-CNN / CNN-LSTM /
original), the corruption steps (Fig. 5), both models' training loss on one
plot with a logarithmic trend line (Fig. 6), loss curves, `metrics.json`,
`results.md`, and per model `model.keras` and `training_log.csv` (in a
subfolder; killed runs resume).

Defaults are the paper's protocol where it states one: RMSE loss, Adam
(learning rate 1e-3, Keras' default: the paper gives none), batch 100,
500,000 training steps, the `paper` presets (dropout 0.25, an L2 weight
penalty). 500,000 steps take hours on a GPU: `--steps N` (or `--epochs N`)
sets a smaller budget, rounded up to whole epochs.

Data: `--data keras` downloads MNIST through Keras; a path reads `mnist.npz`
or a folder of IDX files. With only the 10,000 test digits (the `t10k-*`
files), they are split 75/25 into training and test digits, as the paper did.

Usage:
    python examples/mnist_inpaint.py --data ../shared/data/mnist            # 500k steps
    python examples/mnist_inpaint.py --data ../shared/data/mnist --steps 3000
    KERAS_BACKEND=jax python examples/mnist_inpaint.py --data keras --noise gaussian
"""

# %%
import argparse
import json
import math
from pathlib import Path

import keras
import numpy as np
from cifar_deblur import restore, train_model

from keras_seqimage import datasets, experiments, visualization
from keras_seqimage.layers import (
    AdditiveGaussianNoise,
    RowOcclusion,
    SaltAndPepperNoise,
)

#: (factory name, preset, label in tables and figures), in the figure's order.
MODELS = (
    ("conv_encoder_decoder", "paper", "CNN-CNN"),
    ("cnn_lstm_direct_attention", "paper", "CNN-LSTM"),
)
MISSING_ROWS = slice(14, 28)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default="keras",
        help="'keras' (download), or the path of mnist.npz or an IDX folder",
    )
    parser.add_argument(
        "--noise", choices=("salt_and_pepper", "gaussian"), default="salt_and_pepper"
    )
    parser.add_argument(
        "--amount",
        type=float,
        default=0.1,
        help="salt-and-pepper: fraction of pixels; gaussian: the stddev",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=500_000,
        help="training steps (batches) per model, rounded up to whole epochs "
        "(default: the paper's 500,000)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="train this many epochs instead of --steps",
    )
    parser.add_argument(
        "--loss",
        choices=("rmse", "mse"),
        default="rmse",
        help="training loss: root mean squared error (the paper's, "
        "metrics.RMSELoss) or mean squared error (default: rmse)",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--schedule", choices=("constant", "cosine"), default="constant"
    )
    parser.add_argument("--subset", type=int, help="use this many training digits")
    parser.add_argument("--test-subset", type=int, help="score this many test digits")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument(
        "--models",
        nargs="+",
        default=[label for _, _, label in MODELS],
        choices=[label for _, _, label in MODELS],
    )
    parser.add_argument(
        "--cnn-lstm-preset",
        default="paper",
        choices=("paper", "small"),
        help="preset of cnn_lstm_direct_attention: the paper's 5 x 128 decoder, "
        "or a small one for quick runs (default: paper)",
    )
    parser.add_argument("--output", type=Path, default=Path("outputs/mnist_inpaint"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribute", action="store_true")
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train again even if the output folder holds finished models",
    )
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    args = parser.parse_args(argv)
    for name in ("steps", "epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return args


def epochs_for(args, train_count):
    """`--epochs`, or the whole epochs that hold `--steps` batches."""
    if args.epochs is not None:
        return args.epochs
    return math.ceil(args.steps / math.ceil(train_count / args.batch_size))


def make_corruption(args, seed):
    """Lower half blanked, then noise over the whole image (Haque et al.)."""
    if args.noise == "salt_and_pepper":
        noise = SaltAndPepperNoise(amount=args.amount, seed=seed)
    else:
        noise = AdditiveGaussianNoise(stddev=args.amount, seed=seed)
    return keras.Sequential([RowOcclusion(start=14, stop=28), noise])


def load_digits(args):
    path = None if args.data == "keras" else Path(args.data).expanduser()
    (train, _), (test, _) = datasets.load_mnist(path)
    train, test = train[..., None], test[..., None]  # (n, 28, 28, 1)
    split = datasets.train_val_split(
        len(train), val_fraction=args.val_fraction, seed=args.seed
    )
    train_index, val_index = split
    if args.subset:
        train_index = train_index[: args.subset]
        val_index = val_index[: max(1, int(round(args.subset * args.val_fraction)))]
    if args.test_subset:
        test = test[: args.test_subset]
    source = "keras.datasets" if path is None else str(path)
    return train[train_index], train[val_index], test, f"MNIST from {source}"


def noise_label(args):
    if args.noise == "salt_and_pepper":
        return f"salt and pepper ({args.amount:.0%})"
    return f"white noise (std {args.amount})"


def missing_half_mse(clean, images):
    """Mean squared error over the blanked rows only (per image, then mean)."""
    difference = images[:, MISSING_ROWS] - clean[:, MISSING_ROWS]
    return float(np.mean(difference**2))


def main(argv=None):
    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    train, val, test, description = load_digits(args)
    print(f"Keras {keras.__version__}, backend: {keras.backend.backend()}")
    print(f"Data: {description}; train {len(train)}, val {len(val)}, test {len(test)}")
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    args.epochs = epochs_for(args, len(train))
    print(
        f"Training: {args.epochs} epochs of {steps_per_epoch} steps "
        f"({args.epochs * steps_per_epoch:,} steps; the paper: 500,000), batch "
        f"{args.batch_size}, Adam {args.learning_rate}, {args.loss.upper()} loss"
    )

    test_clean = datasets.to_float(test)
    # A fixed seed: every model is scored on the same corrupted test digits.
    test_input = datasets.corrupt_in_batches(
        test_clean, make_corruption(args, seed=args.seed + 1)
    )
    outputs = {"input": test_input}
    runs = {}
    for name, preset, label in MODELS:
        if label not in args.models:
            continue
        pairs = (
            datasets.CorruptedPairs(
                train,
                make_corruption(args, args.seed),
                batch_size=args.batch_size,
                shuffle=True,
                seed=args.seed,
            ),
            datasets.CorruptedPairs(
                val,
                make_corruption(args, args.seed + 2),
                batch_size=256,
                shuffle=False,
            ),
        )
        if name == "cnn_lstm_direct_attention":
            preset = args.cnn_lstm_preset
        model, preset, history = train_model(
            args, name, preset, pairs, train.shape[1:], args.output / name
        )
        outputs[label] = restore(model, test_input)
        runs[label] = {
            "model": name,
            "preset": preset,
            "params": model.count_params(),
            "history": history,
        }

    scores = experiments.score_methods(test_clean, outputs)
    rows = [
        {
            "method": "corrupted input" if label == "input" else label,
            "params": runs.get(label, {}).get("params"),
            "epoch_seconds": experiments.median_epoch_seconds(
                runs.get(label, {}).get("history", {})
            ),
            "missing_mse": missing_half_mse(test_clean, images),
            **scores[label],
        }
        for label, images in outputs.items()
    ]
    columns = {
        "method": "method",
        "params": "params",
        "epoch_seconds": "s/epoch",
        "missing_mse": "MSE (missing half)",
        "mse": "MSE (whole)",
        "psnr": "PSNR (dB)",
        "ssim": "SSIM",
    }
    table = experiments.results_table(
        rows,
        columns,
        digits={"epoch_seconds": 1, "missing_mse": 5, "mse": 5, "psnr": 2, "ssim": 4},
    )

    grid = {"input": test_input}
    grid.update({label: outputs[label] for label in outputs if label != "input"})
    grid["original"] = test_clean
    visualization.save_figure(
        visualization.plot_image_grid(grid, count=10), args.output / "inpainting.png"
    )
    for label, run in runs.items():
        visualization.save_figure(
            visualization.plot_loss_curves(run["history"], title=label),
            args.output / f"loss_curves_{run['model']}.png",
        )
    # The paper's Fig. 6: both models' training loss, with log trend lines.
    histories = {label: run["history"] for label, run in runs.items() if run["history"]}
    if histories:
        visualization.save_figure(
            visualization.plot_loss_comparison(
                histories,
                steps_per_epoch=steps_per_epoch,
                title=f"Training loss ({args.loss.upper()}) per epoch",
            ),
            args.output / "loss_comparison.png",
        )
    # The paper's Fig. 5: the corruption, step by step, on a few test digits.
    occlusion, noise = make_corruption(args, seed=args.seed + 1).layers
    visualization.save_figure(
        visualization.plot_corruption_steps(
            test_clean[:3],
            [("lower half blanked", occlusion), (noise_label(args), noise)],
        ),
        args.output / "corruption_steps.png",
    )
    command = experiments.run_command()
    results = {
        "command": command,
        "backend": keras.backend.backend(),
        "data": description,
        "splits": {"train": len(train), "val": len(val), "test": len(test)},
        "corruption": {
            "blank_rows": [14, 28],
            "noise": args.noise,
            "amount": args.amount,
        },
        "epochs": args.epochs,
        "steps_per_epoch": steps_per_epoch,
        "steps": args.epochs * steps_per_epoch,
        "batch_size": args.batch_size,
        "loss": args.loss,
        "learning_rate": args.learning_rate,
        "rows": rows,
        "runs": runs,
    }
    experiments.write_text(args.output / "metrics.json", json.dumps(results, indent=2))
    noise = (
        f"salt-and-pepper noise on {args.amount:.0%} of pixels"
        if args.noise == "salt_and_pepper"
        else f"additive Gaussian noise (stddev {args.amount})"
    )
    experiments.write_text(
        args.output / "results.md",
        f"# MNIST inpainting (Haque et al.)\n\n- Data: {description}; "
        f"{results['splits']}\n- Corruption: rows 14..27 set to 0, then {noise}\n"
        f"- Training: {args.epochs} epochs = {results['steps']:,} steps of batch "
        f"{args.batch_size} (the paper: 500,000), Adam {args.learning_rate}, "
        f"{args.loss.upper()} loss; backend {keras.backend.backend()}\n\n"
        f"{table}\n\nCommand: `{command}`\n",
    )
    print("\n" + table)
    return results


if __name__ == "__main__":
    experiments.report_errors(main)  # a full disk or a refused folder: one line
