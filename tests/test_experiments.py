"""Resumable training, results tables and restoration scores."""

import errno

import keras
import numpy as np
import pytest

from keras_seqimage import experiments
from keras_seqimage.metrics import psnr, restoration_scores, ssim


class StopAtEpoch(keras.callbacks.Callback):
    """Simulates a crash: raises at the start of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"stopped at epoch {epoch}")


def tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    return x, x[:, ::-1].copy()


def test_fit_resumable_resumes_after_the_last_finished_epoch(tmp_path):
    x, y = tiny_data()
    keras.utils.set_random_seed(1)
    model = tiny_model()
    initial = [w.copy() for w in model.get_weights()]
    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            model, x, y, output_dir=tmp_path, epochs=4, batch_size=32,
            callbacks=[StopAtEpoch(2)], verbose=0,
        )  # fmt: skip
    assert (tmp_path / "backup" / "training_metadata.json").is_file()

    # A new process would build a fresh model: it must pick up epoch 2.
    resumed = tiny_model()
    resumed.set_weights(initial)
    history = experiments.fit_resumable(
        resumed, x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
    )
    assert history["epoch"] == [0, 1, 2, 3]
    assert all(seconds > 0 for seconds in history["epoch_seconds"])

    # Full-batch SGD is deterministic: the same weights as one straight run.
    straight = tiny_model()
    straight.set_weights(initial)
    straight.fit(x, y, epochs=4, batch_size=32, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # The backup survives until the caller has saved the model.
    assert (tmp_path / "backup").is_dir()
    experiments.finish_resumable(tmp_path)
    assert not (tmp_path / "backup").exists()


def test_fit_resumable_starts_a_fresh_log_without_a_backup(tmp_path):
    x, y = tiny_data()
    (tmp_path / "training_log.csv").write_text("epoch,loss\n0,9.0\n1,9.0\n2,9.0\n")
    history = experiments.fit_resumable(
        tiny_model(), x, y, output_dir=tmp_path, epochs=1, batch_size=32, verbose=0
    )
    assert history["epoch"] == [0] and history["loss"][0] < 9.0


def test_fit_resumable_sets_the_data_epoch(tmp_path):
    class Data(keras.utils.PyDataset):
        epoch = None
        seen = []

        def __len__(self):
            return 1

        def __getitem__(self, index):
            self.seen.append(self.epoch)
            return tiny_data()

        def on_epoch_end(self):
            self.epoch += 1

    # A run interrupted after 3 epochs.
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            tiny_model(), x, y, output_dir=tmp_path, epochs=5, batch_size=32,
            callbacks=[StopAtEpoch(3)], verbose=0,
        )  # fmt: skip
    data = Data()
    history = experiments.fit_resumable(
        tiny_model(), data, output_dir=tmp_path, epochs=5, verbose=0
    )
    assert history["epoch"] == [0, 1, 2, 3, 4]
    assert data.seen[0] == 3


def test_read_training_log_keeps_the_last_line_of_a_repeated_epoch(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss\n0,0.5\n1,0.4\n1,0.3\n2,0.2\n")
    history = experiments.read_training_log(log)
    assert history == {"epoch": [0, 1, 2], "loss": [0.5, 0.3, 0.2]}
    assert experiments.read_training_log(tmp_path / "missing.csv") == {}


def test_results_table_formats_numbers_and_missing_values():
    table = experiments.results_table(
        [
            {"m": "a", "n": 1234567, "x": 0.123456},
            {"m": "b", "x": None},
            {"m": "c", "x": 3.2e-9},
        ],
        {"m": "method", "n": "params", "x": "score"},
        digits={"x": 2},
    )
    assert table.splitlines() == [
        "| method | params | score |",
        "| --- | ---: | ---: |",
        "| a | 1,234,567 | 0.12 |",
        "| b | n/a | n/a |",
        "| c | n/a | 3.2e-09 |",
    ]


def test_run_command_names_the_backend_and_arguments():
    command = experiments.run_command(["examples/x.py", "--data", "a b"])
    assert command == (
        f"KERAS_BACKEND={keras.backend.backend()} python examples/x.py --data 'a b'"
    )


def test_restoration_scores_are_means_of_the_per_image_metrics():
    rng = np.random.default_rng(0)
    clean = rng.random((7, 16, 16, 3)).astype("float32")
    noisy = np.clip(clean + 0.05 * rng.standard_normal(clean.shape), 0, 1)
    noisy = noisy.astype("float32")
    scores = restoration_scores(clean, noisy, batch_size=3)  # 3 + 3 + 1
    per_mse = np.mean((clean - noisy) ** 2, axis=(1, 2, 3))
    assert scores["mse"] == pytest.approx(per_mse.mean(), rel=1e-5)
    per_psnr = keras.ops.convert_to_numpy(psnr(clean, noisy))
    per_ssim = keras.ops.convert_to_numpy(ssim(clean, noisy))
    assert scores["psnr"] == pytest.approx(float(np.mean(per_psnr)), 1e-5)
    assert scores["ssim"] == pytest.approx(float(np.mean(per_ssim)), 1e-5)
    skimage_metrics = pytest.importorskip("skimage.metrics")
    reference = np.mean(
        [
            skimage_metrics.peak_signal_noise_ratio(c, n, data_range=1.0)
            for c, n in zip(clean, noisy, strict=True)
        ]
    )
    assert scores["psnr"] == pytest.approx(reference, rel=1e-5)


def test_restoration_scores_skip_ssim_on_small_images_and_check_input():
    images = np.zeros((2, 8, 8, 1), dtype="float32")
    assert restoration_scores(images, images + 0.1)["ssim"] is None
    with pytest.raises(ValueError, match="2 and 1"):
        restoration_scores(images, images[:1])
    with pytest.raises(ValueError, match="batch_size"):
        restoration_scores(images, images, batch_size=0)


def test_read_training_log_of_a_run_with_no_finished_epoch(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("epoch,loss,val_loss\n")
    assert experiments.read_training_log(empty) == {}
    assert experiments.read_training_log(header_only) == {}
    assert experiments.median_epoch_seconds({}) is None


def test_start_run_refuses_a_folder_of_other_arguments(tmp_path, capsys):
    arguments = {"epochs": 2, "sigma": 1.0, "data": ["64x4 float32 0123"]}
    assert experiments.start_run(tmp_path, arguments, record={"note": "x"}) is False
    manifest = experiments.read_manifest(tmp_path)
    assert manifest["arguments"] == arguments and manifest["finished"] is False
    assert manifest["versions"]["keras"] == keras.__version__
    model = tiny_model()
    experiments.finish_run(tmp_path, model)
    assert experiments.read_manifest(tmp_path)["finished"] is True
    assert experiments.start_run(tmp_path, arguments) is True  # reuse

    other = {**arguments, "epochs": 3, "seed": 1}
    message = r"epochs 2 \(this run: 3\), seed \(not recorded\) \(this run: 1\); hint"
    for _state in ("finished", "training"):
        with pytest.raises(experiments.OutputFolderError, match=message):
            experiments.start_run(tmp_path, other, hint="hint")
        assert experiments.read_manifest(tmp_path)["arguments"] == arguments
        # An unfinished run of other arguments (a backup) is refused alike.
        (tmp_path / "backup").mkdir(exist_ok=True)
        (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
        manifest = experiments.read_manifest(tmp_path)
        experiments._write_manifest(tmp_path, {**manifest, "finished": False})

    # --retrain: the folder is claimed for the new arguments, its backup gone,
    # and the old model kept until a new one replaces it.
    saved = (tmp_path / "model.keras").read_bytes()
    assert experiments.start_run(tmp_path, other, retrain=True) is False
    assert "Retraining in" in capsys.readouterr().out
    assert not (tmp_path / "backup").exists()
    assert (tmp_path / "model.keras").read_bytes() == saved
    manifest = experiments.read_manifest(tmp_path)
    assert manifest["arguments"] == other and manifest["finished"] is False


def test_start_run_retrains_a_damaged_model_and_adopts_old_folders(tmp_path, capsys):
    experiments.start_run(tmp_path, {"epochs": 1})
    experiments.finish_run(tmp_path, tiny_model())
    (tmp_path / "model.keras").write_bytes(b"something else")
    assert experiments.start_run(tmp_path, {"epochs": 1}) is False
    assert "is not the file the run saved: training again" in capsys.readouterr().out

    # Same arguments and --retrain on a finished run: trained anew, and a
    # killed retraining started again the same way resumes (not restarts).
    experiments.finish_run(tmp_path, tiny_model())
    assert experiments.start_run(tmp_path, {"epochs": 1}, retrain=True) is False
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
    assert experiments.start_run(tmp_path, {"epochs": 1}, retrain=True) is False
    assert experiments.has_backup(tmp_path)

    legacy = tmp_path / "legacy"
    legacy.mkdir()
    tiny_model().save(legacy / "model.keras")
    assert experiments.start_run(legacy, {"epochs": 1}) is True
    assert "has no run_manifest.json" in capsys.readouterr().out
    assert experiments.read_manifest(legacy)["finished"] is True


def test_a_resumed_run_restores_the_optimizer_state(tmp_path):
    x, y = tiny_data()

    def adam_model():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
        return model

    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            adam_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32,
            callbacks=[StopAtEpoch(2)], verbose=0,
        )  # fmt: skip
    resumed = adam_model()
    experiments.fit_resumable(
        resumed, x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
    )
    assert int(resumed.optimizer.iterations) == 4
    straight = adam_model()
    straight.fit(x, y, epochs=4, batch_size=32, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_resumed_log_keeps_only_whole_lines_of_finished_epochs(tmp_path):
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            tiny_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32,
            callbacks=[StopAtEpoch(2)], verbose=0,
        )  # fmt: skip
    log = tmp_path / "training_log.csv"
    # A line of epoch 2 (not checkpointed) and one cut short by a kill.
    log.write_text(log.read_text() + "2,0.1,0.2\n3,0.")
    history = experiments.fit_resumable(
        tiny_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
    )
    assert history["epoch"] == [0, 1, 2, 3]
    assert log.read_text().count("\n") == 5


def test_a_backup_of_keras_backup_and_restore_is_resumed(tmp_path):
    # A run started before this version: Keras' BackupAndRestore files.
    x, y = tiny_data()
    keras.utils.set_random_seed(1)
    model = tiny_model()
    initial = [w.copy() for w in model.get_weights()]
    backup = keras.callbacks.BackupAndRestore(
        str(tmp_path / "backup"), delete_checkpoint=False
    )
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=32, verbose=0,
                  callbacks=[backup, StopAtEpoch(2)])  # fmt: skip
    resumed = tiny_model()
    resumed.set_weights(initial)
    experiments.fit_resumable(
        resumed, x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
    )
    straight = tiny_model()
    straight.set_weights(initial)
    straight.fit(x, y, epochs=4, batch_size=32, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The old files are gone once a new checkpoint is recorded.
    assert not (tmp_path / "backup" / "latest.weights.h5").exists()


def test_a_backup_of_another_model_is_refused_not_overwritten(tmp_path):
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            tiny_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32,
            callbacks=[StopAtEpoch(2)], verbose=0,
        )  # fmt: skip
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8)])
    other.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="written by another model: epoch_0002"):
        experiments.fit_resumable(
            other, x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
        )
    assert experiments._backup_epoch(tmp_path / "backup") == 2


class NoConfig(keras.Model):
    """A subclassed model whose config cannot be saved (a function argument)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        return self.activation(self.dense(x))


