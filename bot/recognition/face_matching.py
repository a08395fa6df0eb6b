"""Faces against faces: a query's face crop is compared with the references' face crops, never their whole pictures.

CCIP is meant for a picture of one character, and its per-pair threshold was calibrated on such pairs; a face crop
grown by the engine's margin is another distribution than an uncropped picture. So each reference also keeps the
embedding of its largest detected face (`InferenceJob.largest_face`, with the hub detector on), and a face region
(`RegionAnalysis.box` set: a picture with several faces) ranks against those. A picture with one face is identified
whole (`ImageAnalysis.regions`), against the references' whole pictures, as imgutils' CCIP intends.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bot.recognition.ranking import EmbeddingMatrix, RankingSnapshot


def faces_or_whole(faces: EmbeddingMatrix, whole: EmbeddingMatrix) -> EmbeddingMatrix:
    """The face rows, plus the whole-picture rows of every character that has no face row among them."""
    if not len(faces.owners):
        return whole
    kept = ~np.isin(whole.owners, faces.owners)
    if not kept.any():
        return faces
    return EmbeddingMatrix(
        np.concatenate([faces.vectors, whole.vectors[kept]]),
        np.concatenate([faces.owners, whole.owners[kept]]),
        np.concatenate([faces.scopes, whole.scopes[kept]]),
    )


class FaceMatching:
    """The face half of `Gallery` (a mixin): a second embedding matrix, of the references' largest faces.

    It reads the gallery's `_entries` (each reference's `face`) and follows its `_embedding_matrix`: the face
    matrix is rebuilt whenever that one is, so no change to the gallery has to remember it.
    """

    _entries: dict[int, Any]
    _face_rows: tuple[EmbeddingMatrix, EmbeddingMatrix] | None = None

    def face_snapshot(
        self,
        tag_probs: np.ndarray,
        *,
        guild_id: int | None = None,
        embedding: np.ndarray | None = None,
        blocks: dict[str, np.ndarray] | None = None,
    ) -> RankingSnapshot:
        """`snapshot` for a face crop: its embedding meets the references' face embeddings.

        Fallback: a character none of whose visible references has a face embedding (made before migration 0005
        and not reindexed, enrolled without the hub detector, or showing no face) is compared on its whole-picture
        embeddings, so it still ranks; for it the difference is a crop's to a whole picture, as before.
        """
        snapshot = self.snapshot(tag_probs, guild_id=guild_id, embedding=embedding, blocks=blocks)
        if snapshot.references is None:
            return snapshot
        return replace(snapshot, references=faces_or_whole(self._face_matrix().visible(guild_id), snapshot.references))

    def _face_matrix(self) -> EmbeddingMatrix:
        """Every indexed face embedding, scoped like its reference's whole embedding (see `_embedding_matrix`)."""
        whole = self._embedding_matrix()
        if self._face_rows is None or self._face_rows[0] is not whole:
            faces = EmbeddingMatrix.stack(
                (character_id, entry.character.guild_id or reference.guild_id, reference.face)
                for character_id, entry in self._entries.items()
                for reference in entry.vectors.values()
                if reference.face is not None
            )
            self._face_rows = (whole, faces)
        return self._face_rows[1]
