"""The example scripts end to end on tiny data (1 epoch), and a killed run resumes."""

import json
import os
import signal
import subprocess
import sys
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
    # Exact float blur (the sources' protocol): Wiener with the known kernel
    # is a near-exact inverse, far above the blurred input.
    assert 20 < scores["blurred input"]["psnr"] < scores["Wiener"]["psnr"] - 15
    assert results["splits"] == {"train": 64, "val": 13, "test": 16}
    markdown = (tmp_path / "results.md").read_text()
    assert "| Wiener |" in markdown and "KERAS_BACKEND=" in markdown

    # Run again on the same folder: the finished model is scored, not replaced.
    saved = (tmp_path / "model.keras").stat().st_mtime_ns
    again = cifar_deblur.main(["--data", "photos", *QUICK, "--output", str(tmp_path)])
    assert (tmp_path / "model.keras").stat().st_mtime_ns == saved
    assert again["test_scores"] == results["test_scores"]
    assert again["history"]["epoch"] == [0]

    # Other arguments on the same folder: refused before anything is written.
    from keras_seqimage.experiments import OutputFolderError

    figure = (tmp_path / "eda_original_vs_blurred.png").stat().st_mtime_ns
    with pytest.raises(OutputFolderError, match=r"epochs 1 \(this run: 2\).*sigma"):
        cifar_deblur.main(
            ["--data", "photos", *QUICK, "--epochs", "2", "--sigma", "2",
             "--output", str(tmp_path)]
        )  # fmt: skip
    assert (tmp_path / "model.keras").stat().st_mtime_ns == saved
    assert (tmp_path / "eda_original_vs_blurred.png").stat().st_mtime_ns == figure
    manifest = json.loads((tmp_path / "run_manifest.json").read_text())
    assert manifest["finished"] and manifest["arguments"]["epochs"] == 1


def test_cifar_deblur_deconvolution_init(examples, tmp_path, capsys):
    import cifar_deblur

    arguments = ["--data", "photos", *QUICK, "--quantize", "--model", "renet_restorer"]
    results = cifar_deblur.main(
        [*arguments, "--preset", "linear_rows_columns", "--init-deconvolution",
         "--model-args", '{"units": 2}', "--output", str(tmp_path)]
    )  # fmt: skip
    init = results["deconvolution_init"]
    assert init["init_sigma"] == 1.0 and 0 < init["init_balance"] < 1
    assert results["model_args"] == {"units": 2}
    assert results["params"] > 18_624  # the recurrent term is there
    # Tuned on validation images: the untrained model beats the blurred input.
    assert results["deconvolution_init_val_psnr"] > (
        results["test_scores"]["blurred input"]["psnr"] + 3
    )
    for bad in (["--model", "lstm_autoencoder"], ["--model-args", "[1]"]):
        with pytest.raises(SystemExit):
            cifar_deblur.parse_args(["--init-deconvolution", *bad])
    assert (
        "--init-deconvolution needs --model renet_restorer" in capsys.readouterr().err
    )


def test_cifar_deblur_with_zero_epochs_scores_the_initialisation(examples, tmp_path):
    import cifar_deblur

    results = cifar_deblur.main(
        ["--data", "photos", *QUICK, "--epochs", "0", "--model", "renet_restorer",
         "--preset", "linear_rows_columns", "--init-deconvolution",
         "--output", str(tmp_path)]
    )  # fmt: skip
    scores = results["test_scores"]
    label = "renet_restorer (linear_rows_columns)"
    assert scores[label]["psnr"] > scores["blurred input"]["psnr"] + 3
    assert (tmp_path / "model.keras").is_file()
    assert not (tmp_path / "loss_curves.png").exists()  # nothing was trained


def test_cifar_deblur_blind_model_from_experts_with_psnr_loss(
    examples, tmp_path, capsys
):
    import cifar_deblur

    from keras_seqimage.models import ReNetRestorer

    arguments = dict(sweeps=("rows", "columns"), units=2)
    experts = []
    for sigma in (1.0, 2.0):
        path = tmp_path / f"expert_{sigma}.keras"
        ReNetRestorer(**arguments, init_sigma=sigma).save(path)
        experts.append(str(path))
    results = cifar_deblur.main(
        ["--data", "photos", *QUICK, "--quantize", "--model", "blind_renet_restorer",
         "--preset", "none", "--model-args",
         '{"sigmas": [1.0, 2.0], "sweeps": ["rows", "columns"], "units": 2}',
         "--init-experts", *experts, "--loss", "psnr", "--sigma-range", "1.0", "2.0",
         "--output", str(tmp_path / "run")]
    )  # fmt: skip
    assert results["loss"] == "psnr" and results["init_experts"] == experts
    assert results["train_sigma_range"] == [1.0, 2.0]
    estimated = results["estimated_sigma"]
    assert 1.0 <= estimated["mean"] <= 2.0 and estimated["std"] >= 0
    assert "Blur the model infers" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cifar_deblur.parse_args(["--init-experts", experts[0]])
    assert "--init-experts needs --model blind_renet_restorer" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        cifar_deblur.parse_args(
            ["--model", "blind_renet_restorer", "--init-experts", "missing.keras"]
        )
    assert "no such model file: missing.keras" in capsys.readouterr().err


