"""Shared benchmark plumbing: run metadata, one subprocess per Keras backend, medians.

Benchmarks use keras_seqimage's public API only. Each prints its table after
a few `# ` lines that say what it ran on (`print_run_metadata`), and exits
with status 1 when a backend's worker failed (`exit_status`); a backend that
is not installed is skipped with a note.
"""

import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import time

RESULT_PREFIX = "RESULT "
# torch's fused LSTM kernels (oneDNN on CPU), forward and backward.
LSTM_KERNELS = ("aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward")
BACKENDS = ("tensorflow", "jax", "torch")

_failed_workers = []


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


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _package_version():
    """keras_seqimage's `__version__` and where it is imported from, unimported."""
    spec = importlib.util.find_spec("keras_seqimage")
    if spec is None or spec.origin is None:
        return "not importable"
    with open(spec.origin, encoding="utf-8") as init:
        found = re.search(r'^__version__ = "([^"]+)"', init.read(), re.M)
    version = found.group(1) if found else "unknown"
    return f"{version} ({os.path.dirname(spec.origin)})"


def cpu_description():
    """The CPU's name, family and model, AVX-512, and the logical CPU count."""
    name, details = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            first = cpuinfo.read().split("\n\n")[0]
    except OSError:
        first = ""
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in first.splitlines())
    )
    if "model name" in fields:
        name = fields["model name"]
        details.append(
            f"family {fields.get('cpu family')}, model {fields.get('model')}"
        )
        flags = fields.get("flags", "").split()
        details.append(f"AVX-512 {'yes' if 'avx512f' in flags else 'no'}")
    details.append(f"{os.cpu_count()} logical CPUs")
    return f"{name} ({', '.join(details)})"


def print_run_metadata(backends, settings=""):
    """Print what the run is on: date, versions, backends, CPU, settings.

    Reads versions from the installed distributions (no backend is imported
    here), so a parent process that only starts workers stays light.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    versions = [f"python {platform.python_version()}"]
    versions += [f"{name} {_version(name)}" for name in ("keras", "numpy", "scipy")]
    versions += [f"{name} {_version(name)}" for name in BACKENDS if name in backends]
    threads = {
        name: os.environ[name]
        for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
        if name in os.environ
    }
    print(f"# date: {now:%Y-%m-%d %H:%M} UTC")
    print(f"# keras_seqimage {_package_version()}")
    print(f"# {', '.join(versions)}")
    print(f"# backends: {', '.join(backends)}")
    print(f"# CPU: {cpu_description()}; {platform.platform()}")
    if threads:
        print(f"# thread settings: {threads}")
    if settings:
        print(f"# settings: {settings}")
    print()


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


def backend_installed(backend):
    return importlib.util.find_spec(backend) is not None


def run_workers(script, backends, worker_args):
    """Run `script --worker BACKEND *worker_args` per backend; collect rows.

    Each backend needs its own process (Keras picks the backend at import).
    A backend that is not installed is skipped with a note; one whose worker
    fails is reported, skipped, and makes `exit_status()` 1.
    """
    rows = []
    for backend in backends:
        if not backend_installed(backend):
            print(f"# {backend}: not installed, skipped", file=sys.stderr)
            continue
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
        _failed_workers.append(name)
        print(f"# {name}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
        return []
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def exit_status():
    """1 if a worker failed in this run (after the table is printed), else 0."""
    if _failed_workers:
        print(f"# failed workers: {_failed_workers}", file=sys.stderr)
        return 1
    return 0


def plain_torch_model():
    """The row-LSTM in plain PyTorch: `nn.LSTM(96, 128)`, `nn.LSTM(128, 64)`,
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


def memory_mib(field):
    """`VmRSS` or `VmHWM` (peak) of this process, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")
