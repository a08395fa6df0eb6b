"""The audit log as a change feed: every write names its character, and late commits into gaps are not lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import insert

from bot.store.changes import START_LOOKBACK, ChangeFeed
from bot.store.repository import CharacterStore
from bot.store.tables import AuditRow, utcnow
from tests.bot.store.samples import TAGGER, enroll_sample, vector

GUILD = 555_555_555_555_555_555
OWNER = 666_666_666_666_666_666


async def touched_by(store: CharacterStore, change: Callable[[], Awaitable[object]]) -> frozenset[int]:
    """The characters `changes_since` reports for one write, checking the newest id moved past it."""
    before = await store.newest_audit_id()
    await change()
    newest, touched = await store.changes_since(before)
    assert newest == await store.newest_audit_id() > before
    assert await store.changes_since(newest) == (newest, frozenset())
    return touched


async def write_audit_row(store: CharacterStore, *, character_id: int, audit_id: int | None = None) -> None:
    """An audit row written by "another writer", optionally with an id of our choosing (a late commit)."""
    values: dict[str, object] = {"at": utcnow(), "action": "test.write", "detail": "x", "character_id": character_id}
    if audit_id is not None:
        values["id"] = audit_id
    async with store.engine.begin() as connection:
        await connection.execute(insert(AuditRow).values(**values))


async def test_an_empty_log_starts_at_zero(store: CharacterStore) -> None:
    assert await store.newest_audit_id() == 0
    assert await store.changes_since(0) == (0, frozenset())


async def test_every_character_and_reference_write_names_its_character(store: CharacterStore) -> None:
    created = await store.create_character("Alpha", guild_id=GUILD)
    touched = await touched_by(store, lambda: store.create_character("Beta"))
    beta = await store.find_character("Beta")
    assert beta is not None and touched == {beta.id}

    assert await touched_by(store, lambda: store.add_alias(created.id, "A")) == {created.id}
    assert await touched_by(store, lambda: store.remove_alias(created.id, "A")) == {created.id}
    assert await touched_by(store, lambda: store.rename_character(created.id, "Alef")) == {created.id}

    pending = await enroll_sample(store, "Alef", guild_id=GUILD, status="pending", seed=1)
    approved = await enroll_sample(store, "Beta", guild_id=GUILD, seed=2)
    touched = await touched_by(store, lambda: enroll_sample(store, "Gamma", seed=3))
    gamma = await store.find_character("Gamma")
    assert gamma is not None and touched == {gamma.id}
    assert await touched_by(store, lambda: store.review_reference(pending[1].id, approve=True, reviewer_id=OWNER)) == {
        created.id
    }
    assert await touched_by(store, lambda: store.promote_reference(approved[1].id)) == {beta.id}
    assert await touched_by(
        store, lambda: store.update_reference_vectors(approved[1].id, tagger=TAGGER, tag_vector=vector(9))
    ) == {beta.id}
    assert await touched_by(store, lambda: store.remove_reference(approved[1].id)) == {beta.id}
    assert await touched_by(store, lambda: store.promote_character(created.id, actor_id=OWNER)) == {created.id}
    assert await touched_by(store, lambda: store.remove_character(created.id)) == {created.id}

    rejected = await enroll_sample(store, "Beta", status="pending", seed=4)
    assert await touched_by(
        store, lambda: store.review_reference(rejected[1].id, approve=False, reviewer_id=OWNER)
    ) == {beta.id}


async def test_changes_since_gathers_every_character_after_the_id(store: CharacterStore) -> None:
    start = await store.newest_audit_id()
    first, _ = await enroll_sample(store, "One", seed=1)
    middle = await store.newest_audit_id()
    second, _ = await enroll_sample(store, "Two", seed=2)
    await enroll_sample(store, "One", seed=3)
    newest = await store.newest_audit_id()
    assert await store.changes_since(start) == (newest, frozenset({first.id, second.id}))
    assert await store.changes_since(middle) == (newest, frozenset({first.id, second.id}))
    assert await store.changes_since(newest) == (newest, frozenset())


async def test_a_feed_hands_out_each_change_once(store: CharacterStore) -> None:
    before, _ = await enroll_sample(store, "Before", seed=1)
    feed = await ChangeFeed.start(store)
    assert await feed.poll() == frozenset()
    after, _ = await enroll_sample(store, "After", seed=2)
    await store.add_alias(before.id, "B")
    assert await feed.poll() == {after.id, before.id}
    assert await feed.poll() == frozenset()
    assert feed.cursor == await store.newest_audit_id()
    assert feed.gaps == frozenset()


async def test_a_late_commit_below_the_cursor_is_still_reported(store: CharacterStore) -> None:
    """What PostgreSQL does when two writers commit out of order, replayed with chosen ids."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("chosen ids would collide with PostgreSQL's sequence; see the PostgreSQL interleaving test")
    late, _ = await enroll_sample(store, "Late", seed=1)
    early, _ = await enroll_sample(store, "Early", seed=2)
    now = [0.0]
    feed = ChangeFeed(store, await store.newest_audit_id(), gap_patience=60.0, clock=lambda: now[0])
    cursor = feed.cursor
    await write_audit_row(store, character_id=early.id, audit_id=cursor + 3)
    assert await feed.poll() == {early.id}
    assert feed.gaps == {cursor + 1, cursor + 2}

    now[0] = 30.0
    await write_audit_row(store, character_id=late.id, audit_id=cursor + 1)
    assert await feed.poll() == {late.id}
    assert feed.gaps == {cursor + 2}
    assert await feed.poll() == frozenset()

    now[0] = 61.0  # a gap that never fills belonged to a rolled-back transaction: given up after the patience
    assert await feed.poll() == frozenset()
    assert feed.gaps == frozenset()
    await write_audit_row(store, character_id=late.id, audit_id=cursor + 2)
    assert await feed.poll() == frozenset()


async def test_a_feed_started_during_a_slow_transaction_waits_for_it(store: CharacterStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("chosen ids would collide with PostgreSQL's sequence")
    character, _ = await enroll_sample(store, "Slow", seed=1)
    newest = await store.newest_audit_id()
    await write_audit_row(store, character_id=character.id, audit_id=newest + 2)
    feed = await ChangeFeed.start(store)
    assert feed.cursor == newest + 2 and feed.gaps == {newest + 1}
    await write_audit_row(store, character_id=character.id, audit_id=newest + 1)
    assert await feed.poll() == {character.id}
    assert feed.gaps == frozenset()


async def test_a_feed_looks_back_only_so_far_at_start(store: CharacterStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("chosen ids would collide with PostgreSQL's sequence")
    character, _ = await enroll_sample(store, "Old", seed=1)
    far = await store.newest_audit_id() + START_LOOKBACK + 5
    await write_audit_row(store, character_id=character.id, audit_id=far)
    feed = await ChangeFeed.start(store)
    assert feed.gaps == set(range(far - START_LOOKBACK + 1, far))


async def test_out_of_order_commits_on_postgresql(store: CharacterStore) -> None:
    """Two real transactions: the one holding the lower id commits after the feed read the higher one."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers, so ids always commit in order")
    slow, _ = await enroll_sample(store, "Slow", seed=1)
    feed = await ChangeFeed.start(store)
    async with store.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(
            insert(AuditRow).values(at=utcnow(), action="test.slow", detail="x", character_id=slow.id)
        )
        fast, _ = await enroll_sample(store, "Fast", seed=2)
        assert await feed.poll() == {fast.id}
        assert feed.gaps
        await transaction.commit()
    assert await feed.poll() == {slow.id}
    assert feed.gaps == frozenset()
