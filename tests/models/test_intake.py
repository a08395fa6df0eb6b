"""Image intake on files the tests draw: every mode, container and failure a user upload can bring."""

from __future__ import annotations

import io
import logging
import math
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFile

from models.errors import ImageRejected, UserFacingError
from models.intake import LoadedImage, load_image, sniff_image_type
from tests.drawing import BLONDE, draw_character, encode

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    """Lossy formats (JPEG) move colours a little; flat blocks stay within a few levels."""
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def rejected(source: object, **limits: object) -> ImageRejected:
    """Load something that must be refused and hand back the error for inspection."""
    with pytest.raises(ImageRejected) as caught:
        load_image(source, **limits)  # type: ignore[arg-type]
    return caught.value


def with_png_size(png: bytes, width: int, height: int) -> bytes:
    """Rewrite a PNG's IHDR to claim another size (with a valid CRC) while the pixel data stays tiny."""
    ihdr_at = png.index(b"IHDR")
    body = struct.pack(">II", width, height) + png[ihdr_at + 12 : ihdr_at + 17]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body) & 0xFFFFFFFF)
    return png[:ihdr_at] + b"IHDR" + body + crc + png[ihdr_at + 4 + 13 + 4 :]


def animation(fmt: str, **params: object) -> bytes:
    """Three flat frames, red then green then blue, in an animated container."""
    frames = [Image.new("RGB", (24, 16), colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)


# --- sniffing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tiff")],
)
def test_sniff_names_each_supported_format_and_load_agrees(fmt: str, expected: str) -> None:
    data = encode(Image.new("RGB", (8, 8), RED), fmt)
    assert sniff_image_type(data) == expected
    assert load_image(data).source_format == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is a text file\n",
        b"BMW makes cars; this text starts like a bitmap but is not one",
        b"PK\x03\x04" + bytes(40),
        np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    ],
    ids=["empty", "text", "bm-text", "zip-header", "random"],
)
def test_sniff_refuses_what_is_not_an_image(data: bytes) -> None:
    assert sniff_image_type(data) is None


def test_sniff_accepts_bytearray_and_memoryview() -> None:
    data = encode(Image.new("RGB", (4, 4)), "PNG")
    assert sniff_image_type(bytearray(data)) == "png"
    assert sniff_image_type(memoryview(data)) == "png"


# --- plain loading and inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_lossless_formats_round_trip_exact_colours(fmt: str) -> None:
    picture = Image.new("RGB", (20, 10), RED)
    picture.paste(BLUE, (10, 0, 20, 10))
    params = {"lossless": True} if fmt == "WEBP" else {}
    loaded = load_image(encode(picture, fmt, **params))
    assert isinstance(loaded, LoadedImage)
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (20, 10)
    assert loaded.original_size == (20, 10)
    assert loaded.frame_count == 1
    assert loaded.image.getpixel((2, 5)) == RED
    assert loaded.image.getpixel((17, 5)) == BLUE


def test_result_is_detached_from_any_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(encode(draw_character(BLONDE, size=(64, 64)), "PNG"))
    loaded = load_image(path)
    assert not isinstance(loaded.image, ImageFile.ImageFile)
    path.unlink()
    assert loaded.image.getpixel((0, 0)) == draw_character(BLONDE, size=(64, 64)).getpixel((0, 0))


def test_path_inputs_as_str_and_pathlike(tmp_path: Path) -> None:
    drawn = draw_character(BLONDE, size=(96, 80))
    path = tmp_path / "character.png"
    path.write_bytes(encode(drawn, "PNG"))
    for source in (path, str(path)):
        loaded = load_image(source)
        assert loaded.source_format == "png"
        assert np.array_equal(np.asarray(loaded.image), np.asarray(drawn))


def test_missing_path_is_an_os_error_not_a_rejection(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "nowhere.png")


