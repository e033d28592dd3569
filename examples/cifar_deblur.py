"""Deblur CIFAR-10 read row by row: Ayob's (2024) experiment, end to end.

Blurs images with a Gaussian (scipy's filter; sigma 1.0 by default), trains a
model from the toolkit's factory to restore them (Ayob's row-LSTM by
default: LSTM 128 -> LSTM 64 -> Dense 96, Adam, MSE, 20 epochs, batch 64, an
80/20 split of the training set), and scores it on the test split next to two
baselines that need no training: the blurred input itself and Wiener
deconvolution with the known kernel (its regularisation tuned on the
validation split). Writes to the output folder:

- EDA figures: class distribution, one image per class, original vs blurred,
  per-channel histograms (mean, std), the channel correlation matrix;
- loss curves, and a grid of original / blurred / Wiener / restored images;
- `metrics.json` and `results.md` (MSE, PSNR, SSIM; time per epoch; the
  command), the trained `model.keras` and `training_log.csv`.

Killed and started again with the same `--output`, it resumes from the last
finished epoch; run again when finished, it scores the saved model. The
folder's `run_manifest.json` records the arguments that made it: other
arguments on the same `--output` are refused (naming the ones that differ)
unless `--retrain` is given. A full disk or a folder without write permission
ends in one line naming the file, exit status 1.

Data: `--data keras` downloads CIFAR-10 through Keras; a path reads the
official `cifar-10-python.tar.gz` (or its extracted folder); `--data photos`
uses scikit-image's bundled photographs (offline; one photo held out for
testing).

Usage:
    python examples/cifar_deblur.py --data ~/data/cifar-10-python.tar.gz
    python examples/cifar_deblur.py --data photos --epochs 10 --output outputs/demo
    KERAS_BACKEND=jax python examples/cifar_deblur.py --data keras --subset 5000
"""

# %%
import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from keras_seqimage import baselines, datasets, experiments, visualization
from keras_seqimage.distribution import data_parallel_scope, device_count
from keras_seqimage.layers import GaussianBlurLayer
from keras_seqimage.metrics import PSNRLoss, RMSELoss
from keras_seqimage.models import MODELS, build_model

PHOTOS_TEST = "astronaut"  # the photo held out for testing with --data photos


def parse_args(argv=None):
    parser = build_parser(__doc__)
    parser.add_argument("--model", default="lstm_autoencoder", choices=sorted(MODELS))
    parser.add_argument(
        "--preset",
        default="auto",
        help="a preset of --model; 'auto': the first one for the data's image "
        "shape (for lstm_autoencoder: Ayob's lstm_sequence_128_64); "
        "'none': the class defaults",
    )
    parser.add_argument(
        "--model-args",
        type=json.loads,
        default={},
        metavar="JSON",
        help="constructor arguments over the preset's, as a JSON object, e.g. "
        "'{\"units\": 16}'",
    )
    parser.add_argument(
        "--init-deconvolution",
        action="store_true",
        help="renet_restorer only: start the first rows and columns sweeps as "
        "the regularised inverse of the blur (sigma: --sigma, or the middle of "
        "--sigma-range), its balance tuned on validation images",
    )
    parser.add_argument(
        "--init-balance",
        type=float,
        help="the regularisation of --init-deconvolution (default: tuned on "
        "1,000 validation images with tune_separable_deconvolution)",
    )
    parser.add_argument(
        "--loss",
        choices=("mse", "psnr", "rmse"),
        default="mse",
        help="training loss: mean squared error (Ayob's), "
        "metrics.PSNRLoss (minus the mean per-image PSNR: every image's "
        "relative error counts alike) or metrics.RMSELoss (root mean squared "
        "error, Haque et al.'s)",
    )
    parser.add_argument(
        "--init-experts",
        nargs="+",
        type=Path,
        metavar="MODEL",
        help="blind_renet_restorer only: start the experts from these trained "
        "renet_restorer .keras files (or run folders holding model.keras), one "
        "per sigma of the model, in order",
    )
    args = parser.parse_args(argv)
    check_sigma(parser, args)
    if not isinstance(args.model_args, dict):
        parser.error(f"--model-args must be a JSON object, got {args.model_args!r}")
    if args.init_deconvolution and args.model != "renet_restorer":
        parser.error("--init-deconvolution needs --model renet_restorer")
    if args.init_experts:
        if args.model != "blind_renet_restorer":
            parser.error("--init-experts needs --model blind_renet_restorer")
        args.init_experts = [
            path / "model.keras" if path.is_dir() else path
            for path in args.init_experts
        ]
        missing = [str(path) for path in args.init_experts if not path.is_file()]
        if missing:
            parser.error(f"--init-experts: no such model file: {', '.join(missing)}")
    return args


