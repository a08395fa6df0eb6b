"""Cards are PNGs within the caller's byte limit, and a bad or missing picture is a grey tile, not an error."""

from __future__ import annotations

import io

from PIL import Image

from bot.recognition.ranking import TagEvidence
from bot.services.cards import Panel, bar_chart, decode, gallery_card, tile, whynot_card
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode

FOR = [TagEvidence("top_yellow", 0.8, 0.7, 0.12, 0.1), TagEvidence("centre_red", 0.4, 0.5, 0.03, 0.0)]
AGAINST = [TagEvidence("bottom_dark_blue", 0.7, 0.1, -0.2, 0.4)]


def picture(design=BLONDE, seed: int = 1) -> bytes:
    return encode(draw_character(design, seed=seed))


def test_whynot_card_is_a_png_with_three_panels_and_chips() -> None:
    panels = [Panel("this picture", picture(), box=(10, 10, 60, 60)), Panel("Alice", picture(seed=2)), Panel("Bea")]
    data = whynot_card(panels, FOR, AGAINST, headline="Why (not) Alice?", max_bytes=8 * 1024 * 1024)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width >= 3 * 256
    pixels = {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}
    assert (46, 125, 50) in pixels and (183, 28, 28) in pixels, "green chips for, red chips against"
    assert (255, 214, 0) in pixels, "the face box is drawn"


def test_cards_shrink_until_they_fit_the_limit() -> None:
    panels = [Panel("a", picture()), Panel("b", picture(BLUE_HAIR))]
    large = whynot_card(panels, FOR, AGAINST, headline="x", max_bytes=10**8)
    small = whynot_card(panels, FOR, AGAINST, headline="x", max_bytes=len(large) // 3)
    assert len(small) <= len(large) // 3
    assert len(gallery_card(panels, max_bytes=20_000)) <= 20_000


def test_unreadable_or_oversized_pictures_become_notes() -> None:
    assert decode(b"not a picture") is None
    assert decode(picture(), max_pixels=10) is None
    assert tile(Panel("x", b"junk", note="gone")).size == (256, 256)


def test_bar_chart_draws_every_bar() -> None:
    image = Image.open(io.BytesIO(bar_chart([("1", 3), ("2-4", 5), ("5+", 0)], title="refs", max_bytes=10**6)))
    assert image.format == "PNG" and image.width > 3 * 44
