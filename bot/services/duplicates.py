"""Near-duplicate pictures: the perceptual hash says "same layout", the tags say whether it is the same drawing.

Enrollment refuses a picture that repeats a stored reference (pending or approved) or another picture of
its own batch, so the gallery never counts one drawing twice and a member learns which picture it repeats.
The stored references are found through an in-memory hash index (bot/recognition/hash_index.py), built
from one narrow store query at start and kept current by every write path, so a submission reads only
the records of the few references whose hash is near its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import imagehash
import numpy as np

from bot.errors import DuplicateReference
from bot.recognition.analysis import ImageAnalysis
from bot.recognition.gallery import Gallery, visible
from bot.recognition.hash_index import HashEntry, HashIndex, hash_value, hash_values
from bot.store.changes import ChangeFeed
from bot.store.hashes import ReferenceHashes
from bot.store.records import ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore

DISTINCT_TAG_GAP = 0.5
"""A vocabulary tag that differs this much means two pictures are not copies of each other. Measured with the
palette tagger: a JPEG q40 copy at 70% size moves no tag by more than 0.27 (8 dataset pictures), while the same
drawing in another character's colours moves its hair tags by more than 0.8."""


def hash_distance(first: str, second: str) -> int:
    """Hamming distance between two perceptual hashes written as hex."""
    return imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second)


