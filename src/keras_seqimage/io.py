"""Image files in and out: PNG, JPEG and TIFF, 8 and 16 bit, with metadata.

`read_image` returns the pixels as they are stored (uint8 or uint16, channels
last, the EXIF orientation applied, so the array is upright) and an `info`
dict with what `write_image` needs to write the result back the same way: the
colour profile (ICC), the EXIF block (its orientation reset, since the pixels
are upright now), the resolution and the bit depth.

Pillow does the work (`pip install "keras-seqimage[images]"`; it is imported
only when a file is read or written). Pillow stores 16-bit colour in 8 bits,
so 16-bit RGB/RGBA PNGs are decoded and encoded here with `zlib` (no
interlacing), and 16-bit colour TIFFs go through `tifffile` (installed with
scikit-image) when it is there.
"""

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

#: File name suffixes and the format each is written in.
FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pil():
    try:
        from PIL import Image, ImageFile, ImageOps
    except ImportError:
        raise ImportError(
            "Reading and writing image files needs Pillow: "
            '`pip install "keras-seqimage[images]"` (or `pip install pillow`).'
        ) from None
    return Image, ImageFile, ImageOps


class ImageFileError(OSError):
    """A file that cannot be read as an image: missing, truncated, not one."""


def read_image(path):
    """Read a PNG, JPEG or TIFF file as an upright array and its metadata.

    The EXIF orientation is applied (a photo taken with the camera on its
    side comes back the way it is shown), palette images become RGB or RGBA,
    bilevel images grey, CMYK and YCbCr images RGB. A truncated file, or one
    that is not an image, raises `ImageFileError` naming the file.

    Args:
        path: str or path-like, the file.

    Returns:
        `(array, info)`: a uint8 or uint16 array `(height, width, channels)`
        with 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels (a
        float32 array for a 32-bit float TIFF), and a dict with `"format"`
        (`"PNG"`, `"JPEG"`, `"TIFF"`, ...), `"mode"` (Pillow's mode of the
        file), `"bits"` (8, 16 or 32), `"icc_profile"` and `"exif"` (bytes or
        `None`) and `"dpi"` (a pair or `None`).

    Example:

    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "grey16.png"
    >>> image = np.arange(12, dtype="uint16").reshape(3, 4, 1) * 5000
    >>> write_image(path, image)
    >>> again, info = read_image(path)
    >>> bool((again == image).all()), again.dtype, info["bits"]
    (True, dtype('uint16'), 16)
    """
    path = Path(path)
    pil_image, _, pil_ops = _pil()
    header = _png_header(path)
    if header is not None and header["bits"] == 16 and header["colour"] in (2, 4, 6):
        if header["interlace"] == 0:
            return _read_png16(path)
    try:
        with warnings.catch_warnings():
            # Pillow's "Corrupt EXIF data" and such: the error (if any) is enough.
            warnings.simplefilter("ignore", UserWarning)
            return _read_with_pillow(path, pil_image, pil_ops)
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{path}: is a folder, not an image file") from None
    except ImageFileError:
        raise
    except (OSError, ValueError, SyntaxError, struct.error, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "cannot identify image file" in reason:
            reason = "not an image file Pillow can read"
        raise ImageFileError(f"{path}: {reason}") from None


def _read_with_pillow(path, pil_image, pil_ops):
    """`read_image` for every file but a 16-bit colour PNG."""
    with pil_image.open(path) as im:
        im.load()
        info = {
            "format": im.format,
            "mode": im.mode,
            "icc_profile": im.info.get("icc_profile"),
            "dpi": _dpi(im.info.get("dpi")),
        }
        if im.format == "TIFF" and _tiff_colour16(im):
            array = _read_tiff16(path)
            info.update(bits=16, exif=_exif_bytes(im))
            return _oriented(array, im), info
        upright = pil_ops.exif_transpose(im)
        info["exif"] = _exif_bytes(upright)
        array, bits = _to_array(upright, info)
        info["bits"] = bits
        return array, info


def write_image(path, array, info=None):
    """Write an array as PNG, JPEG or TIFF (chosen by the file's suffix).

    uint8 arrays are written in 8 bits, uint16 in 16 (JPEG, 8-bit only,
    gets them rounded to 8), float arrays (values in [0, 1]) at the bit depth
    in `info["bits"]` (8 without it). The colour profile and EXIF block of
    `info` (from `read_image`) are kept where the format stores them (EXIF in
    PNG, JPEG and TIFF; the ICC profile in all three).

    Args:
        path: str or path-like; its suffix is `.png`, `.jpg`, `.jpeg`,
            `.tif` or `.tiff`.
        array: array `(height, width)` or `(height, width, channels)`, 1 to
            4 channels, uint8, uint16 or float in [0, 1].
        info: optional dict from `read_image`. Defaults to `None`.
    """
    path = Path(path)
    info = dict(info or {})
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"`path` must end in one of {sorted(FORMATS)}. Received: path={str(path)!r}"
        )
    array = _check_array(array, info)
    channels = array.shape[-1]
    if fmt == "JPEG" and channels in (2, 4):
        raise ValueError(
            "JPEG has no alpha channel: write a PNG or TIFF for an array with "
            f"{channels} channels. Received: path={str(path)!r}"
        )
    if fmt == "JPEG" and array.dtype == np.uint16:
        array = np.round(array / 257.0).astype("uint8")
    if array.dtype == np.uint16 and channels > 1:
        if fmt == "PNG":
            _write_png16(path, array, info)
            return
        _write_tiff16(path, array, info)
        return
    pil_image, _, _ = _pil()
    if array.dtype == np.uint16:
        im = pil_image.fromarray(np.ascontiguousarray(array[..., 0]))
    else:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        pixels = array[..., 0] if channels == 1 else array
        im = pil_image.fromarray(np.ascontiguousarray(pixels)).convert(mode)
    options = {}
    if info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if info.get("exif"):
        options["exif"] = info["exif"]
    if info.get("dpi"):
        options["dpi"] = tuple(info["dpi"])
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    if fmt == "TIFF":
        options["compression"] = "tiff_deflate"
    im.save(path, format=fmt, **options)


