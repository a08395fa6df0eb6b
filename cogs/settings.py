"""/settings modrole and /settings autoidentify: per-guild choices, for members with Manage Server."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.client import WaifuBot
from cogs.common import NO_MENTIONS, guild_id_of, managers_only


@managers_only()
@app_commands.guild_only()
class SettingsCog(commands.GroupCog, group_name="settings", group_description="Server settings of the bot"):
    """Who moderates, and where pictures are identified without being asked."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="modrole", description="Let a role review submissions and manage characters")
    @app_commands.describe(role="The moderator role; leave empty to clear it (Manage Server always works)")
    async def modrole(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        """Set or clear the moderator role."""
        await self.bot.services.guild_settings.set_mod_role(guild_id_of(interaction), role.id if role else None)
        text = f"Moderators are now members with {role.mention}." if role else "The moderator role was cleared."
        if role:  # default permissions hide the moderator commands from the role until the server shows them
            text += " Discord lists `/review` and `/character` for Manage Server only until you allow the role too"
            text += " (Server Settings > Integrations)."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="autoidentify", description="Identify every picture posted in a channel")
    @app_commands.describe(channel="The channel", enabled="On or off")
    async def autoidentify(self, interaction: discord.Interaction, channel: discord.TextChannel, enabled: bool) -> None:
        """Turn auto-identify on or off in one channel."""
        await self.bot.services.guild_settings.set_autoidentify(guild_id_of(interaction), channel.id, enabled)
        identify = self.bot.get_cog("IdentifyCog")
        if identify is not None:
            channels: set[int] = identify.auto_channels  # type: ignore[attr-defined]
            (channels.add if enabled else channels.discard)(channel.id)
        text = f"Auto-identify is now {'on' if enabled else 'off'} in {channel.mention}."
        if enabled and not self.bot.auto_identify:
            text += " Note: this bot was started without message access, so it cannot see posted pictures yet."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(SettingsCog(bot))
