"""Counts for /stats and `waifu-bot stats`: characters, references per character, the queue, contributors.

Read-only, one snapshot per call; a guild sees the global scope and its own (`guild_id` None with
`all_scopes`: everything, for the operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, true

from bot.store.records import ReferenceStatus
from bot.store.sessions import StoreSessions
from bot.store.tables import Character, Reference


@dataclass(frozen=True)
class StoreStatistics:
    """Raw counts; the statistics service turns them into medians and histograms."""

    references_per_character: tuple[tuple[str, int], ...]
    """(name, approved references) of every visible character, fewest first."""
    pending: int
    oldest_pending: datetime | None
    other_model: int
    """Approved references whose vectors another tagger or embedder made (they wait for `waifu-bot reindex`)."""
    contributors: tuple[tuple[int, int], ...]
    """(user id, approved submissions), most first."""


def _visible(column: ColumnElement, guild_id: int | None, all_scopes: bool) -> ColumnElement[bool]:
    if all_scopes:
        return true()
    return column.is_(None) if guild_id is None else column.is_(None) | (column == guild_id)


class StatisticsOperations(StoreSessions):
    """The store's read-only statistics query."""

    async def statistics(
        self,
        *,
        tagger: str,
        embedder: str | None,
        guild_id: int | None = None,
        all_scopes: bool = False,
        contributors: int = 5,
    ) -> StoreStatistics:
        """Counts of the scope: references per character, the pending queue, stale vectors, top contributors."""
        approved = Reference.status == ReferenceStatus.APPROVED.value
        counted = func.count(Reference.id)
        per_character = (
            select(Character.name, counted)
            .outerjoin(Reference, (Reference.character_id == Character.id) & approved)
            .where(_visible(Character.guild_id, guild_id, all_scopes))
            .group_by(Character.id, Character.name)
            .order_by(counted, Character.name)
        )
        pending_scope = _visible(Reference.guild_id, guild_id, all_scopes)
        if not all_scopes and guild_id is not None:
            pending_scope = Reference.guild_id == guild_id  # a guild reviews its own queue only
        pending = select(func.count(Reference.id), func.min(Reference.submitted_at)).where(
            Reference.status == ReferenceStatus.PENDING.value, pending_scope
        )
        other_model_made = Reference.tagger != tagger  # the gallery's rule (ModelIdentity.accepts_reference)
        if embedder is not None:
            other_model_made = or_(
                other_model_made, Reference.embedding.is_(None), Reference.embedder.is_distinct_from(embedder)
            )
        other_model = select(func.count(Reference.id)).where(
            approved, _visible(Reference.guild_id, guild_id, all_scopes), other_model_made
        )
        top = (
            select(Reference.submitted_by, counted)
            .where(approved, Reference.submitted_by.isnot(None), _visible(Reference.guild_id, guild_id, all_scopes))
            .group_by(Reference.submitted_by)
            .order_by(counted.desc(), Reference.submitted_by)
            .limit(contributors)
        )
        async with self._reading() as session:
            rows = (await session.execute(per_character)).all()
            pending_count, oldest = (await session.execute(pending)).one()
            stale = int(await session.scalar(other_model) or 0)
            leaders = (await session.execute(top)).all()
        return StoreStatistics(
            references_per_character=tuple((name, int(count)) for name, count in rows),
            pending=int(pending_count or 0),
            oldest_pending=oldest,
            other_model=stale,
            contributors=tuple((int(user), int(count)) for user, count in leaders),
        )
