"""Whoever opens a resource closes it: `Services.close` releases its own analyzer, never a lent one."""

from __future__ import annotations

import pytest

from bot.app import open_services
from bot.config import Settings
from bot.inference.local import LocalAnalyzer
from bot.recognition.analysis import ImageAnalysis, InferenceJob
from bot.store import database, guild_settings, sessions


class LentAnalyzer:
    """An analyzer its test owns; it records whether anyone closed it."""

    def __init__(self) -> None:
        self.closed = False

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        raise AssertionError("not analysed in these tests")

    async def close(self) -> None:
        self.closed = True


async def test_a_lent_analyzer_is_left_open_for_its_owner(settings: Settings) -> None:
    lent = LentAnalyzer()
    services = await open_services(settings, analyzer=lent)
    assert services.analyzer is lent
    await services.close()
    assert not lent.closed


async def test_an_analyzer_made_by_open_services_is_closed_with_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[LocalAnalyzer] = []

    async def recording_close(self: LocalAnalyzer) -> None:
        closed.append(self)

    monkeypatch.setattr(LocalAnalyzer, "close", recording_close)
    services = await open_services(settings)
    assert isinstance(services.analyzer, LocalAnalyzer)
    await services.close()
    assert closed == [services.analyzer]


async def test_guild_settings_share_the_one_engine_and_migration(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_open_engine = database.open_engine

    async def counting(url: str, **options: object):
        opened.append(url)
        return await real_open_engine(url, **options)

    monkeypatch.setattr(sessions, "open_engine", counting)
    monkeypatch.setattr(guild_settings, "open_engine", counting)
    services = await open_services(settings, analyzer=LentAnalyzer())
    try:
        await services.guild_settings.set_mod_role(1, 77)
        await services.guild_settings.set_autoidentify(1, 10, True)
        assert await services.guild_settings.mod_role(1) == 77
        assert await services.guild_settings.all_autoidentify_channels() == {10}
    finally:
        await services.close()
    assert len(opened) == 1
