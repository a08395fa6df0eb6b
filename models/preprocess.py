"""Pure image-to-tensor preprocessing of the WD tagger format, testable without any model."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.rgb import WHITE, to_rgb

MAX_SQUARE_SIDE = 4096
"""Longest side padded as it is. Intake caps pixels, not sides: a 200000x1 PNG of 664 bytes passes, and its white
square would need 160 GB, so a longer picture is first shrunk (aspect kept) to this side. Below it, nothing changes."""


def pad_to_square(image: Image.Image) -> Image.Image:
    """Centre the picture on a white square so resizing keeps its aspect ratio."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def shrink_to_side(image: Image.Image, side: int) -> Image.Image:
    """The picture with its longer side at most `side` (aspect kept, at least 1 pixel thick), BICUBIC."""
    width, height = image.size
    if max(width, height) <= side:
        return image
    scale = side / max(width, height)
    target = (max(1, min(side, round(width * scale))), max(1, min(side, round(height * scale))))
    return image.resize(target, Image.Resampling.BICUBIC)


def prepare_tagger_input(image: Image.Image, size: int) -> np.ndarray:
    """Turn a picture into one WD input row: HxWx3 float32, BGR, 0..255, white-padded, BICUBIC-resized."""
    square = pad_to_square(shrink_to_side(to_rgb(image), max(size, MAX_SQUARE_SIDE)))
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    rgb = np.asarray(square, dtype=np.float32)
    return np.ascontiguousarray(rgb[:, :, ::-1])