def test_pil_input_is_converted_without_touching_the_callers_image() -> None:
    caller = Image.new("RGBA", (10, 10), (0, 0, 255, 255))
    caller.putpixel((0, 0), (0, 0, 0, 0))
    loaded = load_image(caller)
    assert caller.mode == "RGBA"
    assert caller.getpixel((0, 0)) == (0, 0, 0, 0)
    assert loaded.image is not caller
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.source_format is None
    assert loaded.original_mode == "RGBA"


def test_pil_rgb_input_comes_back_as_a_copy() -> None:
    caller = Image.new("RGB", (5, 5), GREEN)
    loaded = load_image(caller)
    assert loaded.image is not caller
    loaded.image.putpixel((0, 0), RED)
    assert caller.getpixel((0, 0)) == GREEN


def test_pil_input_opened_lazily_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "lazy.gif"
    path.write_bytes(animation("GIF"))
    with Image.open(path) as opened:
        loaded = load_image(opened)
    assert loaded.frame_count == 3
    assert loaded.source_format == "gif"
    assert loaded.image.getpixel((3, 3)) == RED


# --- EXIF orientation ---------------------------------------------------------------------------------


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return exif


# Stored 60x40 with a red 20x20 block at the top-left; EXIF says how a viewer must turn it.
# 3: rotated 180 -> block bottom-right. 6: row 0 is the visual right side, column 0 the top -> top-right.
# 8: row 0 is the visual left side, column 0 the bottom -> bottom-left.
@pytest.mark.parametrize(
    ("orientation", "size", "corner"),
    [
        (1, (60, 40), "top-left"),
        (3, (60, 40), "bottom-right"),
        (6, (40, 60), "top-right"),
        (8, (40, 60), "bottom-left"),
    ],
)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(fmt: str, orientation: int, size: tuple[int, int], corner: str) -> None:
    stored = Image.new("RGB", (60, 40), BLUE)
    stored.paste(RED, (0, 0, 20, 20))
    data = encode(stored, fmt, exif=exif_with_orientation(orientation).tobytes())
    loaded = load_image(data)
    assert loaded.image.size == size
    assert loaded.original_size == size
    width, height = size
    points = {"top-left": (5, 5), "top-right": (width - 6, 5), "bottom-left": (5, height - 6)}
    points["bottom-right"] = (width - 6, height - 6)
    for name, point in points.items():
        expected = RED if name == corner else BLUE
        assert close_to(loaded.image.getpixel(point), expected), (name, loaded.image.getpixel(point))


# --- transparency -------------------------------------------------------------------------------------


def test_rgba_transparent_pixels_become_white_and_partial_alpha_blends() -> None:
    pixels = np.zeros((10, 30, 4), dtype=np.uint8)
    pixels[:, :10] = (255, 0, 0, 0)  # red but fully transparent: the colour must not show
    pixels[:, 10:20] = (0, 0, 255, 255)
    pixels[:, 20:] = (0, 0, 0, 128)  # half-transparent black over white
    loaded = load_image(encode(Image.fromarray(pixels), "PNG"))
    assert loaded.original_mode == "RGBA"
    assert loaded.image.getpixel((5, 5)) == WHITE
    assert loaded.image.getpixel((15, 5)) == BLUE
    blended = round(255 * (1 - 128 / 255))
    assert close_to(loaded.image.getpixel((25, 5)), (blended,) * 3, tolerance=1)


def test_la_transparency_on_white() -> None:
    picture = Image.new("LA", (10, 10), (0, 255))
    picture.putpixel((0, 0), (0, 0))
    loaded = load_image(encode(picture, "PNG"))
    assert loaded.original_mode == "LA"
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((5, 5)) == (0, 0, 0)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_key_on_white(fmt: str) -> None:
    picture = Image.new("P", (10, 10), 1)
    picture.putpalette([*RED, *BLUE] + [0, 0, 0] * 254)
    picture.putpixel((0, 0), 0)
    loaded = load_image(encode(picture, fmt, transparency=0))
    assert loaded.original_mode == "P"
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((5, 5)) == BLUE


