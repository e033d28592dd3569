"""Reconstruct CIFAR-10 images through an LSTM bottleneck: Bhunu's (2024) experiment.

Identity reconstruction: the model sees the clean image and must give it back
through its bottleneck (`(x, x)` pairs, no blur), as the code of Bhunu's
report does. Defaults are that report's protocol: the deep LSTM autoencoder
(LSTM 512 -> LSTM 256 -> RepeatVector(32) -> LSTM 256 -> LSTM 96 with a
sigmoid, preset `lstm_vector_512_256_sigmoid`, 2,695,552 parameters), Adam at
learning rate 1e-4, MSE, batch 128, up to 200 epochs with early stopping on
the validation loss, an 80/20 split of the 50,000 training images with random
state 42 (scikit-learn's `train_test_split`, reproduced by
`datasets.train_val_split`), scored on the 10,000 test images. The report's
test MSE is 0.0051.

The input itself is no baseline for an identity task (it scores a perfect 0),
so the model is compared with two reconstructions that need no training: the
mean training image (the best constant answer) and PCA fitted on the training
images with as many components as the model's code has numbers (256 for the
default model), the best linear autoencoder of that size. Early stopping
(`--patience`, default 10 epochs; the report does not give its settings)
keeps the weights of the best validation epoch.

Writes to the output folder: loss curves, a grid of original / mean image /
PCA / model reconstructions, the exploratory figures of the report (all-pixel
histogram, RGB correlation matrix, scatter-plot matrix of the channels),
`metrics.json`, `results.md`, `model.keras` and `training_log.csv`. Killed and
started again with the same `--output`, it resumes (the early-stopping
patience counts again from the resumed epoch).

For a short run, cap the budget: `--epochs` (the most epochs), `--subset`
(training images), `--test-subset` (test images scored).

Usage:
    python examples/cifar_reconstruct.py --data ~/data/cifar-10-python.tar.gz
    python examples/cifar_reconstruct.py --data ~/data/cifar-10-python.tar.gz \\
        --epochs 2 --subset 2000 --test-subset 1000   # a short run
    python examples/cifar_reconstruct.py --data photos --epochs 3
"""

# %%
import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
from cifar_deblur import (
    SCORE_COLUMNS,
    SCORE_DIGITS,
    load_data,
    restore,
    score_rows,
    train_model,
)

from keras_seqimage import datasets, experiments, visualization
from keras_seqimage.models import MODELS

