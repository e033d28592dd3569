import keras
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from keras_seqimage import kernels
from keras_seqimage.layers import GaussianBlurLayer
from keras_seqimage.ops import gaussian_filter
from tests.helpers import assert_config_round_trip

MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]
TOL = 1e-5


def scipy_blur(images, sigma, **kwargs):
    s_h, s_w = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    return ndi.gaussian_filter(images, sigma=(0, s_h, s_w, 0), **kwargs)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


images_st = st.tuples(
    st.integers(1, 2), st.integers(1, 48), st.integers(1, 48), st.integers(1, 4)
).map(lambda shape: np.random.default_rng(sum(shape)).random(shape, "float32"))
sigma_st = st.floats(0, 4, allow_nan=False)


@given(
    images=images_st,
    sigma=st.one_of(sigma_st, st.tuples(sigma_st, sigma_st)),
    mode=st.sampled_from(MODES),
    cval=st.floats(-1, 1),
)
def test_equals_scipy(images, sigma, mode, cval):
    expected = scipy_blur(images, sigma, mode=mode, cval=cval)
    actual = to_numpy(gaussian_filter(images, sigma, mode=mode, cval=cval))
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("truncate", [1.0, 2.5, 4.0])
def test_equals_scipy_truncate(mode, truncate):
    images = np.random.rand(2, 9, 13, 3).astype("float32")
    expected = scipy_blur(images, (1.3, 0.7), mode=mode, truncate=truncate)
    actual = gaussian_filter(images, (1.3, 0.7), mode=mode, truncate=truncate)
    np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_single_pixel_image(mode):
    images = np.random.rand(3, 1, 1, 2).astype("float32")
    expected = scipy_blur(images, 2.0, mode=mode, cval=0.5)
    actual = gaussian_filter(images, 2.0, mode=mode, cval=0.5)
    np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_very_large_sigma_reaches_past_the_image_many_times(mode):
    images = np.random.rand(1, 5, 3, 1).astype("float32")
    assert kernels.kernel_radius(25.0) == 100  # far beyond 5 rows
    expected = scipy_blur(images, 25.0, mode=mode)
    actual = gaussian_filter(images, 25.0, mode=mode)
    np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)


def test_kernel_radius_and_taps_match_scipy():
    assert kernels.kernel_radius(1.0) == 4  # 9 taps
    for sigma in [0.3, 1.0, 1.5, 2.0, 3.7]:
        radius = kernels.kernel_radius(sigma)
        impulse = np.zeros(2 * radius + 1)
        impulse[radius] = 1
        expected = ndi.gaussian_filter1d(impulse, sigma, mode="constant")
        actual = kernels.gaussian_weights(np.float64(sigma), radius)
        np.testing.assert_allclose(actual, expected, atol=1e-15)
        traced = kernels.gaussian_weights(
            keras.ops.convert_to_tensor([sigma]), radius, xp=keras.ops, dtype="float32"
        )
        np.testing.assert_allclose(to_numpy(traced)[0], expected, atol=1e-7)


@given(images=images_st, sigma=sigma_st, mode=st.sampled_from(MODES[:3] + MODES[4:]))
def test_constant_image_stays_constant(images, sigma, mode):
    constant = np.full_like(images, 0.37)
    actual = to_numpy(gaussian_filter(constant, sigma, mode=mode))
    np.testing.assert_allclose(actual, constant, atol=TOL)


@given(images=images_st, sigma=sigma_st, mode=st.sampled_from(MODES))
def test_linear(images, sigma, mode):
    other = np.random.default_rng(1).random(images.shape, "float32")
    combined = to_numpy(gaussian_filter(2.0 * images - 0.5 * other, sigma, mode=mode))
    separate = 2.0 * to_numpy(gaussian_filter(images, sigma, mode=mode)) - 0.5 * (
        to_numpy(gaussian_filter(other, sigma, mode=mode))
    )
    np.testing.assert_allclose(combined, separate, atol=TOL)


