"""Ranking rules on their own: embedding rows per guild scope, best-k scores, tie-breaks and the unknown verdict."""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.embedding import best_k_scores
from bot.recognition.embedding_index import EmbeddingIndex, EmbeddingRows
from bot.recognition.gallery import Gallery
from bot.recognition.ranking import rank_by_embedding, rank_by_tags
from bot.recognition.vocabulary import Vocabulary
from tests.bot.records import approved_reference, character

GUILD = 77


class FirstAxisMetric:
    """Difference = 1 - the reference's first coordinate, so each test writes the differences it wants."""

    identity = "toy@1"
    threshold = 0.3

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        return 1.0 - references[:, 0]


def row(character_id: int, scope: int | None, difference: float) -> tuple[int, int | None, np.ndarray]:
    return character_id, scope, np.array([1.0 - difference, 0.0], dtype=np.float32)


def indexed(rows: list[tuple[int, int | None, np.ndarray]]) -> EmbeddingIndex:
    index = EmbeddingIndex()
    for reference_id, (owner, scope, vector) in enumerate(rows, start=1):
        index.add(reference_id, owner, None, scope, vector)
    return index


def scores(index: EmbeddingIndex, guild_id: int | None, k: int) -> dict[int, float]:
    view = index.view(guild_id)
    rows = EmbeddingRows((view,), int(view.mask.sum()))
    return best_k_scores(*rows.differences(FirstAxisMetric(), np.zeros(2), 1), k) if rows.count else {}


def test_index_rows_keep_their_owner_and_scope() -> None:
    view = indexed([row(1, None, 0.1), row(2, GUILD, 0.2)]).view(GUILD)
    assert view.vectors.shape == (2, 2) and view.vectors.dtype == np.float32
    assert view.owners.tolist() == [1, 2] and view.mask.tolist() == [True, True]
    assert indexed([row(2, GUILD, 0.2)]).view(None).mask.tolist() == [False]
    assert scores(indexed([]), None, 3) == {}


def test_scores_average_the_best_k_rows_the_guild_may_see() -> None:
    index = indexed([row(1, None, 0.1), row(1, None, 0.3), row(1, None, 0.8), row(2, GUILD, 0.05), row(1, GUILD, 0.0)])
    everyone = scores(index, None, 2)
    assert everyone == {1: pytest.approx((0.1 + 0.3) / 2)}  # character 2's only row is the guild's
    in_guild = scores(index, GUILD, 2)
    assert in_guild == {1: pytest.approx((0.0 + 0.1) / 2), 2: pytest.approx(0.05)}
    assert scores(index, GUILD + 1, 2) == everyone


def test_embedding_ranking_breaks_ties_by_tags_and_ranks_missing_scores_last() -> None:
    alice, bea, cleo = character(1, "Alice"), character(2, "Bea"), character(3, "Cleo")
    ranking = rank_by_embedding(
        [alice, bea, cleo], {1: 0.2, 2: 0.2}, np.array([0.9, 0.1, 0.0]), threshold=FirstAxisMetric.threshold
    )
    assert [c.character.name for c in ranking.candidates] == ["Bea", "Alice", "Cleo"]
    assert ranking.measure == "embedding" and not ranking.unknown
    assert ranking.candidates[-1].distance == np.inf and ranking.candidates[-1].confidence == pytest.approx(0.0)
    assert ranking.position_of(3) == 3 and ranking.position_of(99) is None
    far = rank_by_embedding([alice], {1: 0.31}, np.array([0.0]), threshold=0.3)
    assert far.unknown


def test_tag_ranking_and_an_empty_gallery() -> None:
    alice, bea = character(1, "Alice"), character(2, "Bea")
    ranking = rank_by_tags([alice, bea], np.array([0.4, 0.2]), unknown_distance=0.3)
    assert [c.character.name for c in ranking.candidates] == ["Bea", "Alice"]
    assert [c.tag_distance for c in ranking.candidates] == pytest.approx([0.2, 0.4])
    assert not ranking.unknown and ranking.measure == "tags"
    assert rank_by_tags([alice], np.array([0.31]), unknown_distance=0.3).unknown
    empty = rank_by_tags([], np.zeros(0), unknown_distance=0.3)
    assert list(empty.candidates) == [] and empty.unknown
    assert rank_by_embedding([], {}, np.zeros(0), threshold=0.3).unknown


class CountingMetric(FirstAxisMetric):
    """FirstAxisMetric that counts its calls, to tell a ranking that ran the model from one that did not."""

    def __init__(self) -> None:
        self.calls = 0

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        self.calls += 1
        return super().differences_to(query, references)


def embedding_gallery(metric: FirstAxisMetric) -> Gallery:
    vocabulary = Vocabulary(tagger="toy@1", indices=np.array([0, 1]), names=("red_hair", "blue_hair"))
    gallery = Gallery(vocabulary, metric=metric)
    for reference_id, (character_id, name, difference) in enumerate(((1, "Ada", 0.1), (2, "Bo", 0.2)), start=1):
        embedding = row(character_id, None, difference)[2]
        reference = approved_reference(
            reference_id, character_id, (0.5, 0.5), tagger="toy@1", embedder=metric.identity, embedding=embedding
        )
        assert gallery.add(character(character_id, name), reference)
    return gallery


def test_a_snapshot_ranks_what_the_gallery_held_when_it_was_taken() -> None:
    metric = CountingMetric()
    gallery = embedding_gallery(metric)
    tags = np.array([0.5, 0.5], dtype=np.float32)
    snapshot = gallery.snapshot(tags, embedding=np.zeros(2, dtype=np.float32))
    assert snapshot.calls_model and metric.calls == 0  # taking it runs no model; `rank` does
    gallery.remove_character(1)
    gallery.add(
        character(3, "Cy"),
        approved_reference(9, 3, (0.5, 0.5), tagger="toy@1", embedder="toy@1", embedding=row(3, None, 0.0)[2]),
    )
    ranking = snapshot.rank()
    assert metric.calls == 1
    assert [c.character.name for c in ranking.candidates] == ["Ada", "Bo"]
    assert ranking.candidates[0].distance == pytest.approx(0.1)
    assert [c.character.name for c in gallery.rank(tags, embedding=np.zeros(2)).candidates] == ["Cy", "Bo"]


def test_a_snapshot_without_a_query_embedding_or_rows_runs_no_model() -> None:
    metric = CountingMetric()
    gallery = embedding_gallery(metric)
    tags = np.array([0.5, 0.5], dtype=np.float32)
    by_tags = gallery.snapshot(tags)
    assert not by_tags.calls_model and by_tags.rank().measure == "tags"
    empty = Gallery(gallery.vocabulary, metric=metric).snapshot(tags, embedding=np.zeros(2))
    assert not empty.calls_model and empty.rank().candidates == ()
    assert metric.calls == 0


def test_lazily_ordered_candidates_equal_a_stable_sort_wherever_read() -> None:
    rng = np.random.default_rng(2)
    distances = np.round(rng.random(500), 2)  # many ties
    records = [character(i + 1, f"C{i + 1}") for i in range(500)]
    ranking = rank_by_tags(records, distances, unknown_distance=1.0)
    order = np.argsort(distances, kind="stable")
    assert [c.character.id for c in ranking.candidates[:5]] == [records[i].id for i in order[:5]]
    assert ranking.candidates[137].character.id == records[order[137]].id
    assert [c.character.id for c in ranking.candidates] == [records[i].id for i in order]
    for place in (0, 1, 99, 250, 499):
        assert ranking.position_of(records[order[place]].id) == place + 1
    assert ranking.position_of(10_000) is None
