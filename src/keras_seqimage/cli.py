"""The `keras-seqimage` command: restore or degrade image files, print versions.

`keras-seqimage restore IN... -o OUT_DIR` deblurs photos (`restore`),
`keras-seqimage degrade IN... -o OUT_DIR --sigma S --noise N` makes blurred,
noisy test copies of sharp ones (`degrade`, with a JSON file of the draws next
to each so an evaluation can be replayed), and `keras-seqimage info` prints
the versions, the backend, the fast-path status and the learned presets.

Every file is handled on its own: one that cannot be read, or whose output
would overwrite an input, gets a one-line error naming it and the others
still go through. The exit status is the number of files that failed (at
most 125); 0 when all went through, 2 for a wrong command line.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PROG = "keras-seqimage"
BACKENDS = ("tensorflow", "jax", "torch")
_RERUN = "KERAS_SEQIMAGE_CLI_BACKEND_SET"

_EXAMPLES = """\
examples:
  keras-seqimage restore blurred.jpg -o sharp/
      deblur with the default learned preset (sigma and noise estimated)
  keras-seqimage restore scans/*.png -o out/ --method wiener --sigma 1.5
      the classical self-tuning Wiener deconvolution, blur sigma 1.5 pixels
  keras-seqimage degrade photos/*.png -o test/ --sigma 2 --noise 0.01 --seed 0
      blurred, noisy copies, with the draws in test/NAME.json
  keras-seqimage info
      versions, backend, fast path, presets

The exit status is the number of files that failed (at most 125).
"""


def _sigma(text):
    """`--sigma 1.5` or `--sigma 1.0,2.0` (height, width)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(
            f"must be a number > 0 or a pair H,W of numbers > 0, not {text!r}"
        )
    return values[0] if len(values) == 1 else tuple(values)


def _noise(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def build_parser():
    """The command line: `restore`, `degrade` and `info`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Deblur and denoise photographs, or make degraded test copies.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend (default: KERAS_BACKEND, else Keras' own default)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    restore = commands.add_parser(
        "restore",
        help="deblur and denoise image files",
        description="Deblur and denoise PNG, JPEG and TIFF files (8 or 16 bit, "
        "grey, RGB or RGBA; alpha is kept). Each result is written to OUT_DIR "
        "under the input's name, in the input's format, with its colour "
        "profile and metadata.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _files(restore)
    restore.add_argument(
        "--method",
        default="auto",
        help="'auto' (the best learned preset), 'wiener' (classical) or a "
        "preset's name (see `keras-seqimage info`); default: auto",
    )
    restore.add_argument(
        "--sigma",
        type=_sigma,
        help="blur standard deviation in pixels, S or H,W (default: estimated)",
    )
    restore.add_argument(
        "--noise",
        type=_noise,
        help="noise standard deviation, images on a 0..1 scale (default: estimated)",
    )
    restore.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="arithmetic of a learned preset's network: 'auto' takes bfloat16 "
        "only where the CPU computes it natively (faster); "
        "default: auto",
    )
    restore.add_argument("--no-progress", action="store_true", help="no progress bar")
    _backend(restore)

    degrade = commands.add_parser(
        "degrade",
        help="blur and add noise to image files (test pairs)",
        description="Blur image files with a Gaussian and add Gaussian noise "
        "(keras_seqimage.degrade), writing each to OUT_DIR under its name "
        "and the draws to OUT_DIR/NAME.json, which `degrade(clean, "
        "params=...)` replays.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _files(degrade)
    degrade.add_argument(
        "--sigma",
        type=_sigma,
        required=True,
        help="blur standard deviation in pixels, S or H,W",
    )
    degrade.add_argument(
        "--noise",
        type=_noise,
        required=True,
        help="noise standard deviation, images on a 0..1 scale",
    )
    degrade.add_argument(
        "--seed",
        type=int,
        help="seed of the first file (the next get seed+1, ...); default: random",
    )
    _backend(degrade)

    info = commands.add_parser("info", help="versions, backend, fast path and presets")
    _backend(info)
    return parser


def _files(parser):
    parser.add_argument("inputs", nargs="+", metavar="IN", help="image files")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT_DIR",
        help="output folder (created if missing; inputs are never overwritten)",
    )


def _backend(parser):
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=argparse.SUPPRESS,
        help="Keras backend (default: KERAS_BACKEND, else Keras' own default)",
    )


def main(argv=None):
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    backend = getattr(args, "backend", None)
    if backend is not None:
        status = _select_backend(backend, argv)
        if status is not None:
            return status
    try:
        if args.command == "info":
            return _info()
        if args.command == "restore":
            return _restore(args)
        return _degrade(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _select_backend(backend, argv):
    """Set KERAS_BACKEND; rerun in a fresh process if Keras has another one."""
    os.environ["KERAS_BACKEND"] = backend
    if "keras" not in sys.modules:
        return None
    import keras

    if keras.backend.backend() == backend:
        return None
    if os.environ.get(_RERUN):
        print(f"{PROG}: error: cannot switch Keras to {backend!r}", file=sys.stderr)
        return 2
    env = {**os.environ, "KERAS_BACKEND": backend, _RERUN: "1"}
    return subprocess.call([sys.executable, "-m", "keras_seqimage.cli", *argv], env=env)


def _error(path, message):
    text = str(message).splitlines()[0] if str(message) else type(message).__name__
    name = str(path)
    if not text.startswith(name):
        text = f"{name}: {text}"
    print(f"{PROG}: error: {text}", file=sys.stderr)


def _plan(inputs, output):
    """`[(input, output or None)]`, with errors printed for the refused ones."""
    out_dir = Path(output)
    if out_dir.exists() and not out_dir.is_dir():
        raise SystemExit(
            f"{PROG}: error: {out_dir}: the output must be a folder, not a file"
        )
    resolved = {Path(p).resolve() for p in inputs}
    planned = {}
    plan = []
    for name in inputs:
        source = Path(name)
        target = out_dir / source.name
        if target.resolve() in resolved:
            _error(
                source,
                f"the output {target} would overwrite an input; choose another "
                "output folder",
            )
            plan.append((source, None))
        elif target.resolve() in planned:
            _error(
                source,
                f"the output {target} would overwrite the output of "
                f"{planned[target.resolve()]} (same file name)",
            )
            plan.append((source, None))
        else:
            planned[target.resolve()] = source
            plan.append((source, target))
    return plan


def _status(failed):
    return min(failed, 125)


def _restore(args):
    from keras_seqimage import io, restoring

    try:
        method = restoring._check_method(args.method)
        if method == "wiener" and args.sigma is None:
            restoring._check_blur_estimator()
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    plan = _plan(args.inputs, args.output)
    failed = sum(target is None for _, target in plan)
    Path(args.output).mkdir(parents=True, exist_ok=True)
    for source, target in plan:
        if target is None:
            continue
        try:
            image, info = io.read_image(source)
            restored, params = restoring.restore(
                image,
                method=args.method,
                sigma=args.sigma,
                noise=args.noise,
                return_params=True,
                data_format="channels_last",
                progress=False if args.no_progress else None,
                precision=args.precision,
            )
            io.write_image(target, restored, info)
        except (OSError, ValueError) as error:
            _error(source, error)
            failed += 1
            continue
        sigma = ", ".join(f"{s:.3g}" for s in params["sigma"])
        print(
            f"{source} -> {target} ({params['method']}, sigma {sigma}, "
            f"noise {float(params['noise']):.3g})"
        )
    return _status(failed)


def _degrade(args):
    import numpy as np

    import keras_seqimage
    from keras_seqimage import io

    plan = _plan(args.inputs, args.output)
    failed = sum(target is None for _, target in plan)
    Path(args.output).mkdir(parents=True, exist_ok=True)
    for index, (source, target) in enumerate(plan):
        if target is None:
            continue
        try:
            image, info = io.read_image(source)
            if image.dtype.kind == "f":
                raise ValueError("floating-point images are not supported here")
            top = float(np.iinfo(image.dtype).max)
            colour = 3 if image.shape[-1] >= 3 else 1
            floats = image[..., :colour].astype("float32") / top
            seed = None if args.seed is None else args.seed + index
            degraded, params = keras_seqimage.degrade(
                floats,
                sigma=args.sigma,
                noise=args.noise,
                seed=seed,
                data_format="channels_last",
            )
            out = np.round(np.clip(degraded, 0, 1) * top).astype(image.dtype)
            out = np.concatenate([out, image[..., colour:]], axis=-1)
            io.write_image(target, out, info)
            sidecar = target.with_name(target.name + ".json")
            sidecar.write_text(json.dumps(_record(source, target, params), indent=2))
        except (OSError, ValueError) as error:
            _error(source, error)
            failed += 1
            continue
        print(f"{source} -> {target} (+ {sidecar.name})")
    return _status(failed)


def _record(source, target, params):
    import keras

    import keras_seqimage

    return {
        "input": str(source),
        "output": str(target),
        "sigma_h": float(params["sigma_h"][0]),
        "sigma_w": float(params["sigma_w"][0]),
        "noise": float(params["noise"][0]),
        "seed": int(params["seed"]),
        "steps": "gaussian blur (scipy reflect, truncate 4) of the colour "
        "channels in [0, 1], + noise, clip to [0, 1], rounding to the file's "
        "bit depth; alpha unchanged",
        "replay": "keras_seqimage.degrade(image, params={'sigma_h': [..], "
        "'sigma_w': [..], 'noise': [..], 'seed': ..}) on the same backend",
        "backend": keras.backend.backend(),
        "keras_seqimage": keras_seqimage.__version__,
    }


def _info():
    import importlib.metadata

    import keras

    import keras_seqimage
    from keras_seqimage import backend, restoring

    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    lines = [
        f"keras-seqimage {keras_seqimage.__version__}",
        f"python {sys.version.split()[0]}",
        f"keras {keras.__version__}",
        *(
            f"{name} {version(name)}"
            for name in ("numpy", "scipy", "tensorflow", "jax", "torch", "pillow")
        ),
        f"backend: {keras.backend.backend()}",
        f"fast path: {backend.fast_path_status()}",
    ]
    presets = restoring._presets()
    if presets:
        lines.append(f"presets: {', '.join(presets)} (auto = {presets[0]})")
    else:
        lines.append(
            "presets: none in this installation (restore --method wiener --sigma S)"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
