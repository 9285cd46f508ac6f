"""Reading and writing image files, and converting between file dtypes and float [0, 1].

Arrays are (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB or (H, W, 4) RGBA, in the dtype
the file stores (uint8, uint16, float32...). Inside deepprior images are float32 in [0, 1]:
`to_float` and `from_float` convert at the edge, `split_alpha` and `merge_alpha` keep alpha
out of the restoration.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import png
import tifffile
from PIL import Image, ImageOps, UnidentifiedImageError

from deepprior.errors import ImageReadError, InputError, OutputExistsError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_FITS_SIGNATURE = b"SIMPLE  ="
_EXR_SIGNATURE = b"v/1\x01"
_READ_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    zlib.error,
    png.Error,
    Image.DecompressionBombError,
)  # tifffile.TiffFileError is a ValueError

_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".fits": "FITS",  # astronomy: astropy, the ``astro`` extra
    ".fit": "FITS",
    ".fts": "FITS",
    ".exr": "EXR",  # linear HDR (renders): the openexr package, the ``render`` extra
}
IMAGE_SUFFIXES = tuple(_FORMATS)
FLOAT_SUFFIXES = tuple(k for k, v in _FORMATS.items() if v in ("TIFF", "FITS", "EXR"))  # any float range
_NO_ALPHA = {"JPEG", "BMP"}  # formats that cannot store alpha


# --------------------------------------------------------------------------- reading


def list_images(folder: str | os.PathLike, empty_ok: bool = False) -> list[Path]:
    """The image files directly in ``folder``, sorted by name (hidden files skipped); raises
    InputError for a missing folder or, unless ``empty_ok``, one with no images."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder of images")
    images = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in _FORMATS and not p.name.startswith(".")
    )
    if not images and not empty_ok:
        raise InputError(f"no images in '{folder}' (looked for {', '.join(sorted(_FORMATS))})")
    return images


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into an (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) array.

    The dtype is the file's own: uint8, uint16 (16-bit PNG/TIFF, read without loss), float32 or
    float64 (float TIFF, EXR or FITS, any range: EXR's half floats become float32; its RGB(A),
    or Y(A), or single channel), other integer types as a TIFF or FITS stores them
    (FITS: the first HDU holding an image, a (C, H, W) cube of up to 4 planes as (H, W, C), rows
    in the file's order, scaled by BSCALE/BZERO; it needs astropy). EXIF orientation is
    applied (not for 16-bit PNG, nor TIFF read by tifffile), palettes become RGB(A), CMYK RGB.
    Raises ImageReadError for a missing, empty, truncated or non-image file.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"cannot read '{path}': no such file")
    if path.is_dir():
        raise ImageReadError(f"cannot read '{path}': is a directory")
    try:
        with open(path, "rb") as f:
            head = f.read(26)
        if not head:
            raise ImageReadError(f"cannot read '{path}': file is empty")
        if head.startswith(_TIFF_SIGNATURES):
            image = _read_tiff(path)
        elif head.startswith(_FITS_SIGNATURE):
            image = _read_fits(path)
        elif head.startswith(_EXR_SIGNATURE):
            image = _read_exr(path)
        elif head.startswith(_PNG_SIGNATURE) and head[24:25] == b"\x10":  # IHDR bit depth 16
            image = _read_png16(path)
        else:
            image = _read_pillow(path)
    except ImageReadError:
        raise
    except _READ_ERRORS as exc:
        raise ImageReadError(f"cannot read '{path}': {_reason(exc)}") from exc
    image = _image_shape(image, ImageReadError, f"cannot read '{path}'")
    return image.astype(image.dtype.newbyteorder("="), copy=False)


def _image_shape(image: np.ndarray, error: type[Exception], context: str) -> np.ndarray:
    """Turn (H, W, 1) into (H, W); raise `error` unless the shape is (H, W) or (H, W, 2..4)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or image.shape[2:] not in ((), (2,), (3,), (4,)) or not image.size:
        raise error(
            f"{context}: expected an (H, W) or (H, W, C) image with C in 1..4, got shape {image.shape}"
        )
    return image


def _reason(exc: BaseException) -> str:
    """One line saying why a library could not read a file."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image file, or a format that cannot be read"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, EOFError) or "truncated" in text or "too short" in text:
        return "file is truncated"
    return text


