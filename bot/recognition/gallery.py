"""The in-memory index of approved references of ONE tagger (and one embedder), ranked per character.

Queries never touch the database: the store is read once at start, and every approve, enroll or
remove updates the index at once; changes made by other processes (the CLI, a second bot on one
database) arrive through `bot.services.gallery_loading.reload_characters`. Only the character that
changed gets its profile rebuilt.
With an embedder (CCIP), characters are ranked by the mean of their best-k CCIP differences and the
tag-profile distance breaks ties and explains; without one, by the tag-profile distance alone.
A ranking starts as a `RankingSnapshot` taken where the gallery changes (the event loop); only its
`rank` runs the metric model, so the services finish it in a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from bot.recognition.embedding import BEST_K, EmbeddingMetric
from bot.recognition.identity import ModelIdentity
from bot.recognition.profile import (
    DEFAULT_UNKNOWN_DISTANCE,
    CharacterProfile,
    build_profile,
    contrast_evidence,
    profile_distances,
    tag_evidence,
)
from bot.recognition.ranking import (
    EmbeddingMatrix,
    RankedCharacter,
    Ranking,
    RankingSnapshot,
    TagEvidence,
)
from bot.recognition.vocabulary import Vocabulary
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus

__all__ = ["Gallery", "RankedCharacter", "Ranking", "TagEvidence", "visible"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class _Reference:
    guild_id: int | None
    tag_vector: np.ndarray
    """The vocabulary dims of the reference's tag vector."""
    embedding: np.ndarray | None


@dataclass
class _Entry:
    character: CharacterRecord
    vectors: dict[int, _Reference] = field(default_factory=dict)
    """reference id -> the reference's scope and vectors."""
    profiles: dict[int | None, CharacterProfile | None] = field(default_factory=dict)
    """Profile cache per querying guild (None: global references only)."""


def visible(owner_guild: int | None, guild_id: int | None) -> bool:
    """A global record serves everyone; a guild's record serves only that guild."""
    return owner_guild is None or owner_guild == guild_id


