"""Faces against faces: a face crop ranks on the references' face embeddings, the whole picture on their wholes.

The metrics model is the 1 - cosine ONNX graph of test_embedding.py, so each vector is placed at the difference
the test needs from the query and the winner is known beforehand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.recognition.face_matching import faces_or_whole
from bot.recognition.gallery import Gallery
from bot.recognition.ranking import EmbeddingMatrix
from models.ccip import CcipMetric, load_ccip_metric
from models.sessions import SessionConfig
from tests.bot.fake_models import write_metrics
from tests.bot.recognition.test_embedding import QUERY, VOCABULARY, at_difference, reference
from tests.bot.records import character

TAGS = np.array([0.5, 0.5], dtype=np.float32)


@pytest.fixture(scope="module")
def metric(tmp_path_factory: pytest.TempPathFactory) -> CcipMetric:
    folder = write_metrics(tmp_path_factory.mktemp("ccip"))
    return load_ccip_metric(folder, name="ccip", version="t1", session_config=SessionConfig())


def with_face(character_id: int, whole: float, face: float | None, axis: int, *, guild_id: int | None = None):
    made = reference(character_id, at_difference(whole, axis), guild_id=guild_id)
    if face is None:
        return made
    return replace(made, face_embedding=at_difference(face, axis + 1), face_searched=True)


def ranked(gallery: Gallery, *, face: bool, guild_id: int | None = None) -> list[tuple[str, float]]:
    take = gallery.face_snapshot if face else gallery.snapshot
    ranking = take(TAGS, guild_id=guild_id, embedding=QUERY).rank()
    return [(c.character.name, round(c.distance, 4)) for c in ranking.candidates]


def test_a_face_crop_meets_faces_and_the_whole_picture_meets_wholes(metric: CcipMetric) -> None:
    gallery = Gallery(VOCABULARY, metric=metric)
    gallery.add(character(1, "Alice"), with_face(1, whole=0.30, face=0.05, axis=10))
    gallery.add(character(2, "Bea"), with_face(2, whole=0.10, face=0.40, axis=20))
    assert ranked(gallery, face=False) == [("Bea", 0.1), ("Alice", 0.3)]
    assert ranked(gallery, face=True) == [("Alice", 0.05), ("Bea", 0.4)]


def test_a_character_without_a_face_embedding_ranks_on_its_whole_pictures(metric: CcipMetric) -> None:
    gallery = Gallery(VOCABULARY, metric=metric)
    gallery.add(character(1, "Alice"), with_face(1, whole=0.30, face=0.15, axis=10))
    gallery.add(character(3, "Cora"), with_face(3, whole=0.08, face=None, axis=30))  # made before migration 0005
    assert ranked(gallery, face=True) == [("Cora", 0.08), ("Alice", 0.15)]
    # A face reference only one guild sees leaves the others with the character's whole pictures.
    gallery.add(character(4, "Dana"), with_face(4, whole=0.50, face=0.02, axis=40, guild_id=7))
    gallery.add(character(4, "Dana"), with_face(4, whole=0.45, face=None, axis=50))
    assert ranked(gallery, face=True, guild_id=7)[0] == ("Dana", 0.02)
    assert ("Dana", 0.45) in ranked(gallery, face=True, guild_id=8)


def test_the_face_matrix_follows_every_change(metric: CcipMetric) -> None:
    gallery = Gallery(VOCABULARY, metric=metric)
    gallery.add(character(1, "Alice"), with_face(1, whole=0.30, face=0.05, axis=10))
    assert ranked(gallery, face=True) == [("Alice", 0.05)]
    closer = with_face(2, whole=0.30, face=0.01, axis=20)
    gallery.add(character(2, "Bea"), closer)
    assert ranked(gallery, face=True)[0] == ("Bea", 0.01)
    gallery.remove_reference(closer.id)
    assert ranked(gallery, face=True) == [("Alice", 0.05)]


def test_faces_or_whole_adds_only_characters_missing_from_the_faces() -> None:
    rows = np.eye(3, dtype=np.float32)
    faces = EmbeddingMatrix(rows[:1], np.array([1]), np.array([-1]))
    whole = EmbeddingMatrix(rows, np.array([1, 2, 2]), np.array([-1, -1, 5]))
    merged = faces_or_whole(faces, whole)
    assert merged.owners.tolist() == [1, 2, 2] and merged.scopes.tolist() == [-1, -1, 5]
    np.testing.assert_array_equal(merged.vectors, rows)
    empty = EmbeddingMatrix.stack([])
    assert faces_or_whole(empty, whole) is whole