def _read_pillow(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im.load()  # decode everything now so that truncation is detected here
        im = ImageOps.exif_transpose(im)
    alpha = bool({"A", "a"} & set(im.getbands())) or "transparency" in im.info
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        pass  # high bit depth grey: keep its values
    elif im.mode in ("1", "L", "LA", "La"):
        im = im.convert("LA" if alpha else "L")
    else:  # P, PA, RGB, RGBA, RGBa, RGBX, CMYK, YCbCr...
        im = im.convert("RGBA" if alpha else "RGB")
    return np.array(im)


def _read_png16(path: Path) -> np.ndarray:
    """16-bit PNG with pypng: Pillow would reduce RGB(A) to 8 bits."""
    with open(path, "rb") as f:  # png.Reader(filename=...) would leave the file open
        width, height, rows, info = png.Reader(file=f).read()
        image = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    image = image.reshape(height, width, info["planes"])
    if "transparent" in info:  # tRNS chunk: one colour is fully transparent
        opaque = np.any(image != np.array(info["transparent"], dtype=np.uint16), axis=-1)
        image = np.concatenate([image, (opaque * np.uint16(65535))[..., None]], axis=-1)
    return image


_TIFF_PHOTOMETRIC_OK = ("MINISBLACK", "MINISWHITE", "RGB", "SEPARATED", "YCBCR")


def _astropy_fits(action: str):
    """astropy.io.fits, or a one-line error that says how to get it."""
    try:
        from astropy.io import fits
    except ImportError:
        raise InputError(f"{action} FITS needs astropy: pip install 'deepprior[astro]'") from None
    return fits


def _read_fits(path: Path) -> np.ndarray:
    """The first image HDU of a FITS file; a (C, H, W) cube becomes (H, W, C)."""
    fits = _astropy_fits("reading")
    with fits.open(path, memmap=False) as hdus:
        found = [hdu.data for hdu in hdus if hdu.is_image and hdu.data is not None and hdu.data.ndim >= 2]
        if not found:
            raise ImageReadError(f"cannot read '{path}': no image in this FITS file")
        data = np.asarray(found[0])
    if data.ndim == 3:
        data = np.moveaxis(data, 0, -1)
    return data


def _openexr(action: str):
    """The OpenEXR module, or a one-line error that says how to get it."""
    try:
        import OpenEXR
    except ImportError:
        raise InputError(f"{action} EXR needs openexr: pip install 'deepprior[render]'") from None
    return OpenEXR


def _read_exr(path: Path) -> np.ndarray:
    """The first part of an EXR file: its RGB(A) or Y(A) channels, or its only channel."""
    with open(path, "rb") as f, _openexr("reading").File(f) as exr:
        channels = {name: c.pixels for name, c in exr.channels().items()}
    for names in (("RGBA",), ("RGB",), ("Y", "A"), ("Y",)):
        if all(n in channels for n in names):
            planes = [channels[n].reshape(*channels[n].shape[:2], -1) for n in names]
            return np.concatenate(planes, -1).astype(np.float32)
    if len(channels) == 1:
        return next(iter(channels.values())).astype(np.float32)
    raise ImageReadError(
        f"cannot read '{path}': no RGB or Y channels in this EXR file (it has {', '.join(sorted(channels))})"
    )


def _read_tiff(path: Path) -> np.ndarray:
    """TIFF with tifffile (float and 16-bit RGB), or Pillow for palettes and for compressions
    tifffile lacks. Grey stored white-is-zero is inverted, CMYK converted to RGB; a stack of
    pages is refused (one image per file)."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            photometric = series.pages[0].photometric.name
            if len(series.pages) > 1:
                raise ImageReadError(
                    f"cannot read '{path}': it is a stack of {len(series.pages)} pages (axes "
                    f"{series.axes}); deepprior restores one image per file: save each page as its own "
                    f"file (e.g. tifffile.imwrite('page0.tif', tifffile.imread('{path.name}', key=0)))"
                )
            if photometric == "PALETTE":
                return _read_pillow(path)
            if photometric not in _TIFF_PHOTOMETRIC_OK:
                raise ImageReadError(
                    f"cannot read '{path}': its colours are stored as {photometric}; convert it to "
                    f"grey or RGB first"
                )
            image, axes = series.asarray(), series.axes
    except ValueError:  # e.g. LZW or JPEG compression: tifffile needs imagecodecs for these
        return _read_pillow(path)
    keep = [i for i, (axis, n) in enumerate(zip(axes, image.shape)) if n > 1 or axis in "YX"]
    image = image.reshape([image.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    channels = [i for i, axis in enumerate(axes) if axis not in "YX"]
    # Channels first (planar TIFF) or last: put the Y, X axes first and channels last.
    image = image.transpose([axes.index("Y"), axes.index("X"), *channels])
    if photometric == "MINISWHITE":
        return _on_float(image, lambda x: np.concatenate([1 - x[..., :1], x[..., 1:]], -1))
    if photometric == "SEPARATED":
        if image.ndim != 3 or image.shape[2] not in (4, 5):
            raise ImageReadError(f"cannot read '{path}': a separated (ink) TIFF that is not CMYK")
        return _on_float(image, _cmyk_to_rgb)
    return image


def _on_float(image: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` to an (H, W[, C]) image's float [0, 1] values and store it in its dtype again."""
    x, encoding = to_float(image)
    return from_float(fn(x.reshape(*x.shape[:2], -1)), encoding)


def _cmyk_to_rgb(x: np.ndarray) -> np.ndarray:
    """(H, W, 4) CMYK (or 5: with alpha) ink coverage in [0, 1] → (H, W, 3) RGB (or 4: RGBA)."""
    rgb = (1 - x[..., :3]) * (1 - x[..., 3:4])
    return np.concatenate([rgb, x[..., 4:]], -1)


# --------------------------------------------------------------------------- float [0, 1]


@dataclass(frozen=True)
class Encoding:
    """How an array was stored: enough to turn a float [0, 1] result back into it."""

    dtype: np.dtype
    low: float  # value that maps to 0.0
    high: float  # value that maps to 1.0


_UINT8 = Encoding(np.dtype(np.uint8), 0.0, 255.0)


def to_float(image: np.ndarray) -> tuple[np.ndarray, Encoding]:
    """Map an image to float32 in [0, 1]; also return the Encoding that `from_float` inverts.

    The rule (the README's): uint8 and uint16 map their full range (/255, /65535), bool maps
    False/True to 0/1, floats already in [0, 1] are kept; every other image (float outside
    [0, 1]; int8, int16, int32, uint32… whose values rarely span the type, e.g. 12-bit counts in
    int32) maps its own min..max to 0..1, and ``from_float`` maps the result back to that range.
    Raises InputError for NaN or inf.

    >>> to_float(np.array([[0, 255]], np.uint8))[0]
    array([[0., 1.]], dtype=float32)
    >>> to_float(np.array([[100, 4100]], np.int32))[1]
    Encoding(dtype=dtype('int32'), low=100.0, high=4100.0)
    """
    image = np.asarray(image)
    if image.dtype == bool:
        low, high = 0.0, 1.0
    elif image.dtype in (np.uint8, np.uint16):
        low, high = 0.0, float(np.iinfo(image.dtype).max)
    elif image.dtype.kind in "iuf":
        if image.dtype.kind == "f":
            _check_finite(image)
        low, high = float(image.min()), float(image.max())
        if image.dtype.kind == "f" and low >= 0 and high <= 1:
            low, high = 0.0, 1.0
        elif high == low:
            high = low + 1
    else:
        raise InputError(f"unsupported image dtype {image.dtype}")
    x = (image.astype(np.float64) - low) / (high - low)
    return x.astype(np.float32), Encoding(image.dtype, low, high)


def from_float(x: np.ndarray, encoding: Encoding) -> np.ndarray:
    """Inverse of `to_float`: clip x to [0, 1], map to low..high, round for integer dtypes."""
    x = np.asarray(x)
    _check_finite(x)
    y = np.clip(x.astype(np.float64), 0, 1) * (encoding.high - encoding.low) + encoding.low
    if encoding.dtype.kind in "biu":
        y = np.round(y)
    return y.astype(encoding.dtype)


def _check_finite(x: np.ndarray, what: str = "image") -> None:
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise InputError(f"{what} contains {bad} NaN/inf values")


# --------------------------------------------------------------------------- alpha


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split (H, W, 2) into (H, W) grey and alpha, or (H, W, 4) into (H, W, 3) RGB and alpha.

    Other shapes have no alpha: they come back unchanged with None.
    """
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        return image, None
    colour = image[:, :, 0] if image.shape[2] == 2 else image[:, :, :3]
    return colour, image[:, :, -1]


def merge_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Inverse of `split_alpha`: (H, W) or (H, W, 3) colour plus (H, W) alpha of the same dtype."""
    if alpha is None:
        return colour
    if alpha.shape != colour.shape[:2] or alpha.dtype != colour.dtype:
        raise InputError(
            f"alpha {alpha.shape} {alpha.dtype} does not match colour {colour.shape} {colour.dtype}"
        )
    return np.concatenate([colour.reshape(*alpha.shape, -1), alpha[:, :, None]], axis=2)


# --------------------------------------------------------------------------- writing


def write_image(
    path: str | os.PathLike, image: np.ndarray, *, overwrite: bool = False, quality: int = 95
) -> Path:
    """Write an (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) array; return the path written.

    The format comes from the suffix (.png .jpg .jpeg .tif .tiff .bmp .webp .fits .fit .fts .exr).
    The array keeps its dtype where the format allows: PNG takes uint8 and uint16, TIFF and FITS
    any integer type and float (stored as float32, any range; FITS stores (H, W, C) as a (C, H, W)
    cube); EXR stores float32, any range (linear HDR), integers mapped to [0, 1]. Otherwise it is
    reduced to uint8: float in [0, 1] silently, float outside [0, 1] clipped with a warning,
    other integer types with a warning. bool becomes 0/255. JPEG and BMP drop alpha with a
    warning. `quality` is for JPEG and WebP.
    Missing parent directories are created; the file is written to a temporary name and
    renamed (`atomic_path`), so it is never left half-written. Raises OutputExistsError if
    `path` exists and `overwrite` is False, InputError for an unknown suffix or a bad array.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot write '{path}': unknown image format '{path.suffix}' (use one of {', '.join(_FORMATS)})"
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(f"'{path}' exists (use --force / overwrite=True to replace it)")
    image = _storable(np.asarray(image), fmt, path)
    with atomic_path(path) as temp, open(temp, "xb") as f:
        _encode(f, image, fmt, quality)
    return path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path` to write to; rename it onto `path` on success.

    If the block raises, the temporary file is removed and `path` is left as it was. Missing
    parent directories are created. The temporary name keeps the suffix of `path`, and the
    file is created by the writer, so it gets the usual permissions (unlike `tempfile`'s 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _storable(image: np.ndarray, fmt: str, path: Path) -> np.ndarray:
    """Check the shape and convert the array to a dtype and channel count `fmt` can store."""
    image = _image_shape(image, InputError, f"cannot write '{path}'")
    if fmt in _NO_ALPHA and image.ndim == 3 and image.shape[2] in (2, 4):
        warnings.warn(f"'{path}': {fmt} cannot store alpha; it is dropped", stacklevel=3)
        image = split_alpha(image)[0]
    kind = image.dtype.kind
    if image.dtype == bool:
        return image.astype(np.uint8) * np.uint8(255)
    if kind == "f" and fmt in ("TIFF", "FITS", "EXR"):
        return image.astype(np.float32)
    if fmt == "EXR":
        return to_float(image)[0]
    if kind in "iu" and (
        fmt in ("TIFF", "FITS") or image.dtype == np.uint8 or (fmt == "PNG" and image.dtype == np.uint16)
    ):
        return image
    if kind == "f":
        _check_finite(image, f"cannot write '{path}': image")
        if image.min() < 0 or image.max() > 1:
            warnings.warn(f"'{path}': values outside [0, 1] are clipped to 8 bits", stacklevel=3)
        return from_float(image, _UINT8)
    if kind in "iu":
        warnings.warn(f"'{path}': {fmt} cannot store {image.dtype}; reduced to 8 bits", stacklevel=3)
        return from_float(to_float(image)[0], _UINT8)
    raise InputError(f"cannot write '{path}': unsupported dtype {image.dtype}")


def _encode(f, image: np.ndarray, fmt: str, quality: int) -> None:
    channels = 1 if image.ndim == 2 else image.shape[2]
    if fmt == "PNG" and image.dtype == np.uint16:  # Pillow cannot write 16-bit colour PNG
        height, width = image.shape[:2]
        writer = png.Writer(width, height, greyscale=channels <= 2, alpha=channels in (2, 4), bitdepth=16)
        writer.write(f, image.reshape(height, -1))
    elif fmt == "FITS":
        data = image if image.ndim == 2 else np.moveaxis(image, -1, 0)
        encoded = io.BytesIO()  # astropy does not take a file opened in "xb" mode
        _astropy_fits("writing").PrimaryHDU(np.ascontiguousarray(data)).writeto(encoded)
        f.write(encoded.getvalue())
    elif fmt == "EXR":
        names = {1: "Y", 2: "YA", 3: "RGB", 4: "RGBA"}[channels]
        planes = (
            {names: image}
            if channels >= 3
            else dict(zip(names, np.moveaxis(image.reshape(*image.shape[:2], -1), -1, 0)))
        )
        exr = _openexr("writing")
        header = {"compression": exr.ZIP_COMPRESSION, "type": exr.scanlineimage}
        with exr.File(header, {k: np.ascontiguousarray(v) for k, v in planes.items()}) as out:
            out.write(f)
    elif fmt == "TIFF":
        tifffile.imwrite(
            f,
            image,
            photometric="minisblack" if channels <= 2 else "rgb",
            planarconfig="contig" if channels > 1 else None,
            extrasamples=["unassalpha"] if channels in (2, 4) else None,
        )
    else:
        Image.fromarray(image).save(f, format=fmt, quality=quality)
