"""Any Pillow mode to 8-bit RGB: transparency composited on white, 16-bit and float pixels scaled, not clipped.

Models trained on anime art expect a white background and 8-bit colour; intake and every preprocessing
path share this one conversion so a picture looks the same to each model. The one exception is
`imgutils_view`: CCIP and the YOLO face detector are fed as deepghs/imgutils feeds them, and imgutils
keeps a palette picture's transparent colour instead of painting it white.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WHITE = (255, 255, 255)

_HIGH_DEPTH_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}
_PREMULTIPLIED_MODES = {"La", "RGBa"}
_KEY_COLOUR_MODES = {"P", "PA", "RGB"}
"""Modes whose transparency imgutils ignores: Pillow refuses them as a paste mask (it takes 1, L, LA, RGBA, RGBa)."""


def to_rgb(image: Image.Image) -> Image.Image:
    """Bring any Pillow mode to 8-bit RGB, compositing transparency on white and scaling deep pixels."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode in _HIGH_DEPTH_MODES:
        return _deep_to_rgb(image)
    if image.mode in _PREMULTIPLIED_MODES:
        # premultiplied colour over white is colour + (1 - alpha) * white
        pixels = np.asarray(image).astype(np.int16)
        over_white = pixels[..., :-1] + (255 - pixels[..., -1:])
        channels = np.clip(over_white, 0, 255).astype(np.uint8)
        return Image.fromarray(channels[..., 0] if channels.shape[-1] == 1 else channels).convert("RGB")
    if image.has_transparency_data:
        return composite_on_white(image.convert("RGBA"))
    return image.convert("RGB")


def imgutils_view(image: Image.Image) -> Image.Image | None:
    """The picture as imgutils' `load_image(mode="RGB")` gives it to CCIP and YOLO, where that differs from `to_rgb`.

    imgutils (`imgutils/data/image.py`: `has_alpha_channel`, `add_background_for_rgba`, default
    `force_background="white"`) pastes a picture with transparency over white using the picture itself as
    the mask. Pillow accepts only 1, L, LA, RGBA and RGBa masks, so for a palette picture (P, PA) or an RGB
    one with a transparent colour the paste raises, imgutils falls back to the picture as it was, and
    `convert("RGB")` drops the transparency: the transparent palette entry keeps its own colour. RGBA and
    LA are painted on white exactly as `to_rgb` does, so None means "use `to_rgb`'s picture". Two cases are
    left to `to_rgb` on purpose: a grey picture with a transparent grey (imgutils' paste would use the grey
    values themselves as the mask) and 16-bit pictures (imgutils' conversion clips them to white).
    """
    if image.mode not in _KEY_COLOUR_MODES or not image.has_transparency_data:
        return None
    plain = image.copy() if image.mode == "RGB" else image.convert("RGB")
    plain.info.pop("transparency", None)  # Pillow carries the key over as an RGB tuple; imgutils never reads it
    return plain


def _deep_to_rgb(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit integer and float pixels to 0..255 so they neither saturate nor go black.

    16-bit modes map 0..65535 linearly. Mode "I" has no stated depth: values within 0..255 are kept,
    within 0..65535 are treated as 16-bit, anything else is stretched from its min to its max. Mode "F"
    within 0..1 is scaled by 255, within 0..255 kept, otherwise stretched.
    """
    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        grey = _scale_16bit(values)
    elif image.mode == "I":
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 255:
            grey = values.astype(np.uint8)
        elif low >= 0 and high <= 65535:
            grey = _scale_16bit(values)
        else:
            grey = _stretch(values.astype(np.float64), low, high)
    else:
        floats = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(floats.min()), float(floats.max())
        if low >= 0.0 and high <= 1.0:
            grey = np.rint(floats * 255.0).astype(np.uint8)
        elif low >= 0.0 and high <= 255.0:
            grey = np.rint(floats).astype(np.uint8)
        else:
            grey = _stretch(floats, low, high)
    rgb = Image.fromarray(grey).convert("RGB")
    key = image.info.get("transparency")
    if isinstance(key, int):  # a 16-bit PNG's tRNS names one grey value as transparent
        transparent = Image.fromarray(((values == key) * 255).astype(np.uint8))
        rgb.paste(WHITE, mask=transparent)
    return rgb


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    """Map 0..65535 onto 0..255 with rounding (65535 -> 255, 32896 -> 128)."""
    wide = values.astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Spread an arbitrary value range over 0..255; a flat image becomes black rather than divide by zero."""
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)


def composite_on_white(rgba: Image.Image) -> Image.Image:
    """Paint an RGBA picture over a white canvas, because the models were trained on white backgrounds."""
    canvas = Image.new("RGB", rgba.size, WHITE)
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas
