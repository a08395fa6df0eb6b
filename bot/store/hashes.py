"""The perceptual hashes of the references a new picture may repeat, read without decoding any vector.

The duplicate index (bot/recognition/hash_index.py) is built from this once at start, then re-reads only
the characters and references another process wrote; five narrow columns keep the one big query cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, select

from bot.store.records import ReferenceStatus
from bot.store.sessions import StoreSessions
from bot.store.tables import Reference

IDS_PER_QUERY = 500
"""Ids per IN list, well under every backend's limit on bound parameters."""


@dataclass(frozen=True)
class ReferenceHashes:
    """Pending and approved references as the duplicate index needs them, column by column (500k rows, no objects).

    `guild_ids` holds None for a global reference; `statuses` the status values ("pending", "approved").
    """

    ids: tuple[int, ...] = ()
    phashes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    guild_ids: tuple[int | None, ...] = ()
    character_ids: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)


class HashReading(StoreSessions):
    """The duplicate-index half of `CharacterStore`."""

    async def reference_hashes(
        self, *, character_ids: Iterable[int] | None = None, reference_ids: Iterable[int] = ()
    ) -> ReferenceHashes:
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
        rows: list[Row] = []
        async with self._reading() as session:  # one snapshot, however many batches
            for batch in batches:
                rows.extend((await session.execute(batch)).all())
        if len(batches) > 1:
            rows = sorted({row.id: row for row in rows}.values(), key=lambda row: row.id)
        return ReferenceHashes(*map(tuple, zip(*rows, strict=True))) if rows else ReferenceHashes()


def _batched(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + IDS_PER_QUERY] for start in range(0, len(ids), IDS_PER_QUERY)]
