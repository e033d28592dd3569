"""data_parallel_scope: two virtual CPU devices train like one device.

Device counts are fixed when a backend starts, so each comparison runs in a
fresh subprocess: 2 virtual devices (JAX: XLA_FLAGS; TensorFlow: two logical
CPUs) against 1 device, same seed, same data, same global batch.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

from keras_seqimage.distribution import data_parallel_scope, device_count

BACKEND = keras.backend.backend()

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        if sys.argv[1] == "2":
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * 2
            )
    from keras_seqimage.distribution import data_parallel_scope
    from keras_seqimage.layers import FastLSTM

    distribute = sys.argv[1] == "2"
    rng = np.random.default_rng(0)
    x = rng.random((64, 6, 5), dtype=np.float32)
    y = rng.random((64, 6, 4), dtype=np.float32)
    keras.utils.set_random_seed(0)
    with data_parallel_scope(distribute):
        model = keras.Sequential(
            [keras.Input((6, 5)), FastLSTM(8, return_sequences=True),
             keras.layers.Dense(4)]
        )
        model.compile(keras.optimizers.Adam(1e-2), "mse")
        history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        if keras.backend.backend() == "tensorflow":
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
        elif distribute:
            mesh = keras.distribution.distribution().device_mesh
            replicas = int(np.prod(mesh.shape))
        else:
            replicas = 1
    print("RESULT " + json.dumps({"loss": history.history["loss"],
                                  "replicas": replicas}))
    """
)


def _run(devices, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if devices == 2 and BACKEND == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(script), str(devices)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-4000:]
    import json

    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.skipif(
    BACKEND not in ("jax", "tensorflow"), reason="JAX and TensorFlow only"
)
def test_two_virtual_devices_train_like_one(tmp_path):
    one = _run(1, tmp_path)
    two = _run(2, tmp_path)
    assert two["replicas"] == 2
    # Data parallelism splits each batch of 16 into two halves and averages
    # the gradients: the same updates up to float32 summation order.
    assert len(one["loss"]) == len(two["loss"]) == 3
    assert one["loss"][-1] < one["loss"][0]
    for a, b in zip(one["loss"], two["loss"], strict=True):
        assert abs(a - b) <= 1e-4 * abs(a), (one, two)


def test_disabled_scope_does_nothing():
    with data_parallel_scope(False):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.count_params() == 8
    assert device_count(["x"]) == 1


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's own distribution")
def test_jax_scope_sets_the_keras_distribution():
    assert keras.distribution.distribution() is None
    with data_parallel_scope(True):
        assert isinstance(
            keras.distribution.distribution(), keras.distribution.DataParallel
        )
    assert keras.distribution.distribution() is None


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's own strategy")
def test_tensorflow_scope_is_a_mirrored_strategy():
    import tensorflow as tf

    with data_parallel_scope(True):
        strategy = tf.distribute.get_strategy()
        assert isinstance(strategy, tf.distribute.MirroredStrategy)
        assert strategy.num_replicas_in_sync == device_count()


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"`enabled` must be .*Received: enabled=1"):
        data_parallel_scope(1)
    with pytest.raises(ValueError, match=r"`devices` must be .*Received: devices='"):
        data_parallel_scope(True, devices="gpu:0")