class DuplicateCheck:
    """Finds what a new picture nearly repeats: a stored reference, or another analysed picture.

    The hash index follows this process's writes through `note`/`forget`/`forget_character`, and other
    processes' through its own audit-log feed, read before every check (`catch_up`), so a copy stored by
    the CLI a moment ago is refused as before. A candidate's record is read fresh before it counts, so an
    entry since rejected or removed elsewhere is passed over, never reported.
    """

    def __init__(self, store: CharacterStore, gallery: Gallery, *, max_distance: int = 4) -> None:
        self.store = store
        self.gallery = gallery
        """Read for its vocabulary at each check: a reload may change which tags count."""
        self.max_distance = max_distance
        self.index = HashIndex(max_distance)
        """Pending and approved references by hash; empty until `load` (the first check loads it if nobody did,
        and so does a check after `max_distance` grew past the distance the index was cut for)."""
        self.loaded = False
        self._reading = asyncio.Lock()
        self._feed: ChangeFeed | None = None
        """The audit log followed from the moment of `load`: how other processes' writes reach the index."""
        self._unapplied: tuple[set[int], set[int]] = (set(), set())
        """Characters and references changed elsewhere whose re-read failed, for the next `catch_up`."""
        self._journal: list[Callable[[], None]] | None = None
        """This process's changes made while a read awaits the store, replayed onto what it read."""

    async def load(self) -> None:
        """Build the index from one store query (hashes, scopes and statuses only); follow the audit log from then."""
        async with self._reading:
            feed = await ChangeFeed.start(self.store)  # before the read, so no change falls in between
            stored = await self._read(lambda: self.store.reference_hashes())
            values, usable = hash_values(stored.phashes)  # the store leaves rejected ones out already
            keep = np.flatnonzero(usable).tolist()
            self.index = HashIndex.from_columns(
                np.fromiter(stored.ids, np.int64, len(stored))[keep],
                values[keep],
                [stored.guild_ids[row] for row in keep],
                np.fromiter(stored.character_ids, np.int64, len(stored))[keep],
                [stored.statuses[row] for row in keep],
                self.max_distance,
            )
            self.loaded = True
            self._feed, self._unapplied = feed, (set(), set())
            self._replay()

    async def catch_up(self) -> int:
        """Re-read what other processes changed since the last look (one audit-log range scan when nothing did).

        An audit row naming a reference re-reads that reference; one naming only a character (removed, promoted)
        re-reads the character's references. Returns how many were re-read; on failure they wait for the next call.
        """
        if self._feed is None:
            return 0
        async with self._reading:
            characters, references = self._unapplied
            changes = await self._feed.poll_changes()
            for change in changes:
                if change.reference_id is not None:
                    references.add(change.reference_id)
                elif change.character_id is not None:
                    characters.add(change.character_id)
            if not (characters or references):
                return 0
            stored = await self._read(
                lambda: self.store.reference_hashes(character_ids=characters, reference_ids=references)
            )
            rows = _entries(stored)
            self.index.replace_characters(characters, [row for row in rows if row.character_id in characters])
            for reference_id in references.difference(row.reference_id for row in rows):
                self.index.remove(reference_id)  # removed or rejected
            for row in rows:
                if row.character_id not in characters:
                    self.index.add(row)  # added, approved, re-filed or promoted
            self._replay()
            applied = len(characters) + len(references)
            self._unapplied = (set(), set())
            return applied

    async def _read(self, query: Callable[[], Awaitable[ReferenceHashes]]) -> ReferenceHashes:
        """Run a hash query, noting this process's changes made while it awaits (see `_replay`)."""
        self._journal = []
        try:
            return await query()
        except BaseException:
            self._journal = None
            raise

    def _replay(self) -> None:
        """Apply again the changes made here during the read: a snapshot taken just before one committed lacks it."""
        journal, self._journal = self._journal or [], None
        for change in journal:
            change()

    def note(self, reference: ReferenceRecord) -> None:
        """A reference was stored, reviewed or re-filed here: index it as it now is (a rejected one leaves)."""
        self._apply(lambda: self._note(reference))

    def forget(self, reference_id: int) -> None:
        """A reference was removed (or rejected) here."""
        self._apply(lambda: self.index.remove(reference_id))

    def forget_character(self, character_id: int) -> None:
        """A character was removed here with all its references."""
        self._apply(lambda: self.index.replace_characters([character_id], ()))

    def _note(self, reference: ReferenceRecord) -> None:
        entry = _entry(reference)
        if entry is None:
            self.index.remove(reference.id)
        else:
            self.index.add(entry)

    def _apply(self, change: Callable[[], None]) -> None:
        if self.loaded:
            change()
        if self._journal is not None:
            self._journal.append(change)

    def is_duplicate(
        self, first_hash: str, second_hash: str, first_tags: np.ndarray | None, second_tags: np.ndarray | None
    ) -> int | None:
        """The hash distance when two pictures are near-duplicates, else None.

        The perceptual hash sees only grey levels, so a recoloured copy (another character drawn on the
        same layout) would pass as the same picture; when both have tag vectors of one tagger, a
        character-colour tag that moved by DISTINCT_TAG_GAP or more proves they differ.
        """
        distance = hash_distance(first_hash, second_hash)
        if distance > self.max_distance:
            return None
        if first_tags is not None and second_tags is not None and first_tags.shape == second_tags.shape:
            gap = np.abs(self.gallery.vocabulary.select(first_tags) - self.gallery.vocabulary.select(second_tags))
            if gap.size and float(gap.max()) >= DISTINCT_TAG_GAP:
                return None
        return distance

    def repeats(self, analysis: ImageAnalysis, other: ImageAnalysis) -> int | None:
        """The hash distance when two analysed pictures (one tagger) are near-duplicates, else None."""
        return self.is_duplicate(analysis.phash, other.phash, analysis.whole.tag_probs, other.whole.tag_probs)

    async def find_duplicate(
        self, analysis: ImageAnalysis, *, guild_id: int | None = None
    ) -> tuple[ReferenceRecord, int] | None:
        """The closest pending or approved reference visible from the guild that this picture nearly repeats.

        Ties go to the oldest reference. Only the index's candidates within the distance are read, closest first,
        until one passes the tag check; a picture without a 64-bit hash is near nothing.
        """
        if not self.loaded or self.max_distance > self.index.radius:
            await self.load()
        else:
            await self.catch_up()
        value = hash_value(analysis.phash)
        if value is None:
            return None
        for _, reference_id in self.index.near(value, guild_id=guild_id, radius=self.max_distance):
            reference = await self.store.get_reference(reference_id)
            if reference is None:
                self.forget(reference_id)  # removed by another process since the index last heard of it
                continue
            if reference.status is ReferenceStatus.REJECTED or not visible(reference.guild_id, guild_id):
                self.note(reference)  # rejected or moved elsewhere: the index learns it from the record
                continue
            same_model = reference.tagger == analysis.tagger
            distance = self.is_duplicate(
                analysis.phash,
                reference.phash,
                analysis.whole.tag_probs if same_model else None,
                reference.tag_vector if same_model else None,
            )
            if distance is not None:
                return reference, distance
        return None

    async def check_duplicate(self, analysis: ImageAnalysis, *, guild_id: int | None = None) -> None:
        """Raise DuplicateReference naming the reference this picture nearly repeats."""
        found = await self.find_duplicate(analysis, guild_id=guild_id)
        if found is not None:
            reference, distance = found
            character = await self.store.get_character(reference.character_id)
            name = character.name if character else f"character #{reference.character_id}"
            raise DuplicateReference(name, distance, reference.id)


def _entry(reference: ReferenceRecord) -> HashEntry | None:
    """The index entry of a pending or approved reference with a 64-bit hash; None for any other."""
    value = hash_value(reference.phash)
    if value is None or reference.status is ReferenceStatus.REJECTED:
        return None
    return HashEntry(reference.id, value, reference.guild_id, reference.character_id, reference.status.value)


def _entries(stored: ReferenceHashes) -> list[HashEntry]:
    """The index entries of a few re-read references (those with a 64-bit hash)."""
    columns = zip(stored.ids, stored.phashes, stored.guild_ids, stored.character_ids, stored.statuses, strict=True)
    return [
        HashEntry(reference_id, value, guild_id, character_id, status)
        for reference_id, phash, guild_id, character_id, status in columns
        if (value := hash_value(phash)) is not None
    ]