def build_parser(description):
    """The arguments shared by the CIFAR-10 examples (data, blur, training)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default="keras",
        help="'keras' (download), 'photos' (offline, bundled), or the path of "
        "cifar-10-python.tar.gz or its extracted folder (default: keras)",
    )
    parser.add_argument("--sigma", type=float, default=1.0, help="blur sigma")
    parser.add_argument(
        "--sigma-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="train on a sigma drawn per image from [LOW, HIGH] (tested at --sigma)",
    )
    parser.add_argument(
        "--quantize",
        action="store_true",
        help="round the blurred images to 8 bits (as a saved PNG would be); "
        "default: exact floats, as in the sources",
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="learning rate: constant, or cosine decay to 0 over the run",
    )
    parser.add_argument(
        "--subset", type=int, help="use only this many training images (quick runs)"
    )
    parser.add_argument("--test-subset", type=int, help="score this many test images")
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--output", type=Path, default=Path("outputs/cifar_deblur"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel training over all local devices (Keras distribution)",
    )
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train again even if the output folder holds a finished model "
        "(default: evaluate that model)",
    )
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    return parser


def check_sigma(parser, args):
    """Refuse a blur of sigma 0 (or less): it is the identity, not a blur.

    Deblurring an unblurred image would score the input as a perfect
    baseline (PSNR +inf); identity reconstruction has its own example.
    """
    if args.sigma <= 0:
        parser.error(
            f"--sigma must be > 0 (a Gaussian blur), got {args.sigma}. To train "
            "a model to give back the unblurred image (identity reconstruction, "
            "Bhunu's task), run examples/cifar_reconstruct.py, which scores it "
            "against the mean image and PCA."
        )
    if args.sigma_range and min(args.sigma_range) < 0:
        parser.error(f"--sigma-range must be >= 0, got {args.sigma_range}")


@dataclass
class Data:
    """Clean images (uint8 or float in [0, 1]) of the three splits."""

    description: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    class_names: tuple

    def sizes(self):
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def load_data(args):
    """The train / validation / test splits that `--data` names."""
    if args.data == "photos":
        patches, photo = datasets.photo_patches(size=32, scale=0.25, stride=8)
        test_index = datasets.BUNDLED_PHOTOS.index(PHOTOS_TEST)
        pool, pool_labels = patches[photo != test_index], photo[photo != test_index]
        test = patches[photo == test_index]
        description = (
            f"{len(patches)} 32x32 patches of scikit-image's bundled photographs "
            f"(test: the held-out '{PHOTOS_TEST}' photo)"
        )
        class_names = datasets.BUNDLED_PHOTOS
    else:
        path = None if args.data == "keras" else Path(args.data).expanduser()
        (pool, pool_labels), (test, _) = datasets.load_cifar10(path)
        description = f"CIFAR-10 from {'keras.datasets' if path is None else path}"
        class_names = datasets.CIFAR10_CLASSES
    pool_labels = np.asarray(pool_labels).reshape(-1)
    train_index, val_index = datasets.train_val_split(
        len(pool), val_fraction=args.val_fraction, seed=args.seed
    )
    if args.subset:
        train_index = train_index[: args.subset]
        val_index = val_index[: max(1, int(round(args.subset * args.val_fraction)))]
    if args.test_subset:
        test = test[: args.test_subset]
    return Data(
        description=description,
        train=pool[np.sort(train_index)],
        val=pool[np.sort(val_index)],
        test=test,
        train_labels=pool_labels[np.sort(train_index)],
        class_names=tuple(class_names),
    )


def default_preset(model_name, image_shape):
    """The first preset of `model_name` made for `image_shape`, or `None`."""
    for name, arguments in MODELS[model_name].presets.items():
        if tuple(arguments.get("image_shape", (32, 32, 3))) == tuple(image_shape):
            return name
    return None


def make_loss(name):
    """The training loss that `--loss` names: `mse`, `psnr` or `rmse`."""
    return {"mse": "mse", "psnr": PSNRLoss(), "rmse": RMSELoss()}[name]


def make_optimizer(args, steps_per_epoch):
    learning_rate = args.learning_rate
    if args.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            args.learning_rate, decay_steps=args.epochs * steps_per_epoch
        )
    return keras.optimizers.Adam(learning_rate)


def train_model(
    args,
    model_name,
    preset,
    pairs,
    image_shape,
    output_dir,
    overrides=None,
    callbacks=(),
):
    """Build, train (resumably) and save one model in `output_dir`.

    Args:
        args: the parsed command line (epochs, batch size, learning rate...).
        model_name, preset: the factory name and preset (`"auto"`: the first
            preset for `image_shape`; `"none"`: the class defaults).
        pairs: `(train_pairs, val_pairs)`, `CorruptedPairs` of the split.
        image_shape: `(height, width, channels)` of the images.
        output_dir: the folder for the model, the log and the backup.
        overrides: optional dict of constructor arguments over the preset's.
        callbacks: more callbacks for `fit` (e.g. early stopping).

    Returns:
        `(model, preset, history)`.
    """
    train_pairs, val_pairs = pairs
    if preset == "auto":
        preset = default_preset(model_name, image_shape)
    elif preset == "none":
        preset = None
    arguments = {
        "model": model_name,
        "preset": preset,
        "model_args": overrides or {},
        **training_arguments(args),
        "data": experiments.data_fingerprint(train_pairs.images, val_pairs.images),
    }
    if arguments.get("init_experts"):  # the files' content, not only their names
        arguments["init_experts"] = [
            f"{path} sha256:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
            for path in arguments["init_experts"]
        ]
    finished = experiments.start_run(
        output_dir,
        arguments,
        retrain=args.retrain,
        record={"command": experiments.run_command()},
        hint="use another --output, or --retrain to replace its model",
    )
    if finished:
        # A finished run of the same arguments: score its model, never retrain.
        saved = output_dir / experiments.MODEL_FILE
        print(
            f"Found the trained model {saved}; evaluating it (--retrain to train anew)."
        )
        model = keras.saving.load_model(saved)
        history = experiments.read_training_log(output_dir / experiments.TRAINING_LOG)
        return model, preset, history
    # With --distribute, build, compile and fit under the data-parallel scope
    # (keras.distribution on JAX, MirroredStrategy on TensorFlow); the batch
    # size is the global batch, split over the devices.
    with data_parallel_scope(args.distribute):
        model = build_model(
            model_name,
            preset=preset,
            input_shape=image_shape,
            optimizer=make_optimizer(args, len(train_pairs)),
            loss=make_loss(getattr(args, "loss", "mse")),
            metrics=None,  # scored after training; metrics slow each step
            **(overrides or {}),
        )
        if getattr(args, "init_experts", None):
            model.load_experts([str(path) for path in args.init_experts])
            print(f"Experts from {', '.join(map(str, args.init_experts))}")
        print(
            f"Model: {model_name} (preset {preset}), {model.count_params():,} "
            f"params, {args.epochs} epochs, batch {args.batch_size}, learning "
            f"rate {args.learning_rate} ({args.schedule})"
            + (
                f", data-parallel over {device_count()} devices"
                if args.distribute
                else ""
            )
        )
        history = experiments.fit_resumable(
            model,
            train_pairs,
            output_dir=output_dir,
            epochs=args.epochs,
            validation_data=val_pairs,
            callbacks=callbacks,
            verbose=args.verbose,
        )
    # model.keras written whole, then the manifest, then the backup deleted.
    experiments.finish_run(output_dir, model)
    return model, preset, history


#: Arguments that do not change the trained model (the output folder, the
#: printing, the test images scored) or that the caller records itself.
NOT_TRAINING = {
    "output",
    "verbose",
    "retrain",
    "test_subset",
    "data",  # its content is compared (`data_fingerprint`), not its path
    "model",
    "preset",
    "model_args",
    "models",
    "cnn_lstm_preset",
    "pca_components",  # cifar_reconstruct.py: a baseline, not the model
}


def training_arguments(args):
    """The command-line arguments that decide a trained model, as a dict.

    With `--sigma-range` the model is trained on the range and `--sigma` is
    only the blur it is scored at: a rerun with another `--sigma` on the
    same folder scores the saved model (the workflow of docs/results.md).
    """
    skip = NOT_TRAINING | ({"sigma"} if getattr(args, "sigma_range", None) else set())
    return {k: v for k, v in sorted(vars(args).items()) if k not in skip}


def restore(model, images, batch_size=256):
    """The model's restoration of `images`, clipped to [0, 1]."""
    return np.clip(model.predict(images, batch_size=batch_size, verbose=0), 0.0, 1.0)


