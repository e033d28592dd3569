"""Hostile inputs to the blur, kept as regression tests, grouped by kind.

Large images (memory linear in the image: the banded route), huge sigmas
(folded kernels), NaN and inf (as scipy, per channel, on every backend),
bounded caches and allocation failures. The reference is always
`scipy.ndimage.gaussian_filter`.
"""

import time
from unittest import mock

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_seqimage import kernels
from keras_seqimage import ops as blur_ops
from keras_seqimage.layers import GaussianBlurLayer
from keras_seqimage.ops import gaussian_filter

MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]
TOL = 1e-5


def scipy_blur(images, sigma, **kwargs):
    s_h, s_w = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    return ndi.gaussian_filter(images, sigma=(0, s_h, s_w, 0), **kwargs)


def scipy_per_image(images, sigmas, crop=0, **kwargs):
    blurred = np.stack(
        [
            scipy_blur(image[None], float(s), **kwargs)[0]
            for image, s in zip(images, sigmas, strict=True)
        ]
    )
    return interior(blurred, crop)


def interior(images, crop):
    height, width = images.shape[1:3]
    return images[:, crop : height - crop, crop : width - crop, :]


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def traced(fn):
    """`fn` compiled as a model's step is: tf.function, jax.jit; eager on torch."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


ROUTES = {  # (_DENSE_MAX_SIZE, _DENSE_MAX_SIZE_WIDE_KERNEL)
    "dense": (10_000, 10_000),
    "banded": (0, 0),
    # Sides up to 12 dense, longer banded (up to 20 dense for a long kernel).
    "mixed": (12, 20),
}


def route(name):
    """Force the `"dense"` (matrix), `"banded"` (large-image) or a `"mixed"` route."""
    size, wide = ROUTES[name]
    return mock.patch.multiple(
        blur_ops, _DENSE_MAX_SIZE=size, _DENSE_MAX_SIZE_WIDE_KERNEL=wide
    )


def banded_only():
    return route("banded")


def looped_taps():
    """Force the `fori_loop` form of the banded tap sum at every radius."""
    return mock.patch.object(blur_ops, "_UNROLL_MAX_RADIUS", 0)


def assert_like_scipy(actual, expected, atol=TOL):
    """Equal to scipy within `atol`, with NaN and inf at the same places."""
    actual = np.asarray(actual)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], atol=atol, rtol=0)


images_st = st.tuples(
    st.integers(1, 2), st.integers(1, 40), st.integers(1, 40), st.integers(1, 3)
).map(lambda shape: np.random.default_rng(sum(shape)).random(shape, "float32"))
sigma_st = st.floats(0, 12, allow_nan=False)


class TestLargeImageRoute:
    """The banded route (past `_DENSE_MAX_SIZE`) is scipy's blur, exactly."""

    @given(
        images=images_st,
        sigma=st.one_of(sigma_st, st.tuples(sigma_st, sigma_st)),
        mode=st.sampled_from(MODES),
        cval=st.floats(-1, 1),
        crop_fraction=st.floats(0, 0.99),
        looped=st.booleans(),
        route_name=st.sampled_from(["banded", "mixed"]),
    )
    def test_equals_scipy(
        self, images, sigma, mode, cval, crop_fraction, looped, route_name
    ):
        crop = int(crop_fraction * (min(images.shape[1:3]) - 1) / 2)
        expected = interior(scipy_blur(images, sigma, mode=mode, cval=cval), crop)
        with (
            route(route_name),
            mock.patch.object(blur_ops, "_UNROLL_MAX_RADIUS", 0 if looped else 32),
        ):
            actual = gaussian_filter(images, sigma, mode=mode, cval=cval, crop=crop)
        assert tuple(actual.shape) == expected.shape
        np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)

    # Eager JAX compiles the per-image taps' ops for every new shape.
    @settings(max_examples=4 if keras.backend.backend() == "jax" else 25)
    @given(
        images=images_st,
        sigmas=st.lists(sigma_st, min_size=2, max_size=2),
        mode=st.sampled_from(MODES),
        cval=st.floats(-1, 1),
        crop_fraction=st.floats(0, 0.99),
    )
    def test_per_image_sigmas_equal_scipy(
        self, images, sigmas, mode, cval, crop_fraction
    ):
        images = np.concatenate([images, images[::-1]])[:2]
        sigmas = np.array(sigmas, "float32")
        crop = int(crop_fraction * (min(images.shape[1:3]) - 1) / 2)
        with banded_only():
            actual = gaussian_filter(
                images, sigmas, mode=mode, cval=cval, max_sigma=12.0, crop=crop
            )
        expected = scipy_per_image(images, sigmas, crop, mode=mode, cval=cval)
        np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)

    @pytest.mark.parametrize("mode", MODES)
    def test_traced_equals_scipy(self, mode):
        images = np.random.default_rng(1).random((2, 23, 37, 3), "float32")
        sigmas = np.array([0.7, 3.1], "float32")
        with banded_only():
            fixed = traced(
                lambda x: gaussian_filter(x, (1.5, 2.5), mode=mode, cval=0.3)
            )
            per_image = traced(
                lambda x, s: gaussian_filter(x, s, mode=mode, cval=0.3, max_sigma=4.0)
            )
            np.testing.assert_allclose(
                to_numpy(fixed(images)),
                scipy_blur(images, (1.5, 2.5), mode=mode, cval=0.3),
                atol=TOL,
            )
            np.testing.assert_allclose(
                to_numpy(per_image(images, sigmas)),
                scipy_per_image(images, sigmas, mode=mode, cval=0.3),
                atol=TOL,
            )

    def test_layer_takes_the_route_on_large_images(self):
        """No `(n, n)` matrix for an axis past `_DENSE_MAX_SIZE` (16x700: the
        height pass dense, the width pass banded)."""
        images = np.random.default_rng(2).random((1, 16, 700, 3), "float32")
        fixed_operator = blur_ops._fixed_operator

        def small_only(size, *args, **kwargs):
            assert size <= blur_ops._DENSE_MAX_SIZE, size
            return fixed_operator(size, *args, **kwargs)

        with mock.patch.object(blur_ops, "_fixed_operator", small_only):
            blurred = GaussianBlurLayer(sigma=2.0)(images)
        np.testing.assert_allclose(to_numpy(blurred), scipy_blur(images, 2.0), atol=TOL)

    def test_in_a_model_with_unknown_batch(self):
        images = _with_non_finite((3, 16, 300, 3), 16)
        model = keras.Sequential([keras.Input((16, 300, 3)), GaussianBlurLayer(1.5)])
        assert_like_scipy(model.predict(images, verbose=0), scipy_blur(images, 1.5))
        per_image = keras.Sequential(
            [keras.Input((140, 150, 2)), GaussianBlurLayer(sigma_range=(0.5, 2.0))]
        )
        assert tuple(
            per_image.predict(np.zeros((2, 140, 150, 2)), verbose=0).shape
        ) == (
            2,
            140,
            150,
            2,
        )

    @pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
    def test_other_float_dtypes(self, dtype):
        images = np.random.default_rng(3).random((2, 9, 11, 3), "float32")
        with banded_only():
            blurred = gaussian_filter(keras.ops.cast(images, dtype), 1.0)
        actual = to_numpy(keras.ops.cast(blurred, "float32"))
        atol = 2e-2 if "16" in dtype else TOL
        np.testing.assert_allclose(actual, scipy_blur(images, 1.0), atol=atol)

    @pytest.mark.parametrize("route_name", ["dense", "banded"])
    def test_gradient_is_the_adjoint_blur(self, route_name):
        images = np.random.default_rng(4).random((2, 12, 10, 3), "float32")
        weights = np.random.default_rng(5).random((2, 12, 10, 3), "float32")
        # d/dx sum(w * H x W^T) = H^T w W (per image and channel).
        h = kernels.blur_matrix(12, 1.3, "nearest")
        w = kernels.blur_matrix(10, 1.3, "nearest")
        expected = np.einsum("ki,lj,bklc->bijc", h, w, weights)
        with route(route_name):
            actual = _input_gradient(images, weights)
        np.testing.assert_allclose(actual, expected, atol=TOL)

    def test_width_20000(self):
        """Issue 28: a RuntimeError at this width (a 20000x20000 matrix per tap)."""
        images = np.random.default_rng(19).random((1, 16, 20_000, 3), "float32")
        blurred = to_numpy(GaussianBlurLayer(sigma=2.0)(images))
        np.testing.assert_allclose(blurred, scipy_blur(images, 2.0), atol=TOL)

    def test_2000x3000_image_is_blurred(self):
        images = np.random.default_rng(6).random((1, 2000, 3000, 3), "float32")
        start = time.perf_counter()
        blurred = to_numpy(traced(lambda x: gaussian_filter(x, 2.0))(images))
        seconds = time.perf_counter() - start
        np.testing.assert_allclose(blurred, scipy_blur(images, 2.0), atol=TOL)
        assert seconds < 30


