"""The incremental embedding index: equal to a restack after any changes, and its shortlist equal to exact ranking.

The metric is a 1 - cosine "model" with the CCIP metric's signature (as benchmarks/embedding_scale.py uses);
the shortlist needs faiss (the `scale` extra), and without it the gallery ranks exactly.
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from bot.recognition import ann, embedding_index, embedding_rows
from bot.recognition.embedding_index import EVERY_GUILD, EmbeddingIndex
from bot.recognition.gallery import Gallery
from bot.recognition.vocabulary import Vocabulary
from tests.bot.records import approved_reference, character

DIM = 16
VOCABULARY = Vocabulary(tagger="toy@1", indices=np.array([0, 1]), names=("red_hair", "blue_hair"))
TAGS = np.array([0.5, 0.5], dtype=np.float32)


class CosineMetric:
    """1 - cosine similarity, counting the rows it scores."""

    identity = "cosine@1"
    threshold = 0.2

    def __init__(self) -> None:
        self.rows = 0

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        self.rows += len(references)
        unit = references / np.linalg.norm(references, axis=1, keepdims=True)
        return 1.0 - unit @ (query / np.linalg.norm(query))


def restacked(model: dict[int, tuple[int, int | None, int | None, np.ndarray]], guild: int | None) -> set:
    """(owner, vector) of every row the guild may see, from the plain dict the index should equal."""
    seen = set()
    for owner, character_scope, scope, vector in model.values():
        who = character_scope if character_scope is not None else scope
        if who is None or who == guild:
            seen.add((owner, tuple(vector.tolist())))
    return seen


def from_index(index: EmbeddingIndex, guild: int | None) -> set:
    view = index.view(guild)
    rows = np.flatnonzero(view.mask)
    return {(int(view.owners[row]), tuple(view.vectors[row].tolist())) for row in rows}


def test_the_index_equals_a_restack_through_adds_removes_scopes_and_compaction(monkeypatch) -> None:
    monkeypatch.setattr(embedding_index, "COMPACT_MIN", 8)
    rng = np.random.default_rng(3)
    index, model = EmbeddingIndex(), {}
    character_scopes: dict[int, int | None] = {}
    old_views = []
    for step in range(600):
        action = rng.random()
        if action < 0.55 or not model:
            reference_id, owner = int(rng.integers(1, 200)), int(rng.integers(1, 30))
            if reference_id in model:
                owner = model[reference_id][0]
            scope = [None, None, 7, 8][int(rng.integers(4))]
            vector = rng.normal(size=DIM).astype(np.float32)
            character_scope = character_scopes.setdefault(owner, [None, None, None, 7][int(rng.integers(4))])
            index.add(reference_id, owner, character_scope, scope, vector)
            model[reference_id] = (owner, character_scope, scope, vector)
        elif action < 0.9:
            reference_id = int(rng.choice(list(model)))
            index.remove(reference_id)
            del model[reference_id]
        else:  # a character promoted to global, or moved to a guild
            owner = int(rng.integers(1, 30))
            character_scopes[owner] = None if character_scopes.get(owner) is not None else 8
            index.set_character_scope(owner, character_scopes[owner])
            model = {r: (o, character_scopes[o] if o == owner else c, s, v) for r, (o, c, s, v) in model.items()}
        if step % 50 == 0:
            old_views.append((index.view(7), from_index(index, 7)))
        for guild in (None, 7, 8):
            assert from_index(index, guild) == restacked(model, guild)
        assert len(index) == len(model)
    for view, seen in old_views:  # a snapshot's rows are never written behind it, whatever came later
        rows = np.flatnonzero(view.mask)
        assert {(int(view.owners[row]), tuple(view.vectors[row].tolist())) for row in rows} == seen
    assert EVERY_GUILD == -1


def clustered_gallery(metric: CosineMetric, *, characters: int, refs: int, ann_min_rows: int | None) -> Gallery:
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(characters, DIM)).astype(np.float32)
    gallery = Gallery(VOCABULARY, metric=metric, ann_min_rows=ann_min_rows)
    for index in range(characters):
        record = character(index + 1, f"c{index + 1}")
        for ref in range(refs):
            vector = centres[index] + rng.normal(0, 0.3, DIM).astype(np.float32)
            vector = vector.astype(np.float16).astype(np.float32)  # as stored: an index of any size holds it exactly
            reference = approved_reference(
                index * refs + ref + 1,
                index + 1,
                (0.5, 0.5),
                tagger="toy@1",
                embedder=metric.identity,
                embedding=vector,
            )
            assert gallery.add(record, reference)
    return gallery


def top(gallery: Gallery, query: np.ndarray, count: int = 10) -> list[tuple[int, float]]:
    ranking = gallery.rank(TAGS, embedding=query)
    return [(c.character.id, round(c.distance, 6)) for c in ranking.candidates[:count]]


def test_the_shortlist_reranked_exactly_equals_the_exact_ranking() -> None:
    pytest.importorskip("faiss")
    exact_metric, ann_metric = CosineMetric(), CosineMetric()
    exact = clustered_gallery(exact_metric, characters=120, refs=3, ann_min_rows=None)
    approximate = clustered_gallery(ann_metric, characters=120, refs=3, ann_min_rows=50)
    assert approximate._embeddings.wait_for_shortlist(60)
    approximate._embeddings.shortlist = 360  # every row: the shortlist covers the exact top-10 for sure
    rng = np.random.default_rng(5)
    for _ in range(5):
        query = rng.normal(size=DIM).astype(np.float32)
        assert top(approximate, query) == top(exact, query)
    approximate._embeddings.shortlist = 40  # a real shortlist: fewer rows scored, the same leaders here
    before, query = ann_metric.rows, exact._embeddings.view(None).vectors[7] + 0.01
    assert top(approximate, query, 3) == top(exact, query, 3)
    assert ann_metric.rows - before < 360
    whole = approximate.snapshot(TAGS, embedding=query).references
    assert whole is not None and len(whole.exact().differences(ann_metric, query, 10)[0]) == 360


def test_without_faiss_the_gallery_ranks_exactly_and_says_so_once(monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)
    monkeypatch.setattr(ann, "_warned", False)
    caplog.set_level(logging.INFO, logger="bot.recognition.ann")
    metric = CosineMetric()
    gallery = clustered_gallery(metric, characters=30, refs=2, ann_min_rows=10)
    assert not gallery._embeddings.wait_for_shortlist(1) and gallery._embeddings.ann_min_rows is None
    exact = clustered_gallery(CosineMetric(), characters=30, refs=2, ann_min_rows=None)
    query = np.ones(DIM, dtype=np.float32)
    assert top(gallery, query) == top(exact, query)
    assert ann.load_faiss() is None
    assert sum("faiss is not installed" in record.message for record in caplog.records) == 1


def test_add_rows_equals_one_add_per_row_replacing_earlier_and_repeated_ids() -> None:
    rng = np.random.default_rng(8)
    single, bulk, model = EmbeddingIndex(), EmbeddingIndex(), {}
    for reference_id, owner, character_scope, scope in [(1, 10, None, None), (2, 10, None, 7), (3, 11, 8, None)]:
        vector = rng.normal(size=DIM).astype(np.float32)
        single.add(reference_id, owner, character_scope, scope, vector)
        bulk.add(reference_id, owner, character_scope, scope, vector)
        model[reference_id] = (owner, character_scope, scope, vector)
    ids = np.array([2, 4, 5, 4, 6])  # 2 replaces an earlier row; 4 is listed twice and keeps its last row
    owners = np.array([12, 13, 11, 14, 12])
    character_scopes = np.array([EVERY_GUILD, EVERY_GUILD, 8, EVERY_GUILD, 7])
    scopes = np.array([8, EVERY_GUILD, EVERY_GUILD, 7, EVERY_GUILD])
    vectors = rng.normal(size=(5, DIM)).astype(np.float32)
    bulk.add_rows(ids, owners, character_scopes, scopes, vectors)
    for position, reference_id in enumerate(ids.tolist()):
        owner, character_scope, scope = int(owners[position]), int(character_scopes[position]), int(scopes[position])
        character_scope = None if character_scope == EVERY_GUILD else character_scope
        scope = None if scope == EVERY_GUILD else scope
        single.add(reference_id, owner, character_scope, scope, vectors[position])
        model[reference_id] = (owner, character_scope, scope, vectors[position])
    for guild in (None, 7, 8):
        assert from_index(bulk, guild) == from_index(single, guild) == restacked(model, guild)
    assert len(bulk) == len(model) == 6
    assert bulk._slots_of == {10: [0], 11: [2, 4], 12: [3, 6], 14: [5]}  # slot 1 (id 2) was replaced
    copied = bulk.vectors_of([4, 1])
    assert copied.dtype == np.float32 and copied.shape == (2, DIM)
    held = np.stack([vectors[3], model[1][3]])
    assert np.array_equal(copied, held)
    copied[:] = 0  # a copy: the index keeps its rows
    assert np.array_equal(bulk.vectors_of([4]), held[:1])
    with pytest.raises(KeyError):
        bulk.vectors_of([99])
    with pytest.raises(ValueError):
        bulk.add_rows(np.array([1, 2]), np.array([1]), np.array([-1, -1]), np.array([-1, -1]), vectors[:2])


def test_add_rows_builds_the_shortlist_once_it_is_due() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(9)
    index = EmbeddingIndex(ann_min_rows=100)
    every = np.full(120, EVERY_GUILD)
    vectors = rng.normal(size=(120, DIM)).astype(np.float32)
    index.add_rows(np.arange(1, 121), np.arange(120) // 4, every, every, vectors)
    assert index.wait_for_shortlist(60)
    view = index.view(None)
    assert view.ann is not None and view.ann.search(vectors[17], 1).tolist() == [17]


def test_a_large_index_holds_float16_until_a_vector_would_not_survive_it() -> None:
    index = EmbeddingIndex(ann_min_rows=4)  # "large" from 4 rows here; the shortlist itself is not built
    index.ann_min_rows, index._build_when_due = 4, lambda: None
    small = np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32)
    every = np.full(3, EVERY_GUILD)
    index.add_rows(np.arange(3), np.arange(3), every, every, small)
    assert index.view(None).vectors.dtype == np.float32  # searched exactly: kept as given
    index.add_rows(np.arange(3, 6), np.arange(3), every, every, small)  # growth past 4 rows
    assert index.view(None).vectors.dtype == np.float16
    np.testing.assert_array_equal(index.vectors_of([4, 0]), small[[1, 0]].astype(np.float16))
    huge = np.array([1e6, 0.0, -1.0], dtype=np.float32)
    index.add_rows(np.array([9]), np.array([11]), np.array([EVERY_GUILD]), np.array([EVERY_GUILD]), huge[None, :])
    assert index.view(None).vectors.dtype == np.float32  # 1e6 is beyond float16: float32 from now on
    np.testing.assert_array_equal(index.vectors_of([9, 0]), np.stack([huge, small[0].astype(np.float16)]))


def test_widened_differences_equal_the_metric_on_the_rows_whatever_the_chunks(monkeypatch) -> None:
    """Through the reused buffer, chunk by chunk, with and without a row selection, the metric's own answer;
    even a metric that answers with a view of the rows it was given (the buffer is refilled after)."""
    monkeypatch.setattr(embedding_rows, "WIDEN_ROWS", 7)
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(40, DIM)).astype(np.float16)
    query = rng.normal(size=DIM).astype(np.float32)
    rows = np.sort(rng.choice(40, size=23, replace=False))

    class FirstColumn:
        def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
            assert references.dtype == np.float32 and references.flags.c_contiguous
            return references[:, 0]

    widen = embedding_rows.widened_differences
    wide = vectors.astype(np.float32)
    for metric in (CosineMetric(), FirstColumn()):
        for picked, found in ((wide, widen(metric, query, vectors)), (wide[rows], widen(metric, query, vectors, rows))):
            assert np.allclose(found, metric.differences_to(query, picked), rtol=0, atol=1e-6)
        assert np.array_equal(widen(FirstColumn(), query, vectors, rows), wide[rows, 0])
    assert embedding_rows.widened_differences(CosineMetric(), query, vectors, rows[:0]).shape == (0,)
