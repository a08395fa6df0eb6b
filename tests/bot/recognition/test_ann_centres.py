"""The characters' centres: a second shortlist keyed by owner, kept at the unit mean of each one's live rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bot.recognition.ann_centres import character_centres
from bot.recognition.embedding_index import EVERY_GUILD, EmbeddingIndex
from bot.recognition.embedding_rows import RowView

DIM = 16


def naive_centre(rows: np.ndarray) -> np.ndarray:
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    mean = unit.sum(axis=0)
    return mean / np.linalg.norm(mean)


def test_each_centre_is_the_unit_mean_of_the_owners_unit_rows_among_those_given() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((40, DIM)).astype(np.float32) * rng.uniform(0.5, 3, (40, 1)).astype(np.float32)
    owners = rng.integers(0, 9, 40)
    rows = np.flatnonzero(np.arange(40) % 7 != 3)  # some rows are not given (dead): they count for nobody
    ids, centres = character_centres(owners, vectors.astype(np.float16), rows)
    assert ids.tolist() == sorted(set(owners[rows].tolist()))
    for owner, centre in zip(ids.tolist(), centres, strict=True):
        mine = rows[owners[rows] == owner]
        expected = naive_centre(vectors[mine].astype(np.float16).astype(np.float32))
        assert np.allclose(centre.astype(np.float32), expected, atol=2e-3)
    empty_ids, empty = character_centres(owners, vectors, np.zeros(0, dtype=np.int64))
    assert len(empty_ids) == 0 and empty.shape == (0, DIM)


class Proposing:
    """A shortlist whose rows propose owner 1's row 0 only, and whose centres propose owner 2."""

    indexed = 6
    centres = SimpleNamespace(search=lambda query, count: np.array([2]))

    def __len__(self) -> int:
        return 6

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        return np.array([0])


def test_the_shortlist_proposes_the_characters_of_its_rows_and_of_its_centres() -> None:
    owners = np.array([1, 1, 2, 2, 3, 3])
    mask = np.array([True, True, True, False, True, True])  # row 3 (owner 2) is another guild's
    view = RowView(
        vectors=np.eye(6, DIM, dtype=np.float32),
        owners=owners,
        mask=mask,
        row_of_slot=np.arange(6),
        slots_of={1: [0, 1], 2: [2, 3], 3: [4, 5]},
        ann=Proposing(),
        shortlist=4,
    )
    proposed = view.proposed(np.ones(DIM, dtype=np.float32), needed=2)
    assert proposed is not None and proposed.tolist() == [0, 1, 2]  # owner 2's visible row only; owner 3 never


def test_the_feeder_moves_a_centre_when_her_references_change_and_drops_it_when_none_are_left() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(4)
    index = EmbeddingIndex(ann_min_rows=60)
    vectors = rng.standard_normal((80, DIM)).astype(np.float32)
    every = np.full(80, EVERY_GUILD)
    index.add_rows(np.arange(1, 81), np.arange(80) // 4, every, every, vectors)  # owners 0-19, ids 1-80
    assert index.wait_until_indexed(60)
    centres = index._ann.centres
    assert centres is not None and len(centres) == 20
    assert 5 in centres.search(naive_centre(vectors[20:24]), 3).tolist()
    moved = rng.standard_normal(DIM).astype(np.float32)
    for reference_id in (21, 22, 23):
        index.remove(reference_id)
    index.add(500, 5, None, None, moved)  # owner 5 now holds reference 24 and this one
    assert index.wait_until_indexed(60)
    assert len(centres) == 20
    assert centres.search(naive_centre(np.stack([vectors[23], moved])), 1).tolist() == [5]
    for reference_id in (5, 6, 7, 8):  # owner 1's every reference
        index.remove(reference_id)
    assert index.wait_until_indexed(60)
    assert len(centres) == 19 and 1 not in centres.search(naive_centre(vectors[4:8]), 19).tolist()
