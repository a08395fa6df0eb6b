"""Pure image-to-tensor preprocessing of the WD tagger format, testable without any model."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.rgb import WHITE, to_rgb


def flatten_on_white(image: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB with transparency on white, because WD taggers were trained on white backgrounds."""
    return to_rgb(image)


def pad_to_square(image: Image.Image) -> Image.Image:
    """Centre the picture on a white square so resizing keeps its aspect ratio."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def prepare_tagger_input(image: Image.Image, size: int) -> np.ndarray:
    """Turn a picture into one WD input row: HxWx3 float32, BGR, 0..255, white-padded, BICUBIC-resized."""
    square = pad_to_square(flatten_on_white(image))
    if square.size != (size, size):
        square = square.resize((size, size), Image.Resampling.BICUBIC)
    rgb = np.asarray(square, dtype=np.float32)
    return np.ascontiguousarray(rgb[:, :, ::-1])