def _input_gradient(images, weights):
    """d/d images of sum(weights * blur(images)) (sigma 1.3, nearest)."""
    backend = keras.backend.backend()
    weights = keras.ops.convert_to_tensor(weights)

    def loss(x):
        return keras.ops.sum(weights * gaussian_filter(x, 1.3, mode="nearest"))

    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(images)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(x)
        return tape.gradient(value, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(loss)(images))
    import torch

    x = torch.tensor(images, requires_grad=True)
    loss(x).backward()
    return x.grad.numpy()


class TestHugeSigma:
    """Sigma far beyond the image: folded kernels, fast and exact."""

    @pytest.mark.parametrize("mode", MODES)
    def test_sigma_1e6_on_8x8_is_fast_and_exact(self, mode):
        images = np.random.default_rng(7).random((1, 8, 8, 2), "float32")
        gaussian_filter(images, 1e6 + 1.0, mode=mode, cval=0.4)  # compiled
        start = time.perf_counter()
        blurred = to_numpy(gaussian_filter(images, 1e6, mode=mode, cval=0.4))
        assert time.perf_counter() - start < 1.0
        assert np.isfinite(blurred).all()
        # scipy takes 1e5 at a tenth of its 1e6 time (a 800,001-tap kernel).
        expected = scipy_blur(images, 1e5, mode=mode, cval=0.4)
        actual = to_numpy(gaussian_filter(images, 1e5, mode=mode, cval=0.4))
        np.testing.assert_allclose(actual, expected, atol=TOL, rtol=0)

    @pytest.mark.slow
    @pytest.mark.parametrize("mode", MODES)
    def test_sigma_1e6_on_8x8_equals_scipy(self, mode):
        images = np.random.default_rng(7).random((1, 8, 8, 1), "float32")
        expected = scipy_blur(images, 1e6, mode=mode, cval=0.4)  # seconds
        actual = to_numpy(gaussian_filter(images, 1e6, mode=mode, cval=0.4))
        np.testing.assert_allclose(actual, expected, atol=TOL, rtol=0)

    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("sigma", [3.0, 30.0, 500.0])
    @pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 2, 5, 1), (2, 8, 7, 3)])
    def test_equals_scipy_on_both_routes(self, mode, sigma, shape):
        images = np.random.default_rng(8).random(shape, "float32")
        expected = scipy_blur(images, sigma, mode=mode, cval=0.2)
        for name in ("banded", "dense"):
            with route(name):
                actual = gaussian_filter(images, sigma, mode=mode, cval=0.2)
            np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL)

    def test_kernel_build_does_not_grow_with_sigma(self):
        start = time.perf_counter()
        for mode in MODES:
            kernels.blur_matrix(64, 1e12, mode)
            kernels.folded_weights(np.float64(1e300), kernels.MAX_RADIUS, 9, mode)
        assert time.perf_counter() - start < 1.0
        assert kernels.kernel_radius(1e300) == kernels.MAX_RADIUS

    def test_sigma_1e300_is_the_limit(self):
        """Past any image (radius capped at 2**62): reflect's blur is the mean."""
        images = np.random.default_rng(17).random((2, 5, 7, 3), "float32")
        blurred = to_numpy(gaussian_filter(images, 1e300))
        mean = np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape)
        np.testing.assert_allclose(blurred, mean, atol=TOL)

    def test_huge_truncate(self):
        images = np.random.default_rng(18).random((1, 8, 6, 2), "float32")
        for mode in MODES:
            expected = scipy_blur(images, 1.0, mode=mode, truncate=1e4, cval=0.3)
            actual = gaussian_filter(images, 1.0, mode=mode, truncate=1e4, cval=0.3)
            np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL)

    @pytest.mark.parametrize("mode", MODES)
    def test_folded_taps_equal_the_unfolded_sum(self, mode):
        """Folding (closed form included) changes no tap beyond float64 rounding."""
        for size, sigma in [(3, 0.9), (5, 7.0), (4, 40.0), (6, 300.0), (1, 80.0)]:
            radius = kernels.kernel_radius(sigma)
            full = kernels.gaussian_weights(np.float64(sigma), radius)
            offsets = np.arange(-radius, radius + 1)
            source = kernels.boundary_index(
                np.arange(size)[None, :] + offsets[:, None], size, mode
            )
            expected = np.zeros((size, size))
            for tap, row in zip(*np.nonzero(source >= 0), strict=True):
                expected[row, source[tap, row]] += full[tap]
            actual = kernels.blur_matrix(size, sigma, mode)
            np.testing.assert_allclose(actual, expected, atol=1e-10, rtol=0)

    @pytest.mark.parametrize("mode", MODES)
    def test_per_image_huge_sigmas(self, mode):
        images = np.random.default_rng(9).random((4, 8, 6, 2), "float32")
        sigmas = np.array([0.0, 1.2, 300.0, 1e5], "float32")
        expected = scipy_per_image(images, sigmas, mode=mode, cval=0.1)
        for name in ("banded", "dense"):
            with route(name):
                blur = traced(
                    lambda x, s: gaussian_filter(
                        x, s, mode=mode, cval=0.1, max_sigma=1e5
                    )
                )
                actual = to_numpy(blur(images, sigmas))
            np.testing.assert_allclose(actual, expected, atol=TOL)


