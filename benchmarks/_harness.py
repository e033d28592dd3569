"""Shared benchmark plumbing: one subprocess per Keras backend, medians."""

import json
import os
import subprocess
import sys
import time

RESULT_PREFIX = "RESULT "
# torch's fused LSTM kernels (oneDNN on CPU), forward and backward.
LSTM_KERNELS = ("aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward")


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def median_seconds(fn, repeats):
    """Median wall time of `fn()` over `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def elapsed_seconds(run):
    """Wall time of one `run()`."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def rotating_rounds(runs, rounds, measure=elapsed_seconds):
    """`{name: [measure(run) per round]}` after one warm-up call of each run.

    Every round calls each of `runs` (a dict of name -> function) once, in an
    order that rotates by one from round to round, so the machine's noise
    falls on all of them alike and none always runs first.
    """
    for run in runs.values():  # warm-up
        run()
    results = {name: [] for name in runs}
    names = list(runs)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(measure(runs[name]))
    return results


def compiled_for_backend(fn):
    """`fn` as the backend runs a model's step: `tf.function` (jit off) on
    TensorFlow, `jax.jit` (waiting for the result) on JAX, eager on torch."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jitted = jax.jit(fn)
        return lambda *args: jitted(*args).block_until_ready()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=False)
    return fn


def emit(rows):
    """Called in a worker: hand the result rows to the parent process."""
    print(RESULT_PREFIX + json.dumps(rows), flush=True)


def run_workers(script, backends, worker_args):
    """Run `script --worker BACKEND *worker_args` per backend; collect rows.

    Each backend needs its own process (Keras picks the backend at import).
    A backend that fails (e.g. not installed) is reported and skipped.
    """
    rows = []
    for backend in backends:
        rows.extend(run_worker(script, backend, [backend, *worker_args]))
    return rows


def run_worker(script, backend, worker_args):
    """Rows of `script --worker *worker_args` on `backend`; `[]` if it failed."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, script, "--worker", *worker_args]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if done.returncode or not lines:
        name = " ".join(worker_args)
        print(f"# {name}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
        return []
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def plain_torch_model():
    """Source 000's model in plain PyTorch: `nn.LSTM(96, 128)`, `nn.LSTM(128, 64)`,
    `nn.Linear(64, 96)` on row sequences `(batch, 32, 96)` (torch imported here)."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = torch.nn.LSTM(96, 128, batch_first=True)
            self.l2 = torch.nn.LSTM(128, 64, batch_first=True)
            self.head = torch.nn.Linear(64, 96)

        def forward(self, x):
            return self.head(self.l2(self.l1(x)[0])[0])

    return Net()


def plain_torch_epoch(net, optimizer, x, y, batch_size):
    """One epoch of plain PyTorch's hand loop over torch tensors `x`, `y`.

    Batches in order: `zero_grad`, forward, `mse_loss`, `backward`, `step`.
    Returns the batch-size-weighted mean loss (summed in float64 as a
    tensor, read once at the end).
    """
    import torch

    total = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xb), yb)
        loss.backward()
        optimizer.step()
        total = total + loss.detach().double() * len(xb)
    return float(total) / len(x)


def split_step(run, steps):
    """`(wall, lstm kernels, other ops, outside ops)` in ms per step of `run()`.

    `run` makes `steps` steps under `torch.profiler` (CPU activities): the
    fused LSTM kernels' self time, every other op's (with the profiler's own
    ranges), and the wall time outside any op.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
    events = profiler.key_averages()
    lstm = sum(e.self_cpu_time_total for e in events if e.key in LSTM_KERNELS)
    ops = sum(e.self_cpu_time_total for e in events)
    to_ms = 1000 / steps
    return (
        wall * to_ms,
        lstm / 1e6 * to_ms,
        (ops - lstm) / 1e6 * to_ms,
        (wall - ops / 1e6) * to_ms,
    )
