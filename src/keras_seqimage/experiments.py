"""The machinery of the example scripts: resumable training and results tables.

`examples/cifar_deblur.py`, `compare_models.py` and `mnist_inpaint.py` share
these functions, and a user's own experiment can too:

- `fit_resumable` trains with `keras.callbacks.BackupAndRestore`, a CSV log
  and per-epoch timing, so a run killed at any moment and started again with
  the same output folder resumes from the last finished epoch;
- `score_methods` scores any number of restorations against the clean
  images (MSE, PSNR, SSIM) and `results_table` writes them as Markdown;
- `run_command` records how the results were produced.
"""

import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from keras_seqimage.metrics import restoration_scores
from keras_seqimage.visualization import load_history

__all__ = [
    "EpochTimer",
    "fit_resumable",
    "finish_resumable",
    "has_backup",
    "median_epoch_seconds",
    "results_table",
    "run_command",
    "score_methods",
]

BACKUP_FOLDER = "backup"
TRAINING_LOG = "training_log.csv"


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds`, the wall time of each epoch, to the epoch logs.

    Place it before a `CSVLogger` so the time is written to the log.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def _backup_epoch(backup_dir):
    """The number of finished epochs recorded in a `BackupAndRestore` folder."""
    metadata = Path(backup_dir) / "training_metadata.json"
    if not metadata.is_file():
        return None
    return int(json.loads(metadata.read_text())["epoch"])


def fit_resumable(
    model,
    x,
    y=None,
    *,
    output_dir,
    epochs,
    validation_data=None,
    batch_size=None,
    callbacks=(),
    verbose="auto",
):
    """`model.fit` that survives being killed: resumes from the last epoch.

    Training state (weights, optimizer, epoch) is backed up to
    `output_dir/backup/` after every epoch (`keras.callbacks.BackupAndRestore`)
    and each epoch's logs, with its wall time as `epoch_seconds`, are appended
    to `output_dir/training_log.csv`. Started again with the same
    `output_dir`, training continues after the last finished epoch. A data
    object with an `epoch` attribute (such as
    `keras_seqimage.datasets.CorruptedPairs`) is set to that epoch first, so
    the resumed run sees the same batches as an uninterrupted one.

    The backup is kept when `fit` returns: call `finish_resumable` once the
    trained model is saved, so that an interruption in between cannot lose
    the training.

    Args:
        model: a compiled `keras.Model`.
        x, y, validation_data, batch_size, verbose: as in `model.fit`.
        output_dir: str or path, the run's folder.
        epochs: int, the total number of epochs (not the remaining ones).
        callbacks: more callbacks for `fit`.

    Returns:
        The training history, one entry per epoch of the whole run (also the
        epochs before an interruption), as a dict of lists read from the CSV
        log; `history["epoch"]` counts from 0.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = output_dir / BACKUP_FOLDER
    log_path = output_dir / TRAINING_LOG
    start_epoch = _backup_epoch(backup_dir)
    if start_epoch is None:
        start_epoch = 0
        if log_path.exists():  # the log of an earlier, finished run
            log_path.unlink()
    else:
        print(f"Resuming from {backup_dir}: {start_epoch} of {epochs} epochs done.")
    if hasattr(x, "epoch"):
        x.epoch = start_epoch
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=[
            EpochTimer(),
            keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False),
            keras.callbacks.CSVLogger(str(log_path), append=True),
            *callbacks,
        ],
        verbose=verbose,
    )
    return read_training_log(log_path)


def has_backup(output_dir):
    """Whether `output_dir` holds the backup of an unfinished `fit_resumable`."""
    return _backup_epoch(Path(output_dir) / BACKUP_FOLDER) is not None


def finish_resumable(output_dir):
    """Delete the training backup of `fit_resumable` (after saving the model)."""
    shutil.rmtree(Path(output_dir) / BACKUP_FOLDER, ignore_errors=True)


def read_training_log(path):
    """The CSV log as a dict of lists, one entry per epoch.

    A run killed between writing an epoch's log line and its backup repeats
    that epoch when resumed; the last line of each epoch is kept.
    """
    if not Path(path).is_file():
        return {}
    history = load_history(path)
    if not history.get("epoch"):
        return {}  # no epoch finished yet (or `fit` ran for 0 epochs)
    last = {epoch: row for row, epoch in enumerate(history["epoch"])}
    rows = [last[epoch] for epoch in sorted(last)]
    return {key: [values[i] for i in rows] for key, values in history.items()}


def median_epoch_seconds(history):
    """Median wall time of an epoch in a `fit_resumable` history, or `None`."""
    seconds = history.get("epoch_seconds", [])
    return float(np.median(seconds)) if seconds else None


def score_methods(clean, methods, data_range=1.0):
    """Score several restorations of the same clean images.

    Args:
        clean: float array `(n, height, width, channels)` in [0, 1].
        methods: dict mapping a method name (e.g. `"blurred input"`,
            `"Wiener"`, a model name) to its images, same shape as `clean`.
        data_range: float, the pixel value range. Defaults to `1.0`.

    Returns:
        dict mapping each method name to `restoration_scores(clean, images)`:
        the mean MSE, PSNR and SSIM.
    """
    return {
        name: restoration_scores(clean, images, data_range=data_range)
        for name, images in methods.items()
    }


def _cell(value, digits):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10**-digits:  # would print as 0.000
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def results_table(rows, columns, digits=None):
    """A Markdown table of dict rows.

    Args:
        rows: list of dicts (one per table row).
        columns: dict mapping a key of the rows to its column title.
        digits: optional dict mapping a key to the decimals shown
            (floats default to 4; a value too small for them is shown in
            scientific notation, e.g. `3.2e-09`).

    Returns:
        The table as a string.

    Example:

    >>> print(results_table([{"name": "blurred", "psnr": 25.81}],
    ...                     {"name": "method", "psnr": "PSNR (dB)"},
    ...                     digits={"psnr": 2}))
    | method | PSNR (dB) |
    | --- | ---: |
    | blurred | 25.81 |
    """
    digits = digits or {}
    titles = list(columns.values())
    lines = [
        "| " + " | ".join(titles) + " |",
        "| "
        + " | ".join(
            "---" if i == 0 else "---:" for i, _ in enumerate(columns.values())
        )
        + " |",
    ]
    for row in rows:
        cells = [_cell(row.get(key), digits.get(key, 4)) for key in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_command(argv=None):
    """The shell command that reproduces this run, backend included."""
    argv = sys.argv if argv is None else argv
    script = os.path.relpath(argv[0]) if argv else "python"
    backend = keras.backend.backend()
    return f"KERAS_BACKEND={backend} python " + shlex.join([script, *argv[1:]])
