"""The machinery of the example scripts: resumable training and results tables.

`examples/cifar_deblur.py`, `compare_models.py` and `mnist_inpaint.py` share
these functions, and a user's own experiment can too:

- `fit_resumable` trains with a crash-safe checkpoint after every epoch, a
  CSV log and per-epoch timing, so a run killed at any moment and started
  again with the same output folder resumes from the last finished epoch;
- `start_run` and `finish_run` keep a manifest of what produced an output
  folder: a rerun with the same arguments resumes or reuses the trained
  model, one with other arguments is refused (never re-labelled);
- `save_model` and `write_text` write files whole or not at all, and
  `report_errors` turns a full disk or a permission error into one line;
- `score_methods` scores any number of restorations against the clean
  images (MSE, PSNR, SSIM) and `results_table` writes them as Markdown;
- `run_command` records how the results were produced.
"""

import errno
import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from keras_seqimage import _files, backend
from keras_seqimage.metrics import restoration_scores
from keras_seqimage.visualization import load_history

__all__ = [
    "EpochTimer",
    "OutputFolderError",
    "data_fingerprint",
    "finish_resumable",
    "finish_run",
    "fit_resumable",
    "has_backup",
    "median_epoch_seconds",
    "read_manifest",
    "report_errors",
    "results_table",
    "run_command",
    "save_model",
    "score_methods",
    "start_run",
    "write_text",
]

