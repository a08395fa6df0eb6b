"""/character info|alias|rename|remove for moderators, and the owner's /promote to the global gallery.

A guild's moderators change only their guild's characters; global ones belong to the bot's owner,
so one guild cannot rename or delete what every other guild relies on.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.client import WaifuBot
from bot.errors import PermissionDenied
from bot.services.results import CharacterRecord
from cogs.common import NO_MENTIONS, bot_of, character_autocomplete, esc, guild_id_of, moderators_only, restricted
from cogs.rendering import character_embed


@app_commands.guild_only()  # characters and moderators belong to a server: no sense in direct messages
@moderators_only()
class CharactersCog(commands.GroupCog, group_name="character", group_description="Manage characters (moderators)"):
    """Moderator tools over the characters of one guild."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot
        super().__init__()

    async def _editable(self, interaction: discord.Interaction, name: str) -> CharacterRecord:
        """The named character, if this guild's moderators may change it."""
        return await self.bot.services.characters.editable(
            name, guild_id=guild_id_of(interaction), is_owner=await self.bot.is_owner(interaction.user)
        )

    async def _say(self, interaction: discord.Interaction, text: str) -> None:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="info", description="Show a character's names, scope and references")
    @app_commands.autocomplete(character=character_autocomplete)
    async def info(self, interaction: discord.Interaction, character: app_commands.Range[str, 1, 100]) -> None:
        """Names, aliases, scope and reference counts."""
        info = await self.bot.services.characters.info(character, guild_id=guild_id_of(interaction))
        embed = character_embed(info.character, info.approved, info.pending)
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="alias", description="Add (or remove) another name for a character")
    @app_commands.autocomplete(character=character_autocomplete)
    async def alias(
        self,
        interaction: discord.Interaction,
        character: app_commands.Range[str, 1, 100],
        alias: app_commands.Range[str, 1, 100],
        remove: bool = False,
    ) -> None:
        """Aliases are matched by identify's autocomplete and by every name lookup."""
        record = await self._editable(interaction, character)
        characters = self.bot.services.characters
        change = characters.remove_alias if remove else characters.add_alias
        updated = await change(record.id, alias, actor_id=interaction.user.id)
        verb = "no longer has" if remove else "now has"
        await self._say(interaction, f"**{esc(updated.name)}** {verb} the alias **{esc(alias)}**.")

    @app_commands.command(name="rename", description="Rename a character")
    @app_commands.autocomplete(character=character_autocomplete)
    async def rename(
        self,
        interaction: discord.Interaction,
        character: app_commands.Range[str, 1, 100],
        new_name: app_commands.Range[str, 1, 100],
    ) -> None:
        """Rename in the store and in the gallery at once."""
        record = await self._editable(interaction, character)
        updated = await self.bot.services.characters.rename(record.id, new_name, actor_id=interaction.user.id)
        await self._say(interaction, f"Renamed **{esc(record.name)}** to **{esc(updated.name)}**.")

    @app_commands.command(name="remove", description="Delete a character and all its references")
    @app_commands.autocomplete(character=character_autocomplete)
    async def remove(self, interaction: discord.Interaction, character: app_commands.Range[str, 1, 100]) -> None:
        """Delete the character, its references and their pictures."""
        record = await self._editable(interaction, character)
        await interaction.response.defer(ephemeral=True, thinking=True)  # deletes every picture file too
        await self.bot.services.enrollment.remove_character(record.id, actor_id=interaction.user.id)
        await self._say(interaction, f"Removed **{esc(record.name)}** and its references.")


async def owner_check(interaction: discord.Interaction) -> bool:
    """The bot's owner, as an app-command check (checks must raise CheckFailure)."""
    if not await bot_of(interaction).is_owner(interaction.user):
        denied = PermissionDenied("Only the bot's owner can promote characters to the global gallery.")
        raise app_commands.CheckFailure(denied.user_message) from denied
    return True


class PromoteCog(commands.Cog):
    """The owner's way to share a guild's character with every guild."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot

    @app_commands.command(name="promote", description="Make a server's character global (bot owner only)")
    @restricted(owner_check, administrator=True)
    @app_commands.guild_only()
    @app_commands.autocomplete(character=character_autocomplete)
    async def promote(self, interaction: discord.Interaction, character: app_commands.Range[str, 1, 100]) -> None:
        """Move the character and its approved references to the global gallery."""
        characters = self.bot.services.characters
        record = await characters.resolve(character, guild_id=guild_id_of(interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)  # re-indexes every approved reference
        promoted, served = await characters.promote(record.id, actor_id=interaction.user.id)
        await interaction.followup.send(
            f"**{esc(promoted.name)}** is now global, with {served} references.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(CharactersCog(bot))
    await bot.add_cog(PromoteCog(bot))
