"""The `keras-seqimage` command, end to end in a subprocess on real files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.ndimage as ndi

import keras_seqimage
from keras_seqimage import cli, io

Image = pytest.importorskip("PIL.Image")
skimage_data = pytest.importorskip("skimage.data")

SRC = Path(keras_seqimage.__file__).resolve().parents[1]


def _run(*args, cwd=None, command=None):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "KERAS_BACKEND": keras.backend.backend(),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    command = command or [sys.executable, "-m", "keras_seqimage.cli"]
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def _blurred(image):
    """A blurred copy (sigma 1.5 over height and width), same dtype."""
    floats = image.astype("float64") / np.iinfo(image.dtype).max
    sigma = (1.5, 1.5, 0)[: image.ndim]
    blurred = ndi.gaussian_filter(floats, sigma) * np.iinfo(image.dtype).max
    return np.round(blurred).astype(image.dtype)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Small crops of scikit-image photos in every format the command reads."""
    folder = tmp_path_factory.mktemp("photos")
    rgb = _blurred(skimage_data.astronaut()[100:164, 180:244])  # 64 x 64
    grey = _blurred(skimage_data.camera()[200:264, 200:264])
    files = {
        "rgb8.png": rgb,
        "rgb16.png": rgb.astype("uint16") * 257,
        "grey16.png": grey.astype("uint16") * 257,
        "grey.png": grey,
        "rgba.png": np.dstack([rgb, np.full(rgb.shape[:2], 200, "uint8")]),
        "photo.tif": rgb,
    }
    for name, array in files.items():
        io.write_image(folder / name, array)
    # A JPEG taken with the camera on its side: 48 x 64 stored, shown 64 x 48.
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Test camera"
    Image.fromarray(rgb[:48]).save(folder / "side.jpg", exif=exif.tobytes())
    files["side.jpg"] = rgb[:48]
    good = (folder / "rgb8.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "notes.png").write_text("not an image")
    return folder, files


def test_restore_many_files_in_one_run(photos, tmp_path):
    folder, files = photos
    out = tmp_path / "new" / "folder"  # does not exist yet
    names = [
        "rgb8.png",
        "truncated.png",
        "rgb16.png",
        "grey16.png",
        "grey.png",
        "rgba.png",
        "photo.tif",
        "side.jpg",
        "notes.png",
    ]
    result = _run(
        "restore",
        *(folder / n for n in names),
        "-o",
        out,
        "--method",
        "wiener",
        "--sigma",
        "1.5",
    )
    assert result.returncode == 2, result.stderr  # two files failed
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 2
    assert "truncated.png" in errors[0] and "truncated" in errors[0]
    assert "notes.png" in errors[1] and "not an image" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        n for n in names if n not in ("truncated.png", "notes.png")
    )
    for name, array in files.items():
        restored, info = io.read_image(out / name)
        if name == "side.jpg":
            assert restored.shape == (64, 48, 3)  # upright, the EXIF turn applied
            with Image.open(out / name) as written:
                assert written.getexif().get(0x010F) == "Test camera"
                assert written.getexif().get(0x0112, 1) == 1
            continue
        expected_shape = array.shape if array.ndim == 3 else (*array.shape, 1)
        assert restored.shape == expected_shape, name
        assert restored.dtype == array.dtype, name
        assert not np.array_equal(restored[..., :3], array[..., :3]), name
    alpha = io.read_image(out / "rgba.png")[0][..., 3]
    assert (alpha == 200).all()
    assert "sigma 1.5, 1.5" in result.stdout


def test_restore_never_overwrites_an_input(photos, tmp_path):
    folder, _ = photos
    shutil.copy(folder / "grey.png", tmp_path / "grey.png")
    shutil.copy(folder / "rgb8.png", tmp_path / "rgb8.png")
    before = (tmp_path / "grey.png").read_bytes()
    result = _run(
        "restore",
        tmp_path / "grey.png",
        folder / "rgb8.png",
        "-o",
        tmp_path,
        "--method",
        "wiener",
        "--sigma",
        "1.5",
    )
    # grey.png would overwrite itself; tmp_path/rgb8.png is not an input (a
    # copy lying there), so the restored rgb8.png replaces it.
    assert result.returncode == 1, result.stderr
    assert "grey.png" in result.stderr and "would overwrite an input" in result.stderr
    assert (tmp_path / "grey.png").read_bytes() == before
    assert "rgb8.png ->" in result.stdout


def test_degrade_writes_a_replayable_sidecar(photos, tmp_path):
    folder, files = photos
    result = _run(
        "degrade",
        folder / "rgb8.png",
        folder / "rgb16.png",
        "-o",
        tmp_path,
        "--sigma",
        "2",
        "--noise",
        "0.01",
        "--seed",
        "5",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "rgb8.png.json").read_text())
    assert record["sigma_h"] == 2.0 and record["seed"] == 5
    assert json.loads((tmp_path / "rgb16.png.json").read_text())["seed"] == 6
    params = {k: [record[k]] for k in ("sigma_h", "sigma_w", "noise")}
    params["seed"] = record["seed"]
    replay, _ = keras_seqimage.degrade(
        files["rgb8.png"].astype("float32") / 255, params=params
    )
    written, _ = io.read_image(tmp_path / "rgb8.png")
    np.testing.assert_array_equal(written, np.round(replay * 255).astype("uint8"))
    assert io.read_image(tmp_path / "rgb16.png")[0].dtype == np.uint16


def test_info():
    info = _run("info")
    assert info.returncode == 0, info.stderr
    assert f"keras-seqimage {keras_seqimage.__version__}" in info.stdout
    assert f"backend: {keras.backend.backend()}" in info.stdout
    assert "fast path:" in info.stdout and "presets:" in info.stdout


def test_the_installed_console_script(tmp_path):
    script = shutil.which("keras-seqimage")
    if script is None:
        pytest.skip("the keras-seqimage console script is not installed")
    result = _run("info", command=[script])
    assert result.returncode == 0, result.stderr
    assert "keras-seqimage" in result.stdout


# --- in process: the command line's own checks ----------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["restore", "--help"]])
def test_help_has_examples(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "keras-seqimage restore" in out


def test_bad_command_lines(capsys):
    for argv in (
        ["restore", "a.png"],  # no -o
        ["restore", "a.png", "-o", "out", "--sigma", "0"],
        ["restore", "a.png", "-o", "out", "--noise", "-1"],
        ["degrade", "a.png", "-o", "out", "--noise", "0.01"],  # no --sigma
        ["restore", "a.png", "-o", "out", "--backend", "numpy"],
    ):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
    assert "--sigma: must be a number > 0" in capsys.readouterr().err


def test_unknown_method_is_refused_before_any_file(tmp_path, capsys):
    status = cli.main(["restore", "x.png", "-o", str(tmp_path / "o"), "--method", "x"])
    assert status == 2
    assert "`method` must be one of ['auto', 'wiener'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_same_name_twice_is_refused(photos, tmp_path, capsys):
    folder, _ = photos
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(folder / "grey.png", other / "grey.png")
    status = cli.main(
        [
            "restore",
            str(folder / "grey.png"),
            str(other / "grey.png"),
            "-o",
            str(tmp_path / "out"),
            "--method",
            "wiener",
            "--sigma",
            "1.0",
            "--noise",
            "0.01",
        ]
    )
    assert status == 1
    assert "would overwrite the output of" in capsys.readouterr().err
    assert (tmp_path / "out" / "grey.png").exists()