def _with_non_finite(shape, seed, values=(np.nan, np.inf, -np.inf)):
    """Random images with a few NaN / +inf / -inf pixels in single channels."""
    rng = np.random.default_rng(seed)
    images = rng.random(shape, "float32")
    for value in values:
        index = tuple(rng.integers(0, n) for n in shape)
        images[index] = value
    return images


class TestNonFinite:
    """NaN and inf come out where scipy's do, per channel, on every backend."""

    @pytest.mark.parametrize("route_name", ["dense", "banded"])
    @pytest.mark.parametrize("mode", MODES)
    def test_nan_stays_in_its_channel_and_kernel(self, route_name, mode):
        images = np.random.default_rng(10).random((2, 20, 24, 3), "float32")
        images[0, 10, 12, 1] = np.nan
        with route(route_name):
            blurred = to_numpy(gaussian_filter(images, 1.0, mode=mode))
        nan = np.isnan(blurred)
        assert not nan[1].any() and not nan[0, ..., [0, 2]].any()
        # Only the 9x9 window around the pixel (radius 4), as scipy.
        window = np.zeros((20, 24), bool)
        window[6:15, 8:17] = True
        np.testing.assert_array_equal(nan[0, ..., 1], window)

    @given(
        seed=st.integers(0, 10_000),
        shape=st.tuples(
            st.integers(1, 2), st.integers(1, 20), st.integers(1, 20), st.integers(1, 3)
        ),
        sigma=st.one_of(sigma_st, st.tuples(sigma_st, sigma_st)),
        mode=st.sampled_from(MODES),
        crop_fraction=st.floats(0, 0.99),
        route=st.sampled_from(["dense", "banded", "mixed", "rows", "einsum"]),
    )
    def test_non_finite_like_scipy(
        self, seed, shape, sigma, mode, crop_fraction, route
    ):
        images = _with_non_finite(shape, seed)
        crop = int(crop_fraction * (min(shape[1:3]) - 1) / 2)
        expected = interior(scipy_blur(images, sigma, mode=mode, cval=0.5), crop)
        patches = {
            "dense": {"_DENSE_MAX_SIZE": 10_000},
            "banded": {"_DENSE_MAX_SIZE": 0, "_DENSE_MAX_SIZE_WIDE_KERNEL": 0},
            "mixed": {"_DENSE_MAX_SIZE": 8, "_DENSE_MAX_SIZE_WIDE_KERNEL": 12},
            "rows": {"_prefer_row_matmuls": lambda shape, dtype: True},
            "einsum": {"_prefer_row_matmuls": lambda shape, dtype: False},
        }[route]
        with mock.patch.multiple(blur_ops, **patches):
            actual = gaussian_filter(images, sigma, mode=mode, cval=0.5, crop=crop)
        assert_like_scipy(to_numpy(actual), expected)

    @pytest.mark.parametrize("route_name", ["dense", "banded"])
    def test_per_image_sigmas(self, route_name):
        images = _with_non_finite((3, 15, 17, 2), 11)
        images[2, 3, 4, 0] = np.nan
        sigmas = np.array([0.0, 0.6, 2.5], "float32")
        with route(route_name):
            actual = gaussian_filter(images, sigmas, mode="mirror", max_sigma=3.0)
        # An image's own radius bounds the spread, not max_sigma's.
        assert_like_scipy(
            to_numpy(actual), scipy_per_image(images, sigmas, mode="mirror")
        )

    @pytest.mark.parametrize("route_name", ["dense", "banded"])
    def test_traced(self, route_name):
        images = _with_non_finite((2, 16, 14, 3), 12)
        sigmas = np.array([0.8, 1.9], "float32")
        with route(route_name):
            fixed = traced(lambda x: gaussian_filter(x, 1.2, crop=2))
            per_image = traced(lambda x, s: gaussian_filter(x, s, max_sigma=2.0))
            assert_like_scipy(
                to_numpy(fixed(images)), interior(scipy_blur(images, 1.2), 2)
            )
            assert_like_scipy(
                to_numpy(per_image(images, sigmas)), scipy_per_image(images, sigmas)
            )
            finite = np.random.default_rng(13).random((2, 16, 14, 3), "float32")
            np.testing.assert_allclose(
                to_numpy(fixed(finite)), interior(scipy_blur(finite, 1.2), 2), atol=TOL
            )

    def test_layer_in_a_model(self):
        images = _with_non_finite((2, 12, 12, 3), 14)
        model = keras.Sequential([keras.Input((12, 12, 3)), GaussianBlurLayer(1.0)])
        assert_like_scipy(model.predict(images, verbose=0), scipy_blur(images, 1.0))

    @pytest.mark.parametrize("value", [np.nan, np.inf])
    def test_all_non_finite_image(self, value):
        images = np.random.default_rng(15).random((2, 8, 8, 2), "float32")
        images[0] = value
        assert_like_scipy(
            to_numpy(gaussian_filter(images, 1.0)), scipy_blur(images, 1.0)
        )

    def test_opposite_infinities_meet_as_nan(self):
        images = np.zeros((1, 1, 9, 1), "float32")
        images[0, 0, 3, 0], images[0, 0, 5, 0] = np.inf, -np.inf
        for name in ("banded", "dense"):
            with route(name):
                actual = to_numpy(gaussian_filter(images, (0.0, 1.0)))
            assert_like_scipy(actual, scipy_blur(images, (0.0, 1.0)))

    def test_huge_finite_values(self):
        """Finite inputs whose sum overflows still come back as scipy's."""
        images = np.full((1, 6, 6, 1), 3e38, "float32")
        images[0, 0, 0, 0] = -3e38
        assert_like_scipy(
            to_numpy(gaussian_filter(images, 1.0)),
            scipy_blur(images, 1.0),
            atol=1e33,
        )


