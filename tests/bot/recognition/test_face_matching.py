"""Faces against faces: a face crop ranks on the references' face embeddings, the whole picture on their wholes.

The metrics model is the 1 - cosine ONNX graph of test_embedding.py, so each vector is placed at the difference
the test needs from the query and the winner is known beforehand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.recognition.embedding_index import EmbeddingIndex, EmbeddingRows
from bot.recognition.gallery import Gallery
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


class RowNumberMetric:
    """Difference = the reference's first coordinate, so a test can tell which rows were scored."""

    identity = "toy@1"
    threshold = 0.5

    def differences_to(self, query: np.ndarray, references: np.ndarray) -> np.ndarray:
        return references[:, 0]


def test_whole_rows_count_only_for_characters_missing_from_the_visible_faces() -> None:
    faces, whole = EmbeddingIndex(), EmbeddingIndex()
    faces.add(1, 1, None, None, [10.0, 0.0])
    faces.add(4, 3, None, 5, [40.0, 0.0])  # character 3's face is guild 5's: other guilds see its wholes
    for reference_id, owner, scope in ((1, 1, None), (2, 2, None), (3, 2, 5), (5, 3, None)):
        whole.add(reference_id, owner, None, scope, [float(reference_id), 0.0])
    for guild, expected in ((5, {1: [10.0], 2: [2.0, 3.0], 3: [40.0]}), (6, {1: [10.0], 2: [2.0], 3: [5.0]})):
        views = (faces.view(guild), whole.view(guild))
        rows = EmbeddingRows(views, sum(int(view.mask.sum()) for view in views), faces_first=True)
        differences, owners = rows.differences(RowNumberMetric(), np.zeros(2), 1)
        found = {int(owner): sorted(differences[owners == owner].tolist()) for owner in np.unique(owners)}
        assert found == expected