@given(
    images=images_st,
    sigma=st.tuples(sigma_st, sigma_st),
    mode=st.sampled_from(MODES),
    axis=st.sampled_from([1, 2]),
)
def test_commutes_with_flips(images, sigma, mode, axis):
    blur_then_flip = np.flip(to_numpy(gaussian_filter(images, sigma, mode=mode)), axis)
    flip_then_blur = to_numpy(gaussian_filter(np.flip(images, axis), sigma, mode=mode))
    np.testing.assert_allclose(blur_then_flip, flip_then_blur, atol=TOL)


def test_channels_never_mix():
    images = np.zeros((1, 9, 9, 4), "float32")
    images[0, 4, 4, 2] = 1.0
    blurred = to_numpy(gaussian_filter(images, 1.0))
    assert np.all(blurred[..., [0, 1, 3]] == 0)
    assert blurred[..., 2].sum() == pytest.approx(1.0, abs=1e-6)


def test_sigma_zero_is_no_blur_on_that_axis():
    images = np.random.rand(2, 8, 8, 3).astype("float32")
    np.testing.assert_array_equal(to_numpy(gaussian_filter(images, 0.0)), images)
    only_width = to_numpy(gaussian_filter(images, (0.0, 1.5)))
    np.testing.assert_allclose(only_width, scipy_blur(images, (0.0, 1.5)), atol=TOL)


def test_per_image_sigma_tensor_equals_scipy_per_image():
    images = np.random.rand(3, 11, 7, 2).astype("float32")
    sigmas = np.array([0.0, 0.8, 2.6], "float32")
    actual = to_numpy(gaussian_filter(images, sigmas, mode="mirror", max_sigma=3.0))
    for image, blurred, sigma in zip(images, actual, sigmas, strict=True):
        expected = scipy_blur(image[None], float(sigma), mode="mirror")[0]
        np.testing.assert_allclose(blurred, expected, atol=TOL)


def interior(images, crop):
    height, width = images.shape[1:3]
    return images[:, crop : height - crop, crop : width - crop, :]


@given(
    images=images_st,
    sigma=st.one_of(sigma_st, st.tuples(sigma_st, sigma_st)),
    mode=st.sampled_from(MODES),
    cval=st.floats(-1, 1),
    crop_fraction=st.floats(0, 0.99),
    row_matmuls=st.booleans(),
)
def test_crop_equals_the_interior_of_scipy(
    images, sigma, mode, cval, crop_fraction, row_matmuls
):
    """`crop` computes only the interior, on either route, also where an axis
    has no blur (sigma 0 there)."""
    from unittest import mock

    from keras_seqimage import ops as blur_ops

    crop = int(crop_fraction * (min(images.shape[1:3]) - 1) / 2)
    expected = interior(scipy_blur(images, sigma, mode=mode, cval=cval), crop)
    with mock.patch.object(
        blur_ops, "_prefer_row_matmuls", lambda shape, dtype: row_matmuls
    ):
        actual = gaussian_filter(images, sigma, mode=mode, cval=cval, crop=crop)
    assert tuple(actual.shape) == expected.shape
    np.testing.assert_allclose(to_numpy(actual), expected, atol=TOL, rtol=0)


def test_crop_with_a_per_image_sigma_tensor():
    images = np.random.rand(3, 11, 9, 2).astype("float32")
    sigmas = np.array([0.0, 0.8, 2.6], "float32")
    actual = to_numpy(
        gaussian_filter(images, sigmas, mode="wrap", max_sigma=3.0, crop=2)
    )
    assert actual.shape == (3, 7, 5, 2)
    for image, blurred, sigma in zip(images, actual, sigmas, strict=True):
        expected = interior(scipy_blur(image[None], float(sigma), mode="wrap"), 2)
        np.testing.assert_allclose(blurred, expected[0], atol=TOL)


@pytest.mark.parametrize(
    "crop, match",
    [
        (-1, r"`crop` must be a non-negative integer.*crop=-1"),
        (1.5, r"`crop` must be a non-negative integer.*crop=1.5"),
        (3, r"`crop` must leave at least one pixel.*crop=3.*\(1, 6, 9, 1\)"),
    ],
)
def test_crop_errors(crop, match):
    with pytest.raises(ValueError, match=match):
        gaussian_filter(np.zeros((1, 6, 9, 1), "float32"), 1.0, crop=crop)


