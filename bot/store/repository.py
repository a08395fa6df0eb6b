"""The character store: characters, aliases, references and the audit log behind plain records.

Every public write runs in one transaction together with its audit rows, so a failure half-way
leaves nothing behind. Callers only ever see `bot.store.records` dataclasses; errors are
`bot.errors.CharacterExists` / `NotFound` (or a `UserFacingError` for an unusable name).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.store.changes import ChangeReading
from bot.store.characters import CharacterOperations
from bot.store.convert import audit_entry
from bot.store.corrections import CorrectionOperations
from bot.store.cutoffs import CutoffOperations
from bot.store.hashes import HashReading
from bot.store.records import AuditEntry
from bot.store.references import ReferenceOperations
from bot.store.statistics import StatisticsOperations
from bot.store.tables import AuditRow


class CharacterStore(
    CharacterOperations,
    ReferenceOperations,
    StatisticsOperations,
    CorrectionOperations,
    ChangeReading,
    HashReading,
    CutoffOperations,
):
    """Async repository over the store's database; open it with `await CharacterStore.open(url)`."""

    async def audit_log(self, *, guild_id: int | None = None, limit: int = 50) -> list[AuditEntry]:
        """The newest changes first: one guild's, or (guild_id None) everything, for the owner."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if guild_id is not None:
            query = query.where(AuditRow.guild_id == guild_id)
        async with self._reading() as session:
            return [audit_entry(row) for row in await session.scalars(query)]
