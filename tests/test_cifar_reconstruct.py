"""examples/cifar_reconstruct.py (Bhunu's identity reconstruction) on tiny data."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/ is not shipped with an installed package"
)
pytest.importorskip("matplotlib")
pytest.importorskip("skimage")

QUICK = ["--epochs", "1", "--subset", "48", "--test-subset", "12", "--verbose", "0"]


@pytest.fixture
def examples(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", ["examples/cifar_reconstruct.py"])


def test_defaults_are_bhunus_protocol(examples):
    import cifar_reconstruct

    args = cifar_reconstruct.parse_args([])
    assert args.model == "lstm_autoencoder"
    assert args.preset == "lstm_vector_512_256_sigmoid"
    assert (args.epochs, args.batch_size, args.learning_rate) == (200, 128, 1e-4)
    assert (args.val_fraction, args.seed) == (0.2, 42)
    assert args.patience >= 1


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="the example is backend-agnostic code; on JAX, compiling the 2.7M-weight "
    "LSTM autoencoder alone takes over a minute of CI (TensorFlow and torch run it)",
)
def test_reconstruct_scores_the_model_against_mean_image_and_pca(examples, tmp_path):
    import cifar_reconstruct

    results = cifar_reconstruct.main(
        ["--data", "photos", *QUICK, "--output", str(tmp_path)]
    )
    assert results["params"] == 2_695_552
    assert results["code_size"] == 256
    # 48 training images: PCA cannot have more axes than images.
    assert results["pca_components"] == 48
    label = "lstm_autoencoder (lstm_vector_512_256_sigmoid)"
    scores = results["test_scores"]
    assert set(scores) == {"mean training image", "PCA, 48 components", label}
    # PCA includes the mean: it is never worse than the mean image alone.
    assert scores["PCA, 48 components"]["mse"] <= scores["mean training image"]["mse"]
    for values in scores.values():
        assert values["psnr"] is None or np.isfinite(values["psnr"])
    assert results["epochs_run"] == 1 and results["best_epoch"] == 1
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "loss_curves.png",
        "reconstruction_grid.png",
        "metrics.json",
        "results.md",
        "model.keras",
        "eda_pixel_histogram.png",
        "eda_channel_correlation.png",
        "eda_scatter_matrix.png",
    } <= names
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["reported_test_mse"] == 0.0051
    markdown = (tmp_path / "results.md").read_text()
    assert "inf" not in markdown and "| PCA, 48 components |" in markdown


def test_pca_with_all_components_reconstructs_exactly(examples):
    import cifar_reconstruct

    rng = np.random.default_rng(0)
    images = rng.random((60, 4, 4, 3)).astype("float32")
    mean, axes = cifar_reconstruct.fit_pca(images, components=48, chunk=7)
    assert axes.shape == (48, 48)
    np.testing.assert_allclose(mean, images.reshape(60, -1).mean(axis=0), atol=1e-6)
    restored = cifar_reconstruct.pca_reconstruct(images, mean, axes)
    np.testing.assert_allclose(restored, images, atol=1e-5)
    # One component: the reconstruction error is the variance left over.
    mean, axes = cifar_reconstruct.fit_pca(images, components=1)
    flat = images.reshape(60, -1) - mean
    singular = np.linalg.svd(flat, compute_uv=False)
    residual = cifar_reconstruct.pca_reconstruct(images, mean, axes) - images
    expected = (singular[1:] ** 2).sum() / flat.size
    np.testing.assert_allclose(np.mean(residual**2), expected, rtol=1e-4)


def test_cifar_deblur_refuses_sigma_zero_and_names_the_reconstruct_example(
    examples, capsys
):
    import cifar_deblur
    import compare_models

    for module in (cifar_deblur, compare_models):
        with pytest.raises(SystemExit):
            module.parse_args(["--sigma", "0"])
        assert "cifar_reconstruct.py" in capsys.readouterr().err
