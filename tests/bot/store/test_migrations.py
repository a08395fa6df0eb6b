"""The schema comes from Alembic alone: up and down on an empty database, and head equals the ORM."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic import command, op
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import (
    alembic_config,
    async_url,
    create_engine,
    downgrade,
    migrate_engine,
    schema_revision,
    sqlite_url,
    upgrade,
)
from bot.store.repository import CharacterStore
from bot.store.schema import schema_metadata
from models.errors import UserFacingError

STORE_TABLES = {"characters", "character_aliases", "references", "audit_log"}


def head_revision() -> str:
    """The newest revision in the packaged migrations folder."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def sqlite_tables(path: Path) -> set[str]:
    """Table names straight from sqlite_master, independent of SQLAlchemy."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows} - {"sqlite_sequence"}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def schema_differences(engine: AsyncEngine, metadata: MetaData) -> list:
    """Alembic's autogenerate comparison between the live schema and `metadata`."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )


def test_migrations_ship_inside_the_package() -> None:
    script_dir = Path(alembic_config().get_main_option("script_location"))
    assert (script_dir / "env.py").is_file()
    assert (script_dir / "script.py.mako").is_file()
    assert (script_dir / "versions" / "0001_initial.py").is_file()
    revisions = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    assert "0001" in revisions
    assert head_revision() in revisions


async def test_sqlite_upgrade_to_head_and_down_to_base(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "store.sqlite3"
    url = sqlite_url(path)

    assert await upgrade(url) == head_revision()
    assert STORE_TABLES | {"alembic_version"} <= sqlite_tables(path)
    with sqlite3.connect(path) as connection:
        indexes = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_characters_name_key", "ix_references_status_guild_id", "ix_references_phash"} <= indexes

    assert await downgrade(url, "base") is None
    assert sqlite_tables(path) == {"alembic_version"}

    assert await upgrade(url, "0001") == "0001"
    assert sqlite_tables(path) == STORE_TABLES | {"alembic_version"}


async def test_up_and_down_on_every_backend(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate_engine(engine)
        assert await schema_revision(engine) == head_revision()
        assert await table_names(engine) >= STORE_TABLES
        await migrate_engine(engine, "base", down=True)
        assert await schema_revision(engine) is None
        assert not STORE_TABLES & await table_names(engine)
    finally:
        await engine.dispose()


async def test_migrations_match_the_orm_tables(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        await migrate_engine(engine)
        assert await schema_differences(engine, schema_metadata()) == []

        # The comparison is not vacuous: a table the migrations lack shows up as a difference.
        extended = MetaData()
        for table in schema_metadata().tables.values():
            table.to_metadata(extended)
        Table("not_migrated", extended, Column("id", Integer, primary_key=True))
        differences = await schema_differences(engine, extended)
        assert [(kind, table.name) for kind, table in differences] == [("add_table", "not_migrated")]
    finally:
        await engine.dispose()


async def test_open_migrates_inside_a_running_loop_and_keeps_data(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "a" / "b" / "store.sqlite3")
    store = await CharacterStore.open(url)
    try:
        assert await schema_revision(store.engine) == head_revision()
        await store.create_character("Nakano Miku", series="The Quintessential Quintuplets")
    finally:
        await store.close()

    reopened = await CharacterStore.open(url)  # migrating an up-to-date database is a no-op
    try:
        assert [character.name for character in await reopened.list_characters()] == ["Nakano Miku"]
    finally:
        await reopened.close()


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = await CharacterStore.open(sqlite_url(path))
    try:
        async with store.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # persisted in the file


async def test_a_failing_migration_leaves_no_half_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite3"
    url = sqlite_url(path)
    original_create_index = op.create_index

    def create_index_then_fail(name: str, *args: object, **kwargs: object) -> None:
        original_create_index(name, *args, **kwargs)
        if name == "ix_references_phash":
            raise RuntimeError("migration interrupted")

    monkeypatch.setattr("alembic.op.create_index", create_index_then_fail)
    with pytest.raises(RuntimeError, match="migration interrupted"):
        await upgrade(url)
    assert sqlite_tables(path) == set()  # DDL ran in the one transaction that rolled back

    monkeypatch.undo()
    assert await upgrade(url) == head_revision()


def test_alembic_run_by_hand_opens_its_own_engine(tmp_path: Path) -> None:
    # What a developer runs (no event loop here): env.py makes the engine from sqlalchemy.url.
    path = tmp_path / "by-hand.sqlite3"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", sqlite_url(path))
    command.upgrade(config, "0001")
    assert sqlite_tables(path) == STORE_TABLES | {"alembic_version"}
    command.downgrade(config, "base")
    assert sqlite_tables(path) == {"alembic_version"}


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:////data/waifu.sqlite3", "sqlite+aiosqlite:////data/waifu.sqlite3"),
        ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
        ("postgresql://bot@db/waifu", "postgresql+asyncpg://bot@db/waifu"),
        ("postgres://bot@db/waifu", "postgresql+asyncpg://bot@db/waifu"),
        ("postgresql+psycopg2://bot@db/waifu", "postgresql+asyncpg://bot@db/waifu"),
    ],
)
def test_urls_get_the_async_driver(given: str, used: str) -> None:
    assert async_url(given).render_as_string(hide_password=False) == used


async def test_an_in_memory_database_is_migrated_on_the_same_connection() -> None:
    store = await CharacterStore.open("sqlite+aiosqlite://")
    try:
        created = await store.create_character("Nakano Miku")
        assert await store.find_character("nakano miku") == created
    finally:
        await store.close()


async def test_an_in_memory_database_takes_concurrent_transactions_one_at_a_time() -> None:
    # One shared connection holds the whole database: overlapping transactions on it must wait, not fail.
    store = await CharacterStore.open("sqlite+aiosqlite://")
    try:
        created = await asyncio.gather(*(store.create_character(f"Sister {n}") for n in range(5)))
        listed = await asyncio.gather(*(store.list_characters() for _ in range(3)))
        assert sorted(character.name for character in created) == [f"Sister {n}" for n in range(5)]
        assert all(len(characters) == 5 for characters in listed)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://someone:s3cret@db.example/x", "mysql"),
        ("oracle+cx_oracle://someone:s3cret@db.example/x", "oracle"),
    ],
)
def test_a_bad_or_unsupported_url_is_a_user_error_that_hides_the_password(url: str, fragment: str) -> None:
    with pytest.raises(UserFacingError, match=fragment) as caught:
        create_engine(url)
    assert "s3cret" not in caught.value.user_message