def test_png_trns_key_on_greyscale_and_rgb() -> None:
    grey = Image.new("L", (4, 4), 30)
    grey.putpixel((0, 0), 7)
    loaded = load_image(encode(grey, "PNG", transparency=7))
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((2, 2)) == (30, 30, 30)

    colour = Image.new("RGB", (4, 4), GREEN)
    colour.putpixel((0, 0), (1, 2, 3))
    loaded = load_image(encode(colour, "PNG", transparency=(1, 2, 3)))
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((2, 2)) == GREEN


def test_pa_and_premultiplied_modes_on_white() -> None:
    pa = Image.new("PA", (4, 4), (1, 255))
    pa.putpalette([*RED, *BLUE] + [0, 0, 0] * 254)
    pa.putpixel((0, 0), (1, 0))
    loaded = load_image(pa)
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((2, 2)) == BLUE

    # premultiplied: a fully transparent pixel has colour 0; half-alpha red is (128, 0, 0, 128)
    rgba_premultiplied = Image.frombytes("RGBa", (2, 1), bytes([0, 0, 0, 0, 128, 0, 0, 128]))
    loaded = load_image(rgba_premultiplied)
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((1, 0)) == (255, 127, 127)


# --- colour modes and depths ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_becomes_rgb(fmt: str) -> None:
    picture = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    picture.paste((255, 0, 255, 0), (8, 0, 16, 16))  # full cyan and yellow: green
    loaded = load_image(encode(picture, fmt))
    assert loaded.original_mode == "CMYK"
    assert loaded.image.mode == "RGB"
    assert close_to(loaded.image.getpixel((2, 8)), RED)
    assert close_to(loaded.image.getpixel((13, 8)), GREEN)


def test_16bit_greyscale_png_scales_to_8bit() -> None:
    raw_levels = [0, 128 * 257, 65535, 257, 1000, 30000]
    levels = np.array([raw_levels], dtype=np.uint16).repeat(4, axis=0)
    loaded = load_image(encode(Image.fromarray(levels), "PNG"))
    assert loaded.original_mode.startswith("I")
    scaled = [loaded.image.getpixel((x, 0)) for x in range(len(raw_levels))]
    assert scaled[:4] == [(0, 0, 0), (128, 128, 128), WHITE, (1, 1, 1)]  # mid-grey stays mid-grey
    # 1000 and 30000 are not multiples of 257, so dropping the low byte or wrapping would show here
    assert scaled[4:] == [(round(v * 255 / 65535),) * 3 for v in raw_levels[4:]] == [(4, 4, 4), (117, 117, 117)]


def test_16bit_png_transparency_key() -> None:
    levels = np.array([[5, 65535]], dtype=np.uint16)
    loaded = load_image(encode(Image.fromarray(levels), "PNG", transparency=5))
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((1, 0)) == WHITE
    levels = np.array([[5, 0]], dtype=np.uint16)
    loaded = load_image(encode(Image.fromarray(levels), "PNG", transparency=5))
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((1, 0)) == (0, 0, 0)


