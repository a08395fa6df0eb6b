"""The command tree: one error handler for every app command, installed as a subclass (`tree_cls=`)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_adapter.replies import reply_error


class WaifuTree(app_commands.CommandTree):
    """discord.py's tree whose errors become short private answers (and bugs a log entry with the traceback)."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        """The one handler of every command's and context menu's errors (see `reply_error`)."""
        await reply_error(interaction, error)
