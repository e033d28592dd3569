"""Figures of the experiments: image grids, loss curves and the EDA plots.

Every function returns a `matplotlib.figure.Figure` built without `pyplot`, so
it works headless (no display, no global state) and does not change the
user's matplotlib backend. Save it with `save_figure` or `figure.savefig`.
matplotlib is imported only when a figure is made (`pip install
"keras-seqimage[examples]"`); the statistics behind the EDA plots
(`channel_statistics`) need numpy only.
"""

import csv
import textwrap
from pathlib import Path

import numpy as np

from keras_seqimage._validation import check_positive_int
from keras_seqimage.datasets import to_float

__all__ = [
    "channel_statistics",
    "load_history",
    "plot_channel_correlation",
    "plot_channel_histograms",
    "plot_class_distribution",
    "plot_class_samples",
    "plot_image_grid",
    "plot_loss_curves",
    "save_figure",
]

CHANNEL_COLORS = ("tab:red", "tab:green", "tab:blue")


def _figure(width, height):
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "keras_seqimage.visualization needs matplotlib: "
            "pip install 'keras-seqimage[examples]'"
        ) from error
    return Figure(figsize=(width, height))


# Images are processed this many at a time, so that a whole data set (e.g.
# 50,000 uint8 CIFAR-10 images) is never converted to floats at once.
_CHUNK = 2048


def _as_images(name, images):
    """`images` as an array `(n, height, width, 1 or 3)`, dtype unchanged."""
    images = np.asarray(images)
    if images.ndim == 3:  # (n, h, w) grayscale
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"`{name}` must be images of shape (n, height, width) or "
            f"(n, height, width, 1 or 3). Received: {name}.shape={images.shape}"
        )
    return images


def _unit_range(images):
    """Images in [0, 1] as float64 (for statistics), uint8 divided by 255."""
    return to_float(images).astype("float64")


def _chunks(images):
    for start in range(0, len(images), _CHUNK):
        yield _unit_range(images[start : start + _CHUNK])


