"""Near-duplicate lookup over 64-bit perceptual hashes by multi-index hashing, kept in memory.

Cut into r + 1 chunks, two hashes within Hamming distance r agree exactly on at least one chunk (pigeonhole),
so a lookup reads r + 1 buckets and checks only their members with one XOR and popcount instead of comparing
with every reference: at 500k random hashes and r = 4 (13-bit chunks) that is about 300 candidates. Chosen
over pybktree (pure Python, no removal, a radius-4 search visits a large share of the tree) and faiss's binary
multi-hash index (a large dependency without a per-guild filter); updates are O(bucket), removal included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

HASH_BITS = 64
STATUSES = ("pending", "approved")
"""What an entry may be: a rejected picture repeats nothing, so it is never indexed."""
FULL_SCAN_RADIUS = 16
"""From this radius on chunks would be 3 bits or less and match nearly everything: every entry is checked."""
_GLOBAL = -1
"""Guild column value of a global entry (Discord ids are positive)."""
HASH_HEX_DIGITS = 16
_HEX = re.compile(r"[0-9a-fA-F]{16}")
_NOT_HEX = 255
_NIBBLES = np.full(256, _NOT_HEX, np.uint8)
for _digit in "0123456789abcdefABCDEF":
    _NIBBLES[ord(_digit)] = int(_digit, 16)
_BYTE_BITS = np.array([bin(byte).count("1") for byte in range(256)], np.uint8)


def hash_value(text: str) -> int | None:
    """The integer of a 64-bit perceptual hash written as 16 hex digits (imagehash's `str`), else None."""
    return int(text, 16) if _HEX.fullmatch(text) else None


def hash_values(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`hash_value` of many hashes at once: the uint64 values, and which texts were 16 hex digits (the others 0)."""
    count = len(texts)
    sized = np.fromiter((len(text) == HASH_HEX_DIGITS and text.isascii() for text in texts), bool, count)
    if not count:
        return np.zeros(0, np.uint64), sized
    joined = "".join(text if ok else "0" * HASH_HEX_DIGITS for text, ok in zip(texts, sized, strict=True))
    digits = _NIBBLES[np.frombuffer(joined.encode("ascii"), np.uint8)].reshape(count, HASH_HEX_DIGITS)
    valid = sized & (digits != _NOT_HEX).all(axis=1)
    nibbles = np.where(valid[:, None], digits, 0).astype(np.uint64)
    weights = np.uint64(1) << (np.uint64(4) * np.arange(HASH_HEX_DIGITS - 1, -1, -1, dtype=np.uint64))
    return (nibbles * weights).sum(axis=1, dtype=np.uint64), valid


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (numpy 2's bitwise_count, or a byte table on numpy 1.26)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return _BYTE_BITS[values.view(np.uint8).reshape(-1, 8)].sum(axis=1, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One indexed reference: its hash, where it is visible (None: every guild), its character and status."""

    reference_id: int
    value: int
    guild_id: int | None
    character_id: int
    status: str


def chunk_layout(radius: int) -> list[tuple[int, int]]:
    """(shift, mask) of each of the radius + 1 chunks, widths as equal as 64 bits allow; none for a full scan."""
    if radius >= FULL_SCAN_RADIUS:
        return []
    count = max(radius, 0) + 1
    widths = [HASH_BITS // count + (1 if part < HASH_BITS % count else 0) for part in range(count)]
    shifts = np.cumsum([0, *widths[:-1]]).tolist()
    return [(int(shift), (1 << width) - 1) for shift, width in zip(shifts, widths, strict=True)]


class HashIndex:
    """Pending and approved references by perceptual hash: columns by slot, and per chunk a bucket of slots."""

    def __init__(self, radius: int = 4, *, capacity: int = 1024) -> None:
        self.radius = radius
        """The largest distance `near` may be asked for; the chunks are cut for it."""
        self._chunks = chunk_layout(radius)
        self._buckets: list[dict[int, np.ndarray]] = [{} for _ in self._chunks]
        self._values = np.zeros(capacity, np.uint64)
        self._ids = np.zeros(capacity, np.int64)
        self._guilds = np.zeros(capacity, np.int64)
        self._characters = np.zeros(capacity, np.int64)
        self._statuses = np.full(capacity, -1, np.int8)
        """Index into STATUSES; -1 marks a free slot."""
        self._slots: dict[int, int] = {}
        self._free: list[int] = []
        self._used = 0
        """Slots handed out so far (the high-water mark); freed ones are reused first."""

    @classmethod
    def build(cls, entries: Iterable[HashEntry], radius: int = 4) -> HashIndex:
        """An index of many entries at once (start-up): buckets made by one sort per chunk, not one append each."""
        rows = list({entry.reference_id: entry for entry in entries}.values())
        return cls.from_columns(
            np.fromiter((entry.reference_id for entry in rows), np.int64, len(rows)),
            np.fromiter((entry.value for entry in rows), np.uint64, len(rows)),
            [entry.guild_id for entry in rows],
            np.fromiter((entry.character_id for entry in rows), np.int64, len(rows)),
            [entry.status for entry in rows],
            radius,
        )

    @classmethod
    def from_columns(
        cls,
        ids: np.ndarray,
        values: np.ndarray,
        guild_ids: Sequence[int | None],
        character_ids: np.ndarray,
        statuses: Sequence[str],
        radius: int = 4,
    ) -> HashIndex:
        """An index of distinct references given column by column (the store's 500k rows without an object each)."""
        count = len(ids)
        index = cls(radius, capacity=max(1024, count))
        index._ids[:count], index._values[:count], index._characters[:count] = ids, values, character_ids
        index._guilds[:count] = np.fromiter(
            (_GLOBAL if guild is None else guild for guild in guild_ids), np.int64, count
        )
        codes = {status: code for code, status in enumerate(STATUSES)}
        index._statuses[:count] = np.fromiter((codes[status] for status in statuses), np.int8, count)
        index._slots = dict(zip(index._ids[:count].tolist(), range(count), strict=True))
        if len(index._slots) != count:
            raise ValueError("reference ids must be distinct")
        index._used = count
        if not count:
            return index
        for buckets, (shift, mask) in zip(index._buckets, index._chunks, strict=True):
            keys = (index._values[:count] >> np.uint64(shift)) & np.uint64(mask)
            order = np.argsort(keys, kind="stable").astype(np.int32)
            distinct, starts = np.unique(keys[order], return_index=True)
            buckets.update(zip(distinct.tolist(), np.split(order, starts[1:]), strict=True))
        return index

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, reference_id: object) -> bool:
        return reference_id in self._slots

    def entry(self, reference_id: int) -> HashEntry | None:
        """What the index holds for a reference, or None."""
        slot = self._slots.get(reference_id)
        if slot is None:
            return None
        guild = int(self._guilds[slot])
        return HashEntry(
            reference_id,
            int(self._values[slot]),
            None if guild == _GLOBAL else guild,
            int(self._characters[slot]),
            STATUSES[self._statuses[slot]],
        )

    def add(self, entry: HashEntry) -> None:
        """Index a reference, or update it in place (a new status, scope or character; a new hash moves it)."""
        status = STATUSES.index(entry.status)
        slot = self._slots.get(entry.reference_id)
        if slot is not None and int(self._values[slot]) != entry.value:
            self.remove(entry.reference_id)
            slot = None
        if slot is None:
            slot = self._free.pop() if self._free else self._take_slot()
            self._slots[entry.reference_id] = slot
            self._values[slot], self._ids[slot] = entry.value, entry.reference_id
            for buckets, key in zip(self._buckets, self._keys(entry.value), strict=True):
                bucket = buckets.get(key)
                buckets[key] = np.array([slot], np.int32) if bucket is None else np.append(bucket, np.int32(slot))
        self._guilds[slot], self._characters[slot] = _guild(entry.guild_id), entry.character_id
        self._statuses[slot] = status

    def remove(self, reference_id: int) -> bool:
        """Forget a reference; False when it was not indexed."""
        slot = self._slots.pop(reference_id, None)
        if slot is None:
            return False
        for buckets, key in zip(self._buckets, self._keys(int(self._values[slot])), strict=True):
            kept = buckets[key][buckets[key] != slot]
            if kept.size:
                buckets[key] = kept
            else:
                del buckets[key]
        self._statuses[slot] = -1
        self._free.append(slot)
        return True

    def references_of(self, character_ids: Iterable[int]) -> list[int]:
        """The indexed references of these characters, by id."""
        live = self._statuses[: self._used] >= 0
        mine = np.isin(self._characters[: self._used], np.fromiter(character_ids, np.int64))
        return sorted(self._ids[: self._used][live & mine].tolist())

    def replace_characters(self, character_ids: Iterable[int], entries: Iterable[HashEntry]) -> None:
        """Make these characters' entries exactly `entries` (re-read from the store after another process wrote)."""
        fresh = {entry.reference_id: entry for entry in entries}
        for reference_id in self.references_of(character_ids):
            if reference_id not in fresh:
                self.remove(reference_id)
        for entry in fresh.values():
            self.add(entry)

    def near(self, value: int, *, guild_id: int | None = None, radius: int | None = None) -> list[tuple[int, int]]:
        """(distance, reference id) of the entries within `radius` visible from the guild, closest then oldest first.

        Visible as in the gallery: global entries, and the guild's own; from no guild (None), global ones only.
        """
        radius = self.radius if radius is None else radius
        if radius > self.radius:
            raise ValueError(f"the index answers distances up to {self.radius}, not {radius}")
        if radius < 0 or not self._slots:
            return []
        if self._chunks:
            probed = [buckets.get(key) for buckets, key in zip(self._buckets, self._keys(value), strict=True)]
            found = [bucket for bucket in probed if bucket is not None]
            if not found:
                return []
            slots = np.unique(np.concatenate(found))  # a near entry shares several chunks: check it once
        else:
            slots = np.flatnonzero(self._statuses[: self._used] >= 0)
        distances = popcount(self._values[slots] ^ np.uint64(value))
        guilds = self._guilds[slots]
        visible = guilds == _GLOBAL if guild_id is None else (guilds == _GLOBAL) | (guilds == guild_id)
        keep = (distances <= radius) & visible
        distances, ids = distances[keep], self._ids[slots[keep]]
        order = np.lexsort((ids, distances))
        return list(zip(distances[order].tolist(), ids[order].tolist(), strict=True))

    def _keys(self, value: int) -> list[int]:
        return [(value >> shift) & mask for shift, mask in self._chunks]

    def _take_slot(self) -> int:
        """The next unused slot, doubling the columns when they are full."""
        if self._used == len(self._values):
            grow = len(self._values)
            self._values = np.concatenate([self._values, np.zeros(grow, np.uint64)])
            self._ids = np.concatenate([self._ids, np.zeros(grow, np.int64)])
            self._guilds = np.concatenate([self._guilds, np.zeros(grow, np.int64)])
            self._characters = np.concatenate([self._characters, np.zeros(grow, np.int64)])
            self._statuses = np.concatenate([self._statuses, np.full(grow, -1, np.int8)])
        self._used += 1
        return self._used - 1


def _guild(guild_id: int | None) -> int:
    return _GLOBAL if guild_id is None else guild_id
