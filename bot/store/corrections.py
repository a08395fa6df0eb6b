"""Corrections of answers ("Not right?"): which character the bot named, and which the person said it was.

A correction is an audit row (action `answer_corrected`) naming the character the answer named and the
submission the person filed, so no table or migration is needed and it is kept like every other change.
The submission's character is the one the person named; a submission removed since still counts, with
no name for what it was corrected to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bot.store.audit import record_change
from bot.store.sessions import StoreSessions
from bot.store.tables import AuditRow, Character, Reference

CORRECTED = "answer_corrected"


@dataclass(frozen=True)
class Confusion:
    """A character answers named that people corrected, how often, and what they said it was most often."""

    character: str
    corrections: int
    mostly_to: str | None


class CorrectionOperations(StoreSessions):
    """Records corrections and counts them per character the bot named."""

    async def record_correction(
        self, *, said_character_id: int, reference_id: int, guild_id: int | None, actor_id: int | None
    ) -> None:
        """Note that an answer naming `said_character_id` was corrected by the submission `reference_id`."""
        async with self._writing() as session:
            await record_change(
                session,
                CORRECTED,
                f"answer named character #{said_character_id}; corrected by submission #{reference_id}",
                actor_id=actor_id,
                guild_id=guild_id,
                character_id=said_character_id,
                reference_id=reference_id,
            )

    async def most_confused(
        self, *, since: datetime, guild_id: int | None = None, all_scopes: bool = False, limit: int = 5
    ) -> tuple[Confusion, ...]:
        """Characters corrected away from since `since` (in one guild, or everywhere), most often first."""
        said, named = aliased(Character), aliased(Character)
        counted = func.count(AuditRow.id)
        query = (
            select(said.name, named.name, counted)
            .join(said, said.id == AuditRow.character_id)
            .outerjoin(Reference, Reference.id == AuditRow.reference_id)
            .outerjoin(named, named.id == Reference.character_id)
            .where(AuditRow.action == CORRECTED, AuditRow.at >= since)
            .group_by(said.id, said.name, named.id, named.name)
        )
        if not all_scopes:
            query = query.where(AuditRow.guild_id.is_(None) if guild_id is None else AuditRow.guild_id == guild_id)
        async with self._reading() as session:
            rows = (await session.execute(query)).all()
        totals: Counter[str] = Counter()
        targets: dict[str, Counter[str]] = {}
        for said_name, named_name, count in rows:
            totals[said_name] += int(count)
            if named_name is not None and named_name != said_name:
                targets.setdefault(said_name, Counter())[named_name] += int(count)
        ordered = sorted(totals, key=lambda name: (-totals[name], name))[:limit]
        return tuple(Confusion(name, totals[name], _most_common(targets.get(name))) for name in ordered)


def _most_common(counts: Counter[str] | None) -> str | None:
    """The most frequent name (ties by name), or None."""
    if not counts:
        return None
    return min(counts, key=lambda name: (-counts[name], name))
