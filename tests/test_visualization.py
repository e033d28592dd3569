"""Figures (structure, not pixels) and the statistics behind the EDA plots."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from keras_seqimage import visualization  # noqa: E402


def rgb_images(n=6, size=8, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3)).astype("float32")


def test_image_grid_has_one_axis_per_method_and_column():
    images = rgb_images()
    figure = visualization.plot_image_grid(
        {"original": images, "blurred": images, "restored": images}, count=4
    )
    assert len(figure.axes) == 3 * 4
    labels = [figure.axes[r * 4].get_ylabel() for r in range(3)]
    assert labels == ["original", "blurred", "restored"]


def test_image_grid_shows_the_chosen_images_in_order():
    images = np.zeros((5, 4, 4, 1), dtype="float32")
    for i in range(5):
        images[i] = i / 4
    figure = visualization.plot_image_grid({"gray": images}, indices=[4, 0, 2])
    shown = [float(axis.get_images()[0].get_array().mean()) for axis in figure.axes]
    np.testing.assert_allclose(shown, [1.0, 0.0, 0.5])


def test_image_grid_accepts_uint8_and_grayscale_without_channel_axis():
    images = np.full((3, 5, 5), 255, dtype="uint8")
    figure = visualization.plot_image_grid({"digits": images}, count=3)
    shown = figure.axes[0].get_images()[0].get_array()
    assert float(shown.max()) == 1.0


@pytest.mark.parametrize(
    "rows, match",
    [
        ({}, "non-empty dict"),
        ({"a": np.zeros((2, 4, 4, 3)), "b": np.zeros((3, 4, 4, 3))}, "same number"),
        ({"a": np.zeros((2, 4, 4, 5))}, r"rows\['a'\].shape=\(2, 4, 4, 5\)"),
    ],
)
def test_image_grid_rejects_bad_rows(rows, match):
    with pytest.raises(ValueError, match=match):
        visualization.plot_image_grid(rows)


def test_image_grid_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match=r"indices=\[7\]"):
        visualization.plot_image_grid({"a": rgb_images(3)}, indices=[7])


def test_channel_statistics_match_numpy():
    images = rgb_images(10, 8)
    images[..., 1] = 0.5 * images[..., 0] + 0.1  # green follows red
    stats = visualization.channel_statistics(images)
    pixels = images.reshape(-1, 3).astype("float64")
    np.testing.assert_allclose(stats["mean"], pixels.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(stats["std"], pixels.std(axis=0), atol=1e-6)
    np.testing.assert_allclose(
        stats["correlation"], np.corrcoef(pixels, rowvar=False), atol=1e-12
    )
    assert stats["correlation"][0][1] == pytest.approx(1.0)
    assert stats["brightness_mean"] == pytest.approx(pixels.mean())
    assert stats["brightness_variance"] == pytest.approx(pixels.var())


def test_channel_statistics_scale_uint8_to_unit_range():
    images = np.full((2, 3, 3, 3), 255, dtype="uint8")
    images[..., 2] = 0
    assert visualization.channel_statistics(images)["mean"] == [1.0, 1.0, 0.0]


def test_class_distribution_bars_are_the_counts():
    labels = np.array([[0], [2], [2], [1], [2]])
    figure = visualization.plot_class_distribution(labels, ("a", "b", "c", "d"))
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    assert heights == [1, 1, 3, 0]
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert ticks == ["a", "b", "c", "d"]


def test_class_samples_show_the_first_image_of_each_class():
    images = rgb_images(5)
    labels = np.array([1, 0, 1, 0, 2])
    figure = visualization.plot_class_samples(images, labels, ("x", "y", "z"))
    assert [axis.get_title() for axis in figure.axes] == ["x", "y", "z"]
    np.testing.assert_allclose(figure.axes[0].get_images()[0].get_array(), images[1])


def test_class_samples_reject_label_count_mismatch():
    with pytest.raises(ValueError, match="3 labels for 5 images"):
        visualization.plot_class_samples(rgb_images(5), [0, 1, 2])


def test_channel_histograms_state_mean_and_std():
    images = rgb_images(4)
    stats = visualization.channel_statistics(images)
    figure = visualization.plot_channel_histograms(images)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend[0] == f"red: mean {stats['mean'][0]:.3f}, std {stats['std'][0]:.3f}"
    assert len(legend) == 3


def test_channel_correlation_annotates_the_matrix():
    figure = visualization.plot_channel_correlation(rgb_images(4))
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert len(texts) == 9 and texts[0] == "1.00"


def test_loss_curves_from_history_dict_and_csv(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,val_loss\n0,0.4,0.5\n1,0.2,0.3\n")
    for source in ({"loss": [0.4, 0.2], "val_loss": [0.5, 0.3]}, log):
        figure = visualization.plot_loss_curves(source)
        lines = figure.axes[0].get_lines()
        assert [line.get_label() for line in lines] == ["training", "validation"]
        np.testing.assert_allclose(lines[0].get_xdata(), [1, 2])
        np.testing.assert_allclose(lines[1].get_ydata(), [0.5, 0.3])
        assert figure.axes[0].get_yscale() == "log"


def test_loss_curves_reject_unlogged_metric_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"\['loss'\]"):
        visualization.plot_loss_curves({"loss": [1.0]}, metrics=("psnr",))
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        visualization.plot_loss_curves(tmp_path / "nope.csv")


def test_save_figure_writes_a_png(tmp_path):
    figure = visualization.plot_image_grid({"a": rgb_images(2)}, count=2)
    path = visualization.save_figure(figure, tmp_path / "sub" / "grid.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
