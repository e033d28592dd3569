"""Figures of the experiments: image grids, loss curves and the EDA plots.

The figures of the source documents (`docs/bibliography.md`): the image grids
and loss curves of all of them; Ayob's class distribution, class samples and
per-channel histograms; Bhunu's all-pixel histogram, channel correlation and
scatter-plot matrix; Wood's pixel histogram with a density curve and PCA
scatter; Haque et al.'s corruption steps (their Fig. 5) and both models' loss
with a logarithmic trend line (their Fig. 6).

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
    "log_trend",
    "pca_projection",
    "plot_channel_correlation",
    "plot_channel_histograms",
    "plot_class_distribution",
    "plot_class_samples",
    "plot_corruption_steps",
    "plot_image_grid",
    "plot_loss_comparison",
    "plot_loss_curves",
    "plot_pca_scatter",
    "plot_pixel_histogram",
    "plot_scatter_matrix",
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


def plot_pixel_histogram(
    images, bins=64, density_curve=False, title="Pixel intensities (all channels)"
):
    """Histogram of every pixel value of every channel, as a density.

    Bhunu's "pixel density after normalization" (`density_curve=False`) and
    Wood's histogram with a kernel density curve (`density_curve=True`). The
    curve is a Gaussian kernel density estimate computed on a 1/1024 grid of
    [0, 1] (the values binned, then smoothed with Silverman's bandwidth), so
    a whole data set costs one pass; uint8 images put their mass on 256
    values and the curve shows their peaks.

    Args:
        images: images `(n, height, width[, channels])`, floats in [0, 1] or
            uint8 (scaled to [0, 1]).
        bins: int, the number of histogram bars over [0, 1]. Defaults to `64`.
        density_curve: bool, draw the kernel density curve too. Defaults to
            `False`.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`; its axis holds the bars (heights: the
        density of each bin, integrating to 1) and, with `density_curve`,
        one line.

    Example:

    >>> import numpy as np
    >>> figure = plot_pixel_histogram(np.random.rand(4, 8, 8, 3), bins=10)
    >>> len(figure.axes[0].patches)
    10
    """
    images = _as_images("images", images)
    bins = check_positive_int("bins", bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    grid = np.linspace(0.0, 1.0, 1025)
    counts, fine = np.zeros(bins), np.zeros(len(grid) - 1)
    total, sums, squares = 0, 0.0, 0.0
    for chunk in _chunks(images):
        values = chunk.reshape(-1)
        counts += np.histogram(values, bins=edges)[0]
        fine += np.histogram(values, bins=grid)[0]
        total += values.size
        sums += float(values.sum())
        squares += float(np.square(values).sum())
    density = counts / (total * np.diff(edges))
    figure = _figure(5.0, 3.2)
    axis = figure.subplots()
    axis.bar(
        edges[:-1], density, width=np.diff(edges), align="edge", color="tab:blue",
        alpha=0.6, label="histogram",
    )  # fmt: skip
    if density_curve:
        std = np.sqrt(max(squares / total - (sums / total) ** 2, 0.0))
        centres, curve = _binned_kde(grid, fine, total, std)
        axis.plot(centres, curve, color="black", label="kernel density")
        axis.legend(fontsize=7)
    axis.set_xlabel("intensity (0..1)")
    axis.set_ylabel("density")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def _binned_kde(grid, counts, total, std):
    """A Gaussian KDE from binned values: centres and density on the grid."""
    step = grid[1] - grid[0]
    centres = (grid[:-1] + grid[1:]) / 2
    bandwidth = max(1.06 * std * total ** (-1 / 5), step)  # Silverman's rule
    radius = int(np.ceil(4 * bandwidth / step))
    offsets = np.arange(-radius, radius + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    kernel /= kernel.sum() * step
    return centres, np.convolve(counts / total, kernel, mode="same")


def _sample_pixels(images, sample, seed):
    """Up to `sample` random pixels of `images` as a `(k, channels)` array."""
    n, height, width, channels = images.shape
    rng = np.random.default_rng(seed)
    count = min(sample, n * height * width)
    flat = rng.choice(n * height * width, size=count, replace=False)
    index, rest = np.divmod(flat, height * width)
    rows, cols = np.divmod(rest, width)
    order = np.argsort(index, kind="stable")  # read the images in order
    picked = images[index[order], rows[order], cols[order]]
    return _unit_range(picked.reshape(count, 1, 1, channels)).reshape(count, -1)


def plot_scatter_matrix(
    images, sample=2000, seed=0, title="Pixel values: scatter-plot matrix"
):
    """Scatter-plot matrix of the channels over a random sample of pixels.

    Bhunu's figure of how the red, green and blue values of a pixel move
    together: off the diagonal, one point per sampled pixel (channel `j`
    across, channel `i` up); on the diagonal, each channel's histogram.

    Args:
        images: images `(n, height, width, channels)`, floats in [0, 1] or
            uint8.
        sample: int, the pixels drawn (without replacement). Defaults to
            `2000`.
        seed: int, the seed of the draw. Defaults to `0`.
        title: str, the figure title.

    Returns:
        A `matplotlib.figure.Figure` with `channels x channels` axes, row-major.

    Example:

    >>> import numpy as np
    >>> figure = plot_scatter_matrix(np.random.rand(2, 8, 8, 3), sample=50)
    >>> len(figure.axes)
    9
    """
    images = _as_images("images", images)
    sample = check_positive_int("sample", sample)
    pixels = _sample_pixels(images, sample, seed)
    channels = pixels.shape[1]
    names = ("red", "green", "blue") if channels == 3 else ("gray",)
    colors = CHANNEL_COLORS if channels == 3 else ("black",)
    figure = _figure(2.2 * channels + 0.4, 2.2 * channels + 0.4)
    axes = figure.subplots(channels, channels, squeeze=False)
    for i in range(channels):
        for j in range(channels):
            axis = axes[i, j]
            if i == j:
                axis.hist(pixels[:, i], bins=32, range=(0, 1), color=colors[i])
            else:
                axis.scatter(pixels[:, j], pixels[:, i], s=2, alpha=0.3, color="k")
                axis.set_xlim(0, 1)
                axis.set_ylim(0, 1)
            if i == channels - 1:
                axis.set_xlabel(names[j], fontsize=8)
            if j == 0:
                axis.set_ylabel(names[i], fontsize=8)
            axis.tick_params(labelsize=6)
    figure.suptitle(f"{title} ({len(pixels):,} pixels)", fontsize=9)
    figure.tight_layout()
    return figure


def pca_projection(images, components=2):
    """Images projected on their leading principal axes (numpy SVD).

    Args:
        images: images `(n, height, width[, channels])`, floats in [0, 1] or
            uint8 (scaled to [0, 1]).
        components: int, the axes kept. Defaults to `2`.

    Returns:
        `(scores, explained)`: the `(n, components)` coordinates of the
        centred images on the axes, and the share of the variance each axis
        explains. An axis's sign is fixed so that its largest loading is
        positive.

    Example:

    >>> import numpy as np
    >>> line = np.linspace(0, 1, 5)[:, None, None, None] * np.ones((5, 2, 2, 1))
    >>> scores, explained = pca_projection(line, components=1)
    >>> [round(float(v), 3) for v in explained]
    [1.0]
    """
    images = _as_images("images", images)
    components = check_positive_int("components", components)
    flat = _unit_range(images).reshape(len(images), -1)
    if components > min(flat.shape):
        raise ValueError(
            f"`components` must be at most {min(flat.shape)} (images x values). "
            f"Received: components={components}"
        )
    centred = flat - flat.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:components]
    signs = np.sign(axes[np.arange(components), np.argmax(np.abs(axes), axis=1)])
    axes = axes * signs[:, None]
    variance = singular**2
    explained = variance[:components] / variance.sum() if variance.sum() else variance
    return centred @ axes.T, explained


def plot_pca_scatter(
    images, labels, class_names=None, sample=5000, seed=0, title="PCA of the images"
):
    """The images on their first two principal axes, coloured by class.

    Wood's figure: each point an image, its class the colour; overlapping
    classes say that a linear projection does not separate them.

    Args:
        images: images `(n, height, width[, channels])`, floats or uint8.
        labels: int array of class indices, shape `(n,)` or `(n, 1)`.
        class_names: optional sequence of names, indexed by class.
        sample: int, the images drawn at random for the projection (PCA on
            50,000 CIFAR-10 images needs 1.2 GB). Defaults to `5000`.
        seed: int, the seed of the draw. Defaults to `0`.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`: one scatter collection per class, in
        class order; the axis labels give each component's explained
        variance.

    Example:

    >>> import numpy as np
    >>> figure = plot_pca_scatter(np.random.rand(20, 4, 4, 3), np.arange(20) % 2)
    >>> len(figure.axes[0].collections)
    2
    """
    images = _as_images("images", images)
    labels = np.asarray(labels).reshape(-1).astype(int)
    if len(labels) != len(images):
        raise ValueError(
            "`labels` must have one entry per image. "
            f"Received: {len(labels)} labels for {len(images)} images"
        )
    sample = check_positive_int("sample", sample)
    if sample < len(images):
        keep = np.sort(np.random.default_rng(seed).choice(len(images), sample, False))
        images, labels = images[keep], labels[keep]
    scores, explained = pca_projection(images, components=2)
    figure = _figure(5.2, 4.2)
    import matplotlib  # after _figure: its ImportError says what to install

    axis = figure.subplots()
    colormap = "tab10" if labels.max(initial=0) < 10 else "tab20"
    colors = matplotlib.colormaps[colormap]
    for label in np.unique(labels):
        name = class_names[label] if class_names else str(label)
        points = scores[labels == label]
        color = colors(int(label) % colors.N)
        axis.scatter(
            points[:, 0], points[:, 1], s=3, alpha=0.5, color=color, label=name
        )
    axis.set_xlabel(f"PC 1 ({explained[0]:.1%} of the variance)")
    axis.set_ylabel(f"PC 2 ({explained[1]:.1%})")
    axis.set_title(f"{title} ({len(images):,} images)", fontsize=9)
    axis.legend(fontsize=6, markerscale=3, loc="best")
    figure.tight_layout()
    return figure


def plot_corruption_steps(images, steps, title="Corruption steps"):
    """Images through a chain of corruptions: one column per stage.

    Haque et al.'s Fig. 5: the original digit, the digit with its lower half
    blanked, then with noise on top. Each step is applied to the output of
    the one before.

    Args:
        images: images `(n, height, width[, channels])` (a few: one row
            each), floats in [0, 1] or uint8.
        steps: sequence of `(label, function)` pairs; each function maps a
            float batch `(n, height, width, channels)` to one of the same
            shape (a corruption layer, a numpy function).
        title: str, the figure title.

    Returns:
        A `matplotlib.figure.Figure` with `n x (len(steps) + 1)` axes,
        row-major; the first column is the original.

    Example:

    >>> import numpy as np
    >>> digits = np.random.rand(2, 8, 8, 1)
    >>> def blank(x):
    ...     return np.concatenate([x[:, :4], 0 * x[:, 4:]], axis=1)
    >>> figure = plot_corruption_steps(digits, [("lower half blanked", blank)])
    >>> [axis.get_title() for axis in figure.axes[:2]]
    ['original', 'lower half blanked']
    """
    images = to_float(_as_images("images", images))
    steps = list(steps)
    if not steps or not all(
        isinstance(step, (tuple, list)) and len(step) == 2 and callable(step[1])
        for step in steps
    ):
        raise ValueError(
            "`steps` must be a non-empty sequence of (label, function) pairs. "
            f"Received: steps={steps!r}"
        )
    stages = [("original", images)]
    for label, function in steps:
        output = np.asarray(_to_numpy(function(stages[-1][1])), dtype="float32")
        if output.shape != images.shape:
            raise ValueError(
                f"Each step must keep the images' shape {images.shape}. Received: "
                f"step {label!r} gave shape {output.shape}"
            )
        stages.append((label, output))
    figure = _figure(1.4 * len(stages) + 0.2, 1.45 * len(images) + 0.4)
    axes = figure.subplots(len(images), len(stages), squeeze=False)
    for c, (label, batch) in enumerate(stages):
        for r in range(len(images)):
            _show(axes[r, c], batch[r], label if r == 0 else None)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def _to_numpy(value):
    if hasattr(value, "numpy"):
        return value.numpy()
    try:  # a backend tensor (JAX, torch) through keras.ops
        import keras

        return keras.ops.convert_to_numpy(value)
    except Exception:  # noqa: BLE001 - not a tensor: numpy takes it as is
        return value


def log_trend(x, y):
    """Least-squares fit of `y = a + b * ln(x)`: returns `(a, b)`.

    The "log trend line" of Haque et al.'s Fig. 6, which they fit over each
    model's noisy training loss.

    Args:
        x: positive numbers (training steps or epochs).
        y: the values, same length as `x` (at least 2).

    Returns:
        The floats `(a, b)`.

    Example:

    >>> import numpy as np
    >>> x = np.array([1.0, 10.0, 100.0])
    >>> [round(v, 6) for v in log_trend(x, 2.0 - 0.5 * np.log(x))]
    [2.0, -0.5]
    """
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2 or np.any(x <= 0):
        raise ValueError(
            "`x` must be at least 2 positive numbers, one per value of `y`. "
            f"Received: x.shape={x.shape}, y.shape={y.shape}, min(x)="
            f"{x.min() if x.size else None}"
        )
    b, a = np.polyfit(np.log(x), y, 1)
    return float(a), float(b)


def plot_loss_comparison(
    histories,
    metric="loss",
    steps_per_epoch=None,
    trend=True,
    log_scale=False,
    title="Training loss",
):
    """Several models' loss on one plot, each with a logarithmic trend line.

    Haque et al.'s Fig. 6 puts the CNN-CNN's and the CNN-LSTM's training
    loss on one axis and fits `a + b * ln(step)` over each to see past the
    noise of stochastic training. Here each model's logged values (one per
    epoch) are drawn against the training step (`steps_per_epoch` given) or
    the epoch, with the trend of each as a dashed line of the same colour.

    Args:
        histories: dict mapping a model's label to its history (a
            `keras.callbacks.History`, its `.history` dict, or a `CSVLogger`
            file).
        metric: str, the logged quantity. Defaults to `"loss"`.
        steps_per_epoch: optional int: the x axis in training steps (the
            end of each epoch) instead of epochs.
        trend: bool, draw the log trend lines (a model with fewer than two
            values gets none). Defaults to `True`.
        log_scale: bool, a logarithmic y axis. Defaults to `False`.
        title: str, the axis title.

    Returns:
        A `matplotlib.figure.Figure`: per model, its values as a line
        labelled with the model's label, then its trend line.

    Example:

    >>> figure = plot_loss_comparison(
    ...     {"CNN-CNN": {"loss": [0.3, 0.2, 0.19]},
    ...      "CNN-LSTM": {"loss": [0.4, 0.2, 0.1]}},
    ...     steps_per_epoch=68)
    >>> [line.get_label() for line in figure.axes[0].get_lines()][::2]
    ['CNN-CNN', 'CNN-LSTM']
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError(
            "`histories` must be a non-empty dict of label -> history. "
            f"Received: histories={type(histories).__name__}"
        )
    if steps_per_epoch is not None:
        steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    figure = _figure(5.2, 3.4)
    axis = figure.subplots()
    for label, history in histories.items():
        history = load_history(history)
        if metric not in history:
            raise ValueError(
                f"`metric` must be logged in every history; {label!r} has "
                f"{sorted(history)}. Received: metric={metric!r}"
            )
        values = np.asarray(history[metric], dtype="float64")
        epochs = np.asarray(history.get("epoch", range(len(values)))) + 1
        x = epochs * steps_per_epoch if steps_per_epoch else epochs
        (line,) = axis.plot(x, values, marker=".", label=label)
        if trend and len(values) >= 2:
            a, b = log_trend(x, values)
            smooth = np.geomspace(x.min(), x.max(), 100)
            axis.plot(
                smooth, a + b * np.log(smooth), linestyle="--",
                color=line.get_color(), label=f"{label}: log trend",
            )  # fmt: skip
    axis.set_xlabel("training step" if steps_per_epoch else "epoch")
    axis.set_ylabel(metric)
    if log_scale:
        axis.set_yscale("log")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure
