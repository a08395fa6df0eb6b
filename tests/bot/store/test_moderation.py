"""Moderation in the store: atomic submission quotas, names only approved references reveal, refused invisibles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import RateLimited
from bot.store.repository import CharacterStore
from bot.store.writes import SubmissionQuota
from models.errors import UserFacingError
from tests.bot.store.samples import enroll_sample

GUILD, OTHER_GUILD, USER = 111, 222, 5
SNOWFLAKE = 1_234_567_890_123_456_789
"""A Discord-sized user id: 64 bits, as PostgreSQL's advisory lock key and the BIGINT column take it."""


def quota(limit: int = 10) -> SubmissionQuota:
    """The submission limit of USER as the enrollment service passes it."""
    return SubmissionQuota(USER, limit, timedelta(hours=1), datetime.now(UTC))


@pytest.mark.parametrize("user", [USER, SNOWFLAKE])
async def test_concurrent_submissions_store_exactly_the_limit(store: CharacterStore, user: int) -> None:
    async def submit(seed: int, submitter: int) -> bool:
        try:
            await enroll_sample(
                store,
                "Nino",
                guild_id=GUILD,
                status="pending",
                seed=seed,
                submitted_by=submitter,
                quota=SubmissionQuota(submitter, 10, timedelta(hours=1), datetime.now(UTC)),
            )
        except RateLimited:
            return False
        return True

    stored = await asyncio.gather(*(submit(seed, user) for seed in range(25)), submit(99, user + 1))
    assert sum(stored[:25]) == 10 and stored[25]  # another member's submission is not held back by the lock
    assert await store.count_submissions_since(user, datetime.now(UTC) - timedelta(hours=1)) == 10


async def test_a_full_quota_says_when_room_frees_up(store: CharacterStore) -> None:
    await enroll_sample(store, "Nino", guild_id=GUILD, status="pending", seed=1, submitted_by=USER, quota=quota(1))
    with pytest.raises(RateLimited) as caught:
        await enroll_sample(store, "Nino", guild_id=GUILD, status="pending", seed=2, submitted_by=USER, quota=quota(1))
    assert 3500 < caught.value.retry_after <= 3600
    later = SubmissionQuota(USER, 1, timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1, seconds=1))
    await enroll_sample(store, "Nino", guild_id=GUILD, status="pending", seed=3, submitted_by=USER, quota=later)


async def test_members_see_only_characters_with_an_approved_reference_they_can_see(store: CharacterStore) -> None:
    await enroll_sample(store, "Global Miku", seed=1)
    await enroll_sample(store, "Pending Prank", guild_id=GUILD, status="pending", seed=2)
    _, reference = await enroll_sample(store, "Rejected Prank", guild_id=GUILD, status="pending", seed=3)
    await store.review_reference(reference.id, approve=False, reviewer_id=1)
    await enroll_sample(store, "Local Nino", guild_id=GUILD, seed=4)
    await enroll_sample(store, "Elsewhere", guild_id=OTHER_GUILD, seed=5)

    shown = [c.name for c in await store.list_characters(guild_id=GUILD, approved_only=True)]
    assert shown == ["Global Miku", "Local Nino"]
    assert [c.name for c in await store.list_characters(approved_only=True)] == ["Global Miku"]
    everything = [c.name for c in await store.list_characters(guild_id=GUILD)]
    assert "Pending Prank" in everything and "Rejected Prank" in everything


@pytest.mark.parametrize(
    ("name", "culprit"),
    [
        ("\u202eukim enustah", "U\\+202E"),
        ("Hatsune\u200bMiku", "U\\+200B"),
        ("Hatsune\u2066Miku", "U\\+2066"),
        ("Miku\u200e", "U\\+200E"),
        ("\ufeffMiku", "U\\+FEFF"),
        ("Mi\u2060ku", "U\\+2060"),
        ("Mi\x00ku", "U\\+0000"),
        ("Mi\x07ku", "U\\+0007"),
    ],
)
async def test_invisible_and_control_characters_are_refused_in_names(
    store: CharacterStore, name: str, culprit: str
) -> None:
    with pytest.raises(UserFacingError, match=culprit):
        await store.create_character(name)
    with pytest.raises(UserFacingError, match=culprit):
        await store.create_character("Miku", aliases=[name])
    with pytest.raises(UserFacingError, match=culprit):
        await store.create_character("Miku", series=f"Vocaloid{name}")
    assert await store.list_characters() == []


async def test_names_and_series_are_nfkc_normalised(store: CharacterStore) -> None:
    created = await store.create_character("ＭＩＫＵ\tNakano", series="ｶﾞﾝﾀﾞﾑ", aliases=["ﾐｸ"])
    assert (created.name, created.series, created.aliases) == ("MIKU Nakano", "ガンダム", ("ミク",))


async def test_a_nul_in_a_renamed_name_is_refused_before_the_database(store: CharacterStore) -> None:
    character = await store.create_character("Miku")
    with pytest.raises(UserFacingError, match="U\\+0000"):
        await store.rename_character(character.id, "Mi\x00ku")
    with pytest.raises(UserFacingError, match="U\\+0000"):
        await store.add_alias(character.id, "\x00")
    assert (await store.get_character(character.id)).name == "Miku"