def test_big_endian_16bit_and_32bit_integer_modes() -> None:
    big_endian = Image.frombytes("I;16B", (3, 1), struct.pack(">HHH", 0, 128 * 257, 65535))
    assert [load_image(big_endian).image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]

    sixteen_bit_range = Image.fromarray(np.array([[0, 128 * 257, 65535]], dtype=np.int32))
    assert sixteen_bit_range.mode == "I"
    assert [load_image(sixteen_bit_range).image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]

    eight_bit_range = Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32))
    assert [load_image(eight_bit_range).image.getpixel((x, 0))[0] for x in range(3)] == [0, 100, 255]

    signed = Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32))
    assert [load_image(signed).image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_float_mode_scaling() -> None:
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert unit.mode == "F"
    assert [load_image(unit).image.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]

    wide = Image.fromarray(np.array([[-2.0, 0.0, 2.0, np.nan]], dtype=np.float32))
    assert [load_image(wide).image.getpixel((x, 0))[0] for x in range(4)] == [0, 128, 255, 128]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF"])
def test_one_bit_and_greyscale_become_rgb(fmt: str) -> None:
    bilevel = Image.new("1", (16, 8), 0)
    bilevel.paste(1, (8, 0, 16, 8))
    loaded = load_image(encode(bilevel, fmt))
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((2, 2)) == (0, 0, 0)
    assert loaded.image.getpixel((12, 2)) == WHITE

    grey = load_image(encode(Image.new("L", (4, 4), 77), fmt))
    assert grey.original_mode == "L"
    assert grey.image.getpixel((1, 1)) == (77, 77, 77)


# --- animation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params", "expected_format"),
    [("GIF", {}, "gif"), ("WEBP", {"lossless": True}, "webp"), ("PNG", {}, "png")],
    ids=["gif", "webp", "apng"],
)
def test_animation_gives_first_frame_and_frame_count(fmt: str, params: dict[str, object], expected_format: str) -> None:
    loaded = load_image(animation(fmt, **params))
    assert loaded.source_format == expected_format
    assert loaded.frame_count == 3
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (24, 16)
    assert loaded.image.getpixel((12, 8)) == RED


# --- broken input -------------------------------------------------------------------------------------


def test_empty_bytes_and_empty_file(tmp_path: Path) -> None:
    assert rejected(b"").reason == "empty"
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    error = rejected(path)
    assert error.reason == "empty"
    assert isinstance(error, UserFacingError)
    assert "empty" in error.user_message


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a picture")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, definitely not a picture\n" * 10,
        zip_bytes(),
        np.random.default_rng(1).integers(0, 256, 10_000, dtype=np.uint8).tobytes(),
        b"%PDF-1.7\n" + bytes(200),
    ],
    ids=["text", "zip", "random", "pdf"],
)
def test_non_images_are_rejected_with_a_helpful_message(data: bytes) -> None:
    error = rejected(data)
    assert error.reason == "not_an_image"
    assert "PNG" in error.user_message
    assert "JPEG" in error.user_message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP"])
