"""/whynot: why a picture is (or is not) a given character, as tag evidence a person can check."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands

from bot.discord_adapter.attachments import ImageSource, images_in, read_attachment, read_source
from bot.discord_adapter.client import WaifuBot
from bot.errors import NotFound
from bot.services.cards import Panel, whynot_card
from bot.services.references import may_show
from bot.services.results import WhyNotResult
from cogs.base import MenuCog, ReportingModal
from cogs.common import (
    NO_MENTIONS,
    age_restricted,
    bot_of,
    character_autocomplete,
    interaction_guild_id,
    per_user_cooldown,
    upload_limit,
)
from cogs.rendering import whynot_embed

CARD_NAME = "whynot.png"


async def _reference_panel(
    bot: WaifuBot, name: str, character_id: int | None, interaction: discord.Interaction
) -> Panel:
    """The character's most typical reference that this guild may see and this channel may show."""
    guild_id = interaction_guild_id(interaction)
    if character_id is None:
        try:
            character_id = (await bot.services.characters.resolve(name, guild_id=guild_id)).id
        except NotFound:
            return Panel(name, note="not enrolled here")
    picture = await bot.services.pictures.for_character(
        character_id, guild_id=guild_id, age_restricted=age_restricted(interaction.channel)
    )
    return Panel(name, picture.data if picture else None, note="no reference that may be shown here")


async def send_whynot(interaction: discord.Interaction, result: WhyNotResult, image: bytes) -> None:
    """The embed (read by screen readers) with the why-not card drawn beside it."""
    bot = bot_of(interaction)
    other = result.best_match if result.rank != 1 else result.compared_with
    shown = may_show(result.rating, age_restricted=age_restricted(interaction.channel))
    panels = [Panel("this picture", image if shown else None, box=result.box, note="not shown in this channel")]
    panels.append(await _reference_panel(bot, result.character, result.character_id, interaction))
    if other is not None and other != result.character:
        panels.append(await _reference_panel(bot, other, None, interaction))
    headline = f"Why (not) {result.character}? rank {result.rank} of {result.candidates}"
    card = await asyncio.to_thread(
        whynot_card,
        panels,
        result.supporting,
        result.opposing,
        headline=headline,
        max_bytes=upload_limit(interaction.guild),
        max_pixels=bot.settings.images.max_pixels,
    )
    embed = whynot_embed(result)
    files = []
    if len(card) <= upload_limit(interaction.guild):
        embed.set_image(url=f"attachment://{CARD_NAME}")
        files.append(discord.File(io.BytesIO(card), filename=CARD_NAME))
    await interaction.followup.send(embed=embed, files=files, allowed_mentions=NO_MENTIONS)


class WhyNotModal(ReportingModal, title="Why (not) this character?"):
    """Asks which character to explain; the picture was chosen with the message menu."""

    character = discord.ui.TextInput(label="Character name or alias", max_length=100)

    def __init__(self, source: ImageSource) -> None:
        super().__init__(timeout=600)
        self.source = source

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Download the picture and explain it."""
        await interaction.response.defer(thinking=True)
        bot = bot_of(interaction)
        data = await read_source(self.source, bot.settings.images.max_bytes, bot.http_session)
        result = await bot.services.whynot.whynot(
            data, self.character.value.strip(), guild_id=interaction.guild_id, owner=interaction.user.id
        )
        await send_whynot(interaction, result, data)


class WhyNotCog(MenuCog):
    """Translates whynot requests from Discord into the whynot service and back."""

    def __init__(self, bot: WaifuBot) -> None:
        super().__init__(bot)
        self.message_menu("Why (not) this character?", self.whynot_message)  # on a picture someone else posted

    @per_user_cooldown()
    async def whynot_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Ask for the character, then explain the message's first picture."""
        sources = images_in(message, limit=1)
        if not sources:
            raise NotFound("That message has no picture to explain.")
        await interaction.response.send_modal(WhyNotModal(sources[0]))

    @app_commands.command(name="whynot", description="Why is this picture (not) the character I name?")
    @app_commands.describe(character="A character name or alias", image="The picture to explain")
    @app_commands.autocomplete(character=character_autocomplete)
    @per_user_cooldown()
    async def whynot(
        self, interaction: discord.Interaction, character: app_commands.Range[str, 1, 100], image: discord.Attachment
    ) -> None:
        """Explain the ranking of `character` for the picture."""
        await interaction.response.defer(thinking=True)
        data = await read_attachment(image, self.bot.settings.images.max_bytes, self.bot.http_session)
        result = await self.bot.services.whynot.whynot(
            data, character, guild_id=interaction_guild_id(interaction), owner=interaction.user.id
        )
        await send_whynot(interaction, result, data)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(WhyNotCog(bot))
