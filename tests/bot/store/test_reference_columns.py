"""A gallery's columnar load: the same references, vectors and characters as the per-record reads, in few queries."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import event

from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.gallery import Gallery
from bot.recognition.vocabulary import Vocabulary
from bot.services.gallery_loading import load_gallery
from bot.store import reference_columns
from bot.store.records import ReferenceStatus
from bot.store.reference_columns import NO_GUILD
from bot.store.repository import CharacterStore
from tests.bot.store.samples import TAGGER, enroll_sample, vector

GUILD = 555_555_555_555_555_555
EMBEDDER = "ccip@1"
FEATURES = "blocks@1"


async def fill(store: CharacterStore) -> None:
    """Global and guild references, two taggers, embeddings with and without a face, two feature recipes."""
    await enroll_sample(store, "Ada", seed=1, aliases=["エイダ", "Ada L."])
    await enroll_sample(store, "Ada", seed=2, guild_id=GUILD)
    await enroll_sample(
        store, "Bo", seed=3, features=FEATURES, blocks={"face": vector(30, 4), "mirror:face": vector(31, 4)}
    )
    await enroll_sample(store, "Bo", seed=4, features="blocks@0", blocks={"face": vector(40, 4)})
    await enroll_sample(store, "Cy", seed=5, embedder=EMBEDDER, embedding=vector(50, 8), face_embedding=vector(51, 8))
    await enroll_sample(store, "Cy", seed=6, embedder=EMBEDDER, embedding=vector(60, 8), face_searched=True)
    await enroll_sample(store, "Di", seed=7, tagger="other@1")
    await enroll_sample(store, "Ed", seed=8, status="pending")


async def test_columns_hold_what_the_records_hold(store: CharacterStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference_columns, "PARTITION", 2)  # several partitions, one ending mid-way
    await fill(store)
    records = [
        r for r in await store.list_references(status=ReferenceStatus.APPROVED, all_scopes=True) if r.tagger == TAGGER
    ]
    columns, characters = await store.gallery_columns(tagger=TAGGER, embedder=None, features=FEATURES)
    assert columns.ids.tolist() == [r.id for r in records]
    assert columns.owners.tolist() == [r.character_id for r in records]
    assert columns.scopes.tolist() == [NO_GUILD if r.guild_id is None else r.guild_id for r in records]
    np.testing.assert_array_equal(columns.tags, np.stack([r.tag_vector for r in records]))
    assert columns.embeddings is None and columns.faces is None  # a tag gallery never reads embeddings
    bo = next(i for i, r in enumerate(records) if r.features == FEATURES)
    for name in ("face", "mirror:face"):
        rows, vectors = columns.blocks[name]
        assert rows.tolist() == [bo]  # the other recipe's blocks are left out
        np.testing.assert_array_equal(vectors[0], records[bo].blocks[name])
    expected = {r.character_id: await store.get_character(r.character_id) for r in records}
    assert {owner: characters[owner] for owner in expected} == expected
    assert {c.name for c in characters.values()} == {"Ada", "Bo", "Cy", "Di", "Ed"}  # every character is read
    assert characters[records[0].character_id].aliases == ("エイダ", "Ada L.")


async def test_an_embedder_selects_its_references_and_their_faces(store: CharacterStore) -> None:
    await fill(store)
    columns, characters = await store.gallery_columns(tagger=TAGGER, embedder=EMBEDDER, features=None)
    records = [await store.get_reference(int(i)) for i in columns.ids]
    assert [r.embedder for r in records if r] == [EMBEDDER, EMBEDDER]
    assert {characters[owner].name for owner in columns.owners.tolist()} == {"Cy"}
    assert columns.embeddings is not None and columns.faces is not None
    np.testing.assert_array_equal(columns.embeddings[1], np.stack([r.embedding for r in records if r]))
    rows, faces = columns.faces
    assert rows.tolist() == [0]  # the second was searched and showed no face
    np.testing.assert_array_equal(faces[0], records[0].face_embedding)


async def test_the_load_takes_the_same_few_queries_for_any_size(
    store: CharacterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver_statements = []  # on SQLite the references' query goes to the driver itself, past SQLAlchemy's events
    streamed = reference_columns.driver_partitions

    def counted(session, statement, size):
        if store.engine.dialect.name == "sqlite":
            driver_statements.append(statement)
        return streamed(session, statement, size)

    monkeypatch.setattr(reference_columns, "driver_partitions", counted)

    async def statements() -> int:
        seen = []
        driver_statements.clear()
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(store.engine.sync_engine, "before_cursor_execute", listener)
        try:
            await store.gallery_columns(tagger=TAGGER, embedder=None, features=None)
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", listener)
        selects = sum(1 for statement in seen if statement.lstrip().upper().startswith("SELECT"))
        return selects + len(driver_statements)

    await fill(store)
    few = await statements()
    for seed in range(100, 160):
        await enroll_sample(store, f"Extra {seed}", seed=seed)
    assert await statements() == few == 4  # aliases, characters, the count, references


async def test_model_counts_say_what_other_models_made(store: CharacterStore) -> None:
    await fill(store)
    counts = await store.approved_model_counts()
    assert counts == {(TAGGER, None): 4, (TAGGER, EMBEDDER): 2, ("other@1", None): 1}
    async with store.gallery_stream(tagger=TAGGER, embedder=None, features=None) as (_, approved, partitions):
        assert approved == sum(counts.values())  # the cheap total a load reserves for and compares first
        assert sum([len(part) async for part in partitions]) == 6


async def test_a_load_in_many_partitions_equals_adding_each_record(
    store: CharacterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference_columns, "PARTITION", 2)
    await fill(store)
    vocabulary = Vocabulary(tagger=TAGGER, indices=np.arange(24), names=tuple(f"t{i}" for i in range(24)))
    weights = {TAGS_BLOCK: 1.0, "face": 1.0}
    loaded = await load_gallery(store, vocabulary, features=FEATURES, block_weights=weights)
    one_by_one = Gallery(vocabulary, features=FEATURES, block_weights=weights)
    for record in await store.list_references(status=ReferenceStatus.APPROVED, all_scopes=True):
        if record.tagger == TAGGER:
            one_by_one.add(await store.get_character(record.character_id), record)
    assert len(loaded) == len(one_by_one) == 6 and loaded.skipped == 1
    for guild in (None, GUILD):
        expected, got = (
            [(c.character.id, round(c.distance, 6)) for c in made.rank(vector(99), guild_id=guild).candidates]
            for made in (one_by_one, loaded)
        )
        assert got == expected
