"""Image files: `keras_seqimage.io.read_image` and `write_image`."""

import struct
import zlib

import numpy as np
import pytest

from keras_seqimage import io

Image = pytest.importorskip("PIL.Image")
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def rgb():
    return skimage_data.astronaut()[80:144, 180:228]  # 64 x 48, uint8


def _cases(rgb):
    rgba = np.dstack([rgb, rgb[..., :1]])
    return {
        "rgb.png": rgb,
        "grey.png": rgb[..., :1],
        "grey_alpha.png": rgb[..., :2],
        "rgba.png": rgba,
        "rgb16.png": rgb.astype("uint16") * 257 + 3,
        "rgba16.png": rgba.astype("uint16") * 257,
        "grey16.png": rgb[..., :1].astype("uint16") * 250,
        "rgb.tif": rgb,
        "grey16.tif": rgb[..., :1].astype("uint16") * 250,
        "rgba.tiff": rgba,
    }


@pytest.mark.parametrize(
    "name",
    [
        "rgb.png",
        "grey.png",
        "grey_alpha.png",
        "rgba.png",
        "rgb16.png",
        "rgba16.png",
        "grey16.png",
        "rgb.tif",
        "grey16.tif",
        "rgba.tiff",
    ],
)
def test_lossless_round_trip(tmp_path, rgb, name):
    array = _cases(rgb)[name]
    io.write_image(tmp_path / name, array)
    back, info = io.read_image(tmp_path / name)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert info["bits"] == array.dtype.itemsize * 8


def test_16_bit_colour_tiff(tmp_path, rgb):
    pytest.importorskip("tifffile")
    array = rgb.astype("uint16") * 257 + 5
    io.write_image(tmp_path / "rgb16.tif", array)
    back, info = io.read_image(tmp_path / "rgb16.tif")
    np.testing.assert_array_equal(back, array)
    assert info["bits"] == 16


def test_jpeg_is_close_and_8_bit(tmp_path, rgb):
    io.write_image(tmp_path / "a.jpg", rgb.astype("uint16") * 257)
    back, info = io.read_image(tmp_path / "a.jpg")
    assert back.dtype == np.uint8 and info["format"] == "JPEG"
    assert np.abs(back.astype(int) - rgb).mean() < 3


def test_exif_orientation_is_applied_and_kept_upright(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "Test camera"
    Image.fromarray(rgb).save(tmp_path / "side.jpg", exif=exif.tobytes(), quality=95)
    back, info = io.read_image(tmp_path / "side.jpg")
    assert back.shape == (48, 64, 3)
    expected = np.rot90(rgb, -1)
    assert np.abs(back.astype(int) - expected).mean() < 3
    io.write_image(tmp_path / "out.jpg", back, info)
    with Image.open(tmp_path / "out.jpg") as written:
        kept = written.getexif()
        assert kept.get(0x010F) == "Test camera"
        assert kept.get(0x0112, 1) == 1
        assert written.size == (64, 48)


def test_exif_orientation_of_a_16_bit_png(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x0112] = 8
    array = rgb.astype("uint16") * 257
    io.write_image(tmp_path / "side16.png", array, {"exif": exif.tobytes()})
    back, info = io.read_image(tmp_path / "side16.png")
    np.testing.assert_array_equal(back, np.rot90(array, 1))
    assert io._exif_orientation(info["exif"]) == 1


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.tif", "a16.png"])
def test_icc_profile_is_kept(tmp_path, rgb, name):
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    array = rgb.astype("uint16") * 257 if "16" in name else rgb
    io.write_image(tmp_path / name, array, {"icc_profile": profile, "dpi": (300, 300)})
    _, info = io.read_image(tmp_path / name)
    assert info["icc_profile"] == profile
    assert info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_float_arrays_are_written_at_the_info_bit_depth(tmp_path, rgb):
    floats = rgb / 255.0
    io.write_image(tmp_path / "f8.png", floats)
    io.write_image(tmp_path / "f16.png", floats, {"bits": 16})
    assert io.read_image(tmp_path / "f8.png")[0].dtype == np.uint8
    back16 = io.read_image(tmp_path / "f16.png")[0]
    assert back16.dtype == np.uint16
    np.testing.assert_array_equal(back16, rgb.astype("uint16") * 257)


def _encode_png16(array, filters):
    """A reference encoder: 16-bit RGB rows with the given PNG filter types."""
    height, width, channels = array.shape
    bpp = 2 * channels
    rows = array.astype(">u2").reshape(height, -1).view(np.uint8).astype(int)
    out = []
    for y, kind in enumerate(filters):
        row = rows[y]
        up = rows[y - 1] if y else np.zeros_like(row)
        left = np.concatenate([np.zeros(bpp, int), row[:-bpp]])
        up_left = np.concatenate([np.zeros(bpp, int), up[:-bpp]])
        if kind == 0:
            coded = row
        elif kind == 1:
            coded = row - left
        elif kind == 2:
            coded = row - up
        elif kind == 3:
            coded = row - (left + up) // 2
        else:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            best_b = np.where(pb <= pc, up, up_left)
            coded = row - np.where((pa <= pb) & (pa <= pc), left, best_b)
        out.append(bytes([kind]) + bytes((coded & 0xFF).astype(np.uint8)))

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"".join(out)))
        + chunk(b"IEND", b"")
    )


def test_16_bit_png_decoder_undoes_every_filter(tmp_path, rgb):
    array = rgb[:20, :24].astype("uint16") * 257 + np.arange(24)[None, :, None]
    (tmp_path / "f.png").write_bytes(_encode_png16(array, [i % 5 for i in range(20)]))
    back, _ = io.read_image(tmp_path / "f.png")
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("name", ["rgb.png", "rgb16.png", "a.jpg", "rgb.tif"])
def test_a_truncated_file_is_an_error_naming_it(tmp_path, rgb, name):
    array = rgb.astype("uint16") * 257 if "16" in name else rgb
    io.write_image(tmp_path / name, array)
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(io.ImageFileError, match=name):
        io.read_image(tmp_path / name)


def test_not_an_image_and_missing_files(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(io.ImageFileError, match=r"notes.png: not an image file"):
        io.read_image(tmp_path / "notes.png")
    with pytest.raises(io.ImageFileError, match=r"gone.png: no such file"):
        io.read_image(tmp_path / "gone.png")


def test_write_errors(tmp_path, rgb):
    with pytest.raises(ValueError, match=r"`path` must end in one of"):
        io.write_image(tmp_path / "a.gif", rgb)
    with pytest.raises(ValueError, match=r"JPEG has no alpha channel"):
        io.write_image(tmp_path / "a.jpg", np.dstack([rgb, rgb[..., :1]]))
    with pytest.raises(ValueError, match=r"`array` must be an image"):
        io.write_image(tmp_path / "a.png", np.zeros((4, 4, 5), "uint8"))
    with pytest.raises(ValueError, match=r"Received: array.dtype=int32"):
        io.write_image(tmp_path / "a.png", np.zeros((4, 4), "int32"))