def test_a_model_without_config_is_backed_up_as_weights(tmp_path, capsys):
    x, y = tiny_data()

    def model():
        keras.utils.set_random_seed(2)
        model = NoConfig(lambda t: t)
        model(x[:1])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
        return model

    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            model(), x, y, output_dir=tmp_path, epochs=3, batch_size=32,
            callbacks=[StopAtEpoch(2)], verbose=0,
        )  # fmt: skip
    assert "Backing up the weights of" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "backup").glob("epoch_*")} == {
        "epoch_0001.weights.h5",
        "epoch_0002.weights.h5",
    }
    resumed = model()
    history = experiments.fit_resumable(
        resumed, x, y, output_dir=tmp_path, epochs=3, batch_size=32, verbose=0
    )
    assert history["epoch"] == [0, 1, 2]
    straight = model()
    straight.fit(x, y, epochs=3, batch_size=32, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_too_little_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    import shutil

    x, y = tiny_data()
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10))
    with pytest.raises(OSError, match=r"10 bytes free.*epoch_0001.keras") as raised:
        experiments.fit_resumable(
            tiny_model(), x, y, output_dir=tmp_path, epochs=2, batch_size=32,
            verbose=0,
        )  # fmt: skip
    assert raised.value.errno == errno.ENOSPC
    assert list((tmp_path / "backup").iterdir()) == []


def test_an_unreadable_record_falls_back_to_the_newest_loadable_file(tmp_path, capsys):
    x, y = tiny_data()
    with pytest.raises(KeyboardInterrupt):
        experiments.fit_resumable(
            tiny_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32,
            callbacks=[StopAtEpoch(3)], verbose=0,
        )  # fmt: skip
    backup = tmp_path / "backup"
    (backup / "training_metadata.json").write_text('{"epoch": 3, "checkp')
    (backup / "epoch_0003.keras").write_bytes(b"PK\x03\x04 cut short")
    capsys.readouterr()
    history = experiments.fit_resumable(
        tiny_model(), x, y, output_dir=tmp_path, epochs=4, batch_size=32, verbose=0
    )
    out = capsys.readouterr().out
    assert "is unreadable" in out
    assert "epoch_0003.keras is damaged" in out and "falling back to epoch 2" in out
    assert "2 of 4 epochs done" in out
    assert history["epoch"] == [0, 1, 2, 3]
