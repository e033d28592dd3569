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


#: Full-size photographs that no training or tuning ever sees: the test split
#: of `benchmarks/photo_restoration.py` (colour and grey; all ship inside
#: installed packages: scikit-image, and matplotlib's `grace_hopper.jpg`).
PHOTO_TEST_SET = ("astronaut", "chelsea", "coffee", "rocket", "camera", "grace_hopper")

#: Full-size photographs for training and tuning (scikit-image's other photos;
#: `skimage.data.cat` is `chelsea`, a test photo, and is left out).
PHOTO_TRAIN_SET = (
    "brick",
    "grass",
    "gravel",
    "moon",
    "coins",
    "clock",
    "cell",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)


def load_photo(name):
    """One photograph of `PHOTO_TEST_SET` or `PHOTO_TRAIN_SET`, full size.

    Read from the installed scikit-image (or, for `"grace_hopper"`,
    matplotlib's sample data through Pillow); nothing is downloaded. Grey
    photos keep one channel, colour ones three.

    Args:
        name: str, a name in `PHOTO_TEST_SET` or `PHOTO_TRAIN_SET`.

    Returns:
        float32 array `(height, width, channels)` in [0, 1], `channels` 1 or 3.

    Example:

    >>> photo = load_photo("camera")
    >>> photo.shape, photo.dtype.name
    ((512, 512, 1), 'float32')
    """
    known = PHOTO_TEST_SET + PHOTO_TRAIN_SET
    if not isinstance(name, str) or name not in known:
        raise ValueError(
            f"`name` must be one of {list(known)}. Received: name={name!r}"
        )
    if name == "grace_hopper":
        import matplotlib.cbook
        from PIL import Image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
            image = np.asarray(Image.open(file).convert("RGB"))
    else:
        try:
            import skimage.data
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(
                "load_photo needs scikit-image: pip install 'keras-seqimage[examples]'"
            ) from error
        image = getattr(skimage.data, name)()
        if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
            image = image[0]
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    return (image[..., :3].astype("float32") / 255.0).astype("float32")


def load_photos(split="test"):
    """The photographs of a split, full size, by name.

    Args:
        split: `"test"` (`PHOTO_TEST_SET`, never for training or tuning) or
            `"train"` (`PHOTO_TRAIN_SET`). Defaults to `"test"`.

    Returns:
        dict `{name: float32 array (height, width, channels) in [0, 1]}` in
        the split's order.

    Example:

    >>> sorted(load_photos("test"))[:2]
    ['astronaut', 'camera']
    """
    splits = {"test": PHOTO_TEST_SET, "train": PHOTO_TRAIN_SET}
    if split not in splits:
        raise ValueError(
            f"`split` must be one of {list(splits)}. Received: split={split!r}"
        )
    return {name: load_photo(name) for name in splits[split]}
