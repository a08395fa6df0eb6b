"""The review queue: one submission at a time with its picture, decisions by id, gallery updated at once."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from bot.app import Services
from bot.errors import NotFound
from bot.services.review import ReviewService
from bot.store.records import ReferenceStatus
from bot.store.tables import Reference
from tests.bot.services.conftest import picture
from tests.drawing import BLONDE, GREEN_HAIR

GUILD = 11


async def submit(services: Services, seed: int, *, user_id: int = 5, guild_id: int = GUILD) -> int:
    result = await services.enrollment.submit(
        "Midori", picture(GREEN_HAIR, seed), guild_id=guild_id, user_id=user_id, series="Forest"
    )
    return result.reference.id


def review_of(services: Services) -> ReviewService:
    return ReviewService(services.store, services.images, services.enrollment)


async def test_next_submission_carries_the_picture_and_wraps_around_after_a_skip(services: Services) -> None:
    first, second = await submit(services, 1), await submit(services, 2)
    await submit(services, 3, guild_id=GUILD + 1)  # another guild's queue
    review = review_of(services)
    shown = await review.next_submission(GUILD)
    after_first = await review.next_submission(GUILD, after_id=first)
    wrapped = await review.next_submission(GUILD, after_id=second)
    assert shown is not None and shown.reference.id == first and shown.pending == 2
    assert shown.image == picture(GREEN_HAIR, 1) and shown.extension == "png"
    assert shown.character_name == "Midori" and shown.character is not None and shown.character.series == "Forest"
    assert after_first is not None and after_first.reference.id == second
    assert wrapped is not None and wrapped.reference.id == first
    assert await review.next_submission(GUILD + 2) is None


async def test_approval_reaches_the_gallery_at_once_and_is_not_applied_twice(services: Services) -> None:
    await services.enrollment.enroll_approved("Alice", picture(BLONDE, 9))
    submission = await submit(services, 1)
    review = review_of(services)
    approved = await review.decide(submission, "approve", guild_id=GUILD, reviewer_id=99)
    again = await review.decide(submission, "reject", guild_id=GUILD, reviewer_id=99)
    found = await services.identify.identify(picture(GREEN_HAIR, 4), guild_id=GUILD)
    assert approved.outcome == "approved" and approved.reference.reviewed_by == 99
    assert approved.submitter_should_hear and approved.character_name == "Midori"
    assert again.outcome == "already_reviewed" and not again.submitter_should_hear
    assert again.reference.status is ReferenceStatus.APPROVED
    assert found.regions[0].matches[0].character == "Midori"
    assert await review.next_submission(GUILD) is None


async def test_reject_and_skip_keep_the_picture_out_and_other_guilds_cannot_decide(services: Services) -> None:
    rejected, skipped = await submit(services, 1), await submit(services, 2)
    review = review_of(services)
    with pytest.raises(NotFound):
        await review.decide(rejected, "approve", guild_id=GUILD + 1, reviewer_id=99)
    with pytest.raises(NotFound):
        await review.decide(12345, "approve", guild_id=GUILD, reviewer_id=99)
    no = await review.decide(rejected, "reject", guild_id=GUILD, reviewer_id=99)
    skip = await review.decide(skipped, "skip", guild_id=GUILD, reviewer_id=99)
    assert no.outcome == "rejected" and no.reference.status is ReferenceStatus.REJECTED
    assert skip.outcome == "skipped" and skip.reference.status is ReferenceStatus.PENDING
    assert len(services.gallery) == 0
    remaining = await review.next_submission(GUILD)
    assert remaining is not None and remaining.reference.id == skipped and remaining.pending == 1


async def test_a_new_look_alike_name_is_flagged_on_the_review_card(services: Services) -> None:
    await services.enrollment.enroll_approved("Remilia Scarlet", picture(BLONDE, 1))
    fake = await services.enrollment.submit("R\u0435milia Scarlet", picture(GREEN_HAIR, 1), guild_id=GUILD, user_id=5)
    shown = await review_of(services).next_submission(GUILD)
    assert shown is not None and shown.reference.id == fake.reference.id
    assert shown.new_character and shown.looks_like == "Remilia Scarlet"


async def test_a_known_character_is_not_new_and_a_fresh_name_is_new_without_a_look_alike(services: Services) -> None:
    await services.enrollment.enroll_approved("Remilia Scarlet", picture(BLONDE, 1))
    await services.enrollment.submit("Remilia Scarlet", picture(GREEN_HAIR, 1), guild_id=GUILD, user_id=5)
    review = review_of(services)
    known = await review.next_submission(GUILD)
    assert known is not None and not known.new_character and known.looks_like is None
    await review.decide(known.reference.id, "approve", guild_id=GUILD, reviewer_id=1)
    await submit(services, 2)
    fresh = await review.next_submission(GUILD)
    assert fresh is not None and fresh.new_character and fresh.looks_like is None


async def test_an_approval_changes_the_next_answer_reading_only_the_approved_reference(services: Services) -> None:
    """The gallery takes the approved reference's vectors from the approval itself: no store re-read."""
    for seed in range(3):
        await services.enrollment.enroll_approved("Alice", picture(BLONDE, seed))
    query = picture(GREEN_HAIR, 40)
    before = await services.identify.identify(query, guild_id=GUILD)
    pending = await submit(services, 41)
    assert all(match.character != "Midori" for match in before.regions[0].matches)

    loaded: list[int] = []

    def count(target: Reference, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Reference, "load", count)
    try:
        decision = await review_of(services).decide(pending, "approve", guild_id=GUILD, reviewer_id=1)
        after = await services.identify.identify(query, guild_id=GUILD)
    finally:
        event.remove(Reference, "load", count)
    assert decision.outcome == "approved"
    assert after.regions[0].matches[0].character == "Midori"
    assert set(loaded) == {pending}  # never the other references: the gallery was updated in place