def test_file_cut_in_half_is_truncated(fmt: str) -> None:
    data = encode(draw_character(BLONDE, size=(160, 160)), fmt)
    tolerate_truncation = ImageFile.LOAD_TRUNCATED_IMAGES
    error = rejected(data[: len(data) // 2])
    assert tolerate_truncation == ImageFile.LOAD_TRUNCATED_IMAGES  # refused per call, not by a global switch
    assert error.reason == "truncated"
    assert "again" in error.user_message


def test_png_cut_inside_its_header_is_truncated() -> None:
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    assert rejected(data[:20]).reason == "truncated"


def test_scrambled_png_data_is_corrupt() -> None:
    data = bytearray(encode(draw_character(BLONDE, size=(96, 96)), "PNG"))
    start = data.index(b"IDAT") + 4
    (length,) = struct.unpack(">I", data[start - 8 : start - 4])
    for offset in range(start + 16, start + length - 16, 7):
        data[offset] ^= 0x5A
    error = rejected(bytes(data))
    assert error.reason == "corrupt"
    assert "damaged" in error.user_message


def test_png_signature_with_garbage_body_is_corrupt() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    assert rejected(data).reason == "corrupt"


def test_rejection_is_logged_with_detail(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="models.intake"):
        rejected(b"plain text")
    assert any("not_an_image" in record.getMessage() for record in caplog.records)


# --- limits: bytes, pixels, decompression bombs ---------------------------------------------------------


def test_max_bytes_on_bytes_and_paths(tmp_path: Path) -> None:
    data = encode(draw_character(BLONDE, size=(64, 64)), "PNG")
    assert load_image(data, max_bytes=len(data)).image.size == (64, 64)
    error = rejected(data, max_bytes=len(data) - 1)
    assert error.reason == "too_large"
    assert "MB" in error.user_message
    path = tmp_path / "big.png"
    path.write_bytes(data)
    assert rejected(path, max_bytes=100).reason == "too_large"


def test_pixel_cap_from_header_without_decoding() -> None:
    # the IHDR claims 8000x6000 but the data holds a 1x1 image: decoding would fail as truncated or
    # corrupt, so `too_many_pixels` proves the cap was applied from the header alone
    claimed = with_png_size(encode(Image.new("RGB", (1, 1)), "PNG"), 8000, 6000)
    assert len(claimed) < 100
    error = rejected(claimed)  # default cap, 40 megapixels, is below 48
    assert error.reason == "too_many_pixels"
    assert "8000x6000" in error.user_message


def test_real_one_bit_bomb_is_refused() -> None:
    bomb = encode(Image.new("1", (7000, 7000)), "PNG")  # 49 megapixels in a few kilobytes
    assert len(bomb) < 50_000
    error = rejected(bomb, max_pixels=40_000_000)
    assert error.reason == "too_many_pixels"


def test_pillows_own_bomb_error_becomes_a_rejection() -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    assert limit_before is not None
    side = math.isqrt(3 * limit_before)  # over twice Pillow's limit: Pillow raises while opening
    claimed = with_png_size(encode(Image.new("L", (1, 1)), "PNG"), side, side)
    assert rejected(claimed, max_pixels=10 * side * side).reason == "too_many_pixels"
    assert limit_before == Image.MAX_IMAGE_PIXELS  # the cap is per call, never process-wide


def test_pillows_bomb_warning_raised_as_error_becomes_a_rejection() -> None:
    limit = Image.MAX_IMAGE_PIXELS
    assert limit is not None
    side = math.isqrt(limit * 3 // 2)  # between Pillow's warning and error thresholds
    claimed = with_png_size(encode(Image.new("L", (1, 1)), "PNG"), side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert rejected(claimed, max_pixels=4 * limit).reason == "too_many_pixels"


def test_pixel_cap_applies_to_pil_input_and_small_caps() -> None:
    picture = Image.new("RGB", (100, 100))
    assert rejected(picture, max_pixels=9_999).reason == "too_many_pixels"
    assert load_image(picture, max_pixels=10_000).image.size == (100, 100)
    assert rejected(encode(picture, "PNG"), max_pixels=5_000).reason == "too_many_pixels"


# --- JPEG draft -----------------------------------------------------------------------------------------


def large_jpeg() -> bytes:
    picture = Image.new("RGB", (3200, 2400), RED)
    picture.paste(BLUE, (1600, 0, 3200, 2400))
    return encode(picture, "JPEG", quality=90)


def test_draft_decodes_a_large_jpeg_smaller_but_not_below_the_request() -> None:
    requested = (1000, 700)
    loaded = load_image(large_jpeg(), draft_size=requested)
    width, height = loaded.image.size
    assert width < 3200
    assert height < 2400
    assert width >= requested[0]
    assert height >= requested[1]
    assert loaded.original_size == (3200, 2400)
    assert close_to(loaded.image.getpixel((width // 4, height // 2)), RED)
    assert close_to(loaded.image.getpixel((3 * width // 4, height // 2)), BLUE)


def test_without_draft_the_jpeg_is_decoded_in_full() -> None:
    assert load_image(large_jpeg(), draft_size=None).image.size == (3200, 2400)


def test_draft_leaves_small_jpegs_and_other_formats_alone() -> None:
    small = encode(Image.new("RGB", (300, 200), RED), "JPEG")
    assert load_image(small, draft_size=(1536, 1536)).image.size == (300, 200)
    png = encode(Image.new("RGB", (640, 480), RED), "PNG")
    assert load_image(png, draft_size=(100, 100)).image.size == (640, 480)


def test_non_positive_draft_size_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="draft_size"):
        load_image(large_jpeg(), draft_size=(0, 100))
