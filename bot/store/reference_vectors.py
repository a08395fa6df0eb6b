"""A reference's vectors as the `references` row stores them, checked and encoded before a transaction opens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.store.tables import Reference
from bot.store.vectors import encode_blocks, encode_vector

NO_FACE = b""
"""`references.face_embedding` of a reference whose picture was searched for a face and showed none (migration 0005);
NULL means it was never searched (made before the column existed, or without the hub face detector)."""


@dataclass(frozen=True)
class ReferenceVectors:
    """A reference's vectors, encoded before any transaction opens (bad input fails early)."""

    tagger: str
    tag_blob: bytes
    tag_dims: int
    embedder: str | None
    embedding_blob: bytes | None
    embedding_dims: int | None
    features: str | None = None
    blocks_blob: bytes | None = None
    face_blob: bytes | None = None
    """The largest face's embedding (same embedder and dims as `embedding`), `NO_FACE`, or None: not searched."""

    @classmethod
    def encode(
        cls,
        tagger: str,
        tag_vector: np.ndarray,
        embedder: str | None,
        embedding: np.ndarray | None,
        features: str | None = None,
        blocks: dict[str, np.ndarray] | None = None,
        *,
        face_embedding: np.ndarray | None = None,
        face_searched: bool = False,
    ) -> ReferenceVectors:
        """Check and encode; an embedding (or blocks) must name its models, and none means no model named.

        A face embedding comes from the whole picture's embedder, so it needs an embedding of the same length.
        """
        if embedding is not None and embedder is None:
            raise ValueError("an embedding needs the name@version of the model that made it")
        if blocks and features is None:
            raise ValueError("feature blocks need the identity of the recipe that made them")
        tag_blob, tag_dims = encode_vector(tag_vector)
        block_fields = (features, encode_blocks(blocks)) if blocks else (None, None)
        face_blob = NO_FACE if face_searched else None
        if embedding is None:
            if face_embedding is not None:
                raise ValueError("a face embedding needs the whole picture's embedding (the same embedder)")
            return cls(tagger, tag_blob, tag_dims, None, None, None, *block_fields)
        embedding_blob, embedding_dims = encode_vector(embedding)
        if face_embedding is not None:
            face_blob, face_dims = encode_vector(face_embedding)
            if face_dims != embedding_dims:
                raise ValueError(f"face embedding has {face_dims} values, the embedding {embedding_dims}")
        return cls(tagger, tag_blob, tag_dims, embedder, embedding_blob, embedding_dims, *block_fields, face_blob)

    def apply(self, reference: Reference) -> None:
        """Write these vectors onto a reference row."""
        reference.tagger, reference.tag_vector, reference.tag_dims = self.tagger, self.tag_blob, self.tag_dims
        reference.embedder, reference.embedding = self.embedder, self.embedding_blob
        reference.embedding_dims = self.embedding_dims
        reference.features, reference.blocks = self.features, self.blocks_blob
        reference.face_embedding = self.face_blob