#: Bhunu's reported test MSE (identity reconstruction, CIFAR-10 test split).
REPORTED_TEST_MSE = 0.0051
MEAN_IMAGE = "mean training image"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default="keras",
        help="'keras' (download), 'photos' (offline, bundled), or the path of "
        "cifar-10-python.tar.gz or its extracted folder (default: keras)",
    )
    parser.add_argument("--model", default="lstm_autoencoder", choices=sorted(MODELS))
    parser.add_argument(
        "--preset",
        default="lstm_vector_512_256_sigmoid",
        help="a preset of --model (default: Bhunu's lstm_vector_512_256_sigmoid); "
        "'auto': the first one for the data's image shape; 'none': the class "
        "defaults",
    )
    parser.add_argument(
        "--model-args",
        type=json.loads,
        default={},
        metavar="JSON",
        help="constructor arguments over the preset's, as a JSON object",
    )
    parser.add_argument(
        "--epochs", type=int, default=200, help="the most epochs (default: 200)"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=10,
        help="early stopping: epochs without a lower validation loss before "
        "stopping; the best epoch's weights are kept (default: 10)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--schedule", choices=("constant", "cosine"), default="constant"
    )
    parser.add_argument(
        "--subset", type=int, help="use only this many training images (short runs)"
    )
    parser.add_argument("--test-subset", type=int, help="score this many test images")
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument(
        "--pca-components",
        type=int,
        help="components of the PCA baseline (default: the size of the "
        "model's code, 256 for the default model)",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("outputs/cifar_reconstruct")
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribute", action="store_true")
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train again even if the output folder holds a finished model",
    )
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    args = parser.parse_args(argv)
    if not isinstance(args.model_args, dict):
        parser.error(f"--model-args must be a JSON object, got {args.model_args!r}")
    for name in ("epochs", "patience", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.pca_components is not None and args.pca_components < 1:
        parser.error("--pca-components must be at least 1")
    return args


def code_size(model):
    """How many numbers the model's bottleneck holds per image, or `None`.

    Known for the row-sequence autoencoders: a vector bottleneck holds the
    last encoder layer's units; a sequence bottleneck one such vector per row.
    """
    units = getattr(model, "encoder_units", None)
    bottleneck = getattr(model, "bottleneck", None)
    if not units or bottleneck not in ("vector", "sequence"):
        return None
    if bottleneck == "vector":
        return int(units[-1])
    shape = getattr(model, "image_shape", None)
    order = getattr(model, "order", "rows")
    steps = shape[0] if order == "rows" else shape[1]
    return int(steps) * int(units[-1]) if steps else None


def fit_pca(images, components, chunk=2048):
    """Mean and the leading principal axes of flattened images.

    The covariance is summed chunk by chunk (float64), so 40,000 CIFAR-10
    images are never held as floats at once; its eigenvectors are the axes.

    Returns:
        `(mean, axes)`: `(d,)` and `(d, components)` float64 arrays.
    """
    flat = images.reshape(len(images), -1)
    dimension = flat.shape[1]
    components = min(components, dimension, len(flat))
    total, products = np.zeros(dimension), np.zeros((dimension, dimension))
    for start in range(0, len(flat), chunk):
        block = datasets.to_float(flat[start : start + chunk]).astype("float64")
        total += block.sum(axis=0)
        products += block.T @ block
    mean = total / len(flat)
    covariance = products / len(flat) - np.outer(mean, mean)
    _, vectors = np.linalg.eigh(covariance)  # ascending eigenvalues
    return mean, vectors[:, ::-1][:, :components]


def pca_reconstruct(images, mean, axes):
    """Project `images` onto the PCA axes and back, clipped to [0, 1]."""
    flat = datasets.to_float(images).reshape(len(images), -1).astype("float64")
    codes = (flat - mean) @ axes
    restored = mean + codes @ axes.T
    return np.clip(restored, 0.0, 1.0).astype("float32").reshape(images.shape)


def write_eda(data, output_dir):
    """Bhunu's exploratory figures; returns the channel statistics."""
    figures = {
        "eda_pixel_histogram.png": visualization.plot_pixel_histogram(data.train),
        "eda_channel_correlation.png": visualization.plot_channel_correlation(
            data.train
        ),
        "eda_scatter_matrix.png": visualization.plot_scatter_matrix(data.train),
    }
    for name, figure in figures.items():
        visualization.save_figure(figure, output_dir / name)
    return visualization.channel_statistics(data.train)


def finite_or_none(scores):
    """Scores with a non-finite PSNR (an exact reconstruction) as `None`."""
    return {
        method: {
            key: (value if value is None or np.isfinite(value) else None)
            for key, value in values.items()
        }
        for method, values in scores.items()
    }


def verdict(scores, label):
    """One line comparing the model's test MSE with the baselines' and the report's."""
    model_mse = scores[label]["mse"]
    baseline = min((k for k in scores if k != label), key=lambda k: scores[k]["mse"])
    relation = "below" if model_mse < scores[baseline]["mse"] else "NOT below"
    return (
        f"{label}: test MSE {model_mse:.5f}, {relation} the best baseline "
        f"({baseline}, {scores[baseline]['mse']:.5f}); Bhunu (2024) reports "
        f"{REPORTED_TEST_MSE}."
    )


def main(argv=None):
    args = parse_args(argv)
    output_dir = args.output
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    data = load_data(args)
    print(f"Keras {keras.__version__}, backend: {keras.backend.backend()}")
    print(f"Data: {data.description}; {data.sizes()}; task: identity reconstruction")

    # %% Train on (x, x) pairs with early stopping (resumes from a backup).
    pairs = (
        datasets.CorruptedPairs(
            data.train, None, batch_size=args.batch_size, shuffle=True, seed=args.seed
        ),
        datasets.CorruptedPairs(
            data.val, None, batch_size=max(args.batch_size, 256), shuffle=False
        ),
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=args.patience, restore_best_weights=True
    )
    start = time.perf_counter()
    model, preset, history = train_model(
        args,
        args.model,
        args.preset,
        pairs,
        data.train.shape[1:],
        output_dir,
        overrides=args.model_args,
        callbacks=[early_stopping],
    )
    train_seconds = time.perf_counter() - start

    # %% Score on the test split against the mean image and PCA.
    test_clean = datasets.to_float(data.test)
    components = args.pca_components or code_size(model)
    if components is None:
        raise ValueError(
            f"The code size of {args.model} is not known: give --pca-components."
        )
    mean, axes = fit_pca(data.train, components)
    label = f"{args.model} ({preset})" if preset else args.model
    pca_label = f"PCA, {axes.shape[1]} components"
    outputs = {
        MEAN_IMAGE: np.broadcast_to(
            mean.reshape(test_clean.shape[1:]).astype("float32"), test_clean.shape
        ),
        pca_label: pca_reconstruct(data.test, mean, axes),
        label: restore(model, test_clean),
    }
    scores = finite_or_none(experiments.score_methods(test_clean, outputs))
    if history:
        visualization.save_figure(
            visualization.plot_loss_curves(history), output_dir / "loss_curves.png"
        )
    visualization.save_figure(
        visualization.plot_image_grid({"original": test_clean, **outputs}),
        output_dir / "reconstruction_grid.png",
    )
    eda = write_eda(data, output_dir)

    # %% Results: metrics.json and results.md.
    val_losses = history.get("val_loss", [])
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else None
    results = {
        "command": experiments.run_command(),
        "task": "identity reconstruction ((x, x) pairs)",
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "data": data.description,
        "splits": data.sizes(),
        "model": args.model,
        "preset": preset,
        "model_args": args.model_args,
        "params": model.count_params(),
        "code_size": code_size(model),
        "pca_components": int(axes.shape[1]),
        "max_epochs": args.epochs,
        "epochs_run": len(history.get("loss", [])),
        "best_epoch": best_epoch,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "schedule": args.schedule,
        "median_epoch_seconds": experiments.median_epoch_seconds(history),
        "train_seconds_this_run": round(train_seconds, 1),
        "reported_test_mse": REPORTED_TEST_MSE,
        "test_scores": scores,
        "history": history,
        "eda": eda,
    }
    experiments.write_text(output_dir / "metrics.json", json.dumps(results, indent=2))
    table = experiments.results_table(score_rows(scores), SCORE_COLUMNS, SCORE_DIGITS)
    experiments.write_text(output_dir / "results.md", results_markdown(results, table))
    print("\n" + table)
    print(verdict(scores, label))
    written = ", ".join(sorted(p.name for p in output_dir.iterdir()))
    print(f"Wrote {written} to {output_dir}")
    return results


def results_markdown(results, table):
    epoch = results["median_epoch_seconds"]
    timing = f"{epoch:.1f} s per epoch (median)" if epoch else "no epochs run"
    return "\n".join(
        [
            f"# Identity reconstruction: {results['model']} ({results['preset']})",
            "",
            f"- Task: {results['task']}, Bhunu (2024)'s protocol; reported test "
            f"MSE {results['reported_test_mse']}",
            f"- Data: {results['data']}; splits {results['splits']}",
            f"- Model: {results['params']:,} parameters, a code of "
            f"{results['code_size']} numbers per image; {results['epochs_run']} "
            f"of at most {results['max_epochs']} epochs (early stopping, patience "
            f"{results['patience']}; best validation epoch {results['best_epoch']}), "
            f"batch {results['batch_size']}, Adam {results['learning_rate']}; "
            f"{timing}",
            f"- Baselines: the mean training image; PCA fitted on the training "
            f"images, {results['pca_components']} components",
            f"- Backend: {results['backend']} (Keras {results['keras_version']})",
            "- Scores: mean over test images; SSIM with Wang et al.'s 11x11 "
            "Gaussian window (sigma 1.5)",
            "",
            table,
            "",
            f"Command: `{results['command']}`",
            "",
        ]
    )


if __name__ == "__main__":
    experiments.report_errors(main)  # a full disk or a refused folder: one line
