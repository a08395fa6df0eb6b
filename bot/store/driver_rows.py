"""A large read's rows as the driver's plain tuples, in partitions: what a gallery's load streams.

Why: SQLAlchemy wraps every row it hands back in a `Row` and passes each through the result machinery; for the
500,000 references of a 100k-character gallery that cost about 0.5 s of a start-up (1.7 s against 1.2 s for the
rows alone). On SQLite the statement runs on the session's own driver connection (the
same transaction, so the same snapshot as the session's other reads) and its tuples come back as they are.
Elsewhere (PostgreSQL) rows stream through SQLAlchemy's server-side cursor, whose rows are tuples too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.tables import as_utc


async def driver_partitions(session: AsyncSession, statement: Select, size: int) -> AsyncIterator[Sequence[tuple]]:
    """The statement's rows in partitions of `size`, read inside the session's transaction.

    Bound values go to the driver as they are (no SQLAlchemy type processing): callers bind plain strings and
    numbers only.
    """
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        result = await session.stream(statement)
        async for rows in result.partitions(size):
            yield rows
        return
    compiled = statement.compile(dialect=connection.dialect)
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    raw = await connection.get_raw_connection()
    cursor = await raw.driver_connection.execute(compiled.string, parameters)
    try:
        while rows := await cursor.fetchmany(size):
            yield rows
    finally:
        await cursor.close()


def utc_datetime(value: datetime | str) -> datetime:
    """An aware UTC datetime from a driver's value: SQLite hands back the text SQLAlchemy stored (UTC, naive: see
    bot/store/tables.py `UTCDateTime`), other drivers a datetime. Naive text is parsed with its zone appended
    (5x faster than parsing, then replacing the zone: 0.16 s at 100,000 characters)."""
    if isinstance(value, str):
        if value[-6:-5] in ("+", "-") or value.endswith("Z"):  # text that carries its own offset
            return datetime.fromisoformat(value).astimezone(UTC)
        return datetime.fromisoformat(value + "+00:00")
    return as_utc(value)
