"""Sessions of the store: one read snapshot or one write transaction per public call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.store.database import WRITE_OPTION, open_engine


class StoreSessions:
    """Owns the engine and hands out transactions; the repository's parts build on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    async def open(cls, url: str) -> Self:
        """Open the database at `url`, migrating it to the newest schema first."""
        return cls(await open_engine(url))

    async def close(self) -> None:
        """Release every pooled connection (the SQLite file is then free to move or delete)."""
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads: one consistent snapshot, never committed."""
        async with self._read_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session for one write: commits on success, rolls everything back on any exception."""
        async with self._write_sessions() as session, session.begin():
            yield session