def test_layer_equals_op_and_blurs_at_inference():
    images = np.random.rand(2, 10, 12, 3).astype("float32")
    layer = GaussianBlurLayer(sigma=(1.0, 2.0), mode="nearest")
    expected = to_numpy(gaussian_filter(images, (1.0, 2.0), mode="nearest"))
    for training in (False, True):
        actual = to_numpy(layer(images, training=training))
        np.testing.assert_array_equal(actual, expected)


def test_sigma_range_draws_one_seeded_sigma_per_image():
    images = np.repeat(np.random.rand(1, 16, 16, 3).astype("float32"), 4, axis=0)
    out = to_numpy(GaussianBlurLayer(sigma_range=(0.5, 3.0), seed=7)(images))
    assert len({out[i].tobytes() for i in range(4)}) == 4  # one sigma per image
    again = to_numpy(GaussianBlurLayer(sigma_range=(0.5, 3.0), seed=7)(images))
    np.testing.assert_array_equal(out, again)  # same seed, same draws
    # Each image is an exact scipy blur for some sigma in the range.
    grid = np.linspace(0.5, 3.0, 2501)
    for blurred in out:
        errors = [
            np.abs(scipy_blur(images[:1], s)[0] - blurred).max() for s in grid[::50]
        ]
        best = grid[::50][int(np.argmin(errors))]
        fine = grid[(grid > best - 0.06) & (grid < best + 0.06)]
        assert (
            min(np.abs(scipy_blur(images[:1], s)[0] - blurred).max() for s in fine)
            < 2e-3
        )


def test_sigma_range_of_one_value_equals_fixed_sigma():
    images = np.random.rand(3, 12, 12, 1).astype("float32")
    ranged = to_numpy(GaussianBlurLayer(sigma_range=(1.5, 1.5))(images))
    np.testing.assert_allclose(ranged, scipy_blur(images, 1.5), atol=TOL)


def test_config_round_trip():
    assert_config_round_trip(
        GaussianBlurLayer(sigma=(1.0, 2.0), mode="wrap", cval=0.2, truncate=3.0)
    )
    assert_config_round_trip(GaussianBlurLayer(sigma_range=(0.5, 2.0), seed=3))


def test_unknown_height_is_a_clear_error():
    with pytest.raises(ValueError, match=r"known image height.*None, None, 8, 3"):
        GaussianBlurLayer()(keras.Input(shape=(None, 8, 3)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sigma": -1.0}, r"`sigma` must be a finite number >= 0.*sigma=-1.0"),
        ({"sigma": float("nan")}, r"`sigma`.*sigma=nan"),
        ({"sigma": float("inf")}, r"`sigma`.*sigma=inf"),
        ({"sigma": (1.0, -2.0)}, r"`sigma`.*sigma=-2.0"),
        ({"sigma": (1.0, 2.0, 3.0)}, r"pair.*sigma=\(1.0, 2.0, 3.0\)"),
        ({"sigma": "big"}, r"`sigma` must be a number.*sigma='big'"),
        ({"truncate": 0}, r"`truncate` must be > 0.*truncate=0"),
        ({"truncate": -1.0}, r"`truncate`.*truncate=-1.0"),
        ({"mode": "symmetric"}, r"`mode` must be one of.*mode='symmetric'"),
        ({"cval": float("nan")}, r"`cval`.*cval=nan"),
        ({"sigma_range": (2.0, 1.0)}, r"low <= high.*sigma_range=\(2.0, 1.0\)"),
        ({"sigma_range": (-1.0, 1.0)}, r"`sigma_range`.*sigma_range=-1.0"),
        ({"sigma_range": 2.0}, r"pair \(low, high\).*sigma_range=2.0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianBlurLayer(**kwargs)


def test_bad_arguments_to_the_op():
    images = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ValueError, match=r"`mode`.*mode='symmetric'"):
        gaussian_filter(images, 1.0, mode="symmetric")
    with pytest.raises(ValueError, match=r"`max_sigma` is required"):
        gaussian_filter(images, np.ones((1,), "float32"))
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 2\).*\(1, 3\)"):
        gaussian_filter(images, np.ones((1, 3), "float32"), max_sigma=1.0)


def test_per_image_anisotropic_sigma_matches_scipy():
    images = np.random.default_rng(0).uniform(size=(3, 13, 17, 2)).astype("float32")
    sigma = np.array([[0.0, 1.0], [2.0, 0.5], [1.5, 1.5]], "float32")
    blurred = np.asarray(gaussian_filter(images, sigma, max_sigma=2.0))
    for image, out, (s_h, s_w) in zip(images, blurred, sigma, strict=True):
        expected = ndi.gaussian_filter(image, sigma=(s_h, s_w, 0))
        np.testing.assert_allclose(out, expected, atol=1e-5)


def test_integer_images_are_rejected():
    with pytest.raises(ValueError, match=r"scale integer images first.*uint8"):
        GaussianBlurLayer()(np.zeros((1, 4, 4, 3), "uint8"))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"rank 4.*shape=\(4, 4, 3\)"):
        GaussianBlurLayer()(np.zeros((4, 4, 3), "float32"))


