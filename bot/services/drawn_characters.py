"""Characters drawn with Pillow: the demo's cast, and the pictures the test suite identifies.

A "character" is a flat-coloured figure: hair (top), face with two eyes, and clothes (bottom) on a
background. Each call jitters position, size and background with the seed, so several pictures of
one character differ the way real pictures do, while the colours that define it stay. Drawing them
here means the demo and the tests need no third-party artwork and no download.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Design:
    """The colours that make a drawn character recognisable."""

    hair: RGB
    eyes: RGB
    clothes: RGB
    skin: RGB = (250, 220, 195)


@dataclass(frozen=True)
class CastMember:
    """A drawn character of the demo: display name, series, aliases and look."""

    name: str
    series: str
    design: Design
    aliases: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        """The folder name an import of this character's pictures uses (`hoshi_aoi`)."""
        return "_".join(self.name.casefold().split())


DEMO_SERIES = "Waifu-bot Demo"
DEMO_CAST = (
    CastMember("Hoshi Aoi", DEMO_SERIES, Design(hair=(40, 80, 220), eyes=(200, 30, 40), clothes=(240, 240, 240))),
    CastMember("Kiiro Hana", DEMO_SERIES, Design(hair=(245, 215, 60), eyes=(40, 160, 60), clothes=(200, 30, 40))),
    CastMember("Momo Sakura", DEMO_SERIES, Design(hair=(245, 140, 190), eyes=(60, 120, 230), clothes=(30, 30, 40))),
    CastMember("Midori Kaze", DEMO_SERIES, Design(hair=(40, 170, 80), eyes=(240, 180, 30), clothes=(120, 60, 160))),
    CastMember("Kuro Yoru", DEMO_SERIES, Design(hair=(35, 30, 40), eyes=(230, 120, 30), clothes=(40, 110, 120))),
)
"""Five invented characters whose palettes differ in hair, eyes and clothes."""


def draw_character(design: Design, *, seed: int = 0, size: tuple[int, int] = (320, 320)) -> Image.Image:
    """Draw one picture of a character; the seed moves and scales it and changes the background."""
    rng = random.Random(seed)
    width, height = size
    background = tuple(rng.randint(150, 255) for _ in range(3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    scale = rng.uniform(0.8, 1.0) * min(width, height)
    cx = width / 2 + rng.uniform(-0.06, 0.06) * width
    top = height * rng.uniform(0.02, 0.08)
    head = scale * 0.42
    # clothes: a trapezoid from the neck to the bottom edge
    neck_y = top + head * 1.25
    draw.polygon(
        [(cx - head * 0.35, neck_y), (cx + head * 0.35, neck_y), (cx + head * 0.9, height), (cx - head * 0.9, height)],
        fill=design.clothes,
    )
    # hair behind the face, then the face, then a fringe
    draw.ellipse([cx - head * 0.62, top, cx + head * 0.62, top + head * 1.35], fill=design.hair)
    face_top = top + head * 0.3
    draw.ellipse([cx - head * 0.45, face_top, cx + head * 0.45, face_top + head], fill=design.skin)
    draw.chord([cx - head * 0.5, top + head * 0.05, cx + head * 0.5, top + head * 0.75], 180, 360, fill=design.hair)
    eye_y = face_top + head * 0.5
    for side in (-1, 1):
        ex = cx + side * head * 0.2
        draw.ellipse([ex - head * 0.08, eye_y - head * 0.1, ex + head * 0.08, eye_y + head * 0.1], fill=design.eyes)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    """Encode an image to bytes in the given format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()
