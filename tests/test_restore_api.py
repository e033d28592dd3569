"""`keras_seqimage.restore` and the tiling under it."""

import sys
import types

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

import keras_seqimage
from keras_seqimage import _tiling, restore, restoring
from keras_seqimage.baselines import self_tuning_wiener


def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((np.asarray(a, "float64") - b) ** 2))


@pytest.fixture(scope="module")
def photo():
    """A blurred, noisy, 8-bit rounded crop of scikit-image's astronaut."""
    skimage_data = pytest.importorskip("skimage.data")
    clean = skimage_data.astronaut()[100:356, 150:406].astype("float32") / 255
    rng = np.random.default_rng(0)
    blurred = ndi.gaussian_filter(clean, (1.5, 1.5, 0))
    noisy = blurred + 0.01 * rng.standard_normal(clean.shape)
    return clean, np.clip(np.round(noisy * 255) / 255, 0, 1).astype("float32")


def _smooth(shape, seed=0):
    rng = np.random.default_rng(seed)
    image = ndi.gaussian_filter(rng.uniform(size=shape), 2)
    return ((image - image.min()) / np.ptp(image)).astype("float32")


# --- the Wiener route ---------------------------------------------------------


def test_wiener_is_the_self_tuning_wiener(photo):
    clean, blurred = photo
    restored, params = restore(blurred, method="wiener", sigma=1.5, return_params=True)
    expected, expected_params = self_tuning_wiener(blurred, 1.5, return_params=True)
    np.testing.assert_allclose(restored, expected, atol=1e-5)
    assert params["noise"] == pytest.approx(expected_params["noise"], rel=1e-5)
    assert params["sigma"].tolist() == [1.5, 1.5]
    assert params["method"] == "wiener"
    assert _psnr(restored, clean) > _psnr(blurred, clean) + 1.0


def test_tiled_matches_untiled_on_a_photo(photo, monkeypatch):
    clean, blurred = photo
    whole = restore(blurred, method="wiener", sigma=1.5, noise=0.01)
    monkeypatch.setattr(restoring, "WIENER_TILE", 96)
    monkeypatch.setattr(restoring, "WIENER_OVERLAP", 16)
    tiled = restore(blurred, method="wiener", sigma=1.5, noise=0.01)
    assert abs(_psnr(tiled, clean) - _psnr(whole, clean)) < 0.05
    assert np.abs(tiled - whole).max() < 1e-3


def test_integer_images_come_back_rounded(photo):
    _, blurred = photo
    as_uint8 = np.round(blurred * 255).astype("uint8")
    as_uint16 = np.round(blurred * 65535).astype("uint16")
    expected = restore(blurred, method="wiener", sigma=1.5, noise=0.01)
    out8 = restore(as_uint8, method="wiener", sigma=1.5, noise=0.01)
    out16 = restore(as_uint16, method="wiener", sigma=1.5, noise=0.01)
    assert out8.dtype == np.uint8 and out16.dtype == np.uint16
    assert np.abs(out8.astype(int) - np.round(expected * 255)).max() <= 1
    assert np.abs(out16 / 65535 - expected).max() < 1e-3


def test_alpha_passes_through():
    rgba = np.concatenate([_smooth((40, 50, 3)), _smooth((40, 50, 1), 1)], -1)
    out = restore(rgba, method="wiener", sigma=1.0, noise=0.0)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    grey_alpha = rgba[..., 2:]
    out2 = restore(grey_alpha, method="wiener", sigma=1.0, noise=0.0)
    np.testing.assert_array_equal(out2[..., 1], grey_alpha[..., 1])
    np.testing.assert_allclose(out2[..., :1], out[..., 2:3], atol=1e-6)


def test_grey_2d_and_batch_agree_with_single_images():
    batch = np.stack([_smooth((32, 40, 1), s) for s in range(3)])
    out = restore(batch, method="wiener", sigma=(1.0, 2.0), noise=0.01)
    for image, restored in zip(batch, out, strict=True):
        single = restore(image[..., 0], method="wiener", sigma=(1.0, 2.0), noise=0.01)
        assert single.shape == (32, 40)
        np.testing.assert_allclose(restored[..., 0], single, atol=1e-6)


def test_channels_first_is_transposed_in_and_out():
    batch = np.stack([_smooth((32, 40, 3), s) for s in range(2)])
    last = restore(batch, method="wiener", sigma=1.0, noise=0.01)
    first = restore(
        np.moveaxis(batch, -1, 1),
        method="wiener",
        sigma=1.0,
        noise=0.01,
        data_format="channels_first",
    )
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, atol=1e-6)
    one = restore(
        np.moveaxis(batch[0], -1, 0),
        method="wiener",
        sigma=1.0,
        noise=0.01,
        data_format="channels_first",
    )
    np.testing.assert_allclose(np.moveaxis(one, 0, -1), last[0], atol=1e-6)


