"""The in-memory index of approved references of ONE tagger, ranked by distance to character profiles.

Queries never touch the database: the store is read once at start, and every approve, enroll or
remove updates the index at once. Only the character that changed gets its profile rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.profile import (
    DEFAULT_UNKNOWN_DISTANCE,
    CharacterProfile,
    build_profile,
    distance_to_confidence,
    profile_distances,
    tag_evidence,
)
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.vocabulary import Vocabulary


@dataclass(frozen=True)
class RankedCharacter:
    """One character's place in a ranking of a query region."""

    character: CharacterRecord
    distance: float
    confidence: float


@dataclass(frozen=True)
class Ranking:
    """Every visible character, closest first; `unknown` when even the closest is too far."""

    candidates: tuple[RankedCharacter, ...]
    unknown: bool

    def position_of(self, character_id: int) -> int | None:
        """1-based rank of a character, or None when it has no visible references."""
        for position, candidate in enumerate(self.candidates, start=1):
            if candidate.character.id == character_id:
                return position
        return None


@dataclass(frozen=True)
class TagEvidence:
    """How one vocabulary tag speaks for (weight > 0) or against (weight < 0) a character."""

    tag: str
    image: float
    character: float
    weight: float


@dataclass
class _Entry:
    character: CharacterRecord
    vectors: dict[int, tuple[int | None, np.ndarray]] = field(default_factory=dict)
    """reference id -> (reference guild, vocabulary vector)."""
    profiles: dict[int | None, CharacterProfile | None] = field(default_factory=dict)
    """Profile cache per querying guild (None: global references only)."""


def visible(owner_guild: int | None, guild_id: int | None) -> bool:
    """A global record serves everyone; a guild's record serves only that guild."""
    return owner_guild is None or owner_guild == guild_id


class Gallery:
    """Approved references of one tagger identity, grouped by character, with cached profiles."""

    def __init__(self, vocabulary: Vocabulary, *, unknown_distance: float | None = None) -> None:
        self.vocabulary = vocabulary
        self.tagger = vocabulary.tagger
        self.unknown_distance = DEFAULT_UNKNOWN_DISTANCE if unknown_distance is None else unknown_distance
        self._entries: dict[int, _Entry] = {}

    @classmethod
    async def load(cls, store, vocabulary: Vocabulary, *, unknown_distance: float | None = None) -> Gallery:
        """Read every approved reference of this tagger from the store, in every scope."""
        gallery = cls(vocabulary, unknown_distance=unknown_distance)
        references = await store.list_references(
            status=ReferenceStatus.APPROVED, tagger=vocabulary.tagger, all_scopes=True
        )
        characters: dict[int, CharacterRecord] = {}
        for reference in references:
            if reference.character_id not in characters:
                record = await store.get_character(reference.character_id)
                if record is None:
                    continue
                characters[reference.character_id] = record
            gallery.add(characters[reference.character_id], reference)
        return gallery

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

    def add(self, character: CharacterRecord, reference: ReferenceRecord) -> None:
        """Index an approved reference; references of another tagger or status are refused loudly."""
        if reference.tagger != self.tagger:
            raise ValueError(f"reference {reference.id} was made by {reference.tagger}, gallery is {self.tagger}")
        if reference.status is not ReferenceStatus.APPROVED:
            raise ValueError(f"reference {reference.id} is {reference.status}, only approved ones are indexed")
        entry = self._entries.setdefault(character.id, _Entry(character))
        entry.character = character
        entry.vectors[reference.id] = (reference.guild_id, self.vocabulary.select(reference.tag_vector))
        entry.profiles.clear()

    def update_character(self, character: CharacterRecord) -> None:
        """Take a renamed, re-aliased or promoted character's new record."""
        entry = self._entries.get(character.id)
        if entry is not None:
            entry.character = character
            entry.profiles.clear()

    def remove_reference(self, reference_id: int) -> None:
        """Drop one reference (removed or rejected) and rebuild only its character."""
        for character_id, entry in list(self._entries.items()):
            if entry.vectors.pop(reference_id, None) is not None:
                entry.profiles.clear()
                if not entry.vectors:
                    del self._entries[character_id]
                return

    def remove_character(self, character_id: int) -> None:
        """Drop a character and all its references."""
        self._entries.pop(character_id, None)

    def has_character(self, character_id: int, *, guild_id: int | None = None) -> bool:
        """True when this guild can see at least one reference of the character."""
        entry = self._entries.get(character_id)
        return entry is not None and self._profile(entry, guild_id) is not None

    def rank(self, tag_probs: np.ndarray, *, guild_id: int | None = None) -> Ranking:
        """All characters visible from the guild, closest profile first."""
        query = self.vocabulary.select(tag_probs)
        visible_entries: list[tuple[_Entry, CharacterProfile]] = []
        for entry in self._entries.values():
            if not visible(entry.character.guild_id, guild_id):
                continue
            profile = self._profile(entry, guild_id)
            if profile is not None:
                visible_entries.append((entry, profile))
        if not visible_entries:
            return Ranking(candidates=(), unknown=True)
        distances = np.asarray(profile_distances(query, [profile for _, profile in visible_entries]), dtype=float)
        confidences = np.asarray(distance_to_confidence(distances), dtype=float)
        order = np.argsort(distances, kind="stable")
        candidates = tuple(
            RankedCharacter(visible_entries[i][0].character, float(distances[i]), float(confidences[i])) for i in order
        )
        return Ranking(candidates=candidates, unknown=candidates[0].distance > self.unknown_distance)

    def evidence(self, tag_probs: np.ndarray, character_id: int, *, guild_id: int | None = None) -> list[TagEvidence]:
        """Signed per-tag evidence of the query for one character, strongest (either sign) first."""
        entry = self._entries.get(character_id)
        profile = self._profile(entry, guild_id) if entry else None
        if profile is None:
            return []
        query = self.vocabulary.select(tag_probs)
        weights = np.asarray(tag_evidence(query, profile), dtype=float)
        order = np.argsort(-np.abs(weights), kind="stable")
        return [
            TagEvidence(self.vocabulary.names[i], float(query[i]), float(profile.mean[i]), float(weights[i]))
            for i in order
        ]

    def _profile(self, entry: _Entry, guild_id: int | None) -> CharacterProfile | None:
        """The character's profile over the references this guild may see, built once per change."""
        if guild_id not in entry.profiles:
            vectors = [vector for owner, vector in entry.vectors.values() if visible(owner, guild_id)]
            entry.profiles[guild_id] = build_profile(np.stack(vectors)) if vectors else None
        return entry.profiles[guild_id]
