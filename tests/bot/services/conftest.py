"""Services over a fresh data directory with the palette tagger, and drawn pictures to feed them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Services, open_services
from bot.config import Settings
from tests.drawing import Design, draw_character, encode


def picture(design: Design, seed: int, fmt: str = "PNG") -> bytes:
    """One drawn picture of a character as file bytes."""
    return encode(draw_character(design, seed=seed), fmt)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Opened services (store migrated, palette tagger built) in the test's own data directory."""
    opened = await open_services(settings)
    yield opened
    await opened.close()