def test_a_backend_tensor_comes_back_as_one():
    image = _smooth((24, 24, 3))
    tensor = keras.ops.convert_to_tensor(image)
    out = restore(tensor, method="wiener", sigma=1.0, noise=0.0)
    assert keras.ops.is_tensor(out)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out),
        restore(image, method="wiener", sigma=1.0, noise=0.0),
        atol=1e-6,
    )


def test_the_estimated_noise_comes_back(photo):
    _, blurred = photo
    _, params = restore(blurred, method="wiener", sigma=1.5, return_params=True)
    assert 0.005 < float(params["noise"]) < 0.02
    _, batch_params = restore(
        blurred[None], method="wiener", sigma=1.5, return_params=True
    )
    assert batch_params["sigma"].shape == (1, 2)
    assert batch_params["noise"].shape == (1,)


def test_a_large_image_estimates_noise_from_crops(monkeypatch):
    from keras_seqimage.restoration import statistics

    monkeypatch.setattr(statistics, "_NOISE_SAMPLE_PIXELS", 64 * 64)
    monkeypatch.setattr(statistics, "_NOISE_CROP", 48)
    rng = np.random.default_rng(3)
    image = 0.5 + 0.02 * rng.standard_normal((128, 160, 1))
    _, params = restore(
        image.astype("float32"), method="wiener", sigma=1.0, return_params=True
    )
    assert float(params["noise"]) == pytest.approx(0.02, rel=0.1)