def test_numpy_scalars_are_numbers():
    images = np.random.rand(1, 6, 6, 1).astype("float32")
    layer = GaussianBlurLayer(sigma=np.float32(1.0), truncate=np.float64(4.0))
    np.testing.assert_allclose(
        to_numpy(layer(images)), scipy_blur(images, 1.0), atol=TOL
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(3, 7, 5, 3), (2, 1, 1, 1), (2, 32, 32, 3)])
def test_both_routes_equal_scipy_on_every_backend(mode, shape):
    """The einsum route and the row-matmul route (TF's, torch's) agree with scipy."""
    from keras_seqimage import ops as blur_ops
    from keras_seqimage.backend.generic import constant

    images = np.random.rand(*shape).astype("float32")
    expected = scipy_blur(images, (1.2, 0.8), mode=mode, cval=0.3)
    operators = [
        kernels.axis_operator(
            kernels.gaussian_weights(np.float64(s), kernels.kernel_radius(s), 4.0),
            n,
            blur_ops.canonical_mode(mode),
        )
        for s, n in ((1.2, shape[1]), (0.8, shape[2]))
    ]
    canonical = blur_ops.canonical_mode(mode)
    row_operator = blur_ops._row_operator(operators[1], shape[3])
    rows = blur_ops._filter_rows_matmul(
        images, operators[0], row_operator, canonical, 0.3
    )
    x = images
    for axis, operator in zip((1, 2), operators, strict=True):
        operator = constant(operator, "float32")
        x = blur_ops._filter_axis(x, operator, axis, canonical, 0.3)
    np.testing.assert_allclose(to_numpy(rows), expected, atol=TOL)
    np.testing.assert_allclose(to_numpy(x), expected, atol=TOL)


def test_route_choice_by_backend_size_and_dtype():
    """Row matmuls on TF and torch for rows of <= 512 values in a dtype that
    `keras.ops.matmul` keeps; the einsum route otherwise (and on JAX)."""
    from keras_seqimage import ops as blur_ops

    rows_backend = keras.backend.backend() in ("tensorflow", "torch")
    assert blur_ops._prefer_row_matmuls((2, 32, 32, 3), "float32") == rows_backend
    assert not blur_ops._prefer_row_matmuls((2, 32, 200, 3), "float32")
    assert not blur_ops._prefer_row_matmuls((2, 32, 32, None), "float32")
    float64_kept = keras.backend.result_type("float64", "float64") == "float64"
    assert blur_ops._prefer_row_matmuls((2, 32, 32, 3), "float64") == (
        rows_backend and float64_kept
    )


