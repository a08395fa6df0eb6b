"""Point discord.py at the emulator: the REST base URL and the gateway URL are class attributes it reads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord.gateway
import discord.http
import yarl

from tests.discord_emulator.server import DiscordEmulator


@contextlib.contextmanager
def pointed_at(emu: DiscordEmulator) -> Iterator[None]:
    """While open, every Route and every gateway connection of discord.py goes to `emu`."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emu.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
