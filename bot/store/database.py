"""Engines and migrations: every store opens through here, so the schema is always at Alembic's head.

A store already at head opens without taking the write lock, so commands that only read work on a
read-only data dir and beside another process's write transaction.

Alembic runs on a connection of the store's own engine (via `run_sync`), so it works inside a
running event loop, shares an in-memory SQLite database, and applies all migrations in one
transaction (SQLite included: the engine emits its own BEGIN, so DDL is transactional too).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

import migrations
from bot.store.failures import operator_errors, refuse_emptied_file
from models.errors import UserFacingError

WRITE_OPTION = "waifu_write"
"""Execution option marking connections that will write; on SQLite they take the write lock at BEGIN."""
SQLITE_BUSY_TIMEOUT_MS = 10_000


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of a SQLite file (the default database lives under the data dir)."""
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string(hide_password=False)


def alembic_config() -> Config:
    """An Alembic config built in code, pointing at the installed `migrations` package (no alembic.ini)."""
    config = Config()
    script_location = str(Path(migrations.__file__).resolve().parent)
    config.set_main_option("script_location", script_location.replace("%", "%%"))
    return config


def _is_memory_sqlite(url: URL) -> bool:
    """Whether the URL names a private in-memory SQLite database (which lives in one connection)."""
    return url.database in (None, "", ":memory:")


def _make_sqlite_parent(url: URL) -> None:
    """Create the directory of a SQLite file, so a fresh data dir just works."""
    database = url.database or ""
    if _is_memory_sqlite(url) or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _read_only_sqlite(url: URL) -> URL:
    """A SQLite file in a folder this process cannot write opens read-only and immutable.

    In WAL mode even a reader must create the `-shm` file beside the database, so a read-only data
    dir would refuse every read; nobody can write there either, so the file cannot change under us.
    """
    database = url.database or ""
    if _is_memory_sqlite(url) or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_file() or os.access(path.parent, os.W_OK):
        return url
    return url.set(
        database=f"file:{path.resolve()}", query={**url.query, "mode": "ro", "immutable": "1", "uri": "true"}
    )


EXTRA_SQLITE_PRAGMAS: tuple[str, ...] = ()
"""Pragmas run on every new SQLite connection after the store's own (tests cap `max_page_count` to fill the disk)."""


def _install_sqlite_events(engine: AsyncEngine, *, memory: bool) -> None:
    """Foreign keys and WAL on every connection; SQLAlchemy, not sqlite3, decides where BEGIN goes."""
    immutable = engine.url.query.get("immutable") == "1"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 must not emit BEGIN itself (see `_on_begin`)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not memory and not immutable:
                cursor.execute("PRAGMA journal_mode=WAL")
            for pragma in EXTRA_SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the lock up front: a deferred reader upgraded to writer would fail with
        # SQLITE_BUSY at once instead of waiting for the busy timeout.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


URL_EXAMPLES = "e.g. sqlite:///path/to/waifu.sqlite3 or postgresql://user:password@host/database"


def async_url(url: str) -> URL:
    """The URL with the async driver the store uses, so `postgresql://...` or `sqlite:///...` just work."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # the text is not echoed: a mistyped URL may still hold a password
        raise UserFacingError(f"The database setting is not a database URL ({URL_EXAMPLES}).") from None
    backend = parsed.drivername.split("+", 1)[0]
    if backend in ASYNC_DRIVERS and parsed.drivername not in ASYNC_DRIVERS.values():
        parsed = parsed.set(drivername=ASYNC_DRIVERS[backend])
    return parsed


def create_engine(url: str) -> AsyncEngine:
    """An async engine for the URL, with the SQLite settings the store relies on; no migration."""
    parsed = async_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_async_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as error:
            shown = parsed.render_as_string(hide_password=True)
            raise UserFacingError(
                f"The database URL {shown} needs a driver that is not installed; "
                f"the store supports SQLite and PostgreSQL ({URL_EXAMPLES}).",
                detail=f"{shown}: {error}",
            ) from None
    _make_sqlite_parent(parsed)
    parsed = _read_only_sqlite(parsed)
    memory = _is_memory_sqlite(parsed)
    if memory:
        # The database lives in its one connection. SQLAlchemy's default (StaticPool) shares that
        # connection between overlapping transactions, which SQLite refuses; a pool of exactly one
        # makes them wait their turn instead.
        engine = create_async_engine(parsed, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0)
    else:
        engine = create_async_engine(parsed)
    _install_sqlite_events(engine, memory=memory)
    return engine


def _run_alembic(connection: Connection, action: Callable[..., None], revision: str) -> None:
    """Run one Alembic command on a connection the caller already opened (see migrations/env.py)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config, revision)


async def migrate_engine(engine: AsyncEngine, revision: str = "head", *, down: bool = False) -> None:
    """Upgrade (or downgrade) the engine's database to `revision`, all steps in one transaction.

    An unknown revision is the caller's mistake, not a crash: it is raised as a `UserFacingError`.
    """
    action = command.downgrade if down else command.upgrade
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            await connection.run_sync(_run_alembic, action, revision)
    except CommandError as error:
        verb = "downgrade" if down else "upgrade"
        raise UserFacingError(f"Cannot {verb} the database to {revision!r}: {error}") from error


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The Alembic revision the database is at, or None when it has never been migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def head_revisions() -> frozenset[str]:
    """The newest revision(s) of the migrations shipped with this code."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def open_engine(url: str, *, reference_dir: Path | None = None, start_empty: bool = False) -> AsyncEngine:
    """An engine whose database is at head: the one way the store gets an engine.

    The revision is read first, so a database already at head is opened without the write lock (and
    works read-only); only one behind is migrated. A 0-byte SQLite file beside pictures in
    `reference_dir` is refused unless `start_empty`. Store failures come out as `StoreUnavailable`.
    """
    engine = create_engine(url)
    try:
        with operator_errors(engine.url):
            refuse_emptied_file(engine.url, reference_dir, start_empty=start_empty)
            current = await schema_revision(engine)
        if current not in head_revisions():
            with operator_errors(engine.url, migrating=True):
                await migrate_engine(engine, "head")
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at `url` up to `revision` (`waifu-bot db upgrade`); returns the new revision."""
    engine = create_engine(url)
    try:
        with operator_errors(engine.url, migrating=True):
            await migrate_engine(engine, revision)
            return await schema_revision(engine)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> str | None:
    """Migrate the database at `url` down to `revision` ("base" drops everything); returns the new revision."""
    engine = create_engine(url)
    try:
        with operator_errors(engine.url, migrating=True):
            await migrate_engine(engine, revision, down=True)
            return await schema_revision(engine)
    finally:
        await engine.dispose()
