"""Each guild's choices for the Discord front end: its moderator role and its auto-identify channels.

The cogs reach the guild-settings tables through this service, since they never import the store.
"""

from __future__ import annotations

from bot.store.guild_settings import GuildSettingsStore


class GuildSettings:
    """Reads and changes one guild's moderator role and auto-identify channels."""

    def __init__(self, store: GuildSettingsStore) -> None:
        self._store = store

    async def mod_role(self, guild_id: int) -> int | None:
        """The role whose members moderate the guild, or None when only Manage Server does."""
        return await self._store.mod_role(guild_id)

    async def set_mod_role(self, guild_id: int, role_id: int | None) -> None:
        """Let a role moderate the guild; None clears it."""
        await self._store.set_mod_role(guild_id, role_id)

    async def autoidentify_channels(self, guild_id: int) -> set[int]:
        """The guild's channels where every posted picture is identified."""
        return await self._store.autoidentify_channels(guild_id)

    async def all_autoidentify_channels(self) -> set[int]:
        """Every guild's auto-identify channels, read once when the bot starts."""
        return await self._store.all_autoidentify_channels()

    async def set_autoidentify(self, guild_id: int, channel_id: int, enabled: bool) -> None:
        """Turn auto-identify on or off in one channel (idempotent)."""
        await self._store.set_autoidentify(guild_id, channel_id, enabled)
