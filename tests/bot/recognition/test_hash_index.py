"""The hash index finds exactly what comparing with every hash finds, at every radius, through every update."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.recognition import hash_index
from bot.recognition.hash_index import HashEntry, HashIndex, chunk_layout, hash_value, hash_values, popcount

GUILDS = (None, 7, 8)


def flip(value: int, bits: int, rng: random.Random) -> int:
    """`value` with `bits` distinct bits flipped."""
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def random_entries(count: int, rng: random.Random) -> list[HashEntry]:
    """Random hashes, a third of them near-copies (0-6 bits away) of earlier ones, over three scopes."""
    values: list[int] = []
    for _ in range(count):
        near = values and rng.random() < 0.35
        values.append(flip(rng.choice(values), rng.randint(0, 6), rng) if near else rng.getrandbits(64))
    return [
        HashEntry(number + 1, value, rng.choice(GUILDS), rng.randint(1, 20), rng.choice(("pending", "approved")))
        for number, value in enumerate(values)
    ]


def brute_force(entries: dict[int, HashEntry], value: int, guild_id: int | None, radius: int) -> list[tuple[int, int]]:
    """What comparing with every entry finds: (distance, id), closest then oldest first."""
    found = [
        ((entry.value ^ value).bit_count(), entry.reference_id)
        for entry in entries.values()
        if entry.guild_id is None or (guild_id is not None and entry.guild_id == guild_id)
    ]
    return sorted(hit for hit in found if hit[0] <= radius)


def queries(entries: dict[int, HashEntry], rng: random.Random) -> list[int]:
    """Near copies of stored hashes (0-6 bits away) and unrelated hashes."""
    stored = [entry.value for entry in entries.values()]
    return [flip(rng.choice(stored), rng.randint(0, 6), rng) for _ in range(150)] + [
        rng.getrandbits(64) for _ in range(20)
    ]


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 4])
def test_lookups_equal_brute_force_at_every_radius(radius: int) -> None:
    rng = random.Random(radius)
    entries = {entry.reference_id: entry for entry in random_entries(3000, rng)}
    built = HashIndex.build(entries.values(), radius)
    grown = HashIndex(radius, capacity=1)  # one add at a time, the columns doubling as they fill
    for entry in entries.values():
        grown.add(entry)
    hits = 0
    for value in queries(entries, rng):
        for guild_id in GUILDS:
            expected = brute_force(entries, value, guild_id, radius)
            assert built.near(value, guild_id=guild_id) == expected
            assert grown.near(value, guild_id=guild_id) == expected
            hits += len(expected)
    assert hits > 20  # the queries did find something to compare


def test_a_smaller_radius_than_the_index_was_cut_for_and_a_larger_one() -> None:
    rng = random.Random(5)
    entries = {entry.reference_id: entry for entry in random_entries(1000, rng)}
    index = HashIndex.build(entries.values(), 4)
    for value in queries(entries, rng):
        for radius in (-1, 0, 2, 4):
            assert index.near(value, guild_id=7, radius=radius) == brute_force(entries, value, 7, radius)
    with pytest.raises(ValueError, match="up to 4"):
        index.near(0, radius=5)


def test_removals_updates_and_character_replacement_keep_it_exact() -> None:
    rng = random.Random(11)
    entries = {entry.reference_id: entry for entry in random_entries(2000, rng)}
    index = HashIndex.build(entries.values(), 4)
    for reference_id in rng.sample(sorted(entries), 600):
        assert index.remove(reference_id)
        del entries[reference_id]
    assert not index.remove(-5)
    for reference_id in rng.sample(sorted(entries), 300):  # approved, promoted to global, re-filed
        old = entries[reference_id]
        entries[reference_id] = HashEntry(reference_id, old.value, None, old.character_id + 100, "approved")
        index.add(entries[reference_id])
    moved = rng.choice(sorted(entries))  # a new hash under the same id moves it between buckets
    entries[moved] = HashEntry(moved, rng.getrandbits(64), None, 1, "pending")
    index.add(entries[moved])
    fresh = [HashEntry(10_000 + n, rng.getrandbits(64), 7, 3, "pending") for n in range(50)]  # reuses freed slots
    kept = [entry for entry in entries.values() if entry.character_id == 3][:2]
    index.replace_characters([3], [*kept, *fresh])
    entries = {key: entry for key, entry in entries.items() if entry.character_id != 3}
    entries.update((entry.reference_id, entry) for entry in [*kept, *fresh])
    assert len(index) == len(entries)
    assert index.references_of([3]) == sorted(entry.reference_id for entry in [*kept, *fresh])
    assert index.entry(moved) == entries[moved] and index.entry(-5) is None
    for value in queries(entries, rng):
        for guild_id in GUILDS:
            assert index.near(value, guild_id=guild_id) == brute_force(entries, value, guild_id, 4)


def test_a_radius_past_the_chunked_range_checks_every_entry() -> None:
    rng = random.Random(3)
    entries = {entry.reference_id: entry for entry in random_entries(300, rng)}
    index = HashIndex.build(entries.values(), hash_index.FULL_SCAN_RADIUS)
    assert chunk_layout(hash_index.FULL_SCAN_RADIUS) == []
    value = rng.getrandbits(64)
    expected = brute_force(entries, value, 8, hash_index.FULL_SCAN_RADIUS)
    assert index.near(value, guild_id=8) == expected


def test_chunks_cover_the_64_bits_once() -> None:
    for radius in range(hash_index.FULL_SCAN_RADIUS):
        layout = chunk_layout(radius)
        assert len(layout) == radius + 1
        covered = 0
        for shift, mask in layout:
            assert covered & (mask << shift) == 0
            covered |= mask << shift
        assert covered == (1 << 64) - 1


def test_hash_text_and_popcount() -> None:
    assert hash_value("c3a5e1f00f1e5a3c") == 0xC3A5E1F00F1E5A3C
    for text in ("", "0", "c3a5e1f00f1e5a3c0", "c3a5_1f00f1e5a3c", " 3a5e1f00f1e5a3c", "g3a5e1f00f1e5a3c"):
        assert hash_value(text) is None
    texts = ["c3a5e1f00f1e5a3c", "", "FFFFFFFFFFFFFFFF", "c3a5_1f00f1e5a3c", "٣3a5e1f00f1e5a3c", "0000000000000001"]
    parsed, valid = hash_values(texts)
    assert valid.tolist() == [hash_value(text) is not None for text in texts]
    assert [int(value) for value, ok in zip(parsed, valid, strict=True) if ok] == [
        value for text in texts if (value := hash_value(text)) is not None
    ]
    assert hash_values([])[0].shape == (0,)
    values = np.array([0, 1, 2**64 - 1, 0xF0F0, 2**63], np.uint64)
    assert popcount(values).tolist() == [0, 1, 64, 8, 1]


def test_popcount_without_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy 1.26 (allowed by pyproject) has no bitwise_count: the byte table gives the same counts."""
    values = np.random.default_rng(0).integers(0, 2**63, 500, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    expected = [bin(int(value)).count("1") for value in values]
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert popcount(values).tolist() == expected
