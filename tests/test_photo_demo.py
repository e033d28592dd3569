"""examples/photo_demo.py (`make demo`) end to end on small centre crops."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/ is not shipped with an installed package"
)
pytest.importorskip("matplotlib")
pytest.importorskip("skimage")
pytest.importorskip("PIL")


@pytest.fixture
def photo_demo(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", ["examples/photo_demo.py"])
    import photo_demo

    return photo_demo


def test_photo_demo_scores_what_it_writes(photo_demo, tmp_path, capsys):
    from keras_seqimage.datasets import load_photo
    from keras_seqimage.io import read_image
    from keras_seqimage.metrics import psnr, ssim

    crop = 48
    results = photo_demo.main(
        ["--photos", "coffee,camera", "--crop", str(crop), "--output", str(tmp_path)]
    )
    out = capsys.readouterr().out
    preset = results["preset"]
    assert preset == "photo_deblur_cnn"  # method "auto": the first preset
    assert [row["photo"] for row in results["rows"]] == ["coffee", "camera"]

    # The table: a header, a row per photo and the mean; then the verdict.
    assert f"| photo | blurred | self-tuning Wiener | {preset} (sigma given) |" in out
    assert re.search(r"^\| coffee \(48x48\) \| \d+\.\d\d / 0\.\d{4} \|", out, re.M)
    assert re.search(r"^\| camera \(48x48, grey\) \|", out, re.M)
    assert re.search(r"^\| mean \|", out, re.M)
    assert re.search(
        rf"^{preset} (beats the self-tuning Wiener by \+|loses to the self-tuning "
        rf"Wiener by |ties with)\d+\.\d\d",
        out,
        re.M,
    )
    mean_gain = np.mean(
        [r["preset"]["psnr"] - r["wiener"]["psnr"] for r in results["rows"]]
    )
    assert results["mean_gain_db"] == pytest.approx(mean_gain)
    assert f"{abs(mean_gain):.2f} dB on average" in out

    # Every score is finite and is the score of the PNG written.
    for index, row in enumerate(results["rows"]):
        clean = photo_demo.centre_crop(load_photo(row["photo"]), crop)
        assert row["seed"] == index
        for key in ("degraded", "wiener", "preset", "blind"):
            image, _ = read_image(tmp_path / row["files"][key])
            image = image.reshape(clean.shape)
            assert image.dtype == np.uint8
            pair = (clean[None], (image.astype("float32") / 255)[None])
            assert np.isfinite(row[key]["psnr"]) and np.isfinite(row[key]["ssim"])
            assert row[key]["psnr"] == pytest.approx(float(psnr(*pair)[0]), abs=1e-4)
            assert row[key]["ssim"] == pytest.approx(float(ssim(*pair)[0]), abs=1e-5)
        # Blur sigma 2, noise 0.01: the Wiener filter with the true sigma gains.
        assert row["wiener"]["psnr"] > row["degraded"]["psnr"]
        assert row["blind_sigma"][0] > 0 and row["blind_noise"] >= 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        ["comparison.png"]
        + [
            f"{photo}_{suffix}.png"
            for photo in ("coffee", "camera")
            for suffix in ("degraded", "wiener", preset, f"{preset}_blind")
        ]
    )

    # The figure holds the crops pixel for pixel (1:1, not resampled): the
    # first row's clean crop is where the layout puts it.
    from PIL import Image

    figure = np.asarray(Image.open(tmp_path / "comparison.png").convert("RGB"))
    window = results["rows"][0]["figure_crop"]
    assert window["side"] == crop  # smaller than the figure's 160: all of it
    clean = photo_demo.to_uint8(photo_demo.centre_crop(load_photo("coffee"), crop))
    top, left = 24 + 34, 10  # heading and title above, padding to the left
    np.testing.assert_array_equal(figure[top : top + crop, left : left + crop], clean)

    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["rows"][1]["blind"] == results["rows"][1]["blind"]
    assert "--crop 48" in saved["command"]
    table = (tmp_path / "results.md").read_text()
    assert "| camera (48x48, grey) |" in table and results["verdict"] in table


def test_detail_window_stays_inside_and_finds_the_detail(photo_demo):
    image = np.zeros((300, 400, 1), "float32")
    image[150:190, 220:260] = np.indices((40, 40)).sum(0)[..., None] % 2
    top, left, side = photo_demo.detail_window(image, 100)
    assert side == 100 and 0 <= top <= 200 and 0 <= left <= 300
    assert top <= 150 and top + side >= 190 and left <= 220 and left + side >= 260
    assert photo_demo.detail_window(image[:50, :70], 160) == (0, 0, 50)


def test_photo_demo_words_a_loss_as_a_loss(photo_demo):
    def row(wiener, preset, blind):
        return {
            "wiener": {"psnr": wiener},
            "preset": {"psnr": preset},
            "blind": {"psnr": blind},
        }

    rows = [row(28.0, 28.5, 28.1), row(27.0, 27.34, 26.9)]
    gain, words = photo_demo.verdict(rows, "p")
    assert gain == pytest.approx(0.42)
    assert words.startswith("p beats the self-tuning Wiener by +0.42 dB on average")
    assert "ahead on 2 of 2" in words and "0.00 dB" not in words
    gain, words = photo_demo.verdict([row(28.0, 27.7, 27.5)], "p")
    assert words.startswith("p loses to the self-tuning Wiener by 0.30 dB on average")
    assert "scores 0.50 dB below the self-tuning Wiener" in words


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--photos", "brick"], "photos must be names from astronaut"),
        (["--photos", ""], "photos must be names from"),
        (["--crop", "8"], "must be 0 \\(full size\\) or >= 16"),
        (["--sigma", "0"], "must be > 0"),
        (["--noise", "-0.1"], "must be >= 0"),
        (["--method", "wiener"], "invalid choice: 'wiener'"),
    ],
)
def test_photo_demo_refuses_bad_arguments(photo_demo, capsys, arguments, message):
    with pytest.raises(SystemExit):
        photo_demo.parse_args(arguments)
    assert re.search(message, capsys.readouterr().err)