class Degradation:
    """The blur of the experiment, optionally followed by 8-bit rounding.

    `--quantize` rounds the blurred images to multiples of 1/255, as saving
    them as 8-bit PNGs would: the noise that makes deconvolution ill-posed.
    Without it (the sources' protocol) the blurred images are exact floats.
    """

    def __init__(self, quantize, **blur_arguments):
        self.blur = GaussianBlurLayer(**blur_arguments)
        self.quantize = quantize

    def __call__(self, images):
        blurred = keras.ops.convert_to_numpy(self.blur(images))
        if self.quantize:
            blurred = np.round(blurred * 255.0) / np.float32(255.0)
        return blurred.astype("float32", copy=False)


def eval_degradation(args):
    """The deterministic degradation of the validation and test images."""
    return Degradation(args.quantize, sigma=args.sigma)


def blur_for_training(args):
    if args.sigma_range:
        return Degradation(
            args.quantize, sigma_range=tuple(args.sigma_range), seed=args.seed
        )
    return eval_degradation(args)


def make_pairs(data, args):
    """Training and validation pairs (blurred, clean), blurred batch by batch."""
    train_pairs = datasets.CorruptedPairs(
        data.train,
        blur_for_training(args),
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
    )
    val_pairs = datasets.CorruptedPairs(
        data.val,
        eval_degradation(args),
        batch_size=max(args.batch_size, 256),
        shuffle=False,
    )
    return train_pairs, val_pairs


