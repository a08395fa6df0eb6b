"""Which models made a set of vectors, and whether they compare with a gallery's: the one "current models?" rule.

Vectors of two taggers (or two CCIP embedders) live in different spaces, so a gallery never mixes them.
The gallery (which references it indexes), `identify` (which analyses it ranks) and `reindex` (which
references it recomputes) all ask this one question, so they can never disagree about the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.records import ReferenceRecord


@dataclass(frozen=True)
class ModelIdentity:
    """The tagger (and the CCIP embedder, when one is used) whose vectors are compared, as `name@version`."""

    tagger: str
    embedder: str | None = None

    def accepts(self, tagger: str, embedder: str | None) -> bool:
        """Whether vectors made by these models compare with ours: our tagger, and our embedder when we use one.

        Without an embedder only tag vectors are compared, so whatever embedder made the rest does not matter.
        """
        return tagger == self.tagger and (self.embedder is None or embedder == self.embedder)

    def accepts_reference(self, reference: ReferenceRecord) -> bool:
        """Whether a stored reference's vectors compare with ours (one with no embedding has no embedder's)."""
        embedder = reference.embedder if reference.embedding is not None else None
        return self.accepts(reference.tagger, embedder)

    def __str__(self) -> str:
        return f"{self.tagger} / {self.embedder}"
