"""The example scripts end to end on tiny data (1 epoch), and a killed run resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/ is not shipped with an installed package"
)
pytest.importorskip("matplotlib")
pytest.importorskip("skimage")

QUICK = ["--epochs", "1", "--subset", "64", "--test-subset", "16", "--verbose", "0"]


@pytest.fixture
def examples(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", ["examples/script.py"])


def test_cifar_deblur_writes_figures_tables_and_model(examples, tmp_path):
    import cifar_deblur

    results = cifar_deblur.main(["--data", "photos", *QUICK, "--output", str(tmp_path)])
    expected = {
        "eda_class_distribution.png",
        "eda_class_samples.png",
        "eda_original_vs_blurred.png",
        "eda_channel_histograms.png",
        "eda_channel_correlation.png",
        "loss_curves.png",
        "restoration_grid.png",
        "metrics.json",
        "results.md",
        "model.keras",
        "training_log.csv",
    }
    assert expected <= {p.name for p in tmp_path.iterdir()}
    assert not (tmp_path / "backup").exists()
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["preset"] == "lstm_sequence_128_64"
    assert saved["params"] == 170_848
    scores = saved["test_scores"]
    assert set(scores) == {
        "blurred input",
        "Wiener",
        "lstm_autoencoder (lstm_sequence_128_64)",
    }
    # The blurred input is worse than the clean image and Wiener beats it.
    assert 20 < scores["blurred input"]["psnr"] < scores["Wiener"]["psnr"]
    assert results["splits"] == {"train": 64, "val": 13, "test": 16}
    markdown = (tmp_path / "results.md").read_text()
    assert "| Wiener |" in markdown and "KERAS_BACKEND=" in markdown


def test_compare_models_scores_every_model_on_the_same_images(examples, tmp_path):
    import compare_models

    models = ["conv_autoencoder:conv_32_32", "simple_rnn_autoencoder"]
    results = compare_models.main(
        ["--data", "photos", *QUICK, "--output", str(tmp_path), "--models", *models]
    )
    labels = set(results["test_scores"])
    assert labels == {
        "blurred input",
        "Wiener",
        "conv_autoencoder (conv_32_32)",
        "simple_rnn_autoencoder (simple_rnn_vector_128)",
    }
    assert results["runs"]["conv_autoencoder (conv_32_32)"]["params"] == 11_011
    assert (tmp_path / "comparison.png").is_file()
    assert (tmp_path / "conv_autoencoder_conv_32_32" / "model.keras").is_file()
    table = (tmp_path / "results.md").read_text()
    assert table.count("\n| ") == 6  # header, separator, 4 methods


def test_mnist_inpaint_scores_the_missing_half(examples, tmp_path):
    import mnist_inpaint

    rng = np.random.default_rng(0)
    digits = (rng.random((120, 28, 28)) * 255).astype("uint8")
    labels = rng.integers(0, 10, 120).astype("uint8")
    np.savez(
        tmp_path / "mnist.npz",
        x_train=digits[:100],
        y_train=labels[:100],
        x_test=digits[100:],
        y_test=labels[100:],
    )
    out = tmp_path / "out"
    results = mnist_inpaint.main(
        ["--data", str(tmp_path / "mnist.npz"), *QUICK, "--output", str(out)]
    )
    methods = [row["method"] for row in results["rows"]]
    assert methods == ["corrupted input", "CNN-CNN", "CNN-LSTM"]
    corrupted = results["rows"][0]
    # The blanked half of random digits averages 0.5 away from the truth.
    assert corrupted["missing_mse"] > 0.2
    assert results["runs"]["CNN-LSTM"]["params"] == 1_041_664
    assert (out / "inpainting.png").is_file()
    assert (out / "cnn_lstm_direct_attention" / "model.keras").is_file()


def _read_epochs(log):
    if not log.is_file():
        return []
    lines = log.read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines if line]


def test_a_killed_run_resumes_from_the_last_finished_epoch(tmp_path):
    command = [
        sys.executable,
        str(EXAMPLES / "cifar_deblur.py"),
        "--data", "photos", "--model", "conv_autoencoder", "--epochs", "40",
        "--subset", "128", "--test-subset", "16", "--verbose", "0",
        "--output", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = tmp_path / "training_log.csv"
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(_read_epochs(log)) < 2 and first.poll() is None:
        assert time.monotonic() < deadline, "no epoch finished in 240 s"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done = _read_epochs(log)
    assert 2 <= len(done) < 40, f"the run was not interrupted: {done}"
    assert not (tmp_path / "metrics.json").exists()

    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming from" in second.stdout
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert history["epoch"] == list(range(40))
    assert (tmp_path / "model.keras").is_file()
    assert not (tmp_path / "backup").exists()
