"""Enrollment: duplicates refused with the reason, pending -> approve updates the gallery at once, removal, batches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Services
from bot.errors import DuplicateReference, ImageRejected, NotFound, RateLimited, UsageError
from bot.services.enrollment import labelled
from bot.store.records import ReferenceStatus
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode


async def test_operator_enrollment_is_approved_and_searchable_at_once(services: Services) -> None:
    result = await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1), series="Wonderland")
    assert result.created_character
    assert result.reference.status is ReferenceStatus.APPROVED
    assert services.gallery.reference_count(result.character.id) == 1
    stored = services.images.read(result.reference.image_path)
    assert stored == picture(BLONDE, 1)
    identified = await services.identify.identify(picture(BLONDE, 2))
    assert identified.regions[0].matches[0].series == "Wonderland"


async def test_the_same_picture_again_is_refused_naming_the_first(services: Services) -> None:
    first = await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    recompressed = encode(draw_character(BLONDE, seed=1).resize((300, 300)), "JPEG", quality=70)
    with pytest.raises(DuplicateReference) as caught:
        await services.enrollment.enroll_approved("Someone Else", recompressed)
    assert caught.value.reference_id == first.reference.id
    assert caught.value.character == "Alice"
    assert "Alice" in caught.value.user_message
    assert await services.store.find_character("Someone Else") is None
    assert len(services.gallery) == 1


async def test_a_recoloured_copy_of_the_layout_is_not_a_duplicate(services: Services) -> None:
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    other = await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, 1))
    assert other.reference.status is ReferenceStatus.APPROVED


async def test_pending_submission_is_kept_but_not_used_until_approved(services: Services) -> None:
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    submitted = await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=42)
    assert submitted.reference.status is ReferenceStatus.PENDING
    assert submitted.character.guild_id == 7
    assert services.images.read(submitted.reference.image_path) == picture(BLUE_HAIR, 1)
    assert (await services.store.next_pending(guild_id=7)).id == submitted.reference.id

    query = picture(BLUE_HAIR, seed=20)
    before = await services.identify.identify(query, guild_id=7)
    assert [m.character for m in before.regions[0].matches] == ["Alice"]

    approved = await services.enrollment.approve(submitted.reference.id, reviewer_id=1)
    assert approved.status is ReferenceStatus.APPROVED
    after = await services.identify.identify(query, guild_id=7)
    assert after.regions[0].matches[0].character == "Bea"
    elsewhere = await services.identify.identify(query, guild_id=8)
    assert [m.character for m in elsewhere.regions[0].matches] == ["Alice"]


async def test_a_pending_submission_blocks_its_duplicate_and_a_rejected_one_does_not(services: Services) -> None:
    first = await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=42)
    with pytest.raises(DuplicateReference):
        await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=43)
    rejected = await services.enrollment.reject(first.reference.id, reviewer_id=1)
    assert rejected.status is ReferenceStatus.REJECTED
    assert len(services.gallery) == 0
    again = await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=43)
    assert again.reference.status is ReferenceStatus.PENDING


async def test_reviewing_twice_is_refused(services: Services) -> None:
    submitted = await services.enrollment.submit("Bea", picture(BLUE_HAIR, 1), guild_id=7, user_id=42)
    await services.enrollment.approve(submitted.reference.id, reviewer_id=1)
    with pytest.raises(NotFound):
        await services.enrollment.reject(submitted.reference.id, reviewer_id=1)


async def test_removing_a_reference_and_a_character_updates_the_gallery_and_files(services: Services) -> None:
    one = await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    two = await services.enrollment.enroll_approved("Alice", picture(BLONDE, 2))
    await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, 1))
    await services.enrollment.remove_reference(one.reference.id)
    assert services.gallery.reference_count(one.character.id) == 1
    assert not services.images.path(one.reference.image_path).exists()
    await services.enrollment.remove_character(two.character.id)
    assert services.gallery.reference_count(two.character.id) == 0
    assert not services.images.path(two.reference.image_path).exists()
    result = await services.identify.identify(picture(BLONDE, 3))
    assert [m.character for m in result.regions[0].matches] == ["Bea"]
    with pytest.raises(NotFound):
        await services.enrollment.remove_reference(one.reference.id)


async def test_submissions_are_rate_limited_per_user(services: Services) -> None:
    services.enrollment.submissions_per_hour = 2
    await services.enrollment.submit("Alice", picture(BLONDE, 1), guild_id=7, user_id=42)
    await services.enrollment.submit("Alice", picture(BLONDE, 2), guild_id=7, user_id=42)
    with pytest.raises(RateLimited) as caught:
        await services.enrollment.submit("Alice", picture(BLONDE, 3), guild_id=7, user_id=42)
    assert 3500 <= caught.value.retry_after <= 3600
    await services.enrollment.submit("Alice", picture(BLONDE, 3), guild_id=7, user_id=43)
    later = datetime.now(UTC) + timedelta(hours=1, seconds=5)
    await services.enrollment.check_rate_limit(42, now=later)


async def test_the_same_picture_sent_twice_at_once_is_kept_once(services: Services) -> None:
    """Two people submitting one viral picture at the same moment: the second must still be told it is a duplicate."""
    same = picture(BLUE_HAIR, 3)
    outcomes = await asyncio.gather(
        services.enrollment.enroll_approved("Xena", same),
        services.enrollment.enroll_approved("Yuna", same),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["DuplicateReference", "EnrollmentResult"]
    assert len(await services.store.list_references(status=None, all_scopes=True)) == 1
    assert len(services.gallery) == 1


async def test_only_the_enrollment_that_made_a_new_character_says_so(services: Services) -> None:
    results = await asyncio.gather(
        *(services.enrollment.enroll_approved("New Girl", picture(BLONDE, seed)) for seed in range(3))
    )
    assert len({result.character.id for result in results}) == 1
    assert [result.created_character for result in results].count(True) == 1


async def assert_nothing_enrolled(services: Services) -> None:
    assert await services.store.list_characters() == []
    assert await services.store.list_references(status=None, all_scopes=True) == []
    assert len(services.gallery) == 0
    assert stored_files(services) == []


def stored_files(services: Services) -> list[Path]:
    return [path for path in services.images.root.rglob("*") if path.is_file()]


async def test_a_batch_is_enrolled_approved_with_its_labels_as_sources(services: Services) -> None:
    pictures = [("one.png", picture(BLONDE, 1)), ("two.png", picture(BLONDE, 2))]
    results = await services.enrollment.enroll_approved_many("Alice", pictures, series="Wonderland", aliases=["アリス"])
    assert [result.created_character for result in results] == [True, False]
    assert {result.character.id for result in results} == {results[0].character.id}
    assert [result.reference.source for result in results] == ["one.png", "two.png"]
    assert all(result.reference.status is ReferenceStatus.APPROVED for result in results)
    assert services.gallery.reference_count(results[0].character.id) == 2
    character = await services.store.find_character("アリス")
    assert character is not None and character.series == "Wonderland"


async def test_a_batch_with_a_stored_duplicate_is_refused_whole_naming_the_item(services: Services) -> None:
    first = await services.enrollment.enroll_approved("Bea", picture(BLUE_HAIR, 1))
    copy = encode(draw_character(BLUE_HAIR, seed=1), "JPEG", quality=85)
    with pytest.raises(DuplicateReference) as caught:
        await services.enrollment.enroll_approved_many("Alice", [("new.png", picture(BLONDE, 1)), ("copy.jpg", copy)])
    assert caught.value.user_message.startswith("copy.jpg: ")
    assert caught.value.reference_id == first.reference.id and caught.value.character == "Bea"
    assert await services.store.find_character("Alice") is None
    assert len(services.gallery) == 1


async def test_two_copies_within_a_batch_are_refused_naming_both(services: Services) -> None:
    copy = encode(draw_character(BLONDE, seed=1), "JPEG", quality=85)
    with pytest.raises(UsageError) as caught:
        await services.enrollment.enroll_approved_many("Alice", [("a.png", picture(BLONDE, 1)), ("b.jpg", copy)])
    assert caught.value.user_message == "b.jpg: a near-duplicate of a.png; pass each picture once."
    await assert_nothing_enrolled(services)


async def test_an_unusable_picture_in_a_batch_is_named_and_nothing_is_written(services: Services) -> None:
    broken = picture(BLUE_HAIR, 2)[:200]
    with pytest.raises(ImageRejected) as caught:
        await services.enrollment.enroll_approved_many("Alice", [("good.png", picture(BLONDE, 1)), ("bad.png", broken)])
    assert caught.value.user_message.startswith("bad.png: ")
    await assert_nothing_enrolled(services)


async def test_an_empty_batch_is_refused(services: Services) -> None:
    with pytest.raises(UsageError):
        await services.enrollment.enroll_approved_many("Alice", [])


async def test_a_write_failing_midway_takes_the_batch_back(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks passed, yet the store fails on the third picture: the first two must not stay behind."""
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 1))
    real_enroll = services.store.enroll
    calls = 0

    async def failing_enroll(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        return await real_enroll(*args, **kwargs)

    monkeypatch.setattr(services.store, "enroll", failing_enroll)
    batch = [(f"{seed}.png", picture(BLONDE, seed)) for seed in (2, 3, 4)]
    with pytest.raises(OSError, match="disk full"):
        await services.enrollment.enroll_approved_many("Alice", batch)
    (alice,) = await services.store.list_characters()
    assert services.gallery.reference_count(alice.id) == 1
    assert len(await services.store.list_references(status=None, all_scopes=True)) == 1

    assert len(stored_files(services)) == 1

    calls = 0
    with pytest.raises(OSError, match="disk full"):  # a new character made by the failed batch goes too
        await services.enrollment.enroll_approved_many("Bea", [(f"{s}.png", picture(BLUE_HAIR, s)) for s in (1, 2, 3)])
    assert await services.store.find_character("Bea") is None
    assert len(services.gallery) == 1
    assert len(stored_files(services)) == 1


def test_a_labelled_error_keeps_its_type_and_fields() -> None:
    error = DuplicateReference("Alice", 2, 7)
    named = labelled("pic.png", error)
    assert type(named) is DuplicateReference
    assert (named.character, named.distance, named.reference_id) == ("Alice", 2, 7)
    assert named.user_message == f"pic.png: {error.user_message}"
    assert not error.user_message.startswith("pic.png")
