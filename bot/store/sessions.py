"""Sessions of the store: one read snapshot or one write transaction per public call.

A database failure inside either (damaged, read-only, full, locked) leaves as one `StoreUnavailable`
line for the operator; the write transaction has rolled back, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.store.database import WRITE_OPTION, open_engine
from bot.store.failures import operator_errors


class StoreSessions:
    """Owns the engine and hands out transactions; the repository's parts build on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    async def open(cls, url: str, *, reference_dir: Path | None = None, start_empty: bool = False) -> Self:
        """Open the database at `url`, migrating it first when its schema is behind (see `open_engine`)."""
        return cls(await open_engine(url, reference_dir=reference_dir, start_empty=start_empty))

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
        with operator_errors(self.engine.url):
            async with self._read_sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session for one write: commits on success, rolls everything back on any exception."""
        with operator_errors(self.engine.url):
            async with self._write_sessions() as session, session.begin():
                yield session
