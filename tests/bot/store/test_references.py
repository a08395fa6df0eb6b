"""References: all-or-nothing enrollment, review, scopes, exact vectors, rate-limit counts and the audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from bot.errors import CharacterExists, NotFound
from bot.store import audit
from bot.store.database import sqlite_url
from bot.store.records import ReferenceStatus
from bot.store.repository import CharacterStore
from bot.store.tables import AuditRow, Character, CharacterAlias, Reference
from tests.bot.store.samples import TAGGER, assert_same_reference, enroll_sample, vector

GUILD_A = 111_111_111_111_111_111
GUILD_B = 222_222_222_222_222_222
USER = 333_333_333_333_333_333
MOD = 444_444_444_444_444_444


async def row_counts(store: CharacterStore) -> dict[str, int]:
    """Rows per table, read with plain SQL rather than through the repository."""
    counts = {}
    async with store.engine.connect() as connection:
        for table in (Character, CharacterAlias, Reference, AuditRow):
            counts[table.__tablename__] = (await connection.execute(select(func.count()).select_from(table))).scalar()
    return counts


async def test_enroll_creates_the_character_reference_and_audit_rows(store: CharacterStore) -> None:
    before = datetime.now(UTC)
    character, reference = await store.enroll(
        "Nakano Miku",
        series="Gotoubun",
        aliases=["中野三玖"],
        status=ReferenceStatus.APPROVED,
        tagger=TAGGER,
        tag_vector=vector(1),
        embedder="ccip@1",
        embedding=vector(2, dims=768),
        phash="c3a5e1f00f1e5a3c",
        image_path="ab/abcdef.png",
        rating="general",
        submitted_by=USER,
        source="/tmp/miku.png",
        actor_id=USER,
    )
    assert character.name == "Nakano Miku" and character.aliases == ("中野三玖",)
    assert reference.character_id == character.id
    assert reference.status is ReferenceStatus.APPROVED
    assert (reference.tagger, reference.embedder, reference.phash) == (TAGGER, "ccip@1", "c3a5e1f00f1e5a3c")
    assert (reference.image_path, reference.rating, reference.source) == ("ab/abcdef.png", "general", "/tmp/miku.png")
    assert reference.submitted_by == USER and reference.reviewed_by == USER  # operator enrollment: approved at once
    assert before <= reference.submitted_at <= datetime.now(UTC)
    assert reference.reviewed_at == reference.submitted_at
    assert_same_reference(await store.get_reference(reference.id), reference)
    actions = [entry.action for entry in reversed(await store.audit_log())]
    assert actions == ["character.create", "character.alias_add", "reference.add"]
    assert await row_counts(store) == {"characters": 1, "character_aliases": 1, "references": 1, "audit_log": 3}


async def test_enroll_reuses_the_character_by_name_or_alias(store: CharacterStore) -> None:
    first, _ = await enroll_sample(store, "Nakano Miku", aliases=["Miku"])
    again, second = await enroll_sample(store, "ｍｉｋｕ", seed=2, aliases=["三玖"])
    assert again.id == first.id
    assert again.aliases == ("Miku", "三玖")
    assert second.character_id == first.id
    assert len(await store.list_references(character_id=first.id)) == 2


async def test_a_guild_submission_for_a_global_character_stays_in_the_guild(store: CharacterStore) -> None:
    global_miku, _ = await enroll_sample(store, "Nakano Miku")
    character, reference = await enroll_sample(
        store, "nakano miku", guild_id=GUILD_A, status="pending", seed=2, aliases=["Vandal"], submitted_by=USER
    )
    assert character == global_miku  # attached to the global character, which a guild cannot edit
    assert await store.find_character("Vandal") is None
    assert reference.guild_id == GUILD_A and reference.status is ReferenceStatus.PENDING
    assert reference.reviewed_by is None and reference.reviewed_at is None


async def test_enroll_is_all_or_nothing_when_an_alias_clashes(store: CharacterStore) -> None:
    await enroll_sample(store, "Nakano Nino")
    before = await row_counts(store)
    with pytest.raises(CharacterExists, match="Nakano Nino"):
        await enroll_sample(store, "Nakano Ichika", seed=2, aliases=["一花", "nakano nino"])
    assert await store.find_character("Nakano Ichika") is None
    assert await store.find_character("一花") is None
    assert await row_counts(store) == before


async def test_enroll_is_all_or_nothing_when_the_audit_write_fails(
    store: CharacterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record_change = audit.record_change

    async def fail_on_reference(session, action: str, *args: object, **kwargs: object) -> None:
        await real_record_change(session, action, *args, **kwargs)
        if action == "reference.add":  # after the character, its alias and the reference were flushed
            raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record_change", fail_on_reference)
    with pytest.raises(RuntimeError, match="disk full"):
        await enroll_sample(store, "Nakano Yotsuba", aliases=["四葉"])
    monkeypatch.undo()

    assert await store.find_character("Nakano Yotsuba") is None
    assert await row_counts(store) == {"characters": 0, "character_aliases": 0, "references": 0, "audit_log": 0}
    character, _ = await enroll_sample(store, "Nakano Yotsuba", aliases=["四葉"])  # the name is still free
    assert character.aliases == ("四葉",)


async def test_vectors_round_trip_bit_exact_in_float32_or_float16(store: CharacterStore) -> None:
    # Values float16 cannot hold keep the whole vector float32 (bit exact); others read back as their float16 value.
    tags = np.random.default_rng(7).standard_normal(6000).astype(np.float32)
    tags[:6] = [0.0, -0.0, np.finfo(np.float32).tiny / 8, np.finfo(np.float32).max, -1e-38, 1 / 3]
    embedding = np.random.default_rng(8).standard_normal(768).astype(np.float32)
    _, reference = await enroll_sample(store, "Nino", tag_vector=tags, embedder="ccip@1", embedding=embedding)

    stored = await store.get_reference(reference.id)
    halved = embedding.astype(np.float16).astype(np.float32)
    for original, loaded in ((tags, stored.tag_vector), (halved, stored.embedding)):
        assert loaded.dtype == np.float32 and loaded.shape == original.shape
        assert loaded.tobytes() == original.tobytes()
        assert loaded.flags.writeable
    assert stored.embedder == "ccip@1"


async def test_vectors_that_would_poison_distances_are_refused(store: CharacterStore) -> None:
    with pytest.raises(ValueError, match="NaN"):
        await enroll_sample(store, "Nino", tag_vector=np.array([0.1, np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="1-D"):
        await enroll_sample(store, "Nino", tag_vector=np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="embedding needs"):
        await enroll_sample(store, "Nino", embedding=vector(3))
    assert await row_counts(store) == {"characters": 0, "character_aliases": 0, "references": 0, "audit_log": 0}


async def test_update_reference_vectors(store: CharacterStore) -> None:
    _, reference = await enroll_sample(store, "Nino")
    new_tags = vector(99, dims=40)
    await store.update_reference_vectors(
        reference.id, tagger="wd-vit@3", tag_vector=new_tags, embedder="ccip@1", embedding=vector(5)
    )
    updated = await store.get_reference(reference.id)
    assert updated.tagger == "wd-vit@3" and updated.tag_vector.tobytes() == new_tags.tobytes()
    assert updated.embedder == "ccip@1"
    assert (updated.status, updated.phash) == (reference.status, reference.phash)
    assert [r.id for r in await store.list_references(tagger="wd-vit@3")] == [reference.id]
    assert await store.list_references(tagger=TAGGER) == []
    entry = (await store.audit_log(limit=1))[0]
    assert (entry.action, entry.reference_id) == ("reference.reindex", reference.id)
    assert entry.detail == f"recomputed vectors of reference #{reference.id}: {TAGGER} -> wd-vit@3, embedding ccip@1"
    with pytest.raises(NotFound):
        await store.update_reference_vectors(reference.id + 9, tagger="x@1", tag_vector=new_tags)


async def test_review_approves_or_rejects_only_pending_submissions(store: CharacterStore) -> None:
    _, first = await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending", submitted_by=USER)
    _, second = await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending", seed=2, submitted_by=USER)

    before = datetime.now(UTC)
    approved = await store.review_reference(first.id, approve=True, reviewer_id=MOD)
    assert approved.status is ReferenceStatus.APPROVED
    assert approved.reviewed_by == MOD and before <= approved.reviewed_at <= datetime.now(UTC)
    assert_same_reference(await store.get_reference(first.id), approved)
    rejected = await store.review_reference(second.id, approve=False, reviewer_id=MOD)
    assert rejected.status is ReferenceStatus.REJECTED

    with pytest.raises(NotFound, match="already approved"):
        await store.review_reference(first.id, approve=False, reviewer_id=MOD)
    with pytest.raises(NotFound, match="already rejected"):
        await store.review_reference(second.id, approve=True, reviewer_id=MOD)
    with pytest.raises(NotFound, match="no submission"):
        await store.review_reference(second.id + 100, approve=True, reviewer_id=MOD)
    assert (await store.get_reference(first.id)).status is ReferenceStatus.APPROVED

    log = await store.audit_log(guild_id=GUILD_A, limit=2)
    assert [(entry.action, entry.actor_id, entry.reference_id) for entry in log] == [
        ("reference.reject", MOD, second.id),
        ("reference.approve", MOD, first.id),
    ]


async def test_two_moderators_racing_on_one_submission(store: CharacterStore) -> None:
    _, pending = await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending")
    outcomes = await asyncio.gather(
        store.review_reference(pending.id, approve=True, reviewer_id=MOD),
        store.review_reference(pending.id, approve=False, reviewer_id=MOD + 1),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["NotFound", "ReferenceRecord"]


async def test_review_queue_is_per_guild(store: CharacterStore) -> None:
    _, a1 = await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending")
    _, b1 = await enroll_sample(store, "Nino", guild_id=GUILD_B, status="pending", seed=2)
    _, a2 = await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending", seed=3)
    await enroll_sample(store, "Nino", guild_id=GUILD_A, status="approved", seed=4)

    assert await store.count_pending(guild_id=GUILD_A) == 2
    assert await store.count_pending(guild_id=GUILD_B) == 1
    assert await store.count_pending(guild_id=None) == 0
    assert (await store.next_pending(guild_id=GUILD_A)).id == a1.id
    assert (await store.next_pending(guild_id=GUILD_A, after_id=a1.id)).id == a2.id  # "Skip"
    assert await store.next_pending(guild_id=GUILD_A, after_id=a2.id) is None
    assert (await store.next_pending(guild_id=GUILD_B)).id == b1.id
    await store.review_reference(a1.id, approve=True, reviewer_id=MOD)
    assert (await store.next_pending(guild_id=GUILD_A)).id == a2.id


async def test_list_references_by_scope_status_and_character(store: CharacterStore) -> None:
    miku, global_ref = await enroll_sample(store, "Miku")
    _, a_ref = await enroll_sample(store, "Miku", guild_id=GUILD_A, seed=2)
    local, b_ref = await enroll_sample(store, "B Mascot", guild_id=GUILD_B, seed=3)
    _, pending = await enroll_sample(store, "Miku", guild_id=GUILD_A, status="pending", seed=4)

    def ids(references: list) -> list[int]:
        return [reference.id for reference in references]

    assert ids(await store.list_references()) == [global_ref.id]
    assert ids(await store.list_references(guild_id=GUILD_A)) == [global_ref.id, a_ref.id]
    assert ids(await store.list_references(guild_id=GUILD_B)) == [global_ref.id, b_ref.id]
    assert ids(await store.list_references(all_scopes=True)) == [global_ref.id, a_ref.id, b_ref.id]
    assert ids(await store.list_references(status=ReferenceStatus.PENDING, all_scopes=True)) == [pending.id]
    assert len(await store.list_references(status=None, all_scopes=True)) == 4
    assert ids(await store.list_references(character_id=local.id, all_scopes=True)) == [b_ref.id]
    assert ids(await store.list_references(character_id=miku.id, guild_id=GUILD_B)) == [global_ref.id]


async def test_remove_reference_and_character(store: CharacterStore) -> None:
    miku, first = await enroll_sample(store, "Miku", aliases=["三玖"])
    _, second = await enroll_sample(store, "Miku", seed=2)
    await store.remove_reference(first.id, actor_id=MOD)
    assert await store.get_reference(first.id) is None
    with pytest.raises(NotFound):
        await store.remove_reference(first.id)

    await store.remove_character(miku.id, actor_id=MOD)
    assert await store.get_character(miku.id) is None
    assert await store.get_reference(second.id) is None
    assert await store.find_character("三玖") is None
    counts = await row_counts(store)
    assert (counts["characters"], counts["character_aliases"], counts["references"]) == (0, 0, 0)
    entry = (await store.audit_log(limit=1))[0]
    assert (entry.action, entry.actor_id, entry.character_id) == ("character.remove", MOD, miku.id)
    assert entry.detail == "removed Miku and its 1 reference"
    with pytest.raises(NotFound):
        await store.remove_character(miku.id)


async def test_count_submissions_since(store: CharacterStore) -> None:
    start = datetime.now(UTC)
    for seed in range(3):
        await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending", seed=seed, submitted_by=USER)
    await enroll_sample(store, "Nino", guild_id=GUILD_A, status="pending", seed=9, submitted_by=USER + 1)
    assert await store.count_submissions_since(USER, start - timedelta(seconds=1)) == 3
    assert await store.count_submissions_since(USER, datetime.now(UTC) + timedelta(seconds=1)) == 0
    assert await store.count_submissions_since(USER + 1, start - timedelta(hours=1)) == 1


async def test_audit_log_is_newest_first_and_filtered_by_guild(store: CharacterStore) -> None:
    await enroll_sample(store, "Global One")
    await enroll_sample(store, "Local One", guild_id=GUILD_A, seed=2, actor_id=MOD)
    entries = await store.audit_log()
    assert [entry.id for entry in entries] == sorted((entry.id for entry in entries), reverse=True)
    assert all(entry.at.tzinfo is UTC for entry in entries)
    local = await store.audit_log(guild_id=GUILD_A)
    assert [(entry.action, entry.actor_id) for entry in local] == [("reference.add", MOD), ("character.create", MOD)]
    assert local[1].detail == "created Local One"
    assert len(await store.audit_log(limit=1)) == 1


async def test_concurrent_enrollments_all_commit(store: CharacterStore) -> None:
    results = await asyncio.gather(*(enroll_sample(store, f"Character {index % 3}", seed=index) for index in range(12)))
    assert len({reference.id for _, reference in results}) == 12
    assert len({character.id for character, _ in results}) == 3
    assert len(await store.list_references()) == 12


async def test_a_deleted_newest_reference_id_is_never_handed_out_again(tmp_path: Path) -> None:
    """A stale review button for a removed submission must not land on a new one with the same number."""
    store = await CharacterStore.open(sqlite_url(tmp_path / "ids.sqlite3"))
    try:
        vector = np.zeros(4, dtype=np.float32)
        fields = {"status": ReferenceStatus.PENDING, "tagger": "palette@1", "tag_vector": vector, "guild_id": 7}
        character, first = await store.enroll("Miku", phash="0" * 16, **fields)
        await store.remove_reference(first.id)
        await store.remove_character(character.id)
        again, second = await store.enroll("Miku", phash="f" * 16, **fields)
        assert second.id != first.id
        assert again.id != character.id
    finally:
        await store.close()
