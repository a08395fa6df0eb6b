"""Corrections: counted per character the answer named, within a window and a guild, with what people said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.corrections import Confusion
from bot.store.repository import CharacterStore
from tests.bot.store.samples import enroll_sample

GUILD = 42


async def test_corrections_are_counted_against_the_character_named(store: CharacterStore) -> None:
    alice, _ = await enroll_sample(store, "Alice", seed=1)
    bea, _ = await enroll_sample(store, "Bea", seed=2)
    for seed, name in ((10, "Midori"), (11, "Midori"), (12, "Bea")):
        _, submitted = await enroll_sample(store, name, seed=seed, guild_id=GUILD, status="pending")
        await store.record_correction(said_character_id=alice.id, reference_id=submitted.id, guild_id=GUILD, actor_id=7)
    _, elsewhere = await enroll_sample(store, "Zed", seed=13, guild_id=GUILD + 1, status="pending")
    await store.record_correction(said_character_id=bea.id, reference_id=elsewhere.id, guild_id=GUILD + 1, actor_id=8)
    await store.remove_reference(elsewhere.id)

    since = datetime.now(UTC) - timedelta(days=1)
    here = await store.most_confused(since=since, guild_id=GUILD)
    everywhere = await store.most_confused(since=since, all_scopes=True)
    later = await store.most_confused(since=datetime.now(UTC) + timedelta(seconds=5), all_scopes=True)

    assert here == (Confusion("Alice", 3, "Midori"),)
    assert everywhere == (Confusion("Alice", 3, "Midori"), Confusion("Bea", 1, None)), "a removed submission counts"
    assert later == ()
