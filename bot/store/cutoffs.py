"""Each tagger's calibrated "unknown" cutoff (`waifu-bot eval --calibrate`), kept in the store's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.sessions import StoreSessions
from bot.store.tables import UnknownCutoff, utcnow


@dataclass(frozen=True)
class CutoffRecord:
    """One tagger's measured cutoff on one measure, and what it was measured to do."""

    tagger: str
    measure: str
    distance: float
    acceptance: float
    """Share of known characters' queries answered (not "unknown") at `distance`."""
    absent_rejected: float | None
    """Share of an absent character's queries called unknown at `distance` (leave-one-character-out)."""
    queries: int
    calibrated_at: datetime


class CutoffOperations(StoreSessions):
    """The calibration half of `CharacterStore`: one row per (tagger identity, measure), replaced by a new one."""

    async def unknown_cutoff(self, tagger: str, measure: str) -> CutoffRecord | None:
        """The tagger's calibrated cutoff on this measure, or None until `waifu-bot eval --calibrate` stored one."""
        async with self._reading() as session:
            row = await session.get(UnknownCutoff, (tagger, measure))
            return None if row is None else _record(row)

    async def save_unknown_cutoff(
        self,
        tagger: str,
        measure: str,
        *,
        distance: float,
        acceptance: float,
        absent_rejected: float | None,
        queries: int,
    ) -> CutoffRecord:
        """Store (or replace) the tagger's cutoff on this measure."""
        async with self._writing() as session:
            row = await session.get(UnknownCutoff, (tagger, measure))
            if row is None:
                row = UnknownCutoff(tagger=tagger, measure=measure)
                session.add(row)
            row.distance, row.acceptance, row.absent_rejected = distance, acceptance, absent_rejected
            row.queries, row.calibrated_at = queries, utcnow()
            await session.flush()
            return _record(row)


def _record(row: UnknownCutoff) -> CutoffRecord:
    return CutoffRecord(
        row.tagger, row.measure, row.distance, row.acceptance, row.absent_rejected, row.queries, row.calibrated_at
    )
