"""Examples default to the source documents' protocols; RMSELoss (Haque et al.)."""

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_seqimage.metrics import RMSELoss

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
needs_examples = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/ is not shipped with an installed package"
)


@pytest.fixture
def examples(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", ["examples/script.py"])


def test_rmse_loss_is_the_root_of_the_batch_mse():
    rng = np.random.default_rng(0)
    y_true = rng.random((3, 5, 4, 2)).astype("float32")
    y_pred = rng.random((3, 5, 4, 2)).astype("float32")
    expected = np.sqrt(np.mean((y_true - y_pred) ** 2))
    np.testing.assert_allclose(float(RMSELoss()(y_true, y_pred)), expected, rtol=1e-6)
    per_image = np.sqrt(np.mean((y_true - y_pred) ** 2, axis=(1, 2, 3))).mean()
    np.testing.assert_allclose(
        float(RMSELoss(per_image=True)(y_true, y_pred)), per_image, rtol=1e-6
    )
    # Sample weights weigh the images' squared errors before the root.
    weights = np.array([1.0, 0.0, 1.0], "float32")
    kept = np.sqrt(np.mean((y_true[[0, 2]] - y_pred[[0, 2]]) ** 2) * 2 / 3)
    np.testing.assert_allclose(
        float(RMSELoss()(y_true, y_pred, sample_weight=weights)), kept, rtol=1e-6
    )


def test_rmse_loss_is_finite_at_zero_error_and_round_trips():
    y = np.zeros((2, 3, 3, 1), "float32")
    assert float(RMSELoss()(y, y)) == pytest.approx(1e-6)
    loss = RMSELoss(per_image=True, epsilon=1e-8)
    again = RMSELoss.from_config(loss.get_config())
    assert (again.per_image, again.epsilon) == (True, 1e-8)
    assert keras.losses.deserialize(keras.losses.serialize(loss)).per_image is True


@pytest.mark.parametrize(
    "kwargs, match",
    [({"epsilon": 0.0}, "epsilon"), ({"per_image": "yes"}, "per_image=")],
)
def test_rmse_loss_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RMSELoss(**kwargs)


def test_rmse_loss_trains_a_model():
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=RMSELoss())
    x = np.random.default_rng(1).random((16, 4, 4, 1)).astype("float32")
    history = model.fit(x, x, epochs=15, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] / 2


@needs_examples
def test_mnist_inpaint_defaults_are_the_papers(examples):
    import mnist_inpaint

    args = mnist_inpaint.parse_args([])
    assert (args.loss, args.batch_size, args.steps) == ("rmse", 100, 500_000)
    assert args.learning_rate == 1e-3 and args.epochs is None
    # 6,750 training digits in batches of 100: 68 steps per epoch.
    assert mnist_inpaint.epochs_for(args, 6750) == 7353
    short = mnist_inpaint.parse_args(["--steps", "100"])
    assert mnist_inpaint.epochs_for(short, 6750) == 2
    assert mnist_inpaint.epochs_for(mnist_inpaint.parse_args(["--epochs", "3"]), 1) == 3
    with pytest.raises(SystemExit):
        mnist_inpaint.parse_args(["--steps", "0"])


@needs_examples
def test_compare_models_defaults_are_woods(examples):
    import compare_models

    args = compare_models.parse_args([])
    assert (args.epochs, args.batch_size, args.learning_rate) == (10, 128, 1e-3)
    assert args.subset is None and args.val_fraction == 0.2
    assert args.models == [
        "conv_autoencoder:conv_32_32",
        "simple_rnn_autoencoder:simple_rnn_vector_128",
        "lstm_autoencoder:lstm_vector_128",
    ]
    # cifar_deblur.py keeps Ayob's protocol.
    import cifar_deblur

    ayob = cifar_deblur.parse_args([])
    assert (ayob.epochs, ayob.batch_size) == (20, 64)
