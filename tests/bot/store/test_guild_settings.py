"""Guild settings survive a reopen, toggle idempotently, and migration 0002 goes up and down."""

from __future__ import annotations

from pathlib import Path

from bot.store.database import downgrade, sqlite_url, upgrade
from bot.store.guild_settings import GuildSettingsStore


async def test_mod_role_and_autoidentify_channels_persist(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite3")
    store = await GuildSettingsStore.open(url)
    try:
        assert await store.mod_role(1) is None
        await store.set_mod_role(1, 77)
        await store.set_mod_role(1, 78)
        await store.set_autoidentify(1, 10, True)
        await store.set_autoidentify(1, 10, True)
        await store.set_autoidentify(1, 11, True)
        await store.set_autoidentify(2, 20, True)
        await store.set_autoidentify(1, 11, False)
    finally:
        await store.close()
    reopened = await GuildSettingsStore.open(url)
    try:
        assert await reopened.mod_role(1) == 78
        assert await reopened.mod_role(2) is None
        assert await reopened.autoidentify_channels(1) == {10}
        assert await reopened.all_autoidentify_channels() == {10, 20}
        await reopened.set_mod_role(1, None)
        assert await reopened.mod_role(1) is None
    finally:
        await reopened.close()


async def test_migration_0002_downgrades_to_0001_and_back(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "db.sqlite3")
    assert await upgrade(url, "0002") == "0002"
    assert await downgrade(url, "0001") == "0001"
    assert await upgrade(url, "0002") == "0002"
