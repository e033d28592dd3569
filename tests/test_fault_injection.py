"""Faults during a resumable run: each one keeps the trained epochs.

A tiny run (`tests/fault_driver.py`: the calls of the example scripts) is
killed with SIGKILL at a random batch of an epoch and at exact places inside
the checkpoint, record, model and cleanup writes (`KERAS_SEQIMAGE_FAULT`:
the process kills itself there, half-way through a file for the `*_half`
points), then meets a full disk, a folder it may not write and damaged
checkpoints. After each fault the next run resumes, and the final loss is
within 1 % of an uninterrupted run's.

The kill points are drawn at random (the seed is in every failure message;
set `FAULT_SEED` to repeat a draw); `-m slow` runs every write point.
"""

import errno
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from keras_seqimage import _files, experiments
from tests import fault_driver

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX only"
)

DRIVER = Path(fault_driver.__file__)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EPOCHS = fault_driver.EPOCHS
# Kill points inside the write of the checkpoint after an epoch, and inside
# the end of the run (the model saved, the backup deleted).
CHECKPOINT_POINTS = (
    "checkpoint_half",  # the new checkpoint half written
    "checkpoint_written",  # in place, not yet in the record
    "metadata_half",  # the new record half written
    "metadata_written",  # recorded, the oldest file not yet deleted
)
FINISH_POINTS = ("model_half", "model_written", "finish_record_deleted")
SEED = int(os.environ.get("FAULT_SEED", random.randrange(10**6)))


@pytest.fixture(scope="module")
def reference_loss(tmp_path_factory):
    """The final loss of the same run, never interrupted (in this process)."""
    return fault_driver.run(tmp_path_factory.mktemp("reference"))


def run_driver(folder, fault=None, kill=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop(_files.FAULT_ENV, None)
    env.pop(fault_driver.KILL_ENV, None)
    if fault:
        env[_files.FAULT_ENV] = fault
    if kill:
        env[fault_driver.KILL_ENV] = kill
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), root) if p)
    return subprocess.run(
        [sys.executable, str(DRIVER), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def epochs_kept(folder):
    """The epochs of the newest checkpoint, after checking it is whole."""
    backup = experiments._Backup(folder / experiments.BACKUP_FOLDER)
    entries = backup.entries()
    if not entries:
        return 0
    for entry in entries:  # every recorded checkpoint is whole
        assert backup._problem(entry) is None, entry
    return entries[0]["epoch"]


def logged_epochs(folder):
    return experiments.read_training_log(folder / experiments.TRAINING_LOG)["epoch"]


def assert_finished(folder, reference_loss, context=""):
    """The run ended: every epoch once, the model saved, no backup left."""
    assert logged_epochs(folder) == list(range(EPOCHS)), context
    assert not (folder / experiments.BACKUP_FOLDER).exists(), context
    manifest = experiments.read_manifest(folder)
    assert manifest["finished"], context
    loss = json.loads((folder / "final_loss.json").read_text())
    assert loss == pytest.approx(reference_loss, rel=0.01), context


def kill_chain(folder, reference_loss, rng, checkpoint_point, finish_point):
    """Kill one run after another at the given points; the last one finishes."""
    context = f"FAULT_SEED={SEED}"
    # 1. At a random batch of a random epoch.
    epoch, batch = rng.randint(1, 2), rng.randrange(fault_driver.BATCHES)
    killed = run_driver(folder, kill=f"{epoch}:{batch}")
    context += f", killed at batch {batch} of epoch {epoch}"
    assert killed.returncode == -signal.SIGKILL, (context, killed.stderr[-2000:])
    assert epochs_kept(folder) == epoch, context

    # 2. Inside the checkpoint written after the second epoch of the next run.
    step = epoch + 2
    killed = run_driver(folder, fault=f"{checkpoint_point}@{step}")
    context += f", then at {checkpoint_point}@{step}"
    assert killed.returncode == -signal.SIGKILL, (context, killed.stderr[-2000:])
    recorded = checkpoint_point == "metadata_written"
    assert epochs_kept(folder) == (step if recorded else step - 1), context

    # 3. Inside the end of the run.
    killed = run_driver(folder, fault=finish_point)
    context += f", then at {finish_point}"
    assert killed.returncode == -signal.SIGKILL, (context, killed.stderr[-2000:])
    if finish_point == "finish_record_deleted":
        assert experiments.read_manifest(folder)["finished"], context
    else:
        assert epochs_kept(folder) == EPOCHS, context
        assert not experiments.read_manifest(folder)["finished"], context

    # 4. Uninterrupted: it finishes (or reuses the saved model).
    done = run_driver(folder)
    assert done.returncode == 0, (context, done.stderr[-2000:])
    assert " is damaged " not in done.stdout, (context, done.stdout)
    assert_finished(folder, reference_loss, context)


def test_sigkill_anywhere_keeps_the_trained_epochs(tmp_path, reference_loss):
    rng = random.Random(SEED)
    kill_chain(
        tmp_path,
        reference_loss,
        rng,
        rng.choice(CHECKPOINT_POINTS),
        rng.choice(FINISH_POINTS),
    )


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CHECKPOINT_POINTS)))
def test_sigkill_at_every_write_point(tmp_path, reference_loss, index):
    kill_chain(
        tmp_path,
        reference_loss,
        random.Random(SEED + index),
        CHECKPOINT_POINTS[index],
        FINISH_POINTS[index % len(FINISH_POINTS)],
    )


class StopAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.stop = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop:
            raise KeyboardInterrupt(f"stopped at epoch {epoch}")


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "deleted"])
def test_a_damaged_checkpoint_falls_back_to_the_one_before(
    tmp_path, reference_loss, capsys, damage
):
    with pytest.raises(KeyboardInterrupt):
        fault_driver.run(tmp_path, callbacks=[StopAtEpoch(3)])
    newest = tmp_path / "backup" / "epoch_0003.keras"
    content = newest.read_bytes()
    if damage == "truncated":
        newest.write_bytes(content[: len(content) // 2])
    elif damage == "flipped byte":
        middle = len(content) // 2
        newest.write_bytes(
            content[:middle] + bytes([content[middle] ^ 1]) + content[middle + 1 :]
        )
    else:
        newest.unlink()
    capsys.readouterr()

    loss = fault_driver.run(tmp_path)
    out = capsys.readouterr().out
    damaged = [line for line in out.splitlines() if " is damaged " in line]
    assert len(damaged) == 1 and "falling back to epoch 2" in damaged[0], out
    assert str(newest) in damaged[0]
    assert "Resuming from" in out and "2 of 6 epochs done" in out
    assert logged_epochs(tmp_path) == list(range(EPOCHS))
    assert loss == pytest.approx(reference_loss, rel=0.01)


def test_no_good_checkpoint_left_trains_from_the_start(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        fault_driver.run(tmp_path, callbacks=[StopAtEpoch(3)])
    for path in (tmp_path / "backup").glob("epoch_*.keras"):
        path.write_bytes(b"not a checkpoint")
    capsys.readouterr()
    model = fault_driver.make_model()
    initial = model.get_weights()
    backup = experiments._Backup(tmp_path / "backup")
    assert backup.restore(model) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "training from epoch 0" in lines[1], lines
    for before, after in zip(initial, model.get_weights(), strict=True):
        assert (before == after).all()  # nothing half-loaded


def failing_save(model, fail_at, error):
    """`model.save` that, at call `fail_at`, writes part of the file and raises."""
    calls = []
    save = model.save

    def save_or_fail(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == fail_at:
            Path(path).write_bytes(b"PK\x03\x04 half a zip file")
            raise error
        return save(path, *args, **kwargs)

    model.save = save_or_fail


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_a_failed_write_names_the_file_and_keeps_the_last_checkpoint(
    tmp_path, reference_loss, fault
):
    model = fault_driver.make_model()
    backup = tmp_path / "backup"
    read_only = fault == "read-only folder" and os.geteuid() != 0
    if read_only:  # a real read-only folder (root may write anyway)

        class LockAfterTwo(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 2:
                    backup.chmod(0o555)

        callbacks = [LockAfterTwo()]
    else:
        code = errno.ENOSPC if fault == "disk full" else errno.EACCES
        failing_save(model, 3, OSError(code, os.strerror(code)))
        callbacks = []
    try:
        with pytest.raises(OSError) as raised:
            fault_driver.run(tmp_path, callbacks=callbacks, model=model)
    finally:
        backup.chmod(0o755)
    expected = errno.ENOSPC if fault == "disk full" else errno.EACCES
    assert raised.value.errno == expected
    assert raised.value.filename == str(backup / "epoch_0003.keras")
    assert str(backup / "epoch_0003.keras") in str(raised.value)
    assert "\n" not in str(raised.value)
    # No partial file; the two checkpoints before are whole.
    assert sorted(p.name for p in backup.iterdir()) == [
        "epoch_0001.keras",
        "epoch_0002.keras",
        "training_metadata.json",
    ]
    assert epochs_kept(tmp_path) == 2
    # The model in memory still holds its two epochs (on JAX too).
    assert model.get_weights()[0].shape == (3, 3, 1, 4)

    loss = fault_driver.run(tmp_path)  # space freed / permission back
    assert logged_epochs(tmp_path) == list(range(EPOCHS))
    assert loss == pytest.approx(reference_loss, rel=0.01)


def test_a_failed_model_save_leaves_the_saved_model_as_it_was(tmp_path):
    model = fault_driver.make_model()
    path = tmp_path / "model.keras"
    experiments.save_model(model, path)
    before = path.read_bytes()
    failing_save(model, 1, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(OSError, match="No space left on device.*model.keras"):
        experiments.save_model(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="examples/ is not shipped")
def test_an_example_ends_a_write_error_in_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "cifar_deblur.py"), "--data", "photos",
         "--output", str(blocker / "run")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stderr[-2000:]
    assert errors[0].startswith("cifar_deblur.py: error: ")
    assert str(blocker) in errors[0] and "Traceback" not in done.stderr
