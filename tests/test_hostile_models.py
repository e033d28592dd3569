"""Hostile inputs to every model: wrong size, channels, rank, dtype, empty, NaN.

Regression tests for issue 28's model cases, grouped by kind. Each case is
checked three ways where it applies: `model._check_inputs(x)` (the check that
`fit`, `predict` and `evaluate` run on entry), `model(x)`, and `predict`.

The `predict` tests on numpy arrays need `FastModel.fit/predict/evaluate` to
call `_check_inputs` before Keras (the `entry_check` fixture skips them
until then): inside Keras' steps the check sees what TensorFlow traced (a
graph retraced for several shapes has unknown sizes, so a wrong size went
through), and on JAX an error raised there loses the model's variables.
"""

import functools

import keras
import numpy as np
import pytest

import keras_seqimage.models as models
from keras_seqimage.models import (
    BlindReNetRestorer,
    CNNLSTMDirectAttention,
    ConvAutoencoder,
    ConvEncoder,
    ConvEncoderDecoder,
    LSTMAutoencoder,
    ReNetRestorer,
    SimpleRNNAutoencoder,
)
from keras_seqimage.models._image_model import ImageModel

# One shape for every model: JAX compiles once per shape.
SHAPE = (8, 8, 3)
BUILT = r"\(batch, 8, 8, 3\)"

# Each model of `keras_seqimage.models`, small, built for SHAPE.
BUILDERS = {
    "BlindReNetRestorer": lambda: BlindReNetRestorer(
        image_shape=SHAPE, estimator_units=4, sweeps=("rows", "columns"), units=2
    ),
    "CNNLSTMDirectAttention": lambda: CNNLSTMDirectAttention(
        image_shape=SHAPE, filters=(2,), thought_size=3, units=4, num_layers=1
    ),
    "ConvAutoencoder": lambda: ConvAutoencoder(image_shape=SHAPE, filters=(4, 4)),
    "ConvEncoderDecoder": lambda: ConvEncoderDecoder(
        image_shape=SHAPE, filters=(2, 2), kernel_size=3
    ),
    "LSTMAutoencoder": lambda: LSTMAutoencoder(image_shape=SHAPE, encoder_units=(4,)),
    "ReNetRestorer": lambda: ReNetRestorer(image_shape=SHAPE, units=2),
    "SimpleRNNAutoencoder": lambda: SimpleRNNAutoencoder(
        image_shape=SHAPE, encoder_units=(4,)
    ),
}
NAMES = sorted(BUILDERS)


@functools.cache
def build(name):
    """The model `name`, built once per test session (the checks change nothing)."""
    keras.utils.set_random_seed(0)
    return BUILDERS[name]()


@functools.cache
def built_encoder():
    encoder = ConvEncoder(filters=(2,), kernel_size=3, thought_size=3)
    encoder(images((1, *SHAPE)))
    return encoder


def images(shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).random(shape).astype(dtype)


@pytest.fixture
def entry_check():
    """Marks the tests of `FastModel`'s entry check (fit/predict/evaluate)."""


def assert_refused(name, x, pattern, entry_check=False):
    """`_check_inputs`, `model(x)` and (with `entry_check`) `predict` refuse `x`.

    After a refused `predict` the model still predicts a good batch as before.
    """
    model = build(name)
    with pytest.raises(ValueError, match=pattern):
        model._check_inputs(x)
    with pytest.raises(ValueError, match=pattern):
        model(x)
    if entry_check:
        good = images((2, *SHAPE), seed=1)
        expected = keras.ops.convert_to_numpy(model(good))
        with pytest.raises(ValueError, match=pattern):
            model.predict(x, verbose=0)
        np.testing.assert_allclose(
            model.predict(good, verbose=0), expected, atol=1e-5, rtol=0
        )


def test_every_model_of_the_package_is_tested():
    exported = {
        name
        for name in models.__all__
        if isinstance(getattr(models, name), type)
        and issubclass(getattr(models, name), ImageModel)
    }
    assert exported == set(BUILDERS)


