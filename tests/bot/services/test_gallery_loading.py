"""Reloading only the characters another process changed, from a real (SQLite) store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

from bot.recognition.vocabulary import Vocabulary
from bot.services.gallery_loading import load_gallery, reload_characters
from bot.store.database import sqlite_url
from bot.store.repository import CharacterStore
from tests.bot.store.samples import TAGGER, enroll_sample, vector

DIMS = 24
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.arange(DIMS), names=tuple(f"tag{i}" for i in range(DIMS)))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CharacterStore]:
    opened = await CharacterStore.open(sqlite_url(tmp_path / "store.sqlite3"))
    yield opened
    await opened.close()


async def test_reload_takes_the_current_state_of_the_listed_characters_only(store: CharacterStore) -> None:
    anna, _ = await enroll_sample(store, "Anna", seed=1)
    await enroll_sample(store, "Anna", seed=2)
    bert, _ = await enroll_sample(store, "Bert", seed=3)
    carl, _ = await enroll_sample(store, "Carl", seed=4)
    gallery = await load_gallery(store, VOCABULARY)
    assert gallery.character_count == 3

    # Another process: Anna renamed, one more reference and one of another model; Bert removed;
    # Dora new with a pending submission only; Erik new; Carl renamed but not in the reload list.
    await store.rename_character(anna.id, "Anne")
    await enroll_sample(store, "Anne", seed=5)
    await enroll_sample(store, "Anne", seed=6, tagger="other@2", tag_vector=vector(6, dims=8))
    await store.remove_character(bert.id)
    dora, _ = await enroll_sample(store, "Dora", seed=7, status="pending")
    erik, _ = await enroll_sample(store, "Erik", seed=8)
    await store.rename_character(carl.id, "Karl")

    reloaded = await reload_characters(gallery, store, [anna.id, bert.id, dora.id, erik.id, anna.id])
    assert reloaded == 4
    assert gallery.reference_count(anna.id) == 3
    assert gallery.reference_count(bert.id) == 0 and not gallery.has_character(bert.id)
    assert not gallery.has_character(dora.id)  # pending references serve nobody
    assert gallery.reference_count(erik.id) == 1
    ranking = gallery.rank(vector(5))
    names = {candidate.character.id: candidate.character.name for candidate in ranking.candidates}
    assert names == {anna.id: "Anne", carl.id: "Carl", erik.id: "Erik"}  # Carl waits for his own reload

    assert await reload_characters(gallery, store, [carl.id]) == 1
    assert {c.character.name for c in gallery.rank(vector(5)).candidates} == {"Anne", "Karl", "Erik"}
    assert await reload_characters(gallery, store, []) == 0


async def test_a_load_reads_the_store_in_a_few_queries_whatever_the_number_of_characters(store: CharacterStore) -> None:
    async def statements_to_load() -> tuple[int, int]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        event.listen(store.engine.sync_engine, "before_cursor_execute", count)
        try:
            gallery = await load_gallery(store, VOCABULARY)
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", count)
        return len(seen), gallery.character_count

    for index in range(3):
        await enroll_sample(store, f"Character {index}", seed=index + 1)
    few, three = await statements_to_load()
    for index in range(3, 30):
        await enroll_sample(store, f"Character {index}", seed=index + 1)
    many, thirty = await statements_to_load()
    assert (three, thirty) == (3, 30)
    assert many == few  # no query per character


async def test_references_of_other_models_are_counted_per_model_only_when_there_are_some(
    store: CharacterStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked = []
    per_model = store.approved_model_counts

    async def counted() -> dict[tuple[str, str | None], int]:
        asked.append(True)
        return await per_model()

    monkeypatch.setattr(store, "approved_model_counts", counted)
    for index in range(3):
        await enroll_sample(store, f"Character {index}", seed=index + 1)
    gallery = await load_gallery(store, VOCABULARY)
    assert (len(gallery), gallery.skipped, asked) == (3, 0, [])  # every approved reference was read: no full count
    await enroll_sample(store, "Stale", seed=9, tagger="older-tagger@0")
    gallery = await load_gallery(store, VOCABULARY)
    assert (len(gallery), gallery.skipped, len(asked)) == (3, 1, 1)
    assert "older-tagger@0" in caplog.text and "waifu-bot reindex" in caplog.text
