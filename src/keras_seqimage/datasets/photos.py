"""Real photographs bundled with scikit-image, cut into patches (no download)."""

import numpy as np

from keras_seqimage._validation import check_positive, check_positive_int

#: RGB photographs that scikit-image bundles (no download needed).
BUNDLED_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
)


def photo_patches(size=32, scale=0.25, stride=None, photos=BUNDLED_PHOTOS):
    """Cut scikit-image's bundled colour photographs into square patches.

    Each photo is downscaled by `scale` with anti-aliasing (so a patch holds
    about as much scene as a CIFAR-10 image), converted to floats in [0, 1],
    and cut on a regular grid. Deterministic: the same arguments give the same
    patches in the same order.

    Args:
        size: int, the patch side in pixels. Defaults to `32`.
        scale: float > 0, the downscaling factor applied first.
            Defaults to `0.25`.
        stride: optional int, the grid step; defaults to `size`
            (non-overlapping patches).
        photos: names of `skimage.data` RGB photographs. Defaults to all of
            `BUNDLED_PHOTOS`.

    Returns:
        A pair `(patches, photo_index)`: float32 array `(n, size, size, 3)` in
        [0, 1] and int array `(n,)` giving each patch's photo (index into
        `photos`), so that a train/test split can keep photos apart.

    Example:

    >>> patches, photo = photo_patches(photos=("astronaut",))
    >>> patches.shape, patches.dtype.name
    ((16, 32, 32, 3), 'float32')
    """
    try:
        import skimage.data
        import skimage.transform
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "photo_patches needs scikit-image: pip install 'keras-seqimage[examples]'"
        ) from error
    size = check_positive_int("size", size)
    scale = check_positive("scale", scale)
    stride = size if stride is None else check_positive_int("stride", stride)
    unknown = sorted(set(photos) - set(BUNDLED_PHOTOS))
    if unknown or not photos:
        raise ValueError(
            f"`photos` must be a non-empty selection of {list(BUNDLED_PHOTOS)}. "
            f"Received: photos={photos!r}"
        )

    patches, owners = [], []
    for index, name in enumerate(photos):
        image = getattr(skimage.data, name)()
        if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
            image = image[0]
        image = image[..., :3]
        image = skimage.transform.rescale(
            image.astype("float64") / 255.0,
            scale,
            anti_aliasing=True,
            channel_axis=-1,
        )
        height, width = image.shape[:2]
        for top in range(0, height - size + 1, stride):
            for left in range(0, width - size + 1, stride):
                patches.append(image[top : top + size, left : left + size])
                owners.append(index)
    if not patches:
        raise ValueError(
            f"No {size}x{size} patch fits in the photos at scale={scale}. "
            "Use a larger `scale` or a smaller `size`."
        )
    patches = np.clip(np.stack(patches), 0.0, 1.0).astype("float32")
    return patches, np.asarray(owners)
