"""Reading and writing images, and the float [0, 1] conversion at the API edge."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from deepprior.errors import ImageReadError, InputError, OutputExistsError
from deepprior.imageio import (
    Encoding,
    from_float,
    merge_alpha,
    read_image,
    split_alpha,
    to_float,
    write_image,
)

rng = np.random.default_rng(0)


def random_image(shape, dtype=np.uint8):
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 2), (5, 7, 3), (5, 7, 4)])
def test_8bit_png_round_trip(tmp_path, shape):
    image = random_image(shape)
    write_image(tmp_path / "a.png", image)
    back = read_image(tmp_path / "a.png")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_16bit_png_round_trip_keeps_every_bit(tmp_path, shape):
    # Pillow alone reduces 16-bit RGB PNG to 8 bits: odd values and values > 255 would change.
    image = random_image(shape, np.uint16)
    image.flat[:3] = [1, 257, 65535]
    write_image(tmp_path / "a.png", image)
    back = read_image(tmp_path / "a.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_16bit_tiff_round_trip(tmp_path, shape):
    image = random_image(shape, np.uint16)
    write_image(tmp_path / "a.tif", image)
    back = read_image(tmp_path / "a.tif")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_float_tiff_keeps_values_outside_0_1(tmp_path):
    image = np.array([[-3.5, 0.0], [0.25, 1e6]], dtype=np.float32)
    write_image(tmp_path / "a.tiff", image)
    back = read_image(tmp_path / "a.tiff")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("shape", [(6, 9), (6, 9, 3)])
def test_fits_keeps_float_data_of_any_range_and_integers(tmp_path, shape):
    pytest.importorskip("astropy")  # the astro extra, which `make test` installs
    counts = (rng.standard_normal(shape) * 3e4 - 12.5).astype(np.float32)
    write_image(tmp_path / "sky.fits", counts)
    back = read_image(tmp_path / "sky.fits")
    assert back.dtype == np.float32 and back.dtype.isnative
    np.testing.assert_array_equal(back, counts)
    exposure = random_image(shape, np.uint16)
    write_image(tmp_path / "exposure.fit", exposure)
    np.testing.assert_array_equal(read_image(tmp_path / "exposure.fit"), exposure)


def test_fits_without_astropy_is_one_clear_error(tmp_path, monkeypatch):
    for module in ("astropy", "astropy.io"):  # as if it were not installed
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(InputError, match=r"writing FITS needs astropy: pip install 'deepprior\[astro\]'"):
        write_image(tmp_path / "sky.fits", np.zeros((4, 4), np.float32))
    (tmp_path / "sky.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    with pytest.raises(ImageReadError, match="sky.fits': reading FITS needs astropy"):
        read_image(tmp_path / "sky.fits")
    assert not list(tmp_path.glob(".*tmp*"))  # no half-written file left


def test_channels_first_tiff_is_read_channels_last(tmp_path):
    image = random_image((3, 6, 8), np.uint16)
    tifffile.imwrite(tmp_path / "planar.tif", image, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif"), image.transpose(1, 2, 0))


def test_cmyk_tiff_is_read_as_rgb(tmp_path):
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 0, 0, 255], [0, 255, 255, 0]]], np.uint8)
    tifffile.imwrite(tmp_path / "print.tif", cmyk, photometric="separated")
    rgb = read_image(tmp_path / "print.tif")  # white, cyan, black, red
    np.testing.assert_array_equal(rgb, [[[255, 255, 255], [0, 255, 255], [0, 0, 0], [255, 0, 0]]])


def test_white_is_zero_grey_tiff_is_inverted(tmp_path):
    tifffile.imwrite(tmp_path / "scan.tif", np.array([[0, 65535]], np.uint16), photometric="miniswhite")
    np.testing.assert_array_equal(read_image(tmp_path / "scan.tif"), [[65535, 0]])


def test_a_stack_of_pages_is_refused_with_how_to_pass_one(tmp_path):
    tifffile.imwrite(tmp_path / "frames.tif", random_image((3, 8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(ImageReadError, match="stack of 3 pages.*key=0"):
        read_image(tmp_path / "frames.tif")


def test_int32_counts_are_scaled_by_their_own_range_and_written_back_to_it(tmp_path):
    counts = np.array([[100, 600], [2100, 4100]], np.int32)  # 12-bit counts stored in int32
    x, encoding = to_float(counts)
    np.testing.assert_allclose(x, [[0, 0.125], [0.5, 1]])
    np.testing.assert_array_equal(from_float(x, encoding), counts)


def test_lzw_tiff_is_read(tmp_path):
    # tifffile needs the optional imagecodecs for LZW; Pillow reads it instead.
    image = random_image((6, 8, 3))
    Image.fromarray(image).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif"), image)


def test_jpeg_round_trip_is_close(tmp_path):
    image = np.zeros((16, 24, 3), np.uint8)
    image[:, 8:16] = (200, 40, 90)
    write_image(tmp_path / "a.jpg", image, quality=95)
    back = read_image(tmp_path / "a.jpg")
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 4


@pytest.mark.parametrize("orientation, turns", [(6, -1), (8, 1)])  # 6: 90° clockwise, 8: 90° ccw
def test_exif_orientation_is_applied(tmp_path, orientation, turns):
    stored = np.zeros((16, 32, 3), np.uint8)  # stored sideways: red left half, blue right half
    stored[:, :16] = (255, 0, 0)
    stored[:, 16:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    image = read_image(tmp_path / "photo.jpg")
    assert image.shape == (32, 16, 3)
    expected = np.rot90(stored, turns)  # as the photo is meant to be seen
    assert np.abs(image.astype(int) - expected).mean() < 4


def test_palette_png_is_read_as_rgb_or_rgba(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:, 3:] = (10, 200, 30)
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), rgb)

    palette.save(tmp_path / "pt.png", transparency=0)  # palette index 0 fully transparent
    rgba = read_image(tmp_path / "pt.png")
    assert rgba.shape == (4, 6, 4)
    assert set(np.unique(rgba[..., 3])) <= {0, 255} and len(np.unique(rgba[..., 3])) == 2


def test_parent_directories_are_created(tmp_path):
    target = tmp_path / "new" / "dir" / "a.png"
    assert write_image(target, random_image((3, 3))) == target
    assert target.is_file()


# --------------------------------------------------------------------------- conversions on write


def test_float_in_0_1_is_written_as_8_bit_png(tmp_path):
    image = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    write_image(tmp_path / "f.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "f.png"), [[0, 128, 255]])


def test_float_outside_0_1_is_clipped_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="clipped"):
        write_image(tmp_path / "f.png", np.array([[-0.5, 2.0]]))
    np.testing.assert_array_equal(read_image(tmp_path / "f.png"), [[0, 255]])


def test_jpeg_drops_alpha_and_16_bits_with_warnings(tmp_path):
    image = np.full((8, 8, 4), 65535, np.uint16)
    with pytest.warns(UserWarning) as record:
        write_image(tmp_path / "a.jpg", image)
    assert any("alpha" in str(w.message) for w in record)
    assert any("8 bits" in str(w.message) for w in record)
    back = read_image(tmp_path / "a.jpg")
    assert back.shape == (8, 8, 3) and back.dtype == np.uint8 and back.min() > 250


def test_bool_is_written_as_0_and_255(tmp_path):
    write_image(tmp_path / "mask.png", np.array([[True, False]]))
    np.testing.assert_array_equal(read_image(tmp_path / "mask.png"), [[255, 0]])


# --------------------------------------------------------------------------- read errors


def make_file(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "setup, reason",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: make_file(d, "empty.png", b""), "empty"),
        (lambda d: make_file(d, "notes.png", b"just some text\n"), "not an image"),
    ],
)
def test_unreadable_files_raise_image_read_error(tmp_path, setup, reason):
    path = setup(tmp_path)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(path)
    message = str(info.value)
    assert f"'{path}'" in message and "\n" not in message


@pytest.mark.parametrize(
    "name, dtype", [("a.png", np.uint8), ("a.png", np.uint16), ("a.jpg", np.uint8), ("a.tif", np.uint16)]
)
def test_truncated_file_raises_image_read_error(tmp_path, name, dtype):
    path = write_image(tmp_path / name, random_image((32, 32, 3), dtype))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(path)


# --------------------------------------------------------------------------- write errors, atomicity


def test_existing_file_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "out.png"
    path.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="out.png' exists"):
        write_image(path, random_image((3, 3)))
    assert path.read_bytes() == b"old"
    write_image(path, random_image((3, 3)), overwrite=True)
    assert read_image(path).shape == (3, 3)


def test_unknown_suffix_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown image format '.xyz'"):
        write_image(tmp_path / "a.xyz", random_image((3, 3)))


def test_bad_shape_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="got shape"):
        write_image(tmp_path / "a.png", np.zeros((3, 3, 5), np.uint8))


def test_no_temporary_file_is_left_after_a_write(tmp_path):
    write_image(tmp_path / "a.png", random_image((3, 3)))
    write_image(tmp_path / "a.png", random_image((3, 3)), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_failed_write_leaves_no_temporary_file_and_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    old = random_image((3, 3))
    write_image(path, old)

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_image(path, random_image((3, 3)), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    monkeypatch.undo()
    np.testing.assert_array_equal(read_image(path), old)


# --------------------------------------------------------------------------- float [0, 1]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
def test_integer_to_float_and_back_is_exact(dtype):
    image = (
        random_image((4, 5, 3), dtype)
        if np.dtype(dtype).kind == "u"
        else rng.integers(-32768, 32767, (4, 5, 3), dtype=dtype, endpoint=True)
    )
    x, encoding = to_float(image)
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    back = from_float(x, encoding)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


def test_uint8_and_uint16_scales():
    assert to_float(np.array([255], np.uint8))[1] == Encoding(np.dtype(np.uint8), 0.0, 255.0)
    assert to_float(np.array([65535], np.uint16))[0][0] == 1.0


def test_float_in_0_1_is_kept():
    image = np.array([[0.0, 0.25, 1.0]])
    x, encoding = to_float(image)
    assert (encoding.low, encoding.high) == (0.0, 1.0)
    np.testing.assert_array_equal(x, image)
    assert from_float(x, encoding).dtype == np.float64


def test_float_outside_0_1_is_rescaled_and_restored():
    image = np.array([[-2.0, 0.5, 6.0]], dtype=np.float32)
    x, encoding = to_float(image)
    np.testing.assert_allclose(x, [[0.0, 0.3125, 1.0]])
    np.testing.assert_allclose(from_float(x, encoding), image, rtol=1e-6)


def test_constant_float_image_does_not_divide_by_zero():
    x, encoding = to_float(np.full((2, 2), 7.0))
    assert encoding.high == encoding.low + 1
    np.testing.assert_array_equal(from_float(x, encoding), np.full((2, 2), 7.0))


def test_from_float_clips_and_rounds():
    encoding = Encoding(np.dtype(np.uint8), 0.0, 255.0)
    np.testing.assert_array_equal(from_float(np.array([-1.0, 0.5, 2.0]), encoding), [0, 128, 255])


def test_nan_is_an_input_error():
    with pytest.raises(InputError, match="2 NaN/inf"):
        to_float(np.array([[0.5, np.nan, np.inf]]))


# --------------------------------------------------------------------------- alpha


@pytest.mark.parametrize("shape, colour_shape", [((4, 5, 2), (4, 5)), ((4, 5, 4), (4, 5, 3))])
def test_split_and_merge_alpha_round_trip(shape, colour_shape):
    image = random_image(shape)
    colour, alpha = split_alpha(image)
    assert colour.shape == colour_shape and alpha.shape == (4, 5)
    np.testing.assert_array_equal(merge_alpha(colour, alpha), image)


def test_image_without_alpha_is_unchanged():
    image = random_image((4, 5, 3))
    colour, alpha = split_alpha(image)
    assert alpha is None and colour is image and merge_alpha(colour, None) is image