BACKUP_FOLDER = "backup"
TRAINING_LOG = "training_log.csv"
MANIFEST = "run_manifest.json"
MODEL_FILE = "model.keras"
_METADATA = "training_metadata.json"
_LEGACY_WEIGHTS = "latest.weights.h5"  # `keras.callbacks.BackupAndRestore`'s
_MISSING = "(not recorded)"


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds`, the wall time of each epoch, to the epoch logs.

    Place it before a `CSVLogger` so the time is written to the log.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class _Backup:
    """The checkpoints of `fit_resumable` in one folder.

    Each checkpoint is a whole `.keras` file (weights and optimizer state;
    its HDF5 part is built in memory, so a full disk is a Python `OSError`,
    not a crash inside HDF5), written atomically as `epoch_NNNN.keras`. Then
    `training_metadata.json` is replaced atomically by a record of the new
    checkpoint and the one before (size and SHA-256 of each); only then are
    the files it no longer names deleted. At every moment the record names
    whole files, and a damaged one is caught by its size and digest. A
    model that cannot be saved whole (a subclass without `get_config`) is
    backed up as `epoch_NNNN.weights.h5` (weights and optimizer state), the
    same way.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.metadata_path = self.folder / _METADATA
        self.kept = []  # the checkpoints known good, newest first
        self.weights_only = False

    def entries(self):
        """The recorded checkpoints, newest first (`[]` when there are none)."""
        if not self.metadata_path.is_file():
            return []
        try:
            metadata = json.loads(self.metadata_path.read_text())
            epoch = int(metadata["epoch"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            # Not from our atomic writes; try the checkpoint files, newest first.
            print(f"Backup record {self.metadata_path} is unreadable ({error}).")
            names = sorted(
                (p.name for p in self.folder.glob("epoch_*") if p.is_file()),
                reverse=True,
            )
            return [
                {"epoch": int(name.split(".")[0][6:]), "file": name, "unverified": 1}
                for name in names
                if name.split(".")[0][6:].isdigit()
            ]
        if "checkpoints" not in metadata:  # written by BackupAndRestore
            return [{"epoch": epoch, "file": _LEGACY_WEIGHTS}]
        return list(metadata["checkpoints"])

    def _problem(self, entry):
        """Why the checkpoint of `entry` cannot be used, or `None`."""
        path = self.folder / entry["file"]
        if not path.is_file():
            return "missing"
        if "bytes" not in entry:
            return None  # a BackupAndRestore file: loading it is the test
        size, digest = _files.file_digest(path)
        if size != entry["bytes"]:
            return f"{size} bytes, {entry['bytes']} written"
        if digest != entry["sha256"]:
            return "its SHA-256 differs from the one written"
        return None

    def restore(self, model):
        """Load the newest good checkpoint into `model`; the epochs it holds.

        A damaged checkpoint is reported in one line and the one before is
        tried; with none left, training starts from epoch 0.
        """
        entries = self.entries()
        if not entries:
            return 0
        if not model.built:
            raise ValueError(
                "`model` must be built to resume from the backup in "
                f"{self.folder}. Received: an unbuilt model {model.name!r}; "
                "call it on a batch or `build()` it first."
            )
        if model.optimizer is not None and not model.optimizer.built:
            # The checkpoint holds the optimizer state: its variables must exist.
            model.optimizer.build(model.trainable_variables)
        variables = list(model.variables)
        if model.optimizer is not None:
            variables += list(model.optimizer.variables)
        initial = None
        for index, entry in enumerate(entries):
            path = self.folder / entry["file"]
            problem = self._problem(entry)
            if problem is None:
                if initial is None:
                    initial = [keras.ops.convert_to_numpy(v) for v in variables]
                try:
                    model.load_weights(path)
                except Exception as error:
                    for variable, value in zip(variables, initial, strict=True):
                        variable.assign(value)  # nothing half-loaded
                    reason = str(error).splitlines()[0] if str(error) else ""
                    legacy_damage = "bytes" not in entry and isinstance(error, OSError)
                    if not (legacy_damage or entry.get("unverified")):
                        # A whole file this model cannot load: another model's.
                        raise ValueError(
                            f"The backup in {self.folder} was written by another "
                            f"model: {path.name} does not load into "
                            f"{model.name!r} ({type(error).__name__}: {reason}). "
                            "Use another output folder, or delete the backup."
                        ) from error
                    problem = f"cannot be opened: {reason}"
                else:
                    self.kept = [entry]
                    return int(entry["epoch"])
            later = entries[index + 1 :]
            then = (
                f"falling back to epoch {later[0]['epoch']}"
                if later
                else "no good checkpoint is left: training from epoch 0"
            )
            print(f"Checkpoint {path} is damaged ({problem}); {then}.")
        return 0

    def save(self, model, epoch):
        """Back up `model` after `epoch` finished epochs (see the class)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        written = None
        if not self.weights_only:
            name = f"epoch_{epoch:04d}.keras"
            _check_free_space(self.folder / name, model)
            try:
                written = _files.write_atomic(
                    self.folder / name, model.save, fault="checkpoint", step=epoch
                )
            except (NotImplementedError, TypeError) as error:
                # A model without a config (`get_config`) has no `.keras` file.
                print(
                    f"Backing up the weights of {model.name!r} only (.weights.h5): "
                    f"it cannot be saved whole ({type(error).__name__}: {error})."
                )
                self.weights_only = True
        if self.weights_only:
            name = f"epoch_{epoch:04d}.weights.h5"
            _check_free_space(self.folder / name, model, factor=2)
            written = _files.write_atomic(
                self.folder / name, model.save_weights, fault="checkpoint", step=epoch
            )
        size, digest = written
        entry = {"epoch": epoch, "file": name, "bytes": size, "sha256": digest}
        kept = [entry, *[e for e in self.kept if e["epoch"] < epoch][:1]]
        metadata = {"epoch": epoch, "checkpoints": kept}
        _files.write_atomic(
            self.metadata_path,
            lambda path: Path(path).write_text(json.dumps(metadata, indent=1)),
            fault="metadata",
            step=epoch,
        )
        self.kept = kept
        # Only files the record no longer names (and leftovers of killed writes).
        named = {_METADATA, *(e["file"] for e in kept)}
        for path in self.folder.iterdir():
            if path.name not in named and path.is_file():
                path.unlink()

    def delete(self):
        """Delete the backup: the record first, so it never names lost files."""
        if self.metadata_path.exists():
            self.metadata_path.unlink()
            _files.fsync_folder(self.folder)
        _files.fault_point("finish_record_deleted")
        shutil.rmtree(self.folder, ignore_errors=True)


def _check_free_space(path, model, factor=1):
    """Raise `OSError(ENOSPC)` naming `path` if a checkpoint cannot fit there.

    HDF5 writing to a full disk can crash the process (a segmentation
    fault) instead of raising; a `.keras` checkpoint builds its HDF5 part in
    memory, but Keras writes it through a file beside the target for models
    too large for the memory, and `.weights.h5` always does. The size of the
    variables (weights and optimizer state) must be free, twice that for
    `.weights.h5` (HDF5 on disk).
    """
    variables = list(model.variables)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    needed = factor * sum(
        int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables
    )
    free = shutil.disk_usage(Path(path).parent).free
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device ({free:,} bytes free, {needed:,} needed)",
            str(path),
        )


class _BackupEachEpoch(keras.callbacks.Callback):
    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_epoch_end(self, epoch, logs=None):
        self.backup.save(self.model, epoch + 1)


def _backup_epoch(backup_dir):
    """The finished epochs of the newest checkpoint recorded in `backup_dir`."""
    entries = _Backup(backup_dir).entries()
    return int(entries[0]["epoch"]) if entries else None


def _keep_logged_epochs(log_path, epochs):
    """Cut the CSV log to its whole lines of the first `epochs` epochs.

    Lines of epochs the resumed run trains again (written after the
    checkpoint the run resumes from, or cut short by a kill) are dropped.
    """
    if not log_path.is_file():
        return
    lines = log_path.read_text().splitlines(keepends=True)
    if not lines:
        return
    header, width = lines[0], lines[0].count(",")
    kept = [header]
    for line in lines[1:]:
        first = line.split(",", 1)[0]
        if line.endswith("\n") and line.count(",") == width and first.isdigit():
            if int(first) < epochs:
                kept.append(line)
    if kept != lines:
        _files.write_text_atomic(log_path, "".join(kept))


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

    After every epoch the training state (weights, optimizer state, epoch) is
    written to `output_dir/backup/` as a whole new `.keras` file (under a
    temporary name, synced, renamed into place), then named with its size
    and SHA-256 in `training_metadata.json` (replaced the same way); the
    checkpoint before is deleted only at the next one. A process killed at
    any moment, even in the middle of that write, leaves the last good
    checkpoint and the one before. Each epoch's logs, with its wall time as
    `epoch_seconds`, are appended to `output_dir/training_log.csv`.

    Started again with the same `output_dir`, training continues after the
    last finished epoch, with the optimizer's state, so the weights end as
    in an uninterrupted run; a checkpoint found damaged (size or SHA-256
    unlike the ones written) is reported in one line and the one before is
    used. A data object with an `epoch` attribute (such as
    `keras_seqimage.datasets.CorruptedPairs`) is set to that epoch first,
    so the resumed run sees the same batches as an
    uninterrupted one.

    The backup is kept when `fit` returns: call `finish_resumable` (or
    `finish_run`) once the trained model is saved, so that an interruption
    in between cannot lose the training. A failed write (disk full, no
    permission) raises an `OSError` naming the file and leaves the previous
    checkpoint as it was.

    Args:
        model: a compiled `keras.Model`, built when a backup is to be
            resumed (as the toolkit's models are).
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
    backup = _Backup(output_dir / BACKUP_FOLDER)
    log_path = output_dir / TRAINING_LOG
    start_epoch = backup.restore(model)
    if start_epoch == 0:
        if log_path.exists():  # the log of an earlier, finished run
            log_path.unlink()
    else:
        print(f"Resuming from {backup.folder}: {start_epoch} of {epochs} epochs done.")
        _keep_logged_epochs(log_path, start_epoch)
    if hasattr(x, "epoch"):
        x.epoch = start_epoch
    if model.built and model.optimizer is not None and not model.optimizer.built:
        # Built now, so that an error inside `fit` leaves its state in place too.
        model.optimizer.build(model.trainable_variables)
    # On JAX, an error inside `fit` (a full disk at a checkpoint) must not
    # leave the model without its variables: they hold the trained epochs.
    with backend.loop_guard(model):
        model.fit(
            x,
            y,
            epochs=epochs,
            initial_epoch=start_epoch,
            batch_size=batch_size,
            validation_data=validation_data,
            callbacks=[
                EpochTimer(),
                # The log line first: a kill before the checkpoint repeats the epoch
                # and `_keep_logged_epochs` drops its line.
                keras.callbacks.CSVLogger(str(log_path), append=True),
                _BackupEachEpoch(backup),
                *callbacks,
            ],
            verbose=verbose,
        )
    return read_training_log(log_path)


def has_backup(output_dir):
    """Whether `output_dir` holds the backup of an unfinished `fit_resumable`."""
    return _backup_epoch(Path(output_dir) / BACKUP_FOLDER) is not None


def finish_resumable(output_dir):
    """Delete the training backup of `fit_resumable` (after saving the model).

    The record goes first, then the checkpoints: a kill in between leaves no
    record that names a missing file.
    """
    _Backup(Path(output_dir) / BACKUP_FOLDER).delete()


class OutputFolderError(ValueError):
    """An output folder holds the run of other arguments (see `start_run`)."""


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _versions():
    import keras_seqimage

    return {
        "keras_seqimage": keras_seqimage.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _short(value):
    if value is _MISSING:
        return value
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_manifest(output_dir):
    """The record `start_run` keeps in `output_dir`, or `None` without one."""
    path = Path(output_dir) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _write_manifest(output_dir, manifest):
    _files.write_text_atomic(
        Path(output_dir) / MANIFEST, json.dumps(manifest, indent=2) + "\n"
    )


def _model_problem(output_dir, manifest):
    """Why the saved model of a finished run is unusable, or `None`."""
    path = Path(output_dir) / MODEL_FILE
    if not path.is_file():
        return "missing"
    recorded = manifest.get("model") or {}
    size, digest = _files.file_digest(path)
    if recorded and (size, digest) != (recorded.get("bytes"), recorded.get("sha256")):
        return "not the file the run saved"
    return None


def start_run(output_dir, arguments, *, retrain=False, record=None, hint=None):
    """Claim `output_dir` for a run of `arguments`; is its model trained?

    An output folder holds one run: `run_manifest.json` records the
    arguments that produced it (what decides the trained model: the model,
    its preset and constructor arguments, the training settings, a
    fingerprint of the data), the package versions and `record` (free
    information, never compared). A folder written by other arguments is
    refused, so that a model or a results table is never labelled with
    arguments it was not made with:

    - same arguments, model saved: returns `True` (load `model.keras`);
    - same arguments, not finished: returns `False`; `fit_resumable`
      resumes the backup, if any;
    - other arguments: raises `OutputFolderError` naming each argument that
      differs, unless `retrain`; then the folder is claimed for the new
      arguments (its backup deleted, the old `model.keras` kept until the
      new one replaces it) and `False` is returned.

    With `retrain` and the same arguments, a finished run is trained anew
    (and a killed retraining resumes). A folder from before manifests
    existed is adopted with a one-line notice.

    Args:
        output_dir: str or path, the run's folder (created if missing).
        arguments: dict of JSON-able values, the arguments compared.
        retrain: bool, train even if the folder holds a trained model, and
            replace a run of other arguments. Defaults to `False`.
        record: optional dict stored in the manifest, not compared.
        hint: optional str ending the refusal (e.g. which options to use).

    Returns:
        bool: whether `output_dir` holds the finished model of `arguments`.

    Raises:
        OutputFolderError: the folder holds a run of other arguments.

    Example:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> start_run(folder, {"epochs": 2})
    False
    >>> start_run(folder, {"epochs": 3})
    Traceback (most recent call last):
    ...
    keras_seqimage.experiments.OutputFolderError: ... epochs 2 (this run: 3)...
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    arguments = _jsonable(arguments)
    manifest = {
        "arguments": arguments,
        "record": _jsonable(record or {}),
        "versions": _versions(),
        "finished": False,
    }
    try:
        old = read_manifest(output_dir)
    except (OSError, ValueError) as error:
        if not retrain:
            raise OutputFolderError(
                f"{output_dir / MANIFEST} cannot be read ({error})"
                + (f"; {hint}" if hint else "")
            ) from error
        old = None
    model_path = output_dir / MODEL_FILE
    if old is None:
        if (model_path.is_file() or has_backup(output_dir)) and not retrain:
            print(
                f"{output_dir} has no {MANIFEST} (written by an older version): "
                "assuming it was made by these arguments."
            )
            if model_path.is_file() and not has_backup(output_dir):
                size, digest = _files.file_digest(model_path)
                manifest.update(finished=True, model={"bytes": size, "sha256": digest})
                _write_manifest(output_dir, manifest)
                return True
        _write_manifest(output_dir, manifest)
        return False
    previous = old.get("arguments", {})
    differences = [
        f"{key} {_short(previous.get(key, _MISSING))} "
        f"(this run: {_short(arguments.get(key, _MISSING))})"
        for key in sorted({*previous, *arguments})
        if previous.get(key, _MISSING) != arguments.get(key, _MISSING)
    ]
    if differences:
        if not retrain:
            raise OutputFolderError(
                f"{output_dir} holds a run of other arguments: "
                + ", ".join(differences)
                + (f"; {hint}" if hint else "")
            )
        changed = ", ".join(differences)
        print(f"Retraining in {output_dir} with other arguments: {changed}.")
        finish_resumable(output_dir)
        _write_manifest(output_dir, manifest)
        return False
    if old.get("finished"):
        problem = _model_problem(output_dir, old)
        if problem is None and not retrain:
            finish_resumable(output_dir)  # left if killed before it ran
            return True
        if problem is not None:
            print(f"The saved model {model_path} is {problem}: training again.")
        finish_resumable(output_dir)
        _write_manifest(output_dir, {**old, "finished": False, "model": None})
    return False


def save_model(model, path):
    """Save `model` (`.keras`) whole or not at all.

    The file is written under a temporary name in the same folder, synced
    and renamed over `path`, so a kill or a full disk never leaves a
    truncated model where a good one was. Returns `(size, sha256)`.

    Raises:
        OSError: the write failed; the message names `path`.
    """
    return _files.write_atomic(path, model.save, fault="model")


def write_text(path, text):
    """Write a text file (a results table, JSON) whole or not at all."""
    _files.write_text_atomic(path, text)


def finish_run(output_dir, model):
    """Save the trained model of a `start_run` run and close the run.

    In the order that never loses training: `model.keras` (atomically), the
    manifest marked finished with the model's size and SHA-256, and only
    then the training backup deleted.
    """
    output_dir = Path(output_dir)
    size, digest = save_model(model, output_dir / MODEL_FILE)
    manifest = read_manifest(output_dir)
    if manifest is not None:  # none when `start_run` was not used
        manifest.update(
            finished=True, model={"bytes": size, "sha256": digest}, versions=_versions()
        )
        _write_manifest(output_dir, manifest)
    finish_resumable(output_dir)


def data_fingerprint(*arrays):
    """A short record of arrays (shape, dtype, SHA-256 of the bytes), JSON-able.

    Put it in `start_run`'s arguments: a folder trained on other data is then
    refused like one trained with other settings.
    """
    records = []
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest = hashlib.sha256(array.view(np.uint8).reshape(-1)).hexdigest()
        records.append(f"{'x'.join(map(str, array.shape))} {array.dtype} {digest[:16]}")
    return records


def report_errors(main, argv=None):
    """Run a script's `main(argv)`; a file or folder error ends in one line.

    An `OSError` (disk full, no permission, a missing data file) or an
    `OutputFolderError` is printed as `script: error: ...` on stderr, and
    the process exits with status 1 instead of a traceback.
    """
    try:
        return main(argv)
    except (OSError, OutputFolderError) as error:
        script = os.path.basename(sys.argv[0]) if sys.argv else "python"
        print(f"{script}: error: {error}", file=sys.stderr)
        raise SystemExit(1) from None


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
