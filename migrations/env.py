"""Alembic environment of the character store.

The store hands Alembic an open connection (`config.attributes["connection"]`, see
`bot.store.database.migrate_engine`), so migrations run inside the store's transaction and event loop.
Run by hand (`alembic -x url=...` with a config whose script_location is this folder), it opens its
own async engine from the `url` argument, `sqlalchemy.url` or WAIFU_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from bot.store.database import create_engine
from bot.store.schema import schema_metadata

config = context.config
target_metadata = schema_metadata()


def _database_url() -> str:
    """The URL a hand-run Alembic command should migrate."""
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("WAIFU_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: pass -x url=..., set sqlalchemy.url or WAIFU_DATABASE_URL")
    return url


def _migrate(connection: Connection) -> None:
    """Apply the migrations on one connection; batch mode lets SQLite alter tables by copying them."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_url(url: str) -> None:
    """Open an engine for a hand-run command, migrate in one transaction, and close it."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


def _emit_sql() -> None:
    """`alembic upgrade --sql`: write the SQL instead of running it."""
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


shared_connection = config.attributes.get("connection")
if context.is_offline_mode():
    _emit_sql()
elif shared_connection is not None:
    _migrate(shared_connection)
else:
    asyncio.run(_migrate_url(_database_url()))
