"""The in-memory index of approved references of ONE tagger (and one embedder), ranked per character.

Queries never touch the database: the store is read once at start, and every approve, enroll or remove
updates the index (and the fitted block metric's statistics) at once; other processes' changes arrive
through `bot.services.gallery_loading.reload_characters`. With CCIP, characters rank by the mean of their
best-k CCIP differences (tag distance breaks ties); without, by the gallery-fitted block metric
(bot/recognition/blocks.py), or the tag profile when no block weights are given. A ranking starts as a
`RankingSnapshot` taken on the event loop; only its `rank` runs a model, so services finish it in a thread.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from bot.recognition.block_index import BlockIndex
from bot.recognition.blocks import BLOCK_UNKNOWN_DISTANCE as BLOCK_SCALE
from bot.recognition.blocks import TAGS_BLOCK, gap_shares
from bot.recognition.cutoff import first_cutoff
from bot.recognition.embedding import BEST_K, EmbeddingMetric
from bot.recognition.embedding_index import ANN_MIN_ROWS, EmbeddingIndex, EmbeddingRows
from bot.recognition.embedding_snapshot import embedding_snapshot
from bot.recognition.explanations import TagExplanations, visible
from bot.recognition.face_matching import FaceMatching
from bot.recognition.identity import ModelIdentity
from bot.recognition.profile import CharacterProfile, profile_distances
from bot.recognition.ranking import RankedCharacter, Ranking, RankingSnapshot, TagEvidence
from bot.recognition.reference_table import CharacterEntry, ReferenceTable
from bot.recognition.row_records import RowRecords
from bot.recognition.table_loading import add_columns, record_columns, take_columns
from bot.recognition.vocabulary import Vocabulary
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.reference_columns import ReferenceColumns

__all__ = ["Gallery", "RankedCharacter", "Ranking", "TagEvidence", "visible"]

log = logging.getLogger(__name__)
OTHER_MODELS = "reference %d was made by %s, the gallery uses %s; run `waifu-bot reindex`"


class Gallery(FaceMatching, TagExplanations):
    """Approved references of one tagger (and embedder) identity, grouped by character, with cached profiles."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        *,
        unknown_distance: float | None = None,
        metric: EmbeddingMetric | None = None,
        best_k: int = BEST_K,
        features: str | None = None,
        block_weights: Mapping[str, float] | None = None,
        shrinkage: float = 0.5,
        calibrated: float | None = None,
        ann_min_rows: int | None = ANN_MIN_ROWS,
    ) -> None:
        self.vocabulary = vocabulary
        self.features = features
        """Identity of the feature blocks compared (`ImageAnalysis.features`); others' blocks are left out."""
        self.blocks = BlockIndex(block_weights, shrink=shrinkage) if block_weights and metric is None else None
        """The fitted block metric that ranks without CCIP; None ranks by the tag profile alone."""
        self.tagger = vocabulary.tagger
        self.metric = metric
        self.embedder = metric.identity if metric is not None else None
        self.models = ModelIdentity(self.tagger, self.embedder)
        """The models whose vectors this gallery compares; see `ModelIdentity.accepts`."""
        self.best_k = best_k
        self.cutoff = first_cutoff(
            self.tagger, metric, blocks=self.blocks is not None, configured=unknown_distance, calibrated=calibrated
        )
        self.unknown_distance, self.unknown_difference = self.cutoff.distance, self.cutoff.difference
        self.skipped = 0
        """Approved references of other models left out by `load` (they wait for `waifu-bot reindex`)."""
        self._entries: dict[int, CharacterEntry] = {}
        self._table = ReferenceTable()
        """Every indexed reference's tag vector and blocks (its embeddings live in the embedding indexes alone)."""
        self._departed: dict[int, CharacterRecord] = {}
        """Records of characters removed lately, for rankings taken before they left (see `record`)."""
        self._embeddings = EmbeddingIndex(ann_min_rows=ann_min_rows)
        """Whole-picture embeddings (a row's scope is its character's, else its reference's); and faces."""
        self._faces = EmbeddingIndex(ann_min_rows=ann_min_rows)

    def accepts(self, reference: ReferenceRecord) -> bool:
        """Whether the reference's vectors come from this gallery's models (a gallery never mixes two)."""
        return self.models.accepts_reference(reference)

    def __len__(self) -> int:
        return len(self._table)

    @property
    def character_count(self) -> int:
        """Characters with at least one approved reference."""
        return len(self._entries)

    def reference_count(self, character_id: int) -> int:
        """Approved references of one character held in the index."""
        entry = self._entries.get(character_id)
        return len(entry.references) if entry else 0

    def add_many(self, pairs: Iterable[tuple[CharacterRecord, ReferenceRecord]]) -> int:
        """Index many approved references (records) at once: stacked into columns, then `add_columns`."""
        latest = {reference.id: (character, reference) for character, reference in pairs if self._accepted(reference)}
        characters = {character.id: character for character, _ in latest.values()}
        return self.add_columns(characters, record_columns(list(latest.values()), self.features))

    def reserve(self, references: int, characters: int = 0) -> None:
        """Room for this many references (and characters) before a load's partitions arrive, so none of them
        regrows the table or the block statistics (regrowing those per partition cost 0.6 s at 100k characters).
        """
        self._table.reserve(references)
        if self.blocks is not None:
            self.blocks.reserve(characters)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many `add_columns` (a load's partitions): the embedding shortlists are built once, after them all."""
        with self._embeddings.batch(), self._faces.batch():
            yield

    def add_columns(self, characters: Mapping[int, CharacterRecord], columns: ReferenceColumns) -> int:
        """Index a load's approved references of this gallery's models (`CharacterStore.gallery_columns`).

        No object per reference: the table, the block statistics and the embedding indexes each take whole
        matrices. References whose character is missing (removed between the two reads) are left out.
        """
        owners, inverse = np.unique(columns.owners, return_inverse=True)  # one look-up per character, not per row
        known = np.fromiter((owner in characters for owner in owners.tolist()), bool, len(owners))[inverse]
        if not known.all():
            columns = take_columns(columns, np.flatnonzero(known))
        for reference_id in self._table.held(columns.ids):
            self.remove_reference(reference_id)
        add_columns(self, characters, columns)
        return len(columns)

    def _accepted(self, reference: ReferenceRecord) -> bool:
        if reference.status is not ReferenceStatus.APPROVED:
            raise ValueError(f"reference {reference.id} is {reference.status}, only approved ones are indexed")
        if self.accepts(reference):
            return True
        made, used = f"{reference.tagger} / {reference.embedder}", f"{self.tagger} / {self.embedder}"
        log.warning(OTHER_MODELS, reference.id, made, used)
        return False

    def add(self, character: CharacterRecord, reference: ReferenceRecord) -> bool:
        """Index an approved reference; one made by other models is left out (False) until reindexed."""
        if not self._accepted(reference):
            return False
        self.remove_reference(reference.id)  # a later copy (or one re-filed to another character) replaces it
        entry = self._entries.setdefault(character.id, CharacterEntry(character))
        entry.character = character
        blocks = {TAGS_BLOCK: self.vocabulary.select(reference.tag_vector)}
        if self.features is not None and reference.features == self.features:
            blocks.update(reference.blocks)
        embedding = None
        if self.metric is not None and reference.embedding is not None:
            embedding = np.asarray(reference.embedding, dtype=np.float32)
        face = reference.face_embedding if embedding is not None else None
        self._index_embeddings(character, reference, embedding, face)
        self._table.add(reference.id, character.id, reference.guild_id, blocks)
        entry.references[reference.id] = reference.guild_id
        for view in self._table.views(reference.id) if self.blocks is not None else ():
            self.blocks.add(character.id, view, scope=reference.guild_id, character_scope=character.guild_id)
        entry.profiles.clear()
        return True

    def update_character(self, character: CharacterRecord) -> None:
        """Take a renamed, re-aliased or promoted character's new record."""
        entry = self._entries.get(character.id)
        if entry is not None:
            entry.character = character
            entry.profiles.clear()
            self._embeddings.set_character_scope(character.id, character.guild_id)
            self._faces.set_character_scope(character.id, character.guild_id)
            if self.blocks is not None:
                self.blocks.set_scope(character.id, character.guild_id)

    def remove_reference(self, reference_id: int) -> None:
        """Drop one reference (removed or rejected) and rebuild only its character."""
        character_id = self._table.owner(reference_id)
        entry = self._entries.get(character_id) if character_id is not None else None
        if entry is None or reference_id not in entry.references:
            return
        self._forget(entry.character.id, reference_id, entry.references.pop(reference_id))
        entry.profiles.clear()
        if not entry.references:
            self._depart(self._entries.pop(entry.character.id))

    def remove_character(self, character_id: int) -> None:
        """Drop a character and all its references."""
        if (entry := self._entries.pop(character_id, None)) is not None:
            self._depart(entry)
            for reference_id, guild_id in entry.references.items():
                self._forget(character_id, reference_id, guild_id)

    def _forget(self, character_id: int, reference_id: int, guild_id: int | None) -> None:
        """Take a reference out of the fitted metric's statistics, the table and the embedding indexes."""
        for view in self._table.views(reference_id) if self.blocks is not None else ():
            self.blocks.add(character_id, view, sign=-1, scope=guild_id)
        self._table.remove(reference_id)
        self._embeddings.remove(reference_id)
        self._faces.remove(reference_id)

    def visible_references(self, guild_id: int | None) -> list[tuple[CharacterRecord, int]]:
        """(character, reference id) of every indexed reference the guild may see, for /similar."""
        shown = (entry for entry in self._entries.values() if visible(entry.character.guild_id, guild_id))
        return [(e.character, i) for e in shown for i, guild in e.references.items() if visible(guild, guild_id)]

    def record(self, character_id: int) -> CharacterRecord:
        """A character's record; one removed since a ranking was taken is still answered from the departed."""
        entry = self._entries.get(character_id)
        return entry.character if entry is not None else self._departed[character_id]

    def _depart(self, entry: CharacterEntry) -> None:
        self._departed[entry.character.id] = entry.character
        if len(self._departed) > 4096:
            del self._departed[next(iter(self._departed))]

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
        self,
        tag_probs: np.ndarray,
        *,
        guild_id: int | None = None,
        embedding: np.ndarray | None = None,
        blocks: Mapping[str, np.ndarray] | None = None,
    ) -> RankingSnapshot:
        """What one ranking needs, taken now: visible characters, tag distances and embedding rows (cheap numpy).

        The snapshot never reads the gallery again, so its `rank` may run in a thread while the gallery changes.
        """
        query = self.vocabulary.select(tag_probs)
        if self.metric is not None and embedding is not None:  # every reference has an embedding then
            rows = self._embeddings.view(guild_id)
            return embedding_snapshot(self, query, guild_id, embedding, EmbeddingRows((rows,), int(rows.mask.sum())))
        if self.blocks is not None:
            plan = self.blocks.plan({**(blocks or {}), TAGS_BLOCK: query}, guild_id)
            if plan.calibrated:  # block scales need two characters; until then, the tag rule below

                def ranked() -> tuple[RowRecords, np.ndarray, np.ndarray]:
                    rows, scores = plan.compute()
                    return RowRecords(self, plan.ids[rows]), scores.combined, scores.absolute

                return RankingSnapshot(
                    (), np.zeros(0), self.unknown_distance, confidence_at=BLOCK_SCALE, deferred=ranked, heavy=plan.heavy
                )
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
        tag_threshold = self.cutoff.fallback if self.blocks is not None else self.unknown_distance
        return RankingSnapshot(tuple(characters), tag_distances, tag_threshold)

    def block_shares(
        self, tags: np.ndarray, blocks: Mapping[str, np.ndarray] | None, character: int, versus: int, guild: int | None
    ) -> dict[str, float]:
        """Each block's share of distance(versus) - distance(character) in the fitted metric; they sum to the gap."""
        if self.blocks is None:
            return {}
        rows, scores = self.blocks.scores_for({**(blocks or {}), TAGS_BLOCK: self.vocabulary.select(tags)}, guild)
        own, rival = self.blocks.row(character), self.blocks.row(versus)
        where = {int(row): index for index, row in enumerate(rows) if row in (own, rival)}
        if not scores.calibrated or own not in where or rival not in where:
            return {}
        return gap_shares(scores, where[own], where[rival])

    def _index_embeddings(self, character: CharacterRecord, reference: ReferenceRecord, whole, face) -> None:
        """Append the reference's whole-picture (and face) embedding rows; a later copy replaces the earlier."""
        for index, vector in ((self._embeddings, whole), (self._faces, face)):
            if vector is not None:
                index.add(reference.id, character.id, character.guild_id, reference.guild_id, vector)
            else:
                index.remove(reference.id)
