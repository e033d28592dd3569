"""One original / blurred / Wiener / model grid from finished `cifar_deblur.py` runs.

Loads the `model.keras` of each run folder, restores the same test images and draws one
row per method, so a column compares the methods on one image:

    KERAS_BACKEND=jax python examples/restoration_figure.py \
        --data ~/data/cifar-10-python.tar.gz --quantize --sigma 1.0 --test-subset 8 \
        --runs outputs/q000_s1.0_e10 outputs/q_gru16x4_s1.0_e20 \
        --figure docs/figures/renet_quantize/restoration_grid_000.png

Data, blur and split arguments mean what they mean for `cifar_deblur.py` (use the ones
the runs used); the Wiener row is tuned on validation images as there.
"""

# %%
import json
from pathlib import Path

import cifar_deblur
import keras

from keras_seqimage import visualization


def run_label(run, labels):
    """`model (preset)` from the run's metrics.json, made unique with the folder."""
    meta = json.loads((run / "metrics.json").read_text())
    label = meta["model"] + (f" ({meta['preset']})" if meta.get("preset") else "")
    return f"{label}, {run.name}" if label in labels else label


def main(argv=None):
    parser = cifar_deblur.build_parser(__doc__)
    parser.add_argument(
        "--runs",
        nargs="+",
        type=Path,
        required=True,
        help="cifar_deblur output folders",
    )
    parser.add_argument("--figure", type=Path, required=True, help="the .png to write")
    parser.add_argument("--count", type=int, default=8, help="images (columns)")
    args = parser.parse_args(argv)
    cifar_deblur.check_sigma(parser, args)
    missing = [str(r) for r in args.runs if not (r / "model.keras").is_file()]
    if missing:
        parser.error(f"--runs: no model.keras in {', '.join(missing)}")

    data = cifar_deblur.load_data(args)
    clean, blurred, wiener, _ = cifar_deblur.baseline_restorations(data, args)
    rows = {
        "original": clean,
        f"blurred (sigma {args.sigma})": blurred,
        "Wiener": wiener,
    }
    for run in args.runs:
        model = keras.saving.load_model(run / "model.keras")
        rows[run_label(run, rows)] = cifar_deblur.restore(model, blurred)
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    visualization.save_figure(
        visualization.plot_image_grid(rows, count=min(args.count, len(clean))),
        args.figure,
    )
    print(f"Wrote {args.figure}: rows {', '.join(rows)}")
    return rows


if __name__ == "__main__":
    main()
