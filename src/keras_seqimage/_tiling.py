"""Run an image function on overlapping tiles and blend them without seams.

A function that needs memory in proportion to its input (an FFT-based
deconvolution, a network) cannot take a 6000x4000 photo whole. `tiled_apply`
cuts the image into tiles that overlap, runs the function on each tile with
some extra context around it (`margin`, cropped away afterwards: the pixels
near a tile's cut edge are wrong for any filter that reads neighbours), and
blends neighbouring tiles across their overlap with raised-cosine weights.
The weights of each axis sum to one at every pixel, so a function that is
exact on the whole image stays exact wherever its tiles agree, and where they
differ slightly the transition is smooth (no seam).
"""

import math
import time

import numpy as np

from keras_seqimage._validation import check_non_negative_int, check_positive_int


def tile_starts(size, tile, overlap):
    """Start offsets of the tiles along one axis of length `size`.

    One tile when the axis fits in one; otherwise the fewest tiles of length
    `tile` that overlap by at least `overlap`, spread evenly so the first
    starts at 0 and the last ends at `size`.

    Example:

    >>> tile_starts(10, 16, 4), tile_starts(100, 40, 8)
    ([0], [0, 30, 60])
    """
    if size <= tile:
        return [0]
    count = math.ceil((size - overlap) / (tile - overlap))
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def _axis_weights(size, tile, starts):
    """Per-tile 1-D blending weights that sum to 1 at every position."""
    length = min(tile, size)
    weights = []
    for i, start in enumerate(starts):
        w = np.ones(length)
        if i > 0:  # ramp up over the overlap with the previous tile
            shared = starts[i - 1] + length - start
            t = (np.arange(shared) + 0.5) / shared
            w[:shared] = 0.5 - 0.5 * np.cos(np.pi * t)
        if i < len(starts) - 1:  # ramp down over the overlap with the next
            shared = start + length - starts[i + 1]
            t = (np.arange(shared) + 0.5) / shared
            w[length - shared :] *= 0.5 + 0.5 * np.cos(np.pi * t)
        weights.append(w)
    total = np.zeros(size)
    for start, w in zip(starts, weights, strict=True):
        total[start : start + length] += w
    return [
        (w / total[start : start + length]).astype("float32")
        for start, w in zip(starts, weights, strict=True)
    ]


def tiled_apply(
    fn, image, tile=1024, overlap=32, margin=0, progress=None, window=False
):
    """Apply `fn` to `image` in overlapping tiles, blended with smooth weights.

    The image is cut into tiles of at most `tile` x `tile` pixels whose
    neighbours share at least `overlap` rows or columns. `fn` receives each
    tile grown by up to `margin` pixels of context on every side (less at the
    image border) as float32, and must return an array of the same shape;
    the context is cropped away, and the tiles are summed with raised-cosine
    weights across each overlap (weights that sum to one at every pixel).
    With one tile, `fn` sees the whole image and its result is returned
    unblended. Memory beyond the output is one tile's worth.

    Args:
        fn: callable, float32 array `(h, w, channels)` -> array of the same
            shape.
        image: array `(height, width, channels)` of any real dtype; each tile
            is converted to float32 on its own, so an integer image is never
            converted whole.
        tile: int >= 1, the tile's height and width. Defaults to `1024`.
        overlap: int >= 0, the least overlap between neighbouring tiles;
            less than `tile`. Defaults to `32`.
        margin: int >= 0, extra context given to `fn` on each side of a
            tile. Defaults to `0`.
        progress: `None`, `True` or `False`: show a `keras.utils.Progbar`
            over the tiles: `True` whenever there are several tiles, `None`
            only once the work is seen to take more than a few seconds,
            `False` never. Defaults to `None`.
        window: bool. `True` calls `fn(piece, (rows, cols))` with the two
            slices of the piece that the tile covers (the rest is context,
            and what `fn` returns there is discarded), so `fn` can skip work
            on the context. Defaults to `False`: `fn(piece)`.

    Returns:
        float32 array of the shape of `image`.

    Example:

    >>> image = np.random.default_rng(0).uniform(size=(50, 70, 3))
    >>> out = tiled_apply(lambda t: 2 * t, image, tile=32, overlap=8)
    >>> bool(np.allclose(out, 2 * image, atol=1e-6))
    True
    """
    tile = check_positive_int("tile", tile)
    overlap = check_non_negative_int("overlap", overlap)
    margin = check_non_negative_int("margin", margin)
    if overlap >= tile:
        raise ValueError(
            f"`overlap` must be smaller than `tile` ({tile}). Received: "
            f"overlap={overlap}"
        )
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(
            "`image` must be an array (height, width, channels). "
            f"Received: image.shape={image.shape}"
        )
    height, width = image.shape[:2]
    rows, cols = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    if len(rows) == 1 and len(cols) == 1:
        whole = (slice(0, height), slice(0, width)) if window else None
        return _call(fn, image, image.shape, whole)
    row_weights = _axis_weights(height, tile, rows)
    col_weights = _axis_weights(width, tile, cols)
    th, tw = min(tile, height), min(tile, width)
    out = np.zeros(image.shape, dtype="float32")
    total = len(rows) * len(cols)
    bar = None
    began = time.perf_counter()
    done = 0
    for top, wy in zip(rows, row_weights, strict=True):
        for left, wx in zip(cols, col_weights, strict=True):
            y0, x0 = max(0, top - margin), max(0, left - margin)
            y1 = min(height, top + th + margin)
            x1 = min(width, left + tw + margin)
            piece = image[y0:y1, x0:x1]
            inner = (slice(top - y0, top - y0 + th), slice(left - x0, left - x0 + tw))
            restored = _call(fn, piece, piece.shape, inner if window else None)
            restored = restored[top - y0 : top - y0 + th, left - x0 : left - x0 + tw]
            weights = (wy[:, None] * wx[None, :])[..., None]  # one 2D product
            out[top : top + th, left : left + tw] += restored * weights
            done += 1
            bar = _progress(bar, progress, done, total, time.perf_counter() - began)
    return out


def _call(fn, piece, shape, inner=None):
    piece = np.asarray(piece, dtype="float32")
    result = fn(piece) if inner is None else fn(piece, inner)
    result = np.asarray(result, dtype="float32")
    if result.shape != tuple(shape):
        raise ValueError(
            f"`fn` must return an array of the shape of its tile {tuple(shape)}. "
            f"Received: shape {result.shape}"
        )
    return result


#: With `progress=None`, a bar appears once the whole run is expected to take
#: longer than this many seconds.
PROGRESS_AFTER_S = 3.0


def _progress(bar, progress, done, total, elapsed):
    """Create (when due) and update the progress bar; return it."""
    if progress is False or total < 2:
        return bar
    if bar is None:
        due = progress is True or elapsed / done * total > PROGRESS_AFTER_S
        if not due or done == total:
            return None
        import keras

        bar = keras.utils.Progbar(total, unit_name="tile")
    bar.update(done)
    return bar
