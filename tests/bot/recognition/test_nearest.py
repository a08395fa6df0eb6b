"""The reference search by CCIP: each reference's own difference, references without an embedding left out."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bot.recognition.nearest import ReferenceSearch
from bot.store.records import CharacterRecord


class L2Metric:
    """A stand-in CCIP metric: the Euclidean difference."""

    identity = "l2@1"
    threshold = 1.0

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        return np.linalg.norm(references - query[None, :], axis=1)


def test_embedding_search_orders_references_by_their_own_difference() -> None:
    alice = CharacterRecord(1, "Alice", None, (), None, datetime.now(UTC))
    bea = CharacterRecord(2, "Bea", None, (), None, datetime.now(UTC))
    embeddings = (np.array([[0.0, 3.0], [0.0, 1.0], [2.0, 0.0]]), np.array([0, 2, 3]))  # reference 11 has none
    search = ReferenceSearch(
        owners=(alice, alice, bea, bea),
        reference_ids=(10, 11, 12, 13),
        tags=np.zeros((4, 2)),
        blocks={},
        embeddings=embeddings,
        query_tags=np.zeros(2),
        query_blocks={},
        query_embedding=np.zeros(2),
        metric=L2Metric(),
    )
    assert search.measure == "embedding" and search.calls_model
    nearest = search.nearest(5)
    assert [(n.reference_id, n.character.name, n.distance) for n in nearest] == [
        (12, "Bea", 1.0),
        (13, "Bea", 2.0),
        (10, "Alice", 3.0),
    ], "reference 11 has no embedding to compare"
    assert [n.reference_id for n in search.nearest(1)] == [12]
