"""Train the photo restorer's network: the command behind each shipped preset.

    python examples/train_photo_restorer.py --preset photo_deblur
    python examples/train_photo_restorer.py --preset photo_deblur_cnn

Trains `DeblurNetwork` on the TRAIN split of the bundled photographs
(`keras_seqimage.datasets.PHOTO_TRAIN_SET`, scikit-image's photos; never the
TEST split the photo benchmark scores), holding one of them out
(`stereo_motorcycle`) to report a validation score. Each photo is degraded
`--per-photo` times (blur sigma 0.8-3.2, noise 0-0.03, 8-bit rounding), an
RGB photo is turned into decorrelated channels (`--colour`), the Wiener
filter deconvolves each channel at its balance (`--balance`: GCV safeguarded
by the fitted rule) and at a ten times smaller and larger one, and the
network learns, on random patches, the correction that takes the first
estimate to the clean channel.

Writes `<output>/<preset>.weights.h5`, `<preset>.json` (the network config
and the training record) and `train.log`; a checkpoint is written after
every epoch of `--steps-per-epoch` steps, atomically, so a crash loses at
most one epoch, and `--resume` continues from it.
"""

import argparse
import json
import os
import platform
import sys
import time

import keras
import numpy as np

from keras_seqimage.datasets import PHOTO_TRAIN_SET, load_photo
from keras_seqimage.models.deblur_network import INPUT_CHANNELS, DeblurNetwork
from keras_seqimage.restoration.training import degradation_pool, patch_batches

#: The network configuration of each preset.
PRESET_CONFIGS = {
    "photo_deblur": {"filters": 16, "sweep_units": 8},
    "photo_deblur_cnn": {"filters": 16, "sweep_units": 0},
}
VALIDATION_PHOTO = "stereo_motorcycle"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preset", choices=sorted(PRESET_CONFIGS), default="photo_deblur"
    )
    parser.add_argument("--steps", type=int, default=15000, help="training steps")
    parser.add_argument("--steps-per-epoch", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--per-photo", type=int, default=12)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--colour",
        choices=("decorrelated", "rgb"),
        default="decorrelated",
        help="the channels RGB photos are restored in",
    )
    parser.add_argument(
        "--blind-share",
        type=float,
        default=0.0,
        help="share of training draws whose front end is told the blind blur "
        "estimate instead of the true sigma",
    )
    parser.add_argument(
        "--sigma-jitter",
        type=float,
        default=0.3,
        help="share of training draws whose front end is told a sigma off by "
        "a random factor exp(N(0, --jitter-std)), so the network learns to "
        "tolerate a blur estimate's error",
    )
    parser.add_argument(
        "--jitter-std",
        type=float,
        default=0.08,
        help="standard deviation of the log of that factor",
    )
    parser.add_argument(
        "--balance",
        choices=("gcv", "rule"),
        default="gcv",
        help="how each channel's Wiener balance is chosen",
    )
    parser.add_argument("--output", default="outputs/photo_restorer")
    parser.add_argument("--resume", action="store_true")
    return parser.parse_args(argv)


def training_photos():
    photos = []
    for name in PHOTO_TRAIN_SET:
        if name == VALIDATION_PHOTO:
            continue
        photo = load_photo(name)
        if max(photo.shape[:2]) > 1000:  # retina: 1411x1411, mostly black border
            photo = photo[::2, ::2]
        photos.append(photo)
    return photos


class ValidationScore(keras.callbacks.Callback):
    """PSNR of the network and of its Wiener input on held-out patches."""

    def __init__(self, inputs, targets, log):
        super().__init__()
        self.inputs, self.targets, self.log = inputs, targets, log
        mse = np.mean((np.clip(inputs[..., :1], 0, 1) - targets) ** 2)
        self.wiener_psnr = float(10 * np.log10(1.0 / mse))

    def on_epoch_end(self, epoch, logs=None):
        restored = self.model.predict(self.inputs, batch_size=16, verbose=0)
        mse = np.mean((np.clip(restored, 0, 1) - self.targets) ** 2)
        psnr = float(10 * np.log10(1.0 / mse))
        logs = logs or {}
        logs["val_psnr"] = psnr
        self.log(
            f"epoch {epoch + 1}: loss {logs.get('loss', float('nan')):.6f} "
            f"val PSNR {psnr:.3f} dB (Wiener input {self.wiener_psnr:.3f} dB, "
            f"gain {psnr - self.wiener_psnr:+.3f} dB)"
        )


