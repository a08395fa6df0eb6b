"""Reading the audit log as a change feed, so a process sees what other processes changed in the store.

Every write appends an audit row naming its character in the write's own transaction, so the rows
after a known id say which characters to reload. On PostgreSQL ids come from a sequence and commit
out of order (a transaction may take id 10, commit after id 11 is seen), so `ChangeFeed` remembers the
ids it skipped and looks again for a while; SQLite serialises writers and never leaves such gaps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.store.sessions import StoreSessions
from bot.store.tables import AuditRow

GAP_PATIENCE_SECONDS = 120.0
"""How long a skipped audit id may still commit; after that it is taken for a rolled-back transaction."""
MAX_TRACKED_GAPS = 1000
"""Skipped ids remembered at most (a sequence jump after a server crash must not grow this without bound)."""
START_LOOKBACK = 100
"""Ids below the newest one at start that are checked for transactions still in flight."""


@dataclass(frozen=True)
class AuditChange:
    """One audit row as the change feed needs it: its id and the character (and reference) it touched, if any."""

    id: int
    character_id: int | None
    reference_id: int | None = None


class ChangeReading(StoreSessions):
    """The change-feed half of `CharacterStore`: cheap reads of the audit log by primary key."""

    async def newest_audit_id(self) -> int:
        """The id of the newest audit row (0 when the log is empty): where a new process starts following."""
        async with self._reading() as session:
            return int(await session.scalar(select(func.max(AuditRow.id))) or 0)

    async def audit_changes(self, after_id: int) -> list[AuditChange]:
        """Audit rows with an id above `after_id`, oldest first (one range scan of the primary key)."""
        query = (
            select(AuditRow.id, AuditRow.character_id, AuditRow.reference_id)
            .where(AuditRow.id > after_id)
            .order_by(AuditRow.id)
        )
        async with self._reading() as session:
            return [AuditChange(row.id, row.character_id, row.reference_id) for row in await session.execute(query)]

    async def changes_since(self, audit_id: int) -> tuple[int, frozenset[int]]:
        """The newest audit id and the characters touched after `audit_id` (the id itself if nothing is newer)."""
        changes = await self.audit_changes(audit_id)
        newest = changes[-1].id if changes else audit_id
        return newest, frozenset(change.character_id for change in changes if change.character_id is not None)


class ChangeFeed:
    """Follows the audit log from a starting id and hands out each touched character once, gaps included."""

    def __init__(
        self,
        store: ChangeReading,
        cursor: int,
        *,
        gap_patience: float = GAP_PATIENCE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cursor = cursor
        """The newest audit id seen."""
        self.gap_patience = gap_patience
        self._clock = clock
        self._gaps: dict[int, float] = {}
        """Skipped ids at or below the cursor -> when they were first missed."""

    @classmethod
    async def start(cls, store: ChangeReading) -> ChangeFeed:
        """A feed that reports changes committed after this moment, including any still in flight now."""
        newest = await store.newest_audit_id()
        feed = cls(store, newest)
        floor = max(0, newest - START_LOOKBACK)
        seen = {change.id for change in await store.audit_changes(floor)}
        feed._remember_gap([gap for gap in range(floor + 1, newest) if gap not in seen], feed._clock())
        return feed

    @property
    def gaps(self) -> frozenset[int]:
        """Ids skipped so far that may still commit (PostgreSQL only, in practice)."""
        return frozenset(self._gaps)

    async def poll(self) -> frozenset[int]:
        """Characters touched by rows that appeared since the last poll, late commits into gaps included."""
        changes = await self.poll_changes()
        return frozenset(change.character_id for change in changes if change.character_id is not None)

    async def poll_changes(self) -> list[AuditChange]:
        """The rows that appeared since the last poll (late commits into gaps included), each handed out once."""
        floor = min(self._gaps, default=self.cursor + 1) - 1
        changes = await self.store.audit_changes(floor)
        now = self._clock()
        fresh: list[AuditChange] = []
        for change in changes:
            if change.id > self.cursor:
                self._remember_gap(range(self.cursor + 1, change.id), now)
                self.cursor = change.id
            elif self._gaps.pop(change.id, None) is None:
                continue  # seen by an earlier poll
            fresh.append(change)
        self._gaps = {gap: since for gap, since in self._gaps.items() if now - since < self.gap_patience}
        return fresh

    def _remember_gap(self, skipped: Sequence[int], now: float) -> None:
        """Note ids that were passed over; they may belong to transactions that have not committed yet."""
        for gap in skipped[: max(0, MAX_TRACKED_GAPS - len(self._gaps))]:
            self._gaps[gap] = now
