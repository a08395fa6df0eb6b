"""The vectors of one reference analysis as the store takes them, so enrollment and reindex store the same things."""

from __future__ import annotations

from typing import Any

from bot.recognition.analysis import ImageAnalysis


def vectors_of(analysis: ImageAnalysis) -> dict[str, Any]:
    """Keyword arguments of `CharacterStore.enroll` and `update_reference_vectors` for a reference's analysis.

    The whole picture's vectors, and the embedding of its largest face (faces are compared with faces).
    """
    return {
        "tagger": analysis.tagger,
        "tag_vector": analysis.whole.tag_probs,
        "embedder": analysis.embedder,
        "embedding": analysis.whole.embedding,
        "features": analysis.features,
        "blocks": analysis.whole.blocks,
        "face_embedding": analysis.face_embedding,
        "face_searched": analysis.face_searched,
    }
