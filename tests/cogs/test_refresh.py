"""The running bot picks up characters another process (the CLI, a second bot) enrolls in its database."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import open_services
from bot.config import Settings
from bot.discord_adapter.client import WaifuBot
from bot.store.changes import AuditChange
from tests.cogs.conftest import World, running_bot
from tests.drawing import BLONDE, BLUE_HAIR, Design, draw_character, encode

REFRESH_SECONDS = 0.2


REFERENCES_EACH = 3
"""Pictures `enroll_elsewhere` approves per character, one at a time (a refresh may land between two)."""


async def enroll_elsewhere(settings: Settings, cast: dict[str, Design]) -> None:
    """Enroll through a separate `Services` on the bot's database, as `waifu-bot enroll` would."""
    cli = await open_services(settings)
    try:
        for name, design in cast.items():
            for seed in range(REFERENCES_EACH):
                await cli.enrollment.enroll_approved(name, encode(draw_character(design, seed=seed)))
    finally:
        await cli.close()


def watch_refreshes(bot: WaifuBot, monkeypatch: pytest.MonkeyPatch) -> asyncio.Queue[int | Exception]:
    """Every outcome of the bot's periodic refresh (characters reloaded, or the error), as it happens."""
    outcomes: asyncio.Queue[int | Exception] = asyncio.Queue()
    refresh = bot.services.refresh

    async def watched() -> int:
        try:
            reloaded = await refresh()
        except Exception as error:
            outcomes.put_nowait(error)
            raise
        outcomes.put_nowait(reloaded)
        return reloaded

    monkeypatch.setattr(bot.services, "refresh", watched)
    return outcomes


WAIT_BOUND_SECONDS = 60.0
"""Only a bound for a hung bot: every wait below ends on an event (a refresh, a log line), not on time."""


async def until_served(bot: WaifuBot, outcomes: asyncio.Queue[int | Exception], characters: int) -> list[object]:
    """Refresh outcomes until the bot's gallery holds this many characters with all their references.

    Why all the references: a periodic refresh may run between two of `enroll_elsewhere`'s approvals and serve
    a character with one picture; on a busy machine the test then identified before the rest arrived.
    """
    seen: list[object] = []
    async with asyncio.timeout(WAIT_BOUND_SECONDS):
        while (gallery := bot.services.gallery).character_count < characters or len(
            gallery
        ) < characters * REFERENCES_EACH:
            seen.append(await outcomes.get())
    return seen


class LoggedEvent(logging.Handler):
    """An asyncio.Event set when a record containing `text` is logged (the bot logs on the loop's thread)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_bot_serves_characters_enrolled_by_another_process(
    world: World, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_settings.recognition.refresh_seconds = REFRESH_SECONDS
    async with running_bot(bot_settings, world.emu) as bot:
        outcomes = watch_refreshes(bot, monkeypatch)
        unknown = await (await world.member.slash("identify", image=world.picture(BLONDE, seed=7))).final()
        await enroll_elsewhere(bot_settings, {"Alice": BLONDE, "Bea": BLUE_HAIR})
        seen = await until_served(bot, outcomes, 2)
        reply = await (await world.member.slash("identify", image=world.picture(BLONDE, seed=7))).final()
    assert unknown.embeds[0]["title"] == "Unknown character"
    # the bot may have refreshed before the watch began, so `seen` can be empty; none may be an error
    assert all(isinstance(outcome, int) for outcome in seen)
    assert reply.embeds[0]["title"] == "This looks like Alice"


async def test_a_failing_refresh_is_logged_and_retried(
    world: World, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bot_settings.recognition.refresh_seconds = REFRESH_SECONDS
    async with running_bot(bot_settings, world.emu) as bot:
        healthy = bot.services.store.audit_changes
        failed = asyncio.Event()

        async def flaky(after_id: int) -> list[AuditChange]:
            if not failed.is_set():
                failed.set()
                raise ConnectionError("database restarting")
            return await healthy(after_id)

        outcomes = watch_refreshes(bot, monkeypatch)
        logged = LoggedEvent("could not read changes")
        client_log = logging.getLogger("bot.discord_adapter.client")
        client_log.addHandler(logged)
        try:
            with caplog.at_level(logging.ERROR, logger="bot.discord_adapter.client"):
                monkeypatch.setattr(bot.services.store, "audit_changes", flaky)
                # the first read after the swap fails, whichever refresh makes it; the loop logs it and goes on
                async with asyncio.timeout(WAIT_BOUND_SECONDS):
                    await logged.seen.wait()
                await enroll_elsewhere(bot_settings, {"Bea": BLUE_HAIR})
                await until_served(bot, outcomes, 1)
        finally:
            client_log.removeHandler(logged)
        reply = await (await world.member.slash("identify", image=world.picture(BLUE_HAIR, seed=7))).final()
    assert failed.is_set()
    # one failure, logged once: the refreshes after it read the store again and served Bea
    assert sum("could not read changes" in record.getMessage() for record in caplog.records) == 1
    assert reply.embeds[0]["title"] == "This looks like Bea"


async def test_refresh_can_be_turned_off(world: World, bot_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    bot_settings.recognition.refresh_seconds = 0
    async with running_bot(bot_settings, world.emu) as bot:
        outcomes = watch_refreshes(bot, monkeypatch)
        await enroll_elsewhere(bot_settings, {"Bea": BLUE_HAIR})
        await asyncio.sleep(3 * REFRESH_SECONDS)
        assert outcomes.empty() and bot.services.gallery.character_count == 0
        assert await bot.services.refresh() == 1  # the change was there to read; nobody asked
