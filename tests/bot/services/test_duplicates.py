"""The duplicate check through the hash index: what listing every reference found, without listing, across processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event

from bot.app import Services, open_services
from bot.config import Settings
from bot.errors import DuplicateReference
from bot.recognition.analysis import ImageAnalysis
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.tables import Reference
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, GREEN_HAIR, PINK_HAIR, draw_character, encode


async def listed_duplicate(
    services: Services, analysis: ImageAnalysis, guild_id: int | None
) -> tuple[ReferenceRecord, int] | None:
    """The check as it was before the index: every visible reference listed, the closest (then oldest) kept."""
    check = services.enrollment.duplicates
    closest: tuple[ReferenceRecord, int] | None = None
    for reference in await services.store.list_references(status=None, guild_id=guild_id):
        if reference.status is ReferenceStatus.REJECTED or not reference.phash:
            continue
        same_model = reference.tagger == analysis.tagger
        distance = check.is_duplicate(
            analysis.phash,
            reference.phash,
            analysis.whole.tag_probs if same_model else None,
            reference.tag_vector if same_model else None,
        )
        if distance is not None and (closest is None or distance < closest[1]):
            closest = (reference, distance)
    return closest


def copy_of(design: object, seed: int) -> bytes:
    """A smaller JPEG of a drawn picture: a near-duplicate, not the same bytes."""
    return encode(draw_character(design, seed=seed).resize((300, 300)), "JPEG", quality=70)


async def test_the_index_finds_what_listing_every_reference_found(services: Services) -> None:
    enrollment = services.enrollment
    await enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    await enrollment.enroll_approved("Alice", picture(BLONDE, 2))
    await enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=1)  # pending, guild 7 only
    await enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=8, user_id=2)  # guild 8 cannot see 7's
    await enrollment.enroll_approved("Bea", picture(BLUE_HAIR, 1))  # global, newer than both guilds' copies
    rejected = await enrollment.submit("Rin", picture(PINK_HAIR, 1), guild_id=7, user_id=3)
    await enrollment.reject(rejected.reference.id, reviewer_id=9)
    await enrollment.submit("Midori", picture(GREEN_HAIR, 1), guild_id=8, user_id=4)
    queries = [copy_of(BLONDE, 1), copy_of(BLONDE, 2), copy_of(BLUE_HAIR, 1), picture(BLUE_HAIR, 1)]
    queries += [copy_of(PINK_HAIR, 1), copy_of(GREEN_HAIR, 1), picture(GREEN_HAIR, 30)]
    found = 0
    for image in queries:
        analysis = await enrollment.analyze_reference(image)
        for guild_id in (None, 7, 8, 9):
            expected = await listed_duplicate(services, analysis, guild_id)
            got = await enrollment.duplicates.find_duplicate(analysis, guild_id=guild_id)
            assert (got and (got[0].id, got[1])) == (expected and (expected[0].id, expected[1]))
            found += expected is not None
    assert found >= 12  # copies of Alice and Bea everywhere, Midori in guild 8


async def test_a_submission_reads_only_the_references_near_it(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = [await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed)) for seed in range(4)]
    listed: list[object] = []
    original = services.store.list_references

    async def listing(**query: object) -> list[ReferenceRecord]:
        listed.append(query)
        return await original(**query)

    monkeypatch.setattr(services.store, "list_references", listing)
    loaded: list[int] = []

    def count(target: Reference, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Reference, "load", count)
    try:
        with pytest.raises(DuplicateReference) as caught:
            await services.enrollment.submit("Someone", copy_of(BLONDE, 2), guild_id=7, user_id=42)
        duplicate_reads = set(loaded)
        loaded.clear()
        await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=42)
    finally:
        event.remove(Reference, "load", count)
    assert caught.value.reference_id == stored[2].reference.id
    assert duplicate_reads == {stored[2].reference.id}  # the one near hash, never the others
    assert loaded == [] and listed == []


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[Services]:
    """A second process on the same database and data directory (the CLI, another bot)."""
    opened = await open_services(settings)
    yield opened
    await opened.close()


async def test_a_duplicate_stored_by_another_process_is_refused(services: Services, other_process: Services) -> None:
    elsewhere = await other_process.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=1)
    with pytest.raises(DuplicateReference) as caught:  # the check reads the change feed first: no refresh needed
        await services.enrollment.submit("Bea", copy_of(BLUE_HAIR, 1), guild_id=7, user_id=2)
    assert caught.value.reference_id == elsewhere.reference.id

    cli = await other_process.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    assert await services.refresh() == 2  # Bea and Alice; the bot's periodic refresh brings the index along too
    assert services.enrollment.duplicates.index.entry(cli.reference.id) is not None
    with pytest.raises(DuplicateReference):
        await services.enrollment.enroll_approved("Alice", copy_of(BLONDE, 1))

    await other_process.enrollment.reject(elsewhere.reference.id, reviewer_id=9)
    await other_process.enrollment.remove_character(cli.character.id)
    await services.refresh()
    index = services.enrollment.duplicates.index
    assert elsewhere.reference.id not in index and cli.reference.id not in index
    again = await services.enrollment.submit("Bea", copy_of(BLUE_HAIR, 1), guild_id=7, user_id=2)
    assert again.reference.status is ReferenceStatus.PENDING
    assert (await services.enrollment.enroll_approved("Alice", copy_of(BLONDE, 1))).created_character
