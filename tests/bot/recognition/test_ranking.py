"""Ranking rules on their own: embedding rows per guild scope, best-k scores, tie-breaks and the unknown verdict."""

from __future__ import annotations

import numpy as np
import pytest

from bot.recognition.ranking import EVERY_GUILD, EmbeddingMatrix, rank_by_embedding, rank_by_tags
from tests.bot.records import character

GUILD = 77


class FirstAxisMetric:
    """Difference = 1 - the reference's first coordinate, so each test writes the differences it wants."""

    identity = "toy@1"
    threshold = 0.3

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        return 1.0 - references[:, 0]


def row(character_id: int, scope: int | None, difference: float) -> tuple[int, int | None, np.ndarray]:
    return character_id, scope, np.array([1.0 - difference, 0.0], dtype=np.float32)


def test_matrix_rows_keep_their_owner_and_scope() -> None:
    matrix = EmbeddingMatrix.stack([row(1, None, 0.1), row(2, GUILD, 0.2)])
    assert matrix.vectors.shape == (2, 2) and matrix.vectors.dtype == np.float32
    assert matrix.owners.tolist() == [1, 2]
    assert matrix.scopes.tolist() == [EVERY_GUILD, GUILD]
    assert EmbeddingMatrix.stack([]).scores(FirstAxisMetric(), np.zeros(2), guild_id=None, k=3) == {}


def test_scores_average_the_best_k_rows_the_guild_may_see() -> None:
    matrix = EmbeddingMatrix.stack(
        [row(1, None, 0.1), row(1, None, 0.3), row(1, None, 0.8), row(2, GUILD, 0.05), row(1, GUILD, 0.0)]
    )
    metric = FirstAxisMetric()
    everyone = matrix.scores(metric, np.zeros(2), guild_id=None, k=2)
    assert everyone == {1: pytest.approx((0.1 + 0.3) / 2)}  # character 2's only row is the guild's
    in_guild = matrix.scores(metric, np.zeros(2), guild_id=GUILD, k=2)
    assert in_guild == {1: pytest.approx((0.0 + 0.1) / 2), 2: pytest.approx(0.05)}
    assert matrix.scores(metric, np.zeros(2), guild_id=GUILD + 1, k=2) == everyone


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
    assert empty.candidates == () and empty.unknown
    assert rank_by_embedding([], {}, np.zeros(0), threshold=0.3).unknown