# --------------------------------------------------------------------------
# Pillow's images to arrays
# --------------------------------------------------------------------------


def _to_array(im, info):
    """`(array, bits)` of an upright Pillow image."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        array = np.asarray(im)
        if mode == "I" and (array.min() < 0 or array.max() > 65535):
            raise ImageFileError(
                f"32-bit integer images are not supported (values "
                f"{array.min()}..{array.max()})"
            )
        return array.astype("uint16")[..., None], 16
    if mode == "F":
        return np.asarray(im, dtype="float32")[..., None], 32
    if mode in ("1", "L"):
        return np.asarray(im.convert("L"))[..., None], 8
    if mode in ("LA", "La", "PA"):
        return np.asarray(im.convert("LA")), 8
    if mode in ("RGBA", "RGBa") or (
        mode == "P" and ("transparency" in im.info or im.has_transparency_data)
    ):
        return np.asarray(im.convert("RGBA")), 8
    if mode in ("CMYK", "LAB", "HSV"):
        info["icc_profile"] = None  # a CMYK or Lab profile fits no RGB array
    return np.asarray(im.convert("RGB")), 8


def _dpi(value):
    if not value:
        return None
    try:
        return (float(value[0]), float(value[1]))
    except (TypeError, ValueError, IndexError):
        return None


def _exif_bytes(im):
    """The image's EXIF block with the orientation reset, or `None`."""
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - a malformed block is dropped, not fatal
        return None
    if not exif:
        return None
    if _EXIF_ORIENTATION in exif:
        exif[_EXIF_ORIENTATION] = 1
    try:
        return exif.tobytes()
    except Exception:  # noqa: BLE001
        return None


