"""What the cogs with message menus and modals share: the menus' life with the cog, and modals' error answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.replies import reply_error

if TYPE_CHECKING:
    from bot.discord_adapter.client import WaifuBot

MessageMenuCallback = Callable[[discord.Interaction, discord.Message], Awaitable[None]]


class MenuCog(commands.Cog):
    """A cog whose message context menus join the command tree when it loads and leave it when it unloads.

    discord.py collects slash commands from a cog's methods, but not context menus: each needs a
    `ContextMenu` object made per cog instance and added to the tree by hand. Subclasses call
    `message_menu` in `__init__`; an overriding `cog_load`/`cog_unload` calls `super()`.
    """

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot
        self.menus: list[app_commands.ContextMenu] = []

    def message_menu(
        self, name: str, callback: MessageMenuCallback, *, guild_only: bool = False
    ) -> app_commands.ContextMenu:
        """A message menu (right click > Apps > `name`) served by `callback`, registered with the cog."""
        menu = app_commands.ContextMenu(name=name, callback=callback)
        menu.guild_only = guild_only
        self.menus.append(menu)
        return menu

    async def cog_load(self) -> None:
        """Register the cog's message menus."""
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        """Take the message menus away with the cog."""
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)


class ReportingModal(discord.ui.Modal):
    """A modal whose errors get the same private answers as commands' (discord.py would only log them)."""

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        """Same answers as the command tree's handler."""
        await reply_error(interaction, error)