class TestWrongSize:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("size", [(16, 16), (7, 8), (8, 9)])
    def test_refused_naming_the_built_size(self, name, size):
        x = images((1, *size, 3))
        assert_refused(
            name,
            x,
            rf"it was built for: {BUILT}\. "
            rf"Received: inputs\.shape=\(1, {size[0]}, {size[1]}, 3\)",
        )

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "LSTMAutoencoder"])
    def test_predict_refuses_after_other_predicts(self, name, entry_check):
        # Issue 28: after predicts on several batch sizes TensorFlow traced
        # the step for unknown sizes, and a 31x31 image into a 32x32 model
        # came back 30x30 (the row models: "needs a known width").
        model = build(name)
        for count in (1, 2, 3):
            model.predict(images((count, *SHAPE)), verbose=0)
        with pytest.raises(ValueError, match=r"Received: inputs\.shape=\(1, 7, 7, 3"):
            model.predict(images((1, 7, 7, 3)), verbose=0)

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "ConvEncoderDecoder"])
    def test_predict_refuses_a_wrong_size(self, name, entry_check):
        assert_refused(
            name, images((2, 16, 16, 3)), rf"{BUILT}\. Received", entry_check=True
        )

    def test_unknown_size_must_still_divide(self):
        model = ConvAutoencoder(image_shape=(None, None, 3), filters=(4, 4))
        x = images((1, 31, 31, 3))
        for check in (model._check_inputs, model):
            with pytest.raises(
                ValueError,
                match=r"divisible by 2\. Received: inputs\.shape=\(1, 31, 31, 3\)",
            ):
                check(x)

    def test_conv_encoder_takes_only_its_built_size(self):
        with pytest.raises(
            ValueError,
            match=rf"height 8 and width 8 it was built for: {BUILT}\. "
            r"Received: inputs\.shape=\(1, 16, 16, 3\)",
        ):
            built_encoder()(images((1, 16, 16, 3)))


class TestWrongChannels:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("channels", [1, 4])
    def test_refused_naming_the_built_channels(self, name, channels):
        # Issue 28: grey into an RGB model was a TensorFlow graph error.
        x = images((2, 8, 8, channels))
        assert_refused(
            name,
            x,
            rf"3 channels it was built for: {BUILT}\. "
            rf"Received: inputs\.shape=\(2, 8, 8, {channels}\)",
        )

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "ReNetRestorer"])
    def test_predict_refuses_grey(self, name, entry_check):
        assert_refused(
            name, images((2, 8, 8, 1)), r"3 channels it was built", entry_check=True
        )

    def test_conv_encoder_takes_only_its_built_channels(self):
        with pytest.raises(
            ValueError,
            match=r"3 channels it was built for.*inputs\.shape=\(1, 8, 8, 1\)",
        ):
            built_encoder()(images((1, 8, 8, 1)))


class TestWrongRank:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize(
        "shape", [(8, 8, 3), (2, 8, 8, 3, 1), (8, 24), (2,)], ids=str
    )
    def test_refused_naming_rank_4(self, name, shape):
        text = str(shape).replace("(", r"\(").replace(")", r"\)")
        assert_refused(
            name,
            images(shape),
            rf"{BUILT}, rank 4\. Received: inputs\.shape={text}",
        )

    @pytest.mark.parametrize("name", NAMES)
    def test_one_image_gets_the_batch_axis_hint(self, name):
        with pytest.raises(ValueError, match=r"needs a batch axis.*images\[None\]"):
            build(name)(images(SHAPE))

    @pytest.mark.parametrize("name", ["LSTMAutoencoder", "ConvAutoencoder"])
    def test_predict_refuses_one_image(self, name, entry_check):
        # Issue 28: "Cannot take the length of shape with unknown rank".
        assert_refused(name, images(SHAPE), r"rank 4\. Received", entry_check=True)

    def test_unknown_rank_is_named(self):
        from keras_seqimage._validation import check_image_input, check_rank

        class UnknownRank:
            def __len__(self):
                raise ValueError("Cannot take the length of shape with unknown rank.")

            def __iter__(self):
                raise ValueError("Cannot iterate over a shape with unknown rank.")

        for check in (
            lambda: check_image_input("inputs", UnknownRank(), SHAPE, "Model"),
            lambda: check_rank("inputs", UnknownRank(), 4, "Layer"),
        ):
            with pytest.raises(
                ValueError, match=r"rank 4\. Received: inputs\.shape=<unknown rank>"
            ):
                check()

    def test_conv_encoder(self):
        with pytest.raises(ValueError, match=r"rank 4\. Received: inputs\.shape="):
            built_encoder()(images(SHAPE))


class TestWrongDtype:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("dtype", ["uint8", "int32", "bool", "<U1"])
    def test_refused_naming_the_dtype(self, name, dtype):
        x = np.zeros((2, *SHAPE), dtype)
        assert_refused(name, x, r"floats in \[0, 1\].*Received: inputs\.dtype=")

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "LSTMAutoencoder"])
    def test_predict_refuses_uint8(self, name, entry_check):
        # Issue 29's case: on JAX this call used to lose the model's weights.
        x = np.zeros((2, *SHAPE), "uint8")
        assert_refused(name, x, r"inputs\.dtype=uint8", entry_check=True)

    @pytest.mark.parametrize("name", NAMES)
    def test_other_floats_are_taken(self, name):
        model = build(name)
        x = images((2, *SHAPE))
        expected = keras.ops.convert_to_numpy(model(x))
        for dtype in ("float16", "float64"):
            model._check_inputs(x.astype(dtype))
            actual = keras.ops.convert_to_numpy(model(x.astype(dtype)))
            np.testing.assert_allclose(actual, expected, atol=0.05)