def test_cached_filter_matrices_are_read_only_and_keyed_by_arguments():
    from keras_seqimage import ops as blur_ops

    operator = blur_ops._fixed_operator(9, 1.0, 4.0, "reflect")
    assert not operator.flags.writeable
    assert blur_ops._fixed_row_operator(9, 3, 1.0, 4.0, "reflect").shape == (27, 27)
    np.testing.assert_allclose(operator, kernels.blur_matrix(9, 1.0))
    np.testing.assert_allclose(
        blur_ops._fixed_operator(9, 2.0, 4.0, "wrap"),
        kernels.blur_matrix(9, 2.0, mode="wrap"),
    )
    # A second call with other arguments after a cached one is still exact.
    images = np.random.rand(2, 9, 9, 3).astype("float32")
    for sigma in (1.0, 2.0, 1.0):
        np.testing.assert_allclose(
            to_numpy(gaussian_filter(images, sigma, mode="wrap")),
            scipy_blur(images, sigma, mode="wrap"),
            atol=TOL,
        )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_float_dtypes(dtype):
    images = np.random.rand(2, 9, 9, 3).astype("float32")
    expected = scipy_blur(images, 1.0)
    blurred = gaussian_filter(keras.ops.cast(images, dtype), 1.0)
    assert keras.backend.standardize_dtype(blurred.dtype) == (
        # JAX runs without x64 (float64 arrays become float32).
        "float32" if keras.backend.backend() == "jax" and dtype == "float64" else dtype
    )
    actual = to_numpy(keras.ops.cast(blurred, "float32"))
    np.testing.assert_allclose(actual, expected, atol=2e-2 if "16" in dtype else TOL)


@pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="the shortcut is torch's float32 route"
)
@pytest.mark.parametrize("mode, cval", [("reflect", 0.0), ("constant", 0.3)])
def test_torch_row_ops_equal_keras_ops_bit_for_bit(mode, cval, monkeypatch):
    """On torch, float32 tensors take torch's own matmul; same bits, same grads."""
    import torch

    from keras_seqimage import ops as blur_ops
    from keras_seqimage.backend.torch import native as _native_ops

    canonical = blur_ops.canonical_mode(mode)
    operator_h = blur_ops._fixed_operator(7, 1.2, 4.0, canonical)
    row_operator = blur_ops._fixed_row_operator(5, 3, 0.8, 4.0, canonical)
    weights = torch.rand(3, 7, 5, 3)

    def blur_and_grad(images):
        images = images.clone().requires_grad_(True)
        blurred = blur_ops._filter_rows_matmul(
            images, operator_h, row_operator, canonical, cval
        )
        (blurred * weights).sum().backward()
        return blurred.detach().numpy(), images.grad.numpy()

    images = torch.rand(3, 7, 5, 3)
    keras_ops = _native_ops.KERAS_OPS
    assert _native_ops.native_ops(images) is not keras_ops
    assert _native_ops.native_ops(images.double()) is keras_ops
    assert _native_ops.native_ops(images.numpy()) is keras_ops
    shortcut = blur_and_grad(images)
    monkeypatch.setattr(blur_ops, "native_ops", lambda x: keras_ops)
    reference = blur_and_grad(images)
    for got, want in zip(shortcut, reference, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(
        shortcut[0],
        scipy_blur(images.numpy(), (1.2, 0.8), mode=mode, cval=cval),
        atol=TOL,
    )


@pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="the cache holds torch tensors"
)
def test_torch_filter_matrices_are_converted_once():
    import torch

    from keras_seqimage import ops as blur_ops
    from keras_seqimage.backend.torch import native as _native_ops

    operator = blur_ops._fixed_operator(9, 1.0, 4.0, "reflect")
    first = _native_ops.torch_constant(operator, "float32")
    again = _native_ops.torch_constant(operator, "float32")
    assert again is first and first.dtype == torch.float32
    np.testing.assert_array_equal(first.numpy(), operator.astype("float32"))
    # Keras' symbolic build on torch runs layers on shape-only "meta" tensors:
    # those take `keras.ops` (which makes real tensors of them).
    meta = torch.empty((2, 9, 9, 3), device="meta")
    assert _native_ops.native_ops(meta) is _native_ops.KERAS_OPS
    # A writeable array (built per call) is converted, not cached.
    fresh = np.ones((2, 2))
    assert _native_ops.torch_constant(fresh, "float32") is not (
        _native_ops.torch_constant(fresh, "float32")
    )
    layer = GaussianBlurLayer(sigma=1.0)
    symbolic = layer.compute_output_spec(keras.KerasTensor((2, 9, 9, 3)))
    assert tuple(symbolic.shape) == (2, 9, 9, 3)