def _oriented(array, im):
    """`array` turned by the EXIF orientation of `im` (as exif_transpose)."""
    orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    turns = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    turn = turns.get(orientation)
    return np.ascontiguousarray(turn(array)) if turn else array


def _check_array(array, info):
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or 0 in array.shape:
        raise ValueError(
            "`array` must be an image (height, width) or (height, width, "
            f"channels) with 1 to 4 channels. Received: array.shape={array.shape}"
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError("`array` must hold finite values. Received: NaN or inf")
        bits = info.get("bits", 8)
        top, dtype = (65535, "uint16") if bits == 16 else (255, "uint8")
        return np.round(np.clip(array, 0, 1) * top).astype(dtype)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            "`array` must be uint8, uint16 or float (in [0, 1]). "
            f"Received: array.dtype={array.dtype}"
        )
    return array


# --------------------------------------------------------------------------
# 16-bit colour: PNG with zlib, TIFF with tifffile
# --------------------------------------------------------------------------


def _png_header(path):
    """`{"bits", "colour", "interlace"}` of a PNG file, else `None`."""
    try:
        with open(path, "rb") as f:
            head = f.read(33)
    except OSError:
        return None
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return {"bits": head[24], "colour": head[25], "interlace": head[28]}


def _png_chunks(data):
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if len(body) < length or position + 12 + length > len(data):
            raise ImageFileError("image file is truncated")
        crc = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc[0]:
            raise ImageFileError(f"broken PNG chunk {kind.decode('latin-1')!r}")
        yield kind, body
        position += 12 + length
        if kind == b"IEND":
            return
    raise ImageFileError("image file is truncated")


def _read_png16(path):
    """A 16-bit grey + alpha, RGB or RGBA PNG, decoded exactly."""
    data = Path(path).read_bytes()
    info = {"format": "PNG", "bits": 16, "icc_profile": None, "exif": None}
    idat = []
    try:
        for kind, body in _png_chunks(data):
            if kind == b"IHDR":
                width, height, _, colour = struct.unpack(">IIBB", body[:10])
            elif kind == b"IDAT":
                idat.append(body)
            elif kind == b"iCCP":
                name_end = body.index(b"\0")
                info["icc_profile"] = zlib.decompress(body[name_end + 2 :])
            elif kind == b"eXIf":
                info["exif"] = body
            elif kind == b"pHYs":
                x, y, unit = struct.unpack(">IIB", body)
                if unit == 1:
                    info["dpi"] = (x * 0.0254, y * 0.0254)
        raw = zlib.decompress(b"".join(idat))
    except (zlib.error, ValueError, struct.error) as error:
        raise ImageFileError(f"{path}: broken PNG data ({error})") from None
    except ImageFileError as error:
        raise ImageFileError(f"{path}: {error}") from None
    channels = {2: 3, 4: 2, 6: 4}[colour]
    info["mode"] = {2: "RGB;16", 4: "LA;16", 6: "RGBA;16"}[colour]
    stride = width * channels * 2
    if len(raw) < height * (stride + 1):
        raise ImageFileError(f"{path}: image file is truncated")
    rows = np.frombuffer(raw, np.uint8, height * (stride + 1)).reshape(height, -1)
    pixels = _unfilter(rows[:, 0], rows[:, 1:], channels * 2)
    array = pixels.view(">u2").reshape(height, width, channels).astype("uint16")
    orientation = _exif_orientation(info["exif"])
    if orientation not in (None, 1):
        array = _turn(array, orientation)
        info["exif"] = _reset_orientation(info["exif"])
    return array, info