def _show(axis, image, label=None):
    image = _unit_range(image)
    if image.shape[-1] == 1:
        axis.imshow(np.clip(image[..., 0], 0, 1), cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(np.clip(image, 0, 1))
    axis.set_xticks([])
    axis.set_yticks([])
    if label is not None:
        axis.set_title(label, fontsize=7)


def save_figure(figure, path, dpi=120):
    """Write `figure` to `path` (format from the suffix); returns the path.

    Creates missing parent folders.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def plot_image_grid(rows, count=8, indices=None, title=None):
    """A grid of images: one row per method, the same images in each column.

    The figure of the reports: original / blurred / restored test images, one
    row per method, so a column compares the methods on one image.

    Args:
        rows: dict mapping a row label (e.g. `"blurred"`) to images of shape
            `(n, height, width[, channels])`, floats in [0, 1] or uint8; all
            rows hold the same images in the same order.
        count: int, the number of columns. Defaults to `8`.
        indices: optional sequence of image indices to show; defaults to
            `count` indices spread evenly over the images.
        title: optional str, the figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(10, 32, 32, 3)
    >>> figure = plot_image_grid({"original": images, "noisy": images}, count=4)
    >>> len(figure.axes)
    8
    """
    if not isinstance(rows, dict) or not rows:
        raise ValueError(
            "`rows` must be a non-empty dict of label -> images. "
            f"Received: rows={type(rows).__name__}"
        )
    rows = {label: _as_images(f"rows[{label!r}]", v) for label, v in rows.items()}
    sizes = {len(images) for images in rows.values()}
    if len(sizes) != 1:
        raise ValueError(
            "Every entry of `rows` must hold the same number of images. "
            f"Received: { {k: len(v) for k, v in rows.items()} }"
        )
    n = sizes.pop()
    if indices is None:
        count = check_positive_int("count", count)
        indices = np.linspace(0, n - 1, min(count, n)).astype(int)
    indices = [int(i) for i in indices]
    if not indices or min(indices) < 0 or max(indices) >= n:
        raise ValueError(
            f"`indices` must be non-empty and within [0, {n}). "
            f"Received: indices={indices}"
        )
    figure = _figure(1.2 * len(indices) + 0.8, 1.25 * len(rows) + 0.3)
    axes = figure.subplots(len(rows), len(indices), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c, index in enumerate(indices):
            _show(axes[r, c], images[index])
        axes[r, 0].set_ylabel("\n".join(textwrap.wrap(label, 18)), fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def load_history(source):
    """Training history as a dict of lists, from a `History`, dict or CSV log.

    Args:
        source: a `keras.callbacks.History`, a dict of lists (its `.history`),
            or the path of a `keras.callbacks.CSVLogger` file.

    Returns:
        dict mapping each logged name (`"loss"`, `"val_loss"`, ...) to a list
        of floats, one per epoch; a CSV's `epoch` column comes back as ints,
        and columns the logger never filled (`NA` only) are left out.
    """
    if hasattr(source, "history"):
        source = source.history
    if isinstance(source, dict):
        return {k: [float(v) for v in values] for k, values in source.items()}
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(
            f"`source` must be a History, a dict or a CSV log file. "
            f"Received: source={str(source)!r} (no such file)"
        )
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    history = {}
    for record in records:
        for key, value in record.items():
            # CSVLogger writes "NA" for a value it did not get (e.g. no
            # validation data).
            number = float("nan") if value in ("", "NA", None) else float(value)
            history.setdefault(key, []).append(number)
    history = {k: v for k, v in history.items() if not np.all(np.isnan(v))}
    if "epoch" in history:
        history["epoch"] = [int(e) for e in history["epoch"]]
    return history


def plot_loss_curves(history, metrics=("loss",), log_scale=True, title=None):
    """Training and validation curves, one panel per metric.

    Args:
        history: a `keras.callbacks.History`, its `.history` dict, or the path
            of a `CSVLogger` file (which survives a resumed run).
        metrics: names of the logged quantities to plot; each gets its
            `val_` twin when logged. Defaults to `("loss",)`.
        log_scale: bool, a logarithmic y axis. Defaults to `True`.
        title: optional str, the figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> figure = plot_loss_curves({"loss": [0.1, 0.05], "val_loss": [0.2, 0.1]})
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['training', 'validation']
    """
    history = load_history(history)
    missing = [name for name in metrics if name not in history]
    if missing:
        raise ValueError(
            f"`metrics` must name logged quantities {sorted(history)}. "
            f"Received: metrics={list(metrics)}"
        )
    figure = _figure(4.2 * len(metrics), 3.0)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axis, name in zip(axes, metrics, strict=True):
        values = history[name]
        epochs = history.get("epoch", list(range(len(values))))
        epochs = np.asarray(epochs) + 1  # Keras counts epochs from 0
        axis.plot(epochs, values, marker=".", label="training")
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], marker=".", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        if log_scale and min(values) > 0:
            axis.set_yscale("log")
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def plot_class_distribution(labels, class_names=None, title="Class distribution"):
    """Bar chart of the number of images per class.

    Args:
        labels: int array of class indices, shape `(n,)` or `(n, 1)`.
        class_names: optional sequence of names, indexed by class.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    labels = np.asarray(labels).reshape(-1).astype(int)
    size = max(len(class_names or ()), int(labels.max()) + 1 if labels.size else 0)
    counts = np.bincount(labels, minlength=size)
    names = list(class_names) if class_names else [str(i) for i in range(size)]
    figure = _figure(max(4.0, 0.55 * size), 3.0)
    axis = figure.subplots()
    axis.bar(range(size), counts, color="tab:blue")
    axis.set_xticks(range(size), names, rotation=45, ha="right", fontsize=8)
    axis.set_ylabel("images")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def plot_class_samples(images, labels, class_names=None, title="One image per class"):
    """The first image of each class, labelled with the class name.

    Args:
        images: images `(n, height, width[, channels])`, floats or uint8.
        labels: int array of class indices, shape `(n,)` or `(n, 1)`.
        class_names: optional sequence of names, indexed by class.
        title: str, the figure title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    images = _as_images("images", images)
    labels = np.asarray(labels).reshape(-1).astype(int)
    if len(labels) != len(images):
        raise ValueError(
            "`labels` must have one entry per image. "
            f"Received: {len(labels)} labels for {len(images)} images"
        )
    classes = np.unique(labels)
    figure = _figure(1.2 * len(classes) + 0.4, 1.6)
    axes = figure.subplots(1, len(classes), squeeze=False)[0]
    for axis, label in zip(axes, classes, strict=True):
        name = class_names[label] if class_names else str(label)
        _show(axis, images[np.flatnonzero(labels == label)[0]], name)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def channel_statistics(images):
    """Per-channel mean and standard deviation, and the channel correlations.

    Args:
        images: images `(n, height, width, channels)`, floats in [0, 1] or
            uint8 (scaled to [0, 1] first).

    Returns:
        dict with `mean` and `std` (lists, one value per channel, on the
        [0, 1] scale), `brightness_mean` and `brightness_variance` (over all
        pixels and channels) and `correlation` (the channels' Pearson
        correlation matrix as nested lists; NaN for a constant channel).

    Example:

    >>> import numpy as np
    >>> images = np.random.rand(2, 4, 4, 3)
    >>> images[..., 2] = 0.25
    >>> channel_statistics(images)["mean"][2]
    0.25
    """
    images = _as_images("images", images)
    channels = images.shape[-1]
    count, sums, products = 0, np.zeros(channels), np.zeros((channels, channels))
    for chunk in _chunks(images):
        pixels = chunk.reshape(-1, channels)
        count += len(pixels)
        sums += pixels.sum(axis=0)
        products += pixels.T @ pixels
    mean = sums / count
    covariance = products / count - np.outer(mean, mean)
    std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):  # constant channel: NaN
        correlation = covariance / np.outer(std, std)
    np.fill_diagonal(correlation, np.where(std > 0, 1.0, np.nan))
    brightness_mean = float(mean.mean())
    return {
        "mean": [round(float(v), 6) for v in mean],
        "std": [round(float(v), 6) for v in std],
        "brightness_mean": brightness_mean,
        "brightness_variance": float(
            np.trace(products) / (count * channels) - brightness_mean**2
        ),
        "correlation": correlation.tolist(),
    }


def plot_channel_histograms(images, bins=64, title="Pixel intensities per channel"):
    """Histogram of each RGB channel, with its mean and std in the legend.

    Args:
        images: images `(n, height, width, 3)`, floats in [0, 1] or uint8.
        bins: int, the number of histogram bins. Defaults to `64`.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    images = _as_images("images", images)
    stats = channel_statistics(images)
    figure = _figure(5.0, 3.2)
    axis = figure.subplots()
    names = ("red", "green", "blue") if images.shape[-1] == 3 else ("gray",)
    colors = CHANNEL_COLORS if images.shape[-1] == 3 else ("black",)
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.zeros((images.shape[-1], bins))
    for chunk in _chunks(images):
        for c in range(images.shape[-1]):
            counts[c] += np.histogram(chunk[..., c], bins=edges)[0]
    for c, (name, color) in enumerate(zip(names, colors, strict=True)):
        axis.stairs(
            counts[c],
            edges,
            color=color,
            label=f"{name}: mean {stats['mean'][c]:.3f}, std {stats['std'][c]:.3f}",
        )
    axis.set_xlabel("intensity (0..1)")
    axis.set_ylabel("pixels")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_channel_correlation(images, title="RGB channel correlation"):
    """The channels' Pearson correlation matrix as an annotated heat map.

    Args:
        images: images `(n, height, width, 3)`, floats in [0, 1] or uint8.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    images = _as_images("images", images)
    matrix = np.asarray(channel_statistics(images)["correlation"])
    names = ("R", "G", "B")[: len(matrix)] if len(matrix) == 3 else ["gray"]
    figure = _figure(3.4, 3.0)
    axis = figure.subplots()
    shown = axis.imshow(matrix, vmin=-1, vmax=1, cmap="coolwarm")
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            axis.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center")
    axis.set_xticks(range(len(matrix)), names)
    axis.set_yticks(range(len(matrix)), names)
    axis.set_title(title, fontsize=9)
    figure.colorbar(shown, ax=axis)
    figure.tight_layout()
    return figure
