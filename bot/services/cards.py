"""Answers as pictures, drawn with Pillow: the why-not card, a gallery of references, a bar histogram.

Nothing here knows Discord: each function takes picture bytes and plain values and returns PNG bytes no
larger than the caller's limit (the picture is drawn smaller until it fits). A picture that cannot be
decoded, or is larger than `max_pixels`, is drawn as a grey tile that says so, never an error.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bot.recognition.ranking import TagEvidence
from models.geometry import Box

TILE = 256
MARGIN = 12
BACKGROUND = (43, 45, 49)
TEXT = (235, 235, 235)
MUTED = (150, 150, 155)
FOR_COLOUR = (46, 125, 50)
AGAINST_COLOUR = (183, 28, 28)
BOX_COLOUR = (255, 214, 0)
MAX_CHIPS = 5
DEFAULT_MAX_PIXELS = 40_000_000


def font(size: int = 14) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at `size` (no system fonts needed)."""
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Panel:
    """One picture of a card with its caption; `note` replaces the picture when there is none to show."""

    caption: str
    picture: bytes | None = None
    box: Box | None = None
    note: str = "no picture to show"


def decode(data: bytes | None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image | None:
    """An RGB image of `data`, orientation applied, or None when it is missing, too large or unreadable."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > max_pixels:
                return None
            opened.seek(0)
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def tile(panel: Panel, size: int = TILE, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """The panel's picture fitted in a `size` square (face box drawn), or a grey square with its note."""
    square = Image.new("RGB", (size, size), (64, 66, 72))
    picture = decode(panel.picture, max_pixels)
    draw = ImageDraw.Draw(square)
    if picture is None:
        draw.multiline_text((10, size // 2 - 10), _wrap(panel.note, 28), font=font(13), fill=MUTED)
        return square
    scale = min(size / picture.width, size / picture.height)
    shown = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    left, top = (size - shown.width) // 2, (size - shown.height) // 2
    square.paste(shown, (left, top))
    if panel.box is not None:
        x0, y0, x1, y1 = (round(v * scale) for v in panel.box)
        draw.rectangle((left + x0, top + y0, left + x1, top + y1), outline=BOX_COLOUR, width=3)
    return square


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _caption(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chip_text(evidence: TagEvidence) -> str:
    """A chip's label: the tag, the picture's value and the weight it adds to the answer."""
    return f"{evidence.tag}  {evidence.image:.2f}  {evidence.weight:+.2f}"


def _chips(draw: ImageDraw.ImageDraw, origin: tuple[int, int], items: Sequence[TagEvidence], colour, width: int) -> int:
    """Coloured rounded chips from `origin`, wrapping at `width`; returns the y below the last row."""
    x, y = origin
    small = font(13)
    for item in items[:MAX_CHIPS]:
        label = chip_text(item)
        text_width = int(draw.textlength(label, font=small))
        if x + text_width + 16 > origin[0] + width and x > origin[0]:
            x, y = origin[0], y + 28
        draw.rounded_rectangle((x, y, x + text_width + 16, y + 22), radius=11, fill=colour)
        draw.text((x + 8, y + 4), label, font=small, fill=(255, 255, 255))
        x += text_width + 24
    return y + 28


def whynot_card(
    panels: Sequence[Panel],
    supporting: Sequence[TagEvidence],
    opposing: Sequence[TagEvidence],
    *,
    headline: str,
    max_bytes: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """The query and the references side by side, then the strongest evidence for (green) and against (red)."""
    width = MARGIN + len(panels) * (TILE + MARGIN)
    card = Image.new("RGB", (max(width, 560), TILE + 220), BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.text((MARGIN, MARGIN), _caption(headline, 80), font=font(16), fill=TEXT)
    for position, panel in enumerate(panels):
        left = MARGIN + position * (TILE + MARGIN)
        card.paste(tile(panel, TILE, max_pixels), (left, 40))
        draw.text((left, 44 + TILE), _caption(panel.caption), font=font(14), fill=TEXT)
    y = 72 + TILE
    for title, items, colour in (("for", supporting, FOR_COLOUR), ("against", opposing, AGAINST_COLOUR)):
        draw.text((MARGIN, y + 3), title, font=font(13), fill=MUTED)
        if not items:
            draw.text((MARGIN + 64, y + 3), "nothing notable", font=font(13), fill=MUTED)
            y += 28
            continue
        y = _chips(draw, (MARGIN + 64, y), items, colour, card.width - 64 - 2 * MARGIN)
    return to_png(card.crop((0, 0, card.width, min(card.height, y + MARGIN))), max_bytes)


def gallery_card(panels: Sequence[Panel], *, max_bytes: int, columns: int = 4, size: int = 160) -> bytes:
    """Pictures in a grid with their captions (the nearest references of /similar)."""
    rows = max(1, -(-len(panels) // columns))
    shown_columns = max(1, min(columns, len(panels)))
    card = Image.new("RGB", (MARGIN + shown_columns * (size + MARGIN), MARGIN + rows * (size + 30)), BACKGROUND)
    draw = ImageDraw.Draw(card)
    for position, panel in enumerate(panels):
        left = MARGIN + (position % columns) * (size + MARGIN)
        top = MARGIN + (position // columns) * (size + 30)
        card.paste(tile(panel, size), (left, top))
        draw.text((left, top + size + 4), _caption(panel.caption, 20), font=font(13), fill=TEXT)
    return to_png(card, max_bytes)


def bar_chart(bars: Sequence[tuple[str, int]], *, title: str, max_bytes: int) -> bytes:
    """Labelled vertical bars (a histogram of counts), drawn without a plotting library."""
    height, bar_width = 220, 44
    card = Image.new("RGB", (MARGIN * 2 + max(1, len(bars)) * (bar_width + 8) + 40, height + 80), BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.text((MARGIN, MARGIN), _caption(title, 60), font=font(15), fill=TEXT)
    top = max((count for _, count in bars), default=0) or 1
    for position, (label, count) in enumerate(bars):
        left = MARGIN + 20 + position * (bar_width + 8)
        bar = round(height * count / top)
        draw.rectangle((left, 40 + height - bar, left + bar_width, 40 + height), fill=(88, 101, 242))
        draw.text((left, 40 + height - bar - 16), str(count), font=font(12), fill=TEXT)
        draw.text((left, 46 + height), _caption(label, 7), font=font(12), fill=MUTED)
    return to_png(card, max_bytes)


def to_png(image: Image.Image, max_bytes: int) -> bytes:
    """PNG bytes of `image`, halved in size until they fit `max_bytes`."""
    while True:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        if buffer.tell() <= max_bytes or min(image.size) <= 16:
            return buffer.getvalue()
        image = image.resize((max(1, image.width // 2), max(1, image.height // 2)))