def test_restoration_figure_draws_a_row_per_run(examples, tmp_path, capsys):
    import cifar_deblur
    import restoration_figure

    runs = []
    for model in ("conv_autoencoder", "renet_restorer"):
        run = tmp_path / model
        cifar_deblur.main(
            ["--data", "photos", *QUICK, "--model", model, "--output", str(run)]
        )
        runs.append(str(run))
    figure = tmp_path / "figures" / "grid.png"
    rows = restoration_figure.main(
        ["--data", "photos", "--test-subset", "4", "--runs", *runs,
         "--figure", str(figure)]
    )  # fmt: skip
    assert figure.stat().st_size > 0
    assert list(rows)[:3] == ["original", "blurred (sigma 1.0)", "Wiener"]
    assert [label.split(" ")[0] for label in list(rows)[3:]] == [
        "conv_autoencoder",
        "renet_restorer",
    ]
    assert all(images.shape[0] == 4 for images in rows.values())
    with pytest.raises(SystemExit):
        restoration_figure.main(["--runs", str(tmp_path), "--figure", str(figure)])
    assert "no model.keras in" in capsys.readouterr().err


def test_compare_models_scores_every_model_on_the_same_images(examples, tmp_path):
    import compare_models

    models = ["conv_autoencoder:conv_32_32", "simple_rnn_autoencoder"]
    results = compare_models.main(
        ["--data", "photos", *QUICK, "--quantize", "--output", str(tmp_path),
         "--models", *models]
    )  # fmt: skip
    labels = set(results["test_scores"])
    assert labels == {
        "blurred input",
        "Wiener",
        "conv_autoencoder (conv_32_32)",
        "simple_rnn_autoencoder (simple_rnn_vector_128)",
    }
    assert results["runs"]["conv_autoencoder (conv_32_32)"]["params"] == 11_011
    # 8-bit rounding is the noise that keeps Wiener from inverting the blur.
    blurred, wiener = (
        results["test_scores"][k]["psnr"] for k in ("blurred input", "Wiener")
    )
    assert blurred < wiener < blurred + 15
    assert results["quantize_8bit"] is True
    assert (tmp_path / "comparison.png").is_file()
    assert (tmp_path / "eda_pixel_histogram.png").is_file()
    assert (tmp_path / "eda_pca_scatter.png").is_file()
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
        [
            "--data",
            str(tmp_path / "mnist.npz"),
            *QUICK,
            "--output",
            str(out),
            "--cnn-lstm-preset",
            "small",
        ]  # fmt: skip
    )
    methods = [row["method"] for row in results["rows"]]
    assert methods == ["corrupted input", "CNN-CNN", "CNN-LSTM"]
    corrupted = results["rows"][0]
    # The blanked half of random digits averages 0.5 away from the truth.
    assert corrupted["missing_mse"] > 0.2
    assert results["runs"]["CNN-LSTM"]["params"] == 137_468  # preset "small"
    assert (out / "inpainting.png").is_file()
    # The paper's Fig. 5 (corruption steps) and Fig. 6 (both losses, trend lines).
    assert (out / "corruption_steps.png").is_file()
    assert (out / "loss_comparison.png").is_file()
    assert results["loss"] == "rmse" and results["steps"] == 1  # 64 digits: 1 batch
    assert (out / "cnn_lstm_direct_attention" / "model.keras").is_file()


# Runs cifar_deblur.py in a child process that SIGKILLs itself in the middle of
# epoch KILL_EPOCH (after its first batch): no clean shutdown of any kind.
KILLING_DRIVER = """
import os, signal, sys
sys.path.insert(0, {examples!r})
import keras
import cifar_deblur
from keras_seqimage import experiments

class KillMidEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == {kill_epoch}:
            os.kill(os.getpid(), signal.SIGKILL)

fit = experiments.fit_resumable
def fit_then_die(*args, **kwargs):
    kwargs["callbacks"] = [*kwargs.get("callbacks", ()), KillMidEpoch()]
    return fit(*args, **kwargs)
experiments.fit_resumable = fit_then_die
cifar_deblur.main(sys.argv[1:])
"""


def test_a_killed_run_resumes_from_the_last_finished_epoch(tmp_path):
    arguments = [
        "--data", "photos", "--model", "conv_autoencoder", "--epochs", "4",
        "--subset", "128", "--test-subset", "16", "--verbose", "0",
        "--output", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    driver = KILLING_DRIVER.format(examples=str(EXAMPLES), kill_epoch=2)
    killed = subprocess.run(
        [sys.executable, "-c", driver, *arguments], env=env, capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL
    log = (tmp_path / "training_log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]] == ["0", "1"]
    assert not (tmp_path / "metrics.json").exists()

    resumed = subprocess.run(
        [sys.executable, str(EXAMPLES / "cifar_deblur.py"), *arguments],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming from" in resumed.stdout and "2 of 4 epochs done" in resumed.stdout
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert history["epoch"] == [0, 1, 2, 3]
    assert (tmp_path / "model.keras").is_file()
    assert not (tmp_path / "backup").exists()
