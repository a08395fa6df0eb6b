"""The drawn characters tests use: the product's own drawing code, with four fixed designs.

The drawing lives in `bot.services.drawn_characters` (the demo draws its cast with it); these
designs are the tests' own so a change to the demo's cast never moves a test's colours.
"""

from __future__ import annotations

from bot.services.drawn_characters import Design, draw_character, encode

__all__ = ["BLONDE", "BLUE_HAIR", "GREEN_HAIR", "PINK_HAIR", "Design", "draw_character", "encode"]

BLONDE = Design(hair=(245, 215, 60), eyes=(40, 160, 60), clothes=(200, 30, 40))
BLUE_HAIR = Design(hair=(40, 80, 220), eyes=(200, 30, 40), clothes=(240, 240, 240))
PINK_HAIR = Design(hair=(245, 140, 190), eyes=(60, 120, 230), clothes=(30, 30, 40))
GREEN_HAIR = Design(hair=(40, 170, 80), eyes=(240, 180, 30), clothes=(120, 60, 160))
