"""Monochrome pictures are told from coloured ones by their chroma spread, whatever their mean tint."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from models.quality import MONOCHROME_CHROMA, chroma_spread, is_monochrome
from tests.drawing import BLONDE, BLUE_HAIR, draw_character


def test_a_coloured_drawing_is_not_monochrome() -> None:
    picture = draw_character(BLONDE, seed=1)
    assert chroma_spread(picture) > MONOCHROME_CHROMA
    assert not is_monochrome(picture)


def test_greyscale_and_one_tint_pictures_are_monochrome() -> None:
    drawing = draw_character(BLUE_HAIR, seed=2)
    grey = drawing.convert("L")
    sepia = ImageOps.colorize(grey, black=(40, 20, 0), white=(255, 240, 200))
    assert is_monochrome(grey)
    assert is_monochrome(grey.convert("RGB"))
    assert chroma_spread(grey.convert("RGB")) < 0.5
    # a sepia page has a strong mean tint but one hue: it is monochrome too
    assert is_monochrome(sepia)


def test_a_grey_picture_with_a_coloured_patch_is_coloured() -> None:
    pixels = np.full((200, 200, 3), 128, dtype=np.uint8)
    pixels[:50, :50] = (220, 30, 30)  # a sixteenth of the picture is red
    assert not is_monochrome(Image.fromarray(pixels))
