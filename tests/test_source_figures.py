"""The source documents' figures: the values drawn are the data's (matplotlib Agg)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from keras_seqimage import visualization  # noqa: E402


def rgb_images(n=6, size=8, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3)).astype("float32")


def test_pixel_histogram_bars_are_the_density_of_all_values(tmp_path):
    images = (rgb_images(5) * 255).astype("uint8")
    figure = visualization.plot_pixel_histogram(images, bins=16)
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    expected, _ = np.histogram(images / 255.0, bins=16, range=(0, 1), density=True)
    np.testing.assert_allclose(heights, expected, rtol=1e-6)
    assert figure.axes[0].get_lines() == []
    path = visualization.save_figure(figure, tmp_path / "hist.png")
    assert path.stat().st_size > 1000


def test_pixel_histogram_density_curve_integrates_to_one_and_follows_the_data():
    rng = np.random.default_rng(1)
    images = np.clip(rng.normal(0.3, 0.05, (20, 16, 16, 3)), 0, 1)
    figure = visualization.plot_pixel_histogram(images, density_curve=True)
    (curve,) = figure.axes[0].get_lines()
    x, y = curve.get_data()
    assert np.sum(y) * (x[1] - x[0]) == pytest.approx(1.0, abs=0.01)
    assert abs(x[np.argmax(y)] - 0.3) < 0.02  # the mode of the data
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == [
        "kernel density",
        "histogram",
    ]


def test_scatter_matrix_plots_sampled_pixels_of_each_channel_pair():
    images = rgb_images(3, 4)
    figure = visualization.plot_scatter_matrix(images, sample=1000, seed=3)
    assert len(figure.axes) == 9
    # More pixels asked than there are: every pixel, once.
    points = figure.axes[1].collections[0].get_offsets()  # green across, red up
    assert len(points) == 3 * 4 * 4
    pixels = images.reshape(-1, 3)
    expected = {(round(float(g), 5), round(float(r), 5)) for r, g, _ in pixels}
    assert {(round(float(a), 5), round(float(b), 5)) for a, b in points} == expected
    diagonal = [patch.get_height() for patch in figure.axes[4].patches]
    assert sum(diagonal) == 3 * 4 * 4
    assert figure.axes[6].get_xlabel() == "red" and figure.axes[3].get_ylabel() == (
        "green"
    )


def test_pca_projection_matches_numpy_svd_up_to_sign():
    images = rgb_images(12, 4)
    scores, explained = visualization.pca_projection(images, components=3)
    flat = images.reshape(12, -1).astype("float64")
    centred = flat - flat.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(np.abs(scores), np.abs(u[:, :3] * s[:3]), atol=1e-8)
    np.testing.assert_allclose(explained, s[:3] ** 2 / (s**2).sum())
    with pytest.raises(ValueError, match="components=13"):
        visualization.pca_projection(images, components=13)


def test_pca_scatter_draws_each_class_at_its_projection():
    images = rgb_images(10, 4)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    figure = visualization.plot_pca_scatter(images, labels, ["a", "b", "c"])
    scores, explained = visualization.pca_projection(images, 2)
    collections = figure.axes[0].collections
    assert len(collections) == 3
    for label, collection in enumerate(collections):
        np.testing.assert_allclose(collection.get_offsets(), scores[labels == label])
        assert collection.get_label() == "abc"[label]
    assert f"{explained[0]:.1%}" in figure.axes[0].get_xlabel()
    sampled = visualization.plot_pca_scatter(images, labels, sample=6)
    assert sum(len(c.get_offsets()) for c in sampled.axes[0].collections) == 6
    with pytest.raises(ValueError, match="9 labels for 10 images"):
        visualization.plot_pca_scatter(images, labels[:9])


def test_corruption_steps_show_each_stage_of_the_chain():
    digits = np.random.default_rng(2).random((2, 6, 6))

    def blank(x):
        out = np.array(x)
        out[:, 3:] = 0
        return out

    def brighten(x):
        return np.clip(x + 0.25, 0, 1)

    figure = visualization.plot_corruption_steps(
        digits, [("blanked", blank), ("noise", brighten)]
    )
    assert len(figure.axes) == 2 * 3
    titles = [axis.get_title() for axis in figure.axes[:3]]
    assert titles == ["original", "blanked", "noise"]
    stages = [digits, blank(digits[..., None]), brighten(blank(digits[..., None]))]
    for c in range(3):
        for r in range(2):
            shown = figure.axes[r * 3 + c].get_images()[0].get_array()
            np.testing.assert_allclose(shown, np.squeeze(stages[c][r]), atol=1e-6)


def test_corruption_steps_accept_keras_layers_and_reject_bad_steps():
    from keras_seqimage.layers import RowOcclusion

    digits = np.ones((1, 8, 8, 1), "float32")
    figure = visualization.plot_corruption_steps(
        digits, [("lower half", RowOcclusion(start=4, stop=8))]
    )
    shown = figure.axes[1].get_images()[0].get_array()
    assert shown[:4].min() == 1.0 and shown[4:].max() == 0.0
    with pytest.raises(ValueError, match="pairs"):
        visualization.plot_corruption_steps(digits, [])
    with pytest.raises(ValueError, match="shape"):
        visualization.plot_corruption_steps(digits, [("crop", lambda x: x[:, :4])])


def test_log_trend_recovers_the_coefficients_and_rejects_bad_x():
    x = np.array([68.0, 136, 204, 272])
    a, b = visualization.log_trend(x, 0.3 - 0.02 * np.log(x))
    assert (a, b) == (pytest.approx(0.3), pytest.approx(-0.02))
    with pytest.raises(ValueError, match="positive"):
        visualization.log_trend([0, 1], [1, 2])


def test_loss_comparison_puts_both_models_and_their_trends_on_one_axis(tmp_path):
    log = tmp_path / "training_log.csv"
    log.write_text("epoch,loss,val_loss\n0,0.5,0.6\n1,0.3,0.4\n2,0.25,0.3\n")
    histories = {"CNN-CNN": {"loss": [0.4, 0.35, 0.34]}, "CNN-LSTM": log}
    figure = visualization.plot_loss_comparison(histories, steps_per_epoch=68)
    assert len(figure.axes) == 1
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "CNN-CNN",
        "CNN-CNN: log trend",
        "CNN-LSTM",
        "CNN-LSTM: log trend",
    ]
    x, y = lines[2].get_data()
    np.testing.assert_allclose(x, [68, 136, 204])
    np.testing.assert_allclose(y, [0.5, 0.3, 0.25])
    a, b = visualization.log_trend(x, y)
    trend_x, trend_y = lines[3].get_data()
    np.testing.assert_allclose(trend_y, a + b * np.log(trend_x))
    assert lines[3].get_color() == lines[2].get_color()
    assert figure.axes[0].get_xlabel() == "training step"
    with pytest.raises(ValueError, match="metric='val_mse'"):
        visualization.plot_loss_comparison(histories, metric="val_mse")
