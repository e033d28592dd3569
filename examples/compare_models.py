"""Compare the autoencoders of Wood (2024) on the same deblurring, at its protocol.

Trains each model on the same blurred CIFAR-10 images (same split, sigma,
epochs, batch and optimizer; the arguments are `cifar_deblur.py`'s) and
scores it on the same test images next to the blurred input and Wiener
deconvolution. Defaults are Wood's protocol: its CNN, SimpleRNN and LSTM
autoencoders, 10 epochs, batch 128, Adam (learning rate 1e-3), MSE, the whole
training set (80/20 split; sigma 1.0, which Wood does not state). `--models`
adds others, `name` or `name:preset` (e.g. Ayob's
`lstm_autoencoder:lstm_sequence_128_64`); `--epochs`, `--subset` and
`--test-subset` make a short run.
Writes `results.md` and `metrics.json` (params, s/epoch, MSE, PSNR, SSIM),
`comparison.png` (a row per method, the same test images in each column),
Wood's exploratory figures (`eda_pixel_histogram.png`, a histogram of all
pixel values with a density curve; `eda_pca_scatter.png`, the training images
on their first two principal axes, coloured by class),
and per model a subfolder with `model.keras`, `training_log.csv` and its loss
curves. Killed runs resume (per model, from the last finished epoch).

Usage:
    python examples/compare_models.py --data ~/data/cifar-10-python.tar.gz
    python examples/compare_models.py --data ~/data/cifar-10-python.tar.gz \\
        --epochs 3 --subset 5000   # a short run
    python examples/compare_models.py --data photos --epochs 2
"""

# %%
import json
from pathlib import Path

import keras
from cifar_deblur import (
    SCORE_DIGITS,
    baseline_restorations,
    build_parser,
    check_sigma,
    load_data,
    make_pairs,
    restore,
    train_model,
)

from keras_seqimage import experiments, visualization

#: Wood's three models, in the order of its figure.
DEFAULT_MODELS = (
    "conv_autoencoder:conv_32_32",
    "simple_rnn_autoencoder:simple_rnn_vector_128",
    "lstm_autoencoder:lstm_vector_128",
)


def parse_args(argv=None):
    parser = build_parser(__doc__)
    # Wood's protocol: 10 epochs of batch 128 (Adam's default rate, MSE).
    parser.set_defaults(
        output=Path("outputs/compare_models"), epochs=10, batch_size=128
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help="factory names, each optionally with ':preset' (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    check_sigma(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    data = load_data(args)
    print(f"Keras {keras.__version__}, backend: {keras.backend.backend()}")
    print(f"Data: {data.description}; {data.sizes()}")
    test_clean, test_blurred, wiener, balance = baseline_restorations(data, args)
    outputs = {"blurred input": test_blurred, "Wiener": wiener}
    runs = {}
    for spec in args.models:
        name, _, preset = spec.partition(":")
        folder = args.output / spec.replace(":", "_")
        model, preset, history = train_model(
            args,
            name,
            preset or "auto",
            make_pairs(data, args),
            data.train.shape[1:],
            folder,
        )
        label = f"{name} ({preset})" if preset else name
        outputs[label] = restore(model, test_blurred)
        runs[label] = {
            "model": name,
            "preset": preset,
            "params": model.count_params(),
            "epoch_seconds": experiments.median_epoch_seconds(history),
            "history": history,
        }
        visualization.save_figure(
            visualization.plot_loss_curves(history, title=label),
            folder / "loss_curves.png",
        )

    # Wood's exploratory figures (written after training: a refused rerun
    # changes nothing).
    visualization.save_figure(
        visualization.plot_pixel_histogram(data.train, density_curve=True),
        args.output / "eda_pixel_histogram.png",
    )
    visualization.save_figure(
        visualization.plot_pca_scatter(data.train, data.train_labels, data.class_names),
        args.output / "eda_pca_scatter.png",
    )
    scores = experiments.score_methods(test_clean, outputs)
    rows = [
        {"method": label, **runs.get(label, {}), **values}
        for label, values in scores.items()
    ]
    columns = {
        "method": "method",
        "params": "params",
        "epoch_seconds": "s/epoch",
        "mse": "MSE",
        "psnr": "PSNR (dB)",
        "ssim": "SSIM",
    }
    table = experiments.results_table(
        rows, columns, digits={"epoch_seconds": 1, **SCORE_DIGITS}
    )
    grid = {"original": test_clean, f"blurred (sigma {args.sigma})": test_blurred}
    grid.update(
        {label: images for label, images in outputs.items() if label != "blurred input"}
    )
    visualization.save_figure(
        visualization.plot_image_grid(grid), args.output / "comparison.png"
    )
    command = experiments.run_command()
    results = {
        "command": command,
        "backend": keras.backend.backend(),
        "data": data.description,
        "splits": data.sizes(),
        "sigma": args.sigma,
        "quantize_8bit": args.quantize,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "wiener_balance": balance,
        "test_scores": scores,
        "runs": runs,
    }
    experiments.write_text(args.output / "metrics.json", json.dumps(results, indent=2))
    experiments.write_text(
        args.output / "results.md",
        f"# Model comparison (Wood 2024)\n\n- Data: {data.description}; "
        f"{data.sizes()}\n- Blur: Gaussian sigma {args.sigma}"
        f"{', rounded to 8 bits' if args.quantize else ''}; every model: "
        f"{args.epochs} epochs, batch {args.batch_size}, Adam "
        f"{args.learning_rate} ({args.schedule}), MSE\n- Backend: "
        f"{keras.backend.backend()}; s/epoch is the median epoch wall time\n\n"
        f"{table}\n\nCommand: `{command}`\n",
    )
    print("\n" + table)
    return results


if __name__ == "__main__":
    experiments.report_errors(main)  # a full disk or a refused folder: one line
