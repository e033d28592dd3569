"""Import time: what `import keras_seqimage` adds on top of `import keras`.

For each backend, fresh Python processes alternate between two programs,
`import keras` and `import keras; import keras_seqimage`, --runs times each
(interleaved, so both see the same machine load). Every process times its own
imports with `time.perf_counter()`; the table shows the median of each program,
their difference, and the median time of the `import keras_seqimage` statement
alone (measured in the second program, keras already loaded: the most direct
number). It also lists the slowest keras_seqimage modules from one
`python -X importtime` run, and which top-level packages the import adds.

Target: keras_seqimage adds <= 0.5 s over keras.

Usage:
    python benchmarks/import_time.py [--runs 7] [--backends tensorflow jax] [--top 5]

Smallest run (a smoke test):
    python benchmarks/import_time.py --runs 1 --backends tensorflow --top 1
"""

import argparse
import json
import os
import subprocess
import sys

from _harness import backend_installed, median, print_run_metadata

TARGET_S = 0.5

PROGRAM = """
import json, sys, time
t0 = time.perf_counter()
import keras
t1 = time.perf_counter()
before = set(sys.modules)
if {with_package}:
    import keras_seqimage
t2 = time.perf_counter()
added = sorted({{m.split(".")[0] for m in set(sys.modules) - before}})
print(json.dumps({{"keras": t1 - t0, "total": t2 - t0, "package": t2 - t1,
                   "added": added}}))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--top", type=int, default=5, help="slowest modules listed")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be >= 1. Received: --runs {args.runs}")
    return args


def environment(backend):
    return {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_once(backend, with_package):
    code = PROGRAM.format(with_package=with_package)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=environment(backend),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def slowest_modules(backend, top):
    """(cumulative seconds, module) of the slowest keras_seqimage modules."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import keras, keras_seqimage"],
        env=environment(backend),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if name.strip().startswith("keras_seqimage"):
            rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main():
    args = parse_args()
    backends = [b for b in args.backends if backend_installed(b)]
    for backend in sorted(set(args.backends) - set(backends)):
        print(f"# {backend}: not installed, skipped", file=sys.stderr)
    print_run_metadata(backends, f"--runs {args.runs} --top {args.top}")
    print(f"{args.runs} fresh processes per program and backend, interleaved\n")
    print(
        "| backend | `import keras` (s) | `+ import keras_seqimage` (s) "
        "| difference (s) | `import keras_seqimage` alone (s) | <= 0.5 s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    details = []
    for backend in backends:
        keras_only, both, alone, added = [], [], [], set()
        for _ in range(args.runs):
            keras_only.append(run_once(backend, False)["total"])
            result = run_once(backend, True)
            both.append(result["total"])
            alone.append(result["package"])
            added.update(result["added"])
        difference = median(both) - median(keras_only)
        ok = "yes" if median(alone) <= TARGET_S else "NO"
        print(
            f"| {backend} | {median(keras_only):.2f} | {median(both):.2f} "
            f"| {difference:+.2f} | {median(alone):.3f} | {ok} |"
        )
        details.append((backend, sorted(added), slowest_modules(backend, args.top)))
    for backend, added, slowest in details:
        print(f"\n# {backend}: top-level packages the import adds: {added}")
        for seconds, name in slowest:
            print(f"#   {seconds:.3f} s cumulative  {name}")


if __name__ == "__main__":
    main()
