"""Faces against faces: a query's face crop is compared with the references' face crops, never their whole pictures.

CCIP is meant for a picture of one character, and its per-pair threshold was calibrated on such pairs; a face crop
grown by the engine's margin is another distribution than an uncropped picture. So each reference also keeps the
embedding of its largest detected face (`InferenceJob.largest_face`, with the hub detector on), and a face region
(`RegionAnalysis.box` set: a picture with several faces) ranks against those. A picture with one face is identified
whole (`ImageAnalysis.regions`), against the references' whole pictures, as imgutils' CCIP intends.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.recognition.embedding_index import EmbeddingIndex, EmbeddingRows
from bot.recognition.ranking import RankingSnapshot


class FaceMatching:
    """The face half of `Gallery` (a mixin): a second embedding index, of the references' largest faces.

    The gallery keeps `_faces` beside `_embeddings` (the same scopes, updated by the same changes); a face
    snapshot meets the face rows first and, for characters with no visible face row, the whole rows.
    """

    _faces: EmbeddingIndex

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
        whole = snapshot.references
        if whole is None:
            return snapshot
        faces = self._faces.view(guild_id)
        if not faces.mask.any():
            return snapshot
        rows = EmbeddingRows((faces, *whole.parts), whole.count + int(faces.mask.sum()), faces_first=True)
        return replace(snapshot, references=rows)
