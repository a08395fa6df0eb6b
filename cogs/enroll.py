"""/enroll and the "Submit as character reference" menu: anyone submits, a moderator reviews later."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_adapter.attachments import ImageSource, images_in, read_attachment, read_source
from bot.discord_adapter.client import WaifuBot
from bot.errors import NotFound
from cogs.base import MenuCog, ReportingModal
from cogs.common import bot_of, guild_id_of, new_or_known_autocomplete
from cogs.refiling import RefileButton, send_submission_reply


def _source_of(interaction: discord.Interaction, message: discord.Message | None = None) -> str:
    """Where a submission came from, for moderators: the message link when there is one."""
    if message is not None:
        return message.jump_url
    return f"/enroll by {interaction.user.id} in channel {interaction.channel_id}"


class SubmitModal(ReportingModal, title="Submit as character reference"):
    """Asks who is in the picture; the picture itself was chosen with the message menu."""

    character = discord.ui.TextInput(label="Character name", max_length=100)
    series = discord.ui.TextInput(label="Series (optional)", max_length=200, required=False)

    def __init__(self, source: ImageSource, message: discord.Message) -> None:
        super().__init__(timeout=600)
        self.source = source
        self.message = message

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Download the picture and file the submission."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = bot_of(interaction)
        data = await read_source(self.source, bot.settings.images.max_bytes, bot.http_session)
        result = await bot.services.enrollment.submit(
            self.character.value.strip(),
            data,
            guild_id=guild_id_of(interaction),
            user_id=interaction.user.id,
            series=self.series.value.strip() or None,
            source=_source_of(interaction, self.message),
        )
        await send_submission_reply(interaction, result)


class EnrollCog(MenuCog):
    """Translates submissions from Discord into the enrollment service."""

    def __init__(self, bot: WaifuBot) -> None:
        super().__init__(bot)
        self.message_menu("Submit as character reference", self.submit_message, guild_only=True)

    async def cog_load(self) -> None:
        """Register the menu, and make "did you mean" buttons of earlier sessions work again."""
        await super().cog_load()
        self.bot.add_dynamic_items(RefileButton)

    async def cog_unload(self) -> None:
        """Take the menu and the buttons away with the cog."""
        self.bot.remove_dynamic_items(RefileButton)
        await super().cog_unload()

    @app_commands.command(name="enroll", description="Submit a picture of a character for moderators to review")
    @app_commands.describe(
        character="The character's name (pick one or type a new one)",
        image="A picture of the character",
        series="The series the character is from (for new characters)",
    )
    @app_commands.autocomplete(character=new_or_known_autocomplete)
    @app_commands.guild_only()
    async def enroll(
        self,
        interaction: discord.Interaction,
        character: app_commands.Range[str, 1, 100],
        image: discord.Attachment,
        series: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """File a pending submission and acknowledge it privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await read_attachment(image, self.bot.settings.images.max_bytes, self.bot.http_session)
        result = await self.bot.services.enrollment.submit(
            character.strip(),
            data,
            guild_id=guild_id_of(interaction),
            user_id=interaction.user.id,
            series=series,
            source=_source_of(interaction),
        )
        await send_submission_reply(interaction, result)

    async def submit_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Ask for the character's name, then submit the message's first picture."""
        sources = images_in(message, limit=1)
        if not sources:
            raise NotFound("That message has no picture to submit.")
        await interaction.response.send_modal(SubmitModal(sources[0], message))


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(EnrollCog(bot))
