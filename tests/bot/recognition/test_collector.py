"""The bot's process keeps what it loaded out of garbage collections while its services are open."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from bot.app import open_services
from bot.config import Settings


def test_open_services_freezes_what_it_loaded_and_close_hands_it_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "frozen", tagger="palette", _env_file=None)

    async def open_and_close() -> tuple[int, bool, int]:
        services = await open_services(settings)
        try:
            frozen = gc.get_freeze_count()
            gallery_frozen = not any(obj is services.gallery for obj in gc.get_objects())  # out of every generation
        finally:
            await services.close()
        return frozen, gallery_frozen, gc.get_freeze_count()

    gc.unfreeze()
    frozen, gallery_frozen, after = asyncio.run(open_and_close())
    assert frozen > 0 and gallery_frozen
    assert after == 0
