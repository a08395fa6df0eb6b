"""The statistics query: per-character counts fewest first, the guild's own queue, stale vectors, contributors."""

from __future__ import annotations

from bot.store.repository import CharacterStore
from tests.bot.store.samples import TAGGER, enroll_sample

GUILD = 42


async def test_statistics_count_what_a_guild_sees(store: CharacterStore) -> None:
    for seed in range(3):
        await enroll_sample(store, "Alice", seed=seed, submitted_by=7)
    await enroll_sample(store, "Bea", seed=10, submitted_by=8)
    await enroll_sample(store, "Bea", seed=11, tagger="other@2")
    await enroll_sample(store, "Own", seed=20, guild_id=GUILD, status="pending", submitted_by=9)
    await enroll_sample(store, "Elsewhere", seed=30, guild_id=GUILD + 1, submitted_by=9)

    seen = await store.statistics(tagger=TAGGER, embedder=None, guild_id=GUILD)
    everything = await store.statistics(tagger=TAGGER, embedder=None, all_scopes=True)

    assert seen.references_per_character == (("Own", 0), ("Bea", 2), ("Alice", 3))
    assert seen.pending == 1 and seen.oldest_pending is not None
    assert seen.other_model == 1
    assert seen.contributors == ((7, 3), (8, 1))
    assert [name for name, _ in everything.references_per_character] == ["Own", "Elsewhere", "Bea", "Alice"]
    assert everything.contributors == ((7, 3), (8, 1), (9, 1))


async def test_with_an_embedder_references_without_its_embedding_wait_for_reindex(store: CharacterStore) -> None:
    await enroll_sample(store, "Alice", seed=1)
    counted = await store.statistics(tagger=TAGGER, embedder="ccip@1")
    assert counted.other_model == 1