def estimate_sigma(model, images, batch_size=1000):
    """Mean and std of the per-image blur a blind model infers, or `None`.

    Only models that estimate the blur (`BlindReNetRestorer.estimate_sigma`).
    """
    if not hasattr(model, "estimate_sigma"):
        return None
    estimates = np.concatenate(
        [
            keras.ops.convert_to_numpy(model.estimate_sigma(images[i : i + batch_size]))
            for i in range(0, len(images), batch_size)
        ]
    )
    return {"mean": float(estimates.mean()), "std": float(estimates.std())}


def baseline_restorations(data, args):
    """Test clean, blurred and Wiener images; Wiener tuned on validation."""
    blur = eval_degradation(args)
    test_clean = datasets.to_float(data.test)
    test_blurred = datasets.corrupt_in_batches(test_clean, blur)
    val_clean = datasets.to_float(data.val[:1000])
    val_blurred = datasets.corrupt_in_batches(val_clean, blur)
    balance, _ = baselines.tune_wiener(val_blurred, val_clean, sigma=args.sigma)
    wiener = baselines.wiener_deconvolution(test_blurred, args.sigma, balance)
    return test_clean, test_blurred, wiener, balance


def deconvolution_init(data, args):
    """`ReNetRestorer` arguments for `--init-deconvolution` (else `{}`).

    The sigma is the run's (the middle of `--sigma-range` when training on a
    range); the balance is `--init-balance` or the best of
    `tune_separable_deconvolution` on 1,000 validation images degraded as in
    the run (at that sigma). Returns the arguments and the validation PSNR of
    the untrained model (`None` when the balance was given).
    """
    if not args.init_deconvolution:
        return {}, None
    sigma = float(np.mean(args.sigma_range)) if args.sigma_range else args.sigma
    if args.init_balance is not None:
        return {"init_sigma": sigma, "init_balance": args.init_balance}, None
    val_clean = datasets.to_float(data.val[:1000])
    val_blurred = datasets.corrupt_in_batches(
        val_clean, Degradation(args.quantize, sigma=sigma)
    )
    balance, scores = baselines.tune_separable_deconvolution(
        val_blurred, val_clean, sigma
    )
    return {"init_sigma": sigma, "init_balance": balance}, scores[balance]