def test_progress_bar_over_tiles(monkeypatch, capsys):
    monkeypatch.setattr(restoring, "WIENER_TILE", 32)
    monkeypatch.setattr(restoring, "WIENER_OVERLAP", 8)
    restore(_smooth((64, 64, 1)), method="wiener", sigma=1.0, noise=0, progress=True)
    assert "tile" in capsys.readouterr().out
    restore(_smooth((64, 64, 1)), method="wiener", sigma=1.0, noise=0, progress=False)
    assert capsys.readouterr().out == ""


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma": 0.0}, r"`sigma` must be .*Received: sigma=0.0"),
        ({"sigma": -1}, r"Received: sigma=-1"),
        ({"sigma": (1.0, float("nan"))}, r"`sigma` must be"),
        ({"noise": -0.1}, r"`noise` must be .*Received: noise=-0.1"),
        ({"method": "magic"}, r"`method` must be one of \['auto', 'wiener'"),
        ({"data_format": "NCHW"}, r"`data_format` must be one of"),
        ({"progress": "yes"}, r"`progress` must be None, True or False"),
        ({"return_params": 1}, r"`return_params` must be True or False"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"method": "wiener", "sigma": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        restore(_smooth((16, 16, 3)), **kwargs)


@pytest.mark.parametrize(
    "image, match",
    [
        (np.zeros((4,), "float32"), r"`image` must be one image .*shape=\(4,\)"),
        (np.zeros((1, 2, 8, 8, 3), "float32"), r"Received: image.shape="),
        (np.zeros((8, 8, 3), "int32"), r"uint8 .*Received: image.dtype=int32"),
        (np.zeros((8, 8, 3), bool), r"Received: image.dtype=bool"),
        (np.zeros((8, 8, 7), "float32"), r"1 to 4 channels"),
        (np.zeros((2, 3, 16, 16), "float32"), r"looks channels-first"),
        (np.zeros((4, 16, 16), "float32"), r"channels-first"),
        (np.zeros((10, 16, 16), "float32"), r"image\[\.\.\., None\]"),
        (np.full((8, 8, 3), np.nan, "float32"), r"NaN or inf"),
        (np.full((8, 8, 3), 200.0, "float32"), r"values in \[0, 1\]"),
        (np.zeros((0, 8, 8, 3), "float32"), r"at least one image"),
    ],
)
def test_bad_images(image, match):
    with pytest.raises(ValueError, match=match):
        restore(image, method="wiener", sigma=1.0)


# --- the learned route, against a stand-in of keras_seqimage.restoration -----


class _FakeRestorer:
    calls = []
    precisions = []

    @classmethod
    def from_preset(cls, name, precision="auto"):
        cls.calls.append(name)
        cls.precisions.append(precision)
        return cls()

    def restore(
        self, images, sigma=None, noise=None, return_params=False, progress=None
    ):
        assert images.dtype == np.float32 and images.ndim == 4
        assert images.shape[-1] in (1, 3)
        out = np.clip(images * 0.5 + 0.25, 0, 1)
        params = {
            "sigma": np.full((len(images), 2), 2.0 if sigma is None else sigma[0]),
            "noise": np.full((len(images),), 0.01 if noise is None else noise),
        }
        return (out, params) if return_params else out


@pytest.fixture
def fake_restoration(monkeypatch):
    module = types.ModuleType("keras_seqimage.restoration")
    module.PRESETS = ("photo_best", "photo_small")
    module.PhotoRestorer = _FakeRestorer
    module.estimate_blur = lambda images: np.full((len(images), 2), 1.25)
    monkeypatch.setitem(sys.modules, "keras_seqimage.restoration", module)
    monkeypatch.setattr(keras_seqimage, "restoration", module, raising=False)
    _FakeRestorer.calls = []
    return module


def test_auto_runs_the_first_preset(fake_restoration):
    image = (_smooth((20, 24, 4)) * 255).astype("uint8")
    out, params = restore(image, return_params=True)
    assert _FakeRestorer.calls == ["photo_best"]
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    expected = np.round(np.clip(image[..., :3] / 255 * 0.5 + 0.25, 0, 1) * 255)
    assert np.abs(out[..., :3].astype(int) - expected).max() <= 1
    assert params["method"] == "photo_best"
    assert params["sigma"].tolist() == [2.0, 2.0]


def test_a_named_preset_and_the_blur_estimate(fake_restoration):
    image = _smooth((20, 24, 3))
    restore(image, method="photo_small", precision="float32")
    assert _FakeRestorer.calls == ["photo_small"]
    assert _FakeRestorer.precisions[-1] == "float32"
    with pytest.raises(ValueError, match="precision"):
        restore(image, method="photo_small", precision="half")
    _, params = restore(image, method="wiener", return_params=True)
    assert params["sigma"].tolist() == [1.25, 1.25]
    with pytest.raises(ValueError, match=r"'photo_best', 'photo_small'\]"):
        restore(image, method="photo_large")


# --- properties ---------------------------------------------------------------


@settings(deadline=None, max_examples=12)
@given(
    shape=st.sampled_from(
        [(5, 7), (9, 6, 1), (8, 8, 2), (6, 9, 3), (7, 5, 4), (2, 6, 7, 3), (1, 4, 4, 1)]
    ),
    dtype=st.sampled_from(["uint8", "uint16", "float32", "float64", "float16"]),
    sigma=st.floats(0.3, 3.0),
)
def test_shape_and_dtype_come_back(shape, dtype, sigma):
    rng = np.random.default_rng(0)
    values = rng.uniform(size=shape)
    if dtype in ("uint8", "uint16"):
        image = np.round(values * np.iinfo(dtype).max).astype(dtype)
    else:
        image = values.astype(dtype)
    out = restore(image, method="wiener", sigma=sigma)
    assert out.shape == image.shape and out.dtype == image.dtype
    if out.dtype.kind == "f":
        assert np.all((out >= 0) & (out <= 1))


@settings(deadline=None, max_examples=8)
@given(
    height=st.integers(20, 90),
    width=st.integers(20, 90),
    tile=st.integers(8, 40),
    overlap=st.integers(0, 7),
    margin=st.integers(0, 6),
)
def test_tiling_is_exact_for_pointwise_functions(height, width, tile, overlap, margin):
    image = np.random.default_rng(1).uniform(size=(height, width, 2))
    out = _tiling.tiled_apply(
        lambda t: t**2 + 1, image, tile=tile, overlap=overlap, margin=margin
    )
    np.testing.assert_allclose(out, image.astype("float32") ** 2 + 1, rtol=1e-5)


@settings(deadline=None, max_examples=20)
@given(
    height=st.integers(1, 70),
    width=st.integers(1, 70),
    tile=st.integers(8, 40),
    overlap=st.integers(0, 7),
    margin=st.integers(0, 6),
)
def test_tiling_window_marks_the_tile_and_the_context_is_discarded(
    height, width, tile, overlap, margin
):
    image = np.random.default_rng(2).uniform(size=(height, width, 1))

    def fn(piece, inner):
        rows, cols = inner
        assert piece[rows, cols].shape[:2] == (min(tile, height), min(tile, width))
        out = np.full(piece.shape, np.nan, "float32")  # context: never used
        out[rows, cols] = 3 * piece[rows, cols]
        return out

    out = _tiling.tiled_apply(
        fn, image, tile=tile, overlap=overlap, margin=margin, window=True
    )
    np.testing.assert_allclose(out, 3 * image.astype("float32"), rtol=1e-5)


def test_tiling_bad_arguments():
    with pytest.raises(ValueError, match=r"`overlap` must be smaller than `tile`"):
        _tiling.tiled_apply(lambda t: t, np.zeros((8, 8, 1)), tile=4, overlap=4)
    with pytest.raises(ValueError, match=r"`fn` must return an array of the shape"):
        _tiling.tiled_apply(lambda t: t[:1], np.zeros((8, 8, 1)), tile=4, overlap=1)


def test_the_docs_page_python_blocks_run(tmp_path, monkeypatch):
    """docs/deblur-your-photos.md: its self-contained Python blocks run."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "deblur-your-photos.md"
    if not page.is_file():
        pytest.skip("docs/ is not shipped with an installed package")
    pytest.importorskip("skimage.data")
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    runnable = [
        b for b in blocks if "needs a learned preset" not in b and "holiday" not in b
    ]
    assert len(runnable) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(runnable[0], str(page), "exec"), namespace)
    assert namespace["sharp"].dtype == np.uint8
    assert 0.005 < float(namespace["params"]["noise"]) < 0.02
    exec(compile(runnable[1], str(page), "exec"), namespace)
    assert namespace["restored"].shape == (4, 64, 64, 3)
