"""The perceptual hashes of the references a new picture may repeat, read without decoding any vector.

The duplicate index (bot/recognition/hash_index.py) is built from this once at start, then re-reads only
the characters and references another process wrote; five narrow columns keep the one big query cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from bot.store.records import ReferenceStatus
from bot.store.sessions import StoreSessions
from bot.store.tables import Reference

IDS_PER_QUERY = 500
"""Ids per IN list, well under every backend's limit on bound parameters."""


@dataclass(frozen=True, slots=True)
class ReferenceHash:
    """A pending or approved reference as the duplicate index needs it."""

    id: int
    phash: str
    status: ReferenceStatus
    guild_id: int | None
    character_id: int


class HashReading(StoreSessions):
    """The duplicate-index half of `CharacterStore`."""

    async def reference_hashes(
        self, *, character_ids: Iterable[int] | None = None, reference_ids: Iterable[int] = ()
    ) -> list[ReferenceHash]:
        """Every pending and approved reference of every scope, oldest first; or only these characters' and these.

        Rejected ones are left out: a rejected picture is not a duplicate of anything.
        """
        query = (
            select(Reference.id, Reference.phash, Reference.status, Reference.guild_id, Reference.character_id)
            .where(Reference.status != ReferenceStatus.REJECTED.value)
            .order_by(Reference.id)
        )
        if character_ids is None:
            batches = [query]
        else:
            batches = [
                query.where(column.in_(ids))
                for column, wanted in ((Reference.character_id, character_ids), (Reference.id, reference_ids))
                for ids in _batched(sorted(set(wanted)))
            ]
        found: dict[int, ReferenceHash] = {}
        async with self._reading() as session:  # one snapshot, however many batches
            for batch in batches:
                for row in await session.execute(batch):
                    status = ReferenceStatus(row.status)
                    found[row.id] = ReferenceHash(row.id, row.phash, status, row.guild_id, row.character_id)
        return [found[reference_id] for reference_id in sorted(found)]


def _batched(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + IDS_PER_QUERY] for start in range(0, len(ids), IDS_PER_QUERY)]