class TestBoundedMemory:
    """Caches bounded in bytes; allocation failures named with the shape."""

    def test_cache_is_bounded_in_bytes(self):
        cache = blur_ops._CACHE
        gaussian_filter(np.zeros((1, 8, 100, 3), "float32"), 1.0)
        for width in range(20, 129):  # every matrix a layer could cache
            for sigma in (1.0, 2.0):
                blur_ops._fixed_operator(width, sigma, 4.0, "reflect")
                blur_ops._fixed_row_operator(width, 4, sigma, 4.0, "reflect")
                assert cache.nbytes <= cache.max_bytes
        assert 0 < len(cache)
        assert cache.max_bytes <= 64 * 2**20

    def test_byte_bounded_cache_evicts_least_recently_used(self):
        cache = kernels.ByteBoundedCache(3000)
        made = []

        def make(n):
            made.append(n)
            return np.zeros(n // 8)

        cache.get("a", lambda: make(1000))
        cache.get("b", lambda: make(1000))
        cache.get("a", lambda: make(1000))  # a is now the most recent
        cache.get("c", lambda: make(1500))  # drops b
        assert cache.nbytes <= 3000 and len(cache) == 2
        cache.get("a", lambda: make(1000))
        cache.get("b", lambda: make(1000))
        assert made == [1000, 1000, 1500, 1000]
        big = cache.get("big", lambda: make(8000))  # too big: not kept
        assert big.nbytes == 8000 and cache.nbytes <= 3000

    @pytest.mark.parametrize(
        "error",
        [
            MemoryError("Unable to allocate 14.0 GiB"),
            RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"),
            type("ResourceExhaustedError", (Exception,), {})("OOM when allocating"),
        ],
    )
    def test_allocation_failure_names_the_shape(self, error):
        images = np.zeros((1, 16, 700, 3), "float32")
        with mock.patch.object(blur_ops, "_pad_axis", side_effect=error):
            with pytest.raises(MemoryError, match=r"images.shape=\(1, 16, 700, 3\)"):
                gaussian_filter(images, 2.0)

    def test_other_errors_pass_through(self):
        images = np.zeros((1, 16, 700, 3), "float32")
        with mock.patch.object(
            blur_ops, "_pad_axis", side_effect=RuntimeError("something else")
        ):
            with pytest.raises(RuntimeError, match="something else"):
                gaussian_filter(images, 2.0)

    def test_kernels_are_linear_in_the_axis(self):
        """No `(taps, n, n)` array for a fixed sigma: taps are O(n) numbers."""
        weights, far = blur_ops._fixed_taps(20_000, 2.0, 4.0, "reflect")
        assert weights.shape == (17,) and far == 0.0
        weights, _ = blur_ops._fixed_taps(20_000, 1e6, 4.0, "wrap")
        assert weights.shape == (20_001,)

    @pytest.mark.slow
    def test_memory_benchmark_runs(self):
        """`benchmarks/blur_memory.py` on tiny settings prints its table."""
        import os
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            [
                sys.executable,
                "benchmarks/blur_memory.py",
                "--backend",
                keras.backend.backend(),
                "--sizes",
                "4x40,3x200",
                "--repeats",
                "1",
            ],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root / "src")},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        rows = [line for line in done.stdout.splitlines() if line.startswith("| 4x40")]
        assert rows and "failed" not in rows[0], done.stdout + done.stderr[-2000:]
