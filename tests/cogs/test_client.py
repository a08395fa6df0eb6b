"""The client: least intents, each command synced once (global or test guild), clean shutdown, no token logged."""

from __future__ import annotations

import asyncio
import logging
import time

import discord
import pytest

from bot.config import Settings
from bot.discord_adapter.client import EXTENSIONS, WaifuBot, heartbeat_is_fresh, heartbeat_path, required_intents
from tests.cogs.conftest import World, running_bot

EXPECTED_COMMANDS = {
    ("identify", 1), ("whynot", 1), ("enroll", 1), ("review", 1), ("character", 1), ("promote", 1),
    ("settings", 1), ("stats", 1), ("similar", 1), ("tags", 1),
    ("Identify character", 3), ("Submit as character reference", 3), ("Why (not) this character?", 3),
}  # fmt: skip


def test_intents_are_the_least_the_features_need() -> None:
    plain = required_intents(auto_identify=False)
    assert plain == discord.Intents(guilds=True)
    auto = required_intents(auto_identify=True)
    assert auto == discord.Intents(guilds=True, guild_messages=True, message_content=True)


async def test_every_extension_loads_and_commands_do_not_clash(
    world: World, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with running_bot(bot_settings, world.emu) as bot:
            loaded = set(bot.extensions)
            closed: list[str] = []
            original = bot.services.close

            async def tracking() -> None:
                closed.append("services")
                await original()

            bot.services.close = tracking
    assert loaded == set(EXTENSIONS)
    synced = [(c["name"], c.get("type", 1)) for c in world.emu.commands[None]]
    assert sorted(synced) == sorted(EXPECTED_COMMANDS)  # each exactly once
    assert world.emu.identifies[-1]["intents"] == discord.Intents(guilds=True).value
    assert world.emu.token not in caplog.text
    assert closed == ["services"]  # after disconnecting; the guild settings live in the services' one store
    assert bot.http_session.closed and bot.is_closed()


async def test_commands_sync_to_the_test_guild_when_configured(world: World, bot_settings: Settings) -> None:
    bot_settings.discord.test_guild_id = world.guild.id
    async with running_bot(bot_settings, world.emu):
        pass
    assert world.emu.commands.get(None) is None
    assert {c["name"] for c in world.emu.commands[world.guild.id]} >= {"identify", "review"}
    identify = world.emu.requests_to("PUT", f"/applications/{world.emu.application_id}/guilds/{world.guild.id}/")
    assert len(identify) == 1


async def test_heartbeat_file_tells_the_healthcheck_the_bot_is_alive(world: World, bot_settings: Settings) -> None:
    assert not heartbeat_is_fresh(bot_settings)
    async with running_bot(bot_settings, world.emu) as bot:
        assert isinstance(bot, WaifuBot)
        async with asyncio.timeout(60):  # a bound for a bot that never writes it, not a speed asked of it
            while not heartbeat_path(bot_settings).exists():  # noqa: ASYNC110 - a file has no event to wait on
                await asyncio.sleep(0.01)
    assert heartbeat_is_fresh(bot_settings)
    assert not heartbeat_is_fresh(bot_settings, now=time.time() + 3600)
