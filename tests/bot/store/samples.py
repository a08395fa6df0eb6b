"""Small builders the store tests share: vectors and an enrollment with plausible fields."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.repository import CharacterStore

TAGGER = "palette@1"


def vector(seed: int, dims: int = 24) -> np.ndarray:
    """A float32 vector that differs per seed; its values are exact in float16, so stored copies compare bit for bit."""
    return np.random.default_rng(seed).random(dims, dtype=np.float32).astype(np.float16).astype(np.float32)


async def enroll_sample(
    store: CharacterStore,
    name: str,
    *,
    guild_id: int | None = None,
    status: str = "approved",
    seed: int = 1,
    **fields: object,
) -> tuple[CharacterRecord, ReferenceRecord]:
    """Enroll one reference with vectors and a phash derived from `seed`."""
    values: dict[str, object] = {
        "status": ReferenceStatus(status),
        "tagger": TAGGER,
        "tag_vector": vector(seed),
        "phash": f"{seed:016x}",
        "guild_id": guild_id,
    }
    values.update(fields)
    return await store.enroll(name, **values)


def assert_same_reference(loaded: ReferenceRecord, expected: ReferenceRecord) -> None:
    """Field-by-field equality, with vectors compared bit for bit (records hold numpy arrays)."""
    for field in fields(ReferenceRecord):
        left, right = getattr(loaded, field.name), getattr(expected, field.name)
        if isinstance(right, np.ndarray):
            assert left.tobytes() == right.tobytes(), field.name
        else:
            assert left == right, field.name