class TestEmptyBatch:
    @pytest.mark.parametrize("name", NAMES)
    def test_refused(self, name):
        assert_refused(
            name,
            np.zeros((0, *SHAPE), "float32"),
            r"at least one image\. Received: inputs\.shape=\(0, 8, 8, 3\)",
        )

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "LSTMAutoencoder"])
    def test_predict_refuses(self, name, entry_check):
        # Issue 28: an UnboundLocalError from inside Keras.
        assert_refused(
            name,
            np.zeros((0, *SHAPE), "float32"),
            r"at least one image",
            entry_check=True,
        )


def with_non_finite(value, count=4, seed=0):
    """`count` images of SHAPE; image 2 holds `value` at one pixel and channel."""
    x = images((count, *SHAPE), seed=seed)
    x[2, 3, 5, 1] = value
    return x


class _Images(keras.utils.PyDataset):
    """Batches of 2 images: Keras' compiled step reads them, not our check."""

    def __init__(self, x):
        super().__init__()
        self.x = x

    def __len__(self):
        return len(self.x) // 2

    def __getitem__(self, index):
        return self.x[2 * index : 2 * index + 2]


class TestNonFinite:
    """The rule: never a finite image out of a NaN or inf in.

    Refused (`ValueError`) where the values are at hand: a numpy array or an
    eager tensor. Inside a compiled step, which cannot read them, the image
    comes out all NaN and the other images as without it.
    """

    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
    def test_refused_naming_count_and_image(self, name, value):
        nan, inf = (1, 0) if np.isnan(value) else (0, 1)
        assert_refused(
            name,
            with_non_finite(value),
            rf"finite values.*Received: inputs\.shape=\(4, 8, 8, 3\) with {nan} "
            rf"NaN and {inf} inf values, in 1 of its 4 images "
            r"\(the first: inputs\[2\]\)",
        )

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "ReNetRestorer"])
    def test_refused_as_an_eager_tensor(self, name):
        x = keras.ops.convert_to_tensor(with_non_finite(np.nan))
        with pytest.raises(ValueError, match=r"1 NaN and 0 inf"):
            build(name)(x)

    def test_all_nan_image(self):
        # Issue 28: an all-NaN image came out of ConvAutoencoder finite.
        x = np.full((1, *SHAPE), np.nan, "float32")
        assert_refused("ConvAutoencoder", x, r"with 192 NaN and 0 inf values")

    @pytest.mark.parametrize("name", ["ConvAutoencoder", "LSTMAutoencoder"])
    def test_predict_refuses_an_array(self, name, entry_check):
        assert_refused(
            name, with_non_finite(np.inf), r"0 NaN and 1 inf", entry_check=True
        )

    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("value", [np.nan, np.inf])
    def test_compiled_steps_give_nan_images(self, name, value):
        model = build(name)
        x = with_non_finite(value)
        if keras.backend.backend() == "torch":
            # Eager: every batch's values are at hand, and refused.
            with pytest.raises(ValueError, match=r"finite values"):
                model.predict(_Images(x), verbose=0)
            return
        outputs = model.predict(_Images(x), verbose=0)
        assert np.isnan(outputs[2]).all()
        clean = keras.ops.convert_to_numpy(model(np.delete(x, 2, axis=0)))
        np.testing.assert_allclose(
            np.delete(outputs, 2, axis=0), clean, atol=1e-5, rtol=0
        )

    def test_compiled_loss_is_nan(self):
        model = build("ConvAutoencoder")
        model.compile("adam", "mse")
        x = with_non_finite(np.inf)
        pairs = [(x[i : i + 2], np.zeros_like(x[i : i + 2])) for i in (0, 2)]

        class Pairs(keras.utils.PyDataset):
            def __len__(self):
                return 2

            def __getitem__(self, index):
                return pairs[index]

        if keras.backend.backend() == "torch":
            with pytest.raises(ValueError, match=r"finite values"):
                model.evaluate(Pairs(), verbose=0)
            return
        assert np.isnan(model.evaluate(Pairs(), verbose=0))

    def test_blur_estimate(self):
        model = build("BlindReNetRestorer")
        with pytest.raises(ValueError, match=r"1 NaN and 0 inf"):
            model.estimate_sigma(with_non_finite(np.nan))
