"""A tiny resumable training run that `test_fault_injection.py` kills and resumes.

The run goes through the same calls as the example scripts: `start_run`
(the folder's manifest), `fit_resumable` (a checkpoint per epoch),
`finish_run` (the model saved, the backup deleted), and scores the model.
Run as a script, `python tests/fault_driver.py OUTPUT_DIR`, it writes the
final loss to `OUTPUT_DIR/final_loss.json`; `FAULT_DRIVER_KILL=E:B` makes it
SIGKILL itself after batch B of epoch E (both from 0), and
`KERAS_SEQIMAGE_FAULT` kills it inside a write (see `keras_seqimage._files`).
"""

import json
import os
import signal
import sys
from pathlib import Path

import keras
import numpy as np

from keras_seqimage import datasets, experiments

EPOCHS = 6
BATCHES = 4  # per epoch
KILL_ENV = "FAULT_DRIVER_KILL"


def blur(images):
    """A fixed 3-tap blur along rows and columns (numpy: no backend state)."""
    images = np.asarray(images, dtype="float32")
    rows = (np.roll(images, 1, axis=1) + images + np.roll(images, -1, axis=1)) / 3
    return (np.roll(rows, 1, axis=2) + rows + np.roll(rows, -1, axis=2)) / 3


def make_data(shuffle=True):
    rng = np.random.default_rng(0)
    images = (rng.random((12 * BATCHES, 8, 8, 1)) * 255).astype("uint8")
    return datasets.CorruptedPairs(images, blur, batch_size=12, shuffle=shuffle, seed=0)


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="tanh"),
            keras.layers.Conv2D(1, 3, padding="same"),
        ]
    )
    # Adam: a resumed run that restarted the optimizer would end elsewhere.
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return model


def final_loss(model):
    return float(model.evaluate(make_data(shuffle=False), verbose=0))


def run(output_dir, callbacks=(), model=None):
    """Train (or resume, or reuse) the run in `output_dir`; its final loss."""
    model = model or make_model()
    if experiments.start_run(output_dir, {"epochs": EPOCHS, "lr": 0.02}):
        model = keras.saving.load_model(Path(output_dir) / experiments.MODEL_FILE)
    else:
        experiments.fit_resumable(
            model,
            make_data(),
            output_dir=output_dir,
            epochs=EPOCHS,
            callbacks=list(callbacks),
            verbose=0,
        )
        experiments.finish_run(output_dir, model)
    return final_loss(model)


class KillAt(keras.callbacks.Callback):
    """SIGKILLs the process after batch `batch` of epoch `epoch`."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.target = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.target:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv):
    output_dir = Path(argv[0])
    kill = os.environ.get(KILL_ENV)
    callbacks = [KillAt(*map(int, kill.split(":")))] if kill else []
    loss = run(output_dir, callbacks)
    (output_dir / "final_loss.json").write_text(json.dumps(loss))


if __name__ == "__main__":
    experiments.report_errors(main, sys.argv[1:])