def _unfilter(filters, rows, bpp):
    """PNG's per-row filters undone (types 0 to 4), uint8 rows."""
    out = np.zeros(rows.shape, dtype=np.uint8)
    previous = np.zeros(rows.shape[1], dtype=np.int32)
    for y, (kind, row) in enumerate(zip(filters, rows, strict=True)):
        row = row.astype(np.int32)
        if kind == 0:
            line = row
        elif kind == 1:  # Sub: a running sum per byte of the pixel, mod 256
            line = np.cumsum(row.reshape(-1, bpp), axis=0).reshape(-1) & 0xFF
        elif kind == 2:  # Up
            line = (row + previous) & 0xFF
        elif kind in (3, 4):  # Average, Paeth: sequential along the row
            line = np.zeros_like(row)
            left = np.zeros(bpp, dtype=np.int32)
            up_left = np.zeros(bpp, dtype=np.int32)
            for x in range(0, len(row), bpp):
                up = previous[x : x + bpp]
                if kind == 3:
                    value = (row[x : x + bpp] + ((left + up) >> 1)) & 0xFF
                else:
                    p = left + up - up_left
                    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
                    predictor = np.where(
                        (pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left)
                    )
                    value = (row[x : x + bpp] + predictor) & 0xFF
                line[x : x + bpp] = value
                left, up_left = value, up
        else:
            raise ImageFileError(f"unknown PNG filter type {kind} in row {y}")
        out[y] = line
        previous = line.astype(np.int32)
    return out


def _write_png16(path, array, info):
    """A 16-bit grey + alpha, RGB or RGBA PNG, with its ICC profile and EXIF."""
    height, width, channels = array.shape
    colour = {2: 4, 3: 2, 4: 6}[channels]

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = array.astype(">u2").reshape(height, width * channels).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)
    parts = [
        _PNG_SIGNATURE,
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)),
    ]
    if info.get("icc_profile"):
        parts.append(
            chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(info["icc_profile"]))
        )
    if info.get("dpi"):
        x, y = (round(d / 0.0254) for d in info["dpi"])
        parts.append(chunk(b"pHYs", struct.pack(">IIB", x, y, 1)))
    if info.get("exif"):
        exif = info["exif"]
        parts.append(chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    parts.append(chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)))
    parts.append(chunk(b"IEND", b""))
    Path(path).write_bytes(b"".join(parts))


def _exif_orientation(exif):
    if not exif:
        return None
    pil_image, _, _ = _pil()
    parsed = pil_image.Exif()
    try:
        parsed.load(exif)
    except Exception:  # noqa: BLE001
        return None
    return parsed.get(_EXIF_ORIENTATION)


def _reset_orientation(exif):
    pil_image, _, _ = _pil()
    parsed = pil_image.Exif()
    parsed.load(exif)
    parsed[_EXIF_ORIENTATION] = 1
    return parsed.tobytes()


def _turn(array, orientation):
    class _Fake:
        def getexif(self):
            return {_EXIF_ORIENTATION: orientation}

    return _oriented(array, _Fake())


def _tiff_colour16(im):
    """Whether Pillow read a 16-bit-per-sample colour TIFF as 8-bit."""
    bits = getattr(im, "tag_v2", {}).get(258)  # BitsPerSample
    if bits is None:
        return False
    bits = bits if isinstance(bits, tuple) else (bits,)
    return len(bits) > 1 and all(b == 16 for b in bits)


def _tifffile():
    try:
        import tifffile
    except ImportError:
        raise ImageFileError(
            "16-bit colour TIFF needs tifffile (`pip install tifffile`): Pillow "
            "reads and writes it in 8 bits only"
        ) from None
    return tifffile


def _read_tiff16(path):
    array = np.asarray(_tifffile().imread(os.fspath(path)))
    if array.ndim == 2:
        array = array[..., None]
    return array.astype("uint16")


def _write_tiff16(path, array, info):
    tifffile = _tifffile()
    extratags = []
    if info.get("icc_profile"):
        profile = info["icc_profile"]
        extratags.append((34675, 7, len(profile), profile, True))
    tifffile.imwrite(
        os.fspath(path),
        array,
        photometric="rgb" if array.shape[-1] >= 3 else "minisblack",
        extrasamples=("unassalpha",) if array.shape[-1] in (2, 4) else None,
        compression="zlib",
        extratags=extratags,
    )
