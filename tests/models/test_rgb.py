"""One RGB conversion for intake and every model's preprocessing: deep pixels scaled, transparency on white."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.intake import load_image
from models.rgb import WHITE, composite_on_white, to_rgb


def test_sixteen_bit_grey_is_scaled_not_saturated_by_every_path() -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    deep = Image.frombytes("I;16", (3, 1), values.astype("<u2").tobytes())
    expected = [round(v * 255 / 65535) for v in (0, 32896, 65535)]  # 0, 128, 255
    for converted in (to_rgb(deep), load_image(deep).image):
        assert converted.mode == "RGB"
        assert [converted.getpixel((x, 0)) for x in range(3)] == [(grey, grey, grey) for grey in expected]


def test_half_transparent_black_lands_half_way_to_white() -> None:
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[..., 3] = 128
    rgba = Image.fromarray(pixels, mode="RGBA")
    expected = round(255 * (1 - 128 / 255))  # black weighted 128/255 over white
    for converted in (composite_on_white(rgba), to_rgb(rgba)):
        (r, g, b) = converted.getpixel((0, 0))
        assert abs(r - expected) <= 1 and r == g == b


def test_plain_rgb_passes_through_and_a_keyed_palette_turns_white() -> None:
    rgb = Image.new("RGB", (2, 2), (10, 20, 30))
    assert to_rgb(rgb) is rgb
    palette = Image.new("P", (2, 1), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 1
    converted = to_rgb(palette)
    assert converted.getpixel((0, 0)) == (255, 0, 0) and converted.getpixel((1, 0)) == WHITE