def write_eda(data, args, output_dir):
    """The exploratory figures of the reports; returns the channel statistics."""
    blurred = datasets.corrupt_in_batches(
        datasets.to_float(data.test[:8]), eval_degradation(args)
    )
    figures = {
        "eda_class_distribution.png": visualization.plot_class_distribution(
            data.train_labels, data.class_names
        ),
        "eda_class_samples.png": visualization.plot_class_samples(
            data.train, data.train_labels, data.class_names
        ),
        "eda_original_vs_blurred.png": visualization.plot_image_grid(
            {"original": data.test[:8], f"blurred (sigma {args.sigma})": blurred}
        ),
        "eda_channel_histograms.png": visualization.plot_channel_histograms(data.train),
        "eda_channel_correlation.png": visualization.plot_channel_correlation(
            data.train
        ),
    }
    for name, figure in figures.items():
        visualization.save_figure(figure, output_dir / name)
    return visualization.channel_statistics(data.train)


SCORE_COLUMNS = {"method": "method", "mse": "MSE", "psnr": "PSNR (dB)", "ssim": "SSIM"}
SCORE_DIGITS = {"mse": 5, "psnr": 2, "ssim": 4}


def score_rows(scores):
    return [{"method": name, **values} for name, values in scores.items()]


def main(argv=None):
    args = parse_args(argv)
    output_dir = args.output
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    data = load_data(args)
    print(f"Keras {keras.__version__}, backend: {keras.backend.backend()}")
    print(f"Data: {data.description}; {data.sizes()}")

    # %% Train (resumes if the output folder holds a backup).
    init, init_psnr = deconvolution_init(data, args)
    if init:
        print(
            f"Deconvolution init: sigma {init['init_sigma']}, balance "
            f"{init['init_balance']:.3g}"
            + (f" (validation PSNR {init_psnr:.2f} dB untrained)" if init_psnr else "")
        )
    start = time.perf_counter()
    model, preset, history = train_model(
        args,
        args.model,
        args.preset,
        make_pairs(data, args),
        data.train.shape[1:],
        output_dir,
        overrides={**args.model_args, **init},
    )
    train_seconds = time.perf_counter() - start
    # Written only now: a rerun the output folder refuses changes nothing.
    eda = write_eda(data, args, output_dir)

    # %% Score on the test split against the two baselines.
    test_clean, test_blurred, wiener, balance = baseline_restorations(data, args)
    restored = restore(model, test_blurred)
    label = f"{args.model} ({preset})" if preset else args.model
    estimated_sigma = estimate_sigma(model, test_blurred)
    if estimated_sigma:
        print(
            f"Blur the model infers (test images, sigma {args.sigma}): mean "
            f"{estimated_sigma['mean']:.3f}, std {estimated_sigma['std']:.3f}"
        )
    scores = experiments.score_methods(
        test_clean,
        {"blurred input": test_blurred, "Wiener": wiener, label: restored},
    )
    if history:  # none with --epochs 0 (scoring an initialisation)
        visualization.save_figure(
            visualization.plot_loss_curves(history), output_dir / "loss_curves.png"
        )
    else:  # not the curves of an earlier run
        (output_dir / "loss_curves.png").unlink(missing_ok=True)
    visualization.save_figure(
        visualization.plot_image_grid(
            {
                "original": test_clean,
                f"blurred (sigma {args.sigma})": test_blurred,
                "Wiener": wiener,
                args.model: restored,
            }
        ),
        output_dir / "restoration_grid.png",
    )

    # %% Results: metrics.json and results.md.
    results = {
        "command": experiments.run_command(),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "data": data.description,
        "splits": {
            "train": len(data.train),
            "val": len(data.val),
            "test": len(data.test),
        },
        "sigma": args.sigma,
        "train_sigma_range": args.sigma_range,
        "quantize_8bit": args.quantize,
        "data_parallel_devices": device_count() if args.distribute else 1,
        "model": args.model,
        "preset": preset,
        "model_args": args.model_args,
        "deconvolution_init": init,
        "init_experts": [str(path) for path in args.init_experts or []],
        "deconvolution_init_val_psnr": init_psnr,
        "params": model.count_params(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "schedule": args.schedule,
        "loss": args.loss,
        "median_epoch_seconds": experiments.median_epoch_seconds(history),
        "train_seconds_this_run": round(train_seconds, 1),
        "wiener_balance": balance,
        "test_scores": scores,
        "estimated_sigma": estimated_sigma,
        "history": history,
        "eda": eda,
    }
    experiments.write_text(output_dir / "metrics.json", json.dumps(results, indent=2))
    table = experiments.results_table(score_rows(scores), SCORE_COLUMNS, SCORE_DIGITS)
    experiments.write_text(output_dir / "results.md", results_markdown(results, table))
    print("\n" + table)
    verdict = _verdict(scores, label)
    print(verdict)
    written = ", ".join(sorted(p.name for p in output_dir.iterdir()))
    print(f"Wrote {written} to {output_dir}")
    return results


def _verdict(scores, label):
    model_psnr = scores[label]["psnr"]
    best = max(("blurred input", "Wiener"), key=lambda k: scores[k]["psnr"])
    gap = model_psnr - scores[best]["psnr"]
    if gap >= 0:
        return f"{label} beats both baselines: {gap:+.2f} dB PSNR over {best}."
    return f"{label} LOSES to {best} by {-gap:.2f} dB PSNR."


def results_markdown(results, table):
    epoch = results["median_epoch_seconds"]
    timing = f"{epoch:.1f} s per epoch (median)" if epoch else "no epochs run"
    return "\n".join(
        [
            f"# Deblurring results: {results['model']} ({results['preset']})",
            "",
            f"- Data: {results['data']}; splits {results['splits']}",
            f"- Blur: Gaussian sigma {results['sigma']} (scipy's filter, mode "
            "'reflect', truncate 4.0), "
            + (
                "rounded to 8 bits"
                if results["quantize_8bit"]
                else "exact floats (not rounded)"
            )
            + "; trained on "
            + (
                f"sigma drawn from {results['train_sigma_range']}"
                if results["train_sigma_range"]
                else f"sigma {results['sigma']}"
            ),
            f"- Model: {results['params']:,} parameters"
            + (f", arguments {results['model_args']}" if results["model_args"] else "")
            + (
                f", deconvolution init {results['deconvolution_init']}"
                if results["deconvolution_init"]
                else ""
            )
            + f"; {results['epochs']} epochs, "
            f"batch {results['batch_size']}; {timing}",
            f"- Backend: {results['backend']} (Keras {results['keras_version']})",
            "- Wiener regularisation (tuned on validation): "
            f"{results['wiener_balance']}",
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
