"""The audit writer: every change the repository makes adds one row here, in the change's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import AuditRow, utcnow


async def record_change(
    session: AsyncSession,
    action: str,
    detail: str,
    *,
    actor_id: int | None,
    guild_id: int | None,
    character_id: int | None = None,
    reference_id: int | None = None,
) -> None:
    """Add an audit row to the session's transaction, so the change and its record commit together."""
    session.add(
        AuditRow(
            at=utcnow(),
            actor_id=actor_id,
            guild_id=guild_id,
            action=action,
            character_id=character_id,
            reference_id=reference_id,
            detail=detail,
        )
    )
    await session.flush()
