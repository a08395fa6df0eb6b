"""The bulk load (columns) builds the same gallery as adding references one by one; the table keeps rows by id."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.gallery import Gallery
from bot.recognition.reference_table import COMPACT_MIN, ReferenceTable
from bot.recognition.table_loading import record_columns
from bot.recognition.vocabulary import Vocabulary
from tests.bot.records import approved_reference, character

TAGGER = "toy@1"
FEATURES = "blocks-test"
VOCABULARY = Vocabulary(tagger=TAGGER, indices=np.array([0, 2, 3]), names=("a", "c", "d"))
WEIGHTS = {TAGS_BLOCK: 1.0, "face": 2.0}
GUILD = 77


def pairs(seed: int = 3) -> list:
    """Three characters (one a guild's), global and guild references, some with face blocks and mirrored views."""
    rng = np.random.default_rng(seed)
    made = []
    for cid, centre in ((1, 0.2), (2, 0.8), (3, 0.5)):
        owner = character(cid, f"C{cid}", guild_id=GUILD if cid == 3 else None)
        for i in range(4):
            record = approved_reference(10 * cid + i, cid, list(centre + rng.normal(0, 0.05, 4)), tagger=TAGGER)
            if i % 2 == 0:
                face = np.asarray(centre + rng.normal(0, 0.05, 2), dtype=np.float32)
                blocks = {"face": face, **({"mirror:face": face[::-1].copy()} if i == 0 else {})}
                record = replace(record, features=FEATURES, blocks=blocks)
            if cid == 1 and i == 3:
                record = replace(record, guild_id=GUILD)
            made.append((owner, record))
    return made


def both() -> tuple[Gallery, Gallery]:
    one_by_one = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    for owner, record in pairs():
        one_by_one.add(owner, record)
    bulk = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    assert bulk.add_many(pairs()) == len(pairs())
    return one_by_one, bulk


def ranked(gallery: Gallery, guild: int | None) -> list[tuple[int, float]]:
    query = np.array([0.3, 0.9, 0.3, 0.3, 0.3], dtype=np.float32)[:4]
    ranking = gallery.snapshot(query, guild_id=guild, blocks={"face": np.array([0.25, 0.2])}).rank()
    return [(c.character.id, round(c.distance, 6)) for c in ranking.candidates]


def test_the_bulk_load_ranks_exactly_as_one_by_one() -> None:
    one_by_one, bulk = both()
    assert len(bulk) == len(one_by_one) == 12 and bulk.character_count == 3
    for guild in (None, GUILD, 5):
        assert ranked(bulk, guild) == ranked(one_by_one, guild)
    for name in WEIGHTS:
        assert bulk.blocks.stats[name].counts == one_by_one.blocks.stats[name].counts
        np.testing.assert_allclose(bulk.blocks.stats[name].outer, one_by_one.blocks.stats[name].outer, atol=1e-9)
    assert bulk.evidence(np.full(4, 0.3, dtype=np.float32), 1, guild_id=None) == one_by_one.evidence(
        np.full(4, 0.3, dtype=np.float32), 1, guild_id=None
    )


def test_references_loaded_in_bulk_leave_one_by_one() -> None:
    _, bulk = both()
    before = bulk.blocks.stats["face"].total
    bulk.remove_reference(10)  # a face and its mirrored view
    assert bulk.blocks.stats["face"].total == before - 2 and bulk.reference_count(1) == 3
    for reference_id in (11, 12, 13):
        bulk.remove_reference(reference_id)
    assert bulk.character_count == 2 and not bulk.has_character(1)
    fresh = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    fresh.add_many([(owner, record) for owner, record in pairs() if record.character_id != 1])
    assert ranked(bulk, GUILD) == ranked(fresh, GUILD)


def test_a_reference_loaded_twice_counts_once() -> None:
    gallery = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    gallery.add_many(pairs())
    gallery.add_many(pairs())
    assert len(gallery) == 12 and gallery.blocks.stats[TAGS_BLOCK].total == 12


def test_the_table_finds_rows_by_id_through_growth_and_compaction() -> None:
    table = ReferenceTable()
    count = 3 * COMPACT_MIN
    ids = np.arange(1, count + 1)
    tags = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    table.append(ids, ids % 7, np.full(count, -1), {TAGS_BLOCK: (np.arange(count), tags)})
    table.add(count + 1, 3, None, {TAGS_BLOCK: np.array([-1.0, -2.0]), "face": np.array([9.0])})
    for reference_id in range(1, 2 * COMPACT_MIN + 10):  # past the compaction threshold
        table.remove(reference_id)
    kept = [count, 2 * COMPACT_MIN + 20, count + 1]
    np.testing.assert_array_equal(table.tags(kept), [tags[count - 1], tags[2 * COMPACT_MIN + 19], [-1.0, -2.0]])
    vectors, positions = table.column("face", kept)
    assert positions.tolist() == [2] and vectors.tolist() == [[9.0]]
    assert table.owner(count) == count % 7 and table.owner(5) is None
    assert len(table) == count + 1 - (2 * COMPACT_MIN + 9)
    assert table.held(np.array([5, count, count + 1, count + 2])) == [count, count + 1]  # 5 was removed
    assert table.held(np.array([count + 2, count + 9])) == []  # past every id appended


def test_references_of_a_character_missing_from_the_load_are_left_out() -> None:
    gallery = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    made = pairs()
    characters = {owner.id: owner for owner, _ in made if owner.id != 2}  # removed between the two reads
    assert gallery.add_columns(characters, record_columns(made, FEATURES)) == 8
    assert gallery.character_count == 2 and gallery.reference_count(2) == 0
    fresh = Gallery(VOCABULARY, features=FEATURES, block_weights=WEIGHTS)
    fresh.add_many([(owner, record) for owner, record in made if owner.id != 2])
    for guild in (None, GUILD):
        assert ranked(gallery, guild) == ranked(fresh, guild)
    np.testing.assert_array_equal(gallery._table.tags([10, 30]), fresh._table.tags([10, 30]))