class AtomicCheckpoint(keras.callbacks.Callback):
    def __init__(self, path, state_path):
        super().__init__()
        self.path, self.state_path = path, state_path

    def on_epoch_end(self, epoch, logs=None):
        tmp = self.path + ".tmp.weights.h5"
        self.model.save_weights(tmp)
        os.replace(tmp, self.path)
        with open(self.state_path + ".tmp", "w") as file:
            json.dump({"epochs_done": epoch + 1}, file)
        os.replace(self.state_path + ".tmp", self.state_path)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    log_file = open(os.path.join(args.output, f"{args.preset}.train.log"), "a")

    def log(text):
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    start = time.time()
    keras.utils.set_random_seed(args.seed)
    log(f"command: {' '.join(sys.argv)}")
    log(
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    photos = training_photos()
    log(f"degrading {len(photos)} photos x {args.per_photo}")
    bar = keras.utils.Progbar(len(photos) * args.per_photo)
    front_end = {"colour": args.colour, "balance": args.balance}
    pool = degradation_pool(
        photos,
        per_photo=args.per_photo,
        seed=args.seed,
        progress=bar,
        blind_share=args.blind_share,
        sigma_jitter=args.sigma_jitter,
        jitter_std=args.jitter_std,
        **front_end,
    )
    validation = degradation_pool(
        [load_photo(VALIDATION_PHOTO)], per_photo=4, seed=args.seed + 1, **front_end
    )
    val_x, val_y = next(patch_batches(validation, 96, 96, seed=args.seed + 2))
    log(f"pool: {len(pool)} channel images, built in {time.time() - start:.0f} s")

    config = PRESET_CONFIGS[args.preset]
    network = DeblurNetwork(**config, name=args.preset)
    network.build((None, None, None, len(INPUT_CHANNELS)))
    epochs = max(1, args.steps // args.steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        args.learning_rate, epochs * args.steps_per_epoch, alpha=0.02
    )
    network.compile(keras.optimizers.Adam(schedule, clipnorm=1.0), loss="mse")
    checkpoint = os.path.join(args.output, f"{args.preset}.checkpoint.weights.h5")
    state_path = os.path.join(args.output, f"{args.preset}.checkpoint.json")
    initial_epoch = 0
    if args.resume and os.path.exists(state_path):
        network.load_weights(checkpoint)
        with open(state_path) as file:
            initial_epoch = json.load(file)["epochs_done"]
        network.optimizer.iterations.assign(initial_epoch * args.steps_per_epoch)
        log(f"resumed after epoch {initial_epoch}")
    score = ValidationScore(val_x, val_y, log)
    log(f"network: {config}, {network.count_params()} parameters; {epochs} epochs")
    history = network.fit(
        patch_batches(
            pool, args.batch_size, args.patch_size, seed=args.seed + initial_epoch
        ),
        steps_per_epoch=args.steps_per_epoch,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=[score, AtomicCheckpoint(checkpoint, state_path)],
        verbose=2,
    )
    weights = os.path.join(args.output, f"{args.preset}.weights.h5")
    network.save_weights(weights)
    record = {
        "preset": args.preset,
        "network": config,
        "front_end": front_end,
        "training": {
            "command": "python examples/train_photo_restorer.py "
            + " ".join(a for a in sys.argv[1:]),
            "photos": [n for n in PHOTO_TRAIN_SET if n != VALIDATION_PHOTO],
            "validation_photo": VALIDATION_PHOTO,
            "steps": epochs * args.steps_per_epoch,
            "batch_size": args.batch_size,
            "patch_size": args.patch_size,
            "per_photo": args.per_photo,
            "blind_share": args.blind_share,
            "sigma_jitter": args.sigma_jitter,
            "jitter_std": args.jitter_std,
            "seed": args.seed,
            "sigma_range": [0.8, 3.2],
            "noise_range": [0.0, 0.03],
            "wall_seconds": round(time.time() - start),
            "validation_psnr": history.history["val_psnr"][-1],
            "validation_wiener_psnr": score.wiener_psnr,
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
        },
    }
    with open(os.path.join(args.output, f"{args.preset}.json"), "w") as file:
        json.dump(record, file, indent=2)
    log(f"done in {time.time() - start:.0f} s: {weights}")


if __name__ == "__main__":
    main()
