"""Store fixtures: a fresh SQLite file per test, and PostgreSQL too when WAIFU_TEST_POSTGRES_URL names one."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.database import downgrade, sqlite_url, upgrade
from bot.store.repository import CharacterStore

POSTGRES_URL = os.environ.get("WAIFU_TEST_POSTGRES_URL")
"""An empty, disposable PostgreSQL database (asyncpg URL); every test drops the schema it made."""
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies (migrating each costs ~0.1 s)."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite3"
    asyncio.run(upgrade(sqlite_url(path)))
    return path


@pytest.fixture(params=BACKENDS)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database (never migrated) of each backend available here."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "nested" / "store.sqlite3")
        return
    assert POSTGRES_URL
    await downgrade(POSTGRES_URL, "base")
    yield POSTGRES_URL
    await downgrade(POSTGRES_URL, "base")


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[CharacterStore]:
    """An opened store at the newest schema, closed (and on PostgreSQL emptied) after the test."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        shutil.copyfile(migrated_sqlite, path)
        url = sqlite_url(path)
    else:
        assert POSTGRES_URL
        url = POSTGRES_URL
        await downgrade(url, "base")
    opened = await CharacterStore.open(url)
    yield opened
    await opened.close()
    if request.param == "postgresql":
        await downgrade(url, "base")
