"""Two processes on one database: what one changes, the other serves after `refresh()` (SQLite; PostgreSQL if set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.app import Services, open_services
from bot.config import Settings
from bot.store.database import downgrade
from tests.bot.services.conftest import picture
from tests.bot.store.conftest import BACKENDS, POSTGRES_URL
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR

GUILD_A = 1001
GUILD_B = 2002


@dataclass
class Processes:
    """Two `Services` on the same database and data directory, as the CLI and the bot (or two bots) would be."""

    writer: Services
    reader: Services


@pytest.fixture(params=BACKENDS)
async def processes(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Processes]:
    """A writer and a reader opened on one SQLite file (or one emptied PostgreSQL database)."""
    if request.param == "postgresql":
        assert POSTGRES_URL
        await downgrade(POSTGRES_URL, "base")
        settings = settings.model_copy(update={"database_url": POSTGRES_URL})
    writer = await open_services(settings)
    try:
        reader = await open_services(settings)
        try:
            yield Processes(writer, reader)
        finally:
            await reader.close()
    finally:
        await writer.close()
        if request.param == "postgresql":
            assert POSTGRES_URL
            await downgrade(POSTGRES_URL, "base")


async def names_seen(services: Services, image: bytes, *, guild_id: int | None = None) -> list[str]:
    """The characters a process ranks for a picture, best first."""
    result = await services.identify.identify(image, guild_id=guild_id)
    return [match.character for match in result.regions[0].matches]


async def test_enroll_and_rename_in_one_process_reach_the_other_after_refresh(processes: Processes) -> None:
    writer, reader = processes.writer, processes.reader
    query = picture(BLONDE, 7)
    await writer.enrollment.enroll_approved("Blondie", picture(BLONDE, 1), series="Gold")
    await writer.enrollment.enroll_approved("Blondie", picture(BLONDE, 2))
    await writer.enrollment.enroll_approved("Bluey", picture(BLUE_HAIR, 1))
    assert reader.gallery.character_count == 0

    assert await reader.refresh() == 2
    assert (await names_seen(reader, query))[0] == "Blondie"
    assert reader.gallery.reference_count((await reader.characters.resolve("Blondie")).id) == 2
    assert await reader.refresh() == 0  # idempotent: nothing new, nothing reloaded

    blondie = await writer.characters.resolve("Blondie")
    await writer.characters.rename(blondie.id, "Goldie")
    assert (await names_seen(reader, query))[0] == "Blondie"  # stale until it refreshes
    assert await reader.refresh() == 1
    assert (await names_seen(reader, query))[0] == "Goldie"
    assert await writer.refresh() == 2  # the writer reloading its own changes (both characters) is harmless
    assert (await names_seen(writer, query))[0] == "Goldie"
    assert writer.gallery.reference_count(blondie.id) == 2


async def test_removal_in_one_process_leaves_the_others_ranking(processes: Processes) -> None:
    writer, reader = processes.writer, processes.reader
    first = await writer.enrollment.enroll_approved("Blondie", picture(BLONDE, 1))
    await writer.enrollment.enroll_approved("Pinky", picture(PINK_HAIR, 1))
    await reader.refresh()
    assert "Blondie" in await names_seen(reader, picture(BLONDE, 7))

    await writer.enrollment.remove_character(first.character.id)
    assert await reader.refresh() == 1
    assert "Blondie" not in await names_seen(reader, picture(BLONDE, 7))
    assert not reader.gallery.has_character(first.character.id)
    assert reader.gallery.character_count == 1


async def test_approval_and_promotion_in_one_process_reach_the_other(processes: Processes) -> None:
    writer, reader = processes.writer, processes.reader
    query = picture(BLONDE, 7)
    await writer.enrollment.enroll_approved("Bluey", picture(BLUE_HAIR, 1))
    submitted = await writer.enrollment.submit("Blondie", picture(BLONDE, 1), guild_id=GUILD_A, user_id=5)
    await reader.refresh()
    assert "Blondie" not in await names_seen(reader, query, guild_id=GUILD_A)  # pending serves nobody

    await writer.enrollment.approve(submitted.reference.id, reviewer_id=6)
    assert await reader.refresh() == 1
    assert (await names_seen(reader, query, guild_id=GUILD_A))[0] == "Blondie"
    assert "Blondie" not in await names_seen(reader, query, guild_id=GUILD_B)

    await writer.characters.promote(submitted.character.id)
    assert await reader.refresh() == 1
    assert (await names_seen(reader, query, guild_id=GUILD_B))[0] == "Blondie"
    assert (await names_seen(reader, query))[0] == "Blondie"


async def test_a_failed_reload_is_retried_by_the_next_refresh(
    processes: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = processes.writer, processes.reader
    await writer.enrollment.enroll_approved("Blondie", picture(BLONDE, 1))

    async def unreachable(**_: object) -> list[object]:
        raise ConnectionError("database went away")

    monkeypatch.setattr(reader.store, "list_references", unreachable)  # the audit read worked, the reload fails
    with pytest.raises(ConnectionError):
        await reader.refresh()
    monkeypatch.undo()
    assert reader.gallery.character_count == 0
    assert await reader.refresh() == 1
    assert (await names_seen(reader, picture(BLONDE, 7)))[0] == "Blondie"