class Gallery:
    """Approved references of one tagger (and embedder) identity, grouped by character, with cached profiles."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        *,
        unknown_distance: float | None = None,
        metric: EmbeddingMetric | None = None,
        best_k: int = BEST_K,
    ) -> None:
        self.vocabulary = vocabulary
        self.tagger = vocabulary.tagger
        self.metric = metric
        self.embedder = metric.identity if metric is not None else None
        self.models = ModelIdentity(self.tagger, self.embedder)
        """The models whose vectors this gallery compares; see `ModelIdentity.accepts`."""
        self.best_k = best_k
        # One override, read in the active measure: CCIP difference with an embedder, else tag distance.
        if metric is None:
            self.unknown_distance = DEFAULT_UNKNOWN_DISTANCE if unknown_distance is None else unknown_distance
            self.unknown_difference: float | None = None
        else:
            self.unknown_distance = DEFAULT_UNKNOWN_DISTANCE
            self.unknown_difference = metric.threshold if unknown_distance is None else unknown_distance
        self.skipped = 0
        """Approved references of other models left out by `load` (they wait for `waifu-bot reindex`)."""
        self._entries: dict[int, _Entry] = {}
        self._matrix: EmbeddingMatrix | None = None

    def accepts(self, reference: ReferenceRecord) -> bool:
        """Whether the reference's vectors come from this gallery's models (a gallery never mixes two)."""
        return self.models.accepts_reference(reference)

    def __len__(self) -> int:
        return sum(len(entry.vectors) for entry in self._entries.values())

    @property
    def character_count(self) -> int:
        """Characters with at least one approved reference."""
        return len(self._entries)

    def reference_count(self, character_id: int) -> int:
        """Approved references of one character held in the index."""
        entry = self._entries.get(character_id)
        return len(entry.vectors) if entry else 0

    def add(self, character: CharacterRecord, reference: ReferenceRecord) -> bool:
        """Index an approved reference; one made by other models is left out (False) until reindexed."""
        if reference.status is not ReferenceStatus.APPROVED:
            raise ValueError(f"reference {reference.id} is {reference.status}, only approved ones are indexed")
        if not self.accepts(reference):
            log.warning(
                "reference %d was made by %s / %s, the gallery uses %s / %s; run `waifu-bot reindex`",
                reference.id,
                reference.tagger,
                reference.embedder,
                self.tagger,
                self.embedder,
            )
            return False
        entry = self._entries.setdefault(character.id, _Entry(character))
        entry.character = character
        embedding = None
        if self.metric is not None and reference.embedding is not None:
            embedding = np.asarray(reference.embedding, dtype=np.float32)
        entry.vectors[reference.id] = _Reference(
            reference.guild_id, self.vocabulary.select(reference.tag_vector), embedding
        )
        entry.profiles.clear()
        self._matrix = None
        return True

    def update_character(self, character: CharacterRecord) -> None:
        """Take a renamed, re-aliased or promoted character's new record."""
        entry = self._entries.get(character.id)
        if entry is not None:
            entry.character = character
            entry.profiles.clear()
            self._matrix = None

    def remove_reference(self, reference_id: int) -> None:
        """Drop one reference (removed or rejected) and rebuild only its character."""
        for character_id, entry in list(self._entries.items()):
            if entry.vectors.pop(reference_id, None) is not None:
                entry.profiles.clear()
                self._matrix = None
                if not entry.vectors:
                    del self._entries[character_id]
                return

    def remove_character(self, character_id: int) -> None:
        """Drop a character and all its references."""
        if self._entries.pop(character_id, None) is not None:
            self._matrix = None

    def has_character(self, character_id: int, *, guild_id: int | None = None) -> bool:
        """True when this guild can see at least one reference of the character."""
        entry = self._entries.get(character_id)
        return entry is not None and self._profile(entry, guild_id) is not None

    def rank(
        self, tag_probs: np.ndarray, *, guild_id: int | None = None, embedding: np.ndarray | None = None
    ) -> Ranking:
        """All characters visible from the guild, closest first: by CCIP when both sides have embeddings.

        This runs the metric model in the calling thread; on the event loop, use
        `bot.services.identify.rank_region`, which finishes the snapshot in a worker thread.
        """
        return self.snapshot(tag_probs, guild_id=guild_id, embedding=embedding).rank()

    def snapshot(
        self, tag_probs: np.ndarray, *, guild_id: int | None = None, embedding: np.ndarray | None = None
    ) -> RankingSnapshot:
        """What one ranking needs, taken now: visible characters, tag distances and embedding rows (cheap numpy).

        The snapshot never reads the gallery again, so its `rank` may run in a thread while the gallery changes.
        """
        query = self.vocabulary.select(tag_probs)
        characters: list[CharacterRecord] = []
        profiles: list[CharacterProfile] = []
        for entry in self._entries.values():
            if not visible(entry.character.guild_id, guild_id):
                continue
            profile = self._profile(entry, guild_id)
            if profile is not None:
                characters.append(entry.character)
                profiles.append(profile)
        tag_distances = np.asarray(profile_distances(query, profiles) if profiles else [], dtype=np.float64)
        snapshot = RankingSnapshot(tuple(characters), tag_distances, self.unknown_distance)
        if self.metric is None or embedding is None:
            return snapshot
        return replace(
            snapshot,
            metric=self.metric,
            query=np.array(embedding),
            references=self._embedding_matrix().visible(guild_id),
            k=self.best_k,
            threshold=float(self.unknown_difference),
        )

    def _embedding_matrix(self) -> EmbeddingMatrix:
        """The stacked embeddings, rebuilt after any change; a row's scope is its character's, else its own."""
        if self._matrix is None:
            self._matrix = EmbeddingMatrix.stack(
                (character_id, entry.character.guild_id or reference.guild_id, reference.embedding)
                for character_id, entry in self._entries.items()
                for reference in entry.vectors.values()
                if reference.embedding is not None
            )
        return self._matrix

    def evidence(
        self, tag_probs: np.ndarray, character_id: int, *, guild_id: int | None = None, versus: int | None = None
    ) -> list[TagEvidence]:
        """Signed per-tag evidence of the query for one character, strongest (either sign) first.

        With `versus` (another character's id) the evidence contrasts the two profiles, and each weight is
        that tag's share of the whole contrast, so the weights read as "how much of the difference".
        """
        profile = self._visible_profile(character_id, guild_id)
        if profile is None:
            return []
        query = self.vocabulary.select(tag_probs)
        rival = self._visible_profile(versus, guild_id) if versus is not None and versus != character_id else None
        if rival is None:
            weights = np.asarray(tag_evidence(query, profile), dtype=float)
        else:
            contrast = np.asarray(contrast_evidence(query, profile, rival), dtype=float)
            total = float(np.abs(contrast).sum())
            weights = contrast / total if total > 0 else contrast
        order = np.argsort(-np.abs(weights), kind="stable")
        return [
            TagEvidence(
                self.vocabulary.names[i],
                float(query[i]),
                float(profile.mean[i]),
                float(weights[i]),
                rival=None if rival is None else float(rival.mean[i]),
            )
            for i in order
        ]

    def _visible_profile(self, character_id: int, guild_id: int | None) -> CharacterProfile | None:
        entry = self._entries.get(character_id)
        return self._profile(entry, guild_id) if entry else None

    def _profile(self, entry: _Entry, guild_id: int | None) -> CharacterProfile | None:
        """The character's profile over the references this guild may see, built once per change."""
        if guild_id not in entry.profiles:
            vectors = [ref.tag_vector for ref in entry.vectors.values() if visible(ref.guild_id, guild_id)]
            entry.profiles[guild_id] = build_profile(np.stack(vectors)) if vectors else None
        return entry.profiles[guild_id]
