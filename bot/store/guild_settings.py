"""Per-guild choices of the Discord front end (moderator role, auto-identify channels), kept beside the store.

The tables are created by migration 0002; they hold Discord ids only, so the recognition core never reads them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import WRITE_OPTION, open_engine
from bot.store.sessions import StoreSessions
from bot.store.tables import Base

metadata = Base.metadata

guild_settings = Table(
    "guild_settings",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("mod_role_id", BigInteger, nullable=True),
)

autoidentify_channels = Table(
    "autoidentify_channels",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("channel_id", BigInteger, primary_key=True),
)


class GuildSettingsStore:
    """Reads and writes the moderator role and auto-identify channels of each guild."""

    def __init__(self, engine: AsyncEngine, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self._owns_engine = owns_engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    async def open(cls, url: str) -> GuildSettingsStore:
        """Open (and migrate) the database at `url`; `close` releases it."""
        return cls(await open_engine(url), owns_engine=True)

    @classmethod
    def beside(cls, store: StoreSessions) -> GuildSettingsStore:
        """The guild settings on an open store's engine: no second engine or migration; the store closes it."""
        return cls(store.engine)

    async def close(self) -> None:
        """Release the engine when this store opened it."""
        if self._owns_engine:
            await self.engine.dispose()

    async def mod_role(self, guild_id: int) -> int | None:
        """The role whose members moderate the guild's references, if one was set."""
        async with self.engine.connect() as connection:
            query = select(guild_settings.c.mod_role_id).where(guild_settings.c.guild_id == guild_id)
            return (await connection.execute(query)).scalar_one_or_none()

    async def set_mod_role(self, guild_id: int, role_id: int | None) -> None:
        """Set (or clear, with None) the guild's moderator role."""
        async with self._writer.begin() as connection:
            changed = await connection.execute(
                update(guild_settings).where(guild_settings.c.guild_id == guild_id).values(mod_role_id=role_id)
            )
            if changed.rowcount == 0:
                await connection.execute(insert(guild_settings).values(guild_id=guild_id, mod_role_id=role_id))

    async def autoidentify_channels(self, guild_id: int) -> set[int]:
        """Channels of the guild where every posted picture is identified."""
        async with self.engine.connect() as connection:
            query = select(autoidentify_channels.c.channel_id).where(autoidentify_channels.c.guild_id == guild_id)
            return set((await connection.execute(query)).scalars())

    async def all_autoidentify_channels(self) -> set[int]:
        """Every auto-identify channel of every guild (loaded once at start, then kept in memory)."""
        async with self.engine.connect() as connection:
            return set((await connection.execute(select(autoidentify_channels.c.channel_id))).scalars())

    async def set_autoidentify(self, guild_id: int, channel_id: int, enabled: bool) -> None:
        """Turn auto-identify on or off in one channel (idempotent)."""
        async with self._writer.begin() as connection:
            await connection.execute(
                delete(autoidentify_channels).where(
                    autoidentify_channels.c.guild_id == guild_id, autoidentify_channels.c.channel_id == channel_id
                )
            )
            if enabled:
                await connection.execute(insert(autoidentify_channels).values(guild_id=guild_id, channel_id=channel_id))
