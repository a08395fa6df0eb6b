"""/identify, the "Identify character" message menu, and auto-identify in channels moderators chose."""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.attachments import images_in, read_attachment, read_source
from bot.discord_adapter.client import WaifuBot
from bot.discord_adapter.replies import user_message
from bot.errors import NotFound
from bot.services.references import best_match, may_show
from bot.services.results import IdentifyResult
from cogs.base import MenuCog
from cogs.common import (
    NO_MENTIONS,
    age_restricted,
    bot_of,
    interaction_guild_id,
    per_user_cooldown,
    upload_limit,
)
from cogs.feedback import THIS_MESSAGE, NotRightButton, PictureAddress, not_right_view
from cogs.rendering import EMBED_TOTAL, clip, identify_embed
from models.intake import sniff_image_type

log = logging.getLogger(__name__)


async def identify_bytes(
    bot: WaifuBot,
    data: bytes,
    *,
    guild_id: int | None,
    channel: object,
    label: str | None,
    max_upload: int,
    user_id: int,
    index: int = 0,
    budget: int = EMBED_TOTAL,
) -> tuple[IdentifyResult, discord.Embed, discord.File | None]:
    """Identify one picture for `user_id` and render it; the best match's reference is the thumbnail where allowed."""
    result = await bot.services.identify.identify(data, guild_id=guild_id, owner=user_id)
    picture = await bot.services.pictures.thumbnail(result, guild_id=guild_id, age_restricted=age_restricted(channel))
    thumbnail = None
    if picture is not None and len(picture.data) > max_upload:
        log.info("reference %s is too large to attach (%d bytes)", picture.reference.id, len(picture.data))
    elif picture is not None:
        thumbnail = discord.File(io.BytesIO(picture.data), filename=f"reference{index}.{picture.extension}")
    embed = identify_embed(result, label=label, thumbnail=thumbnail.filename if thumbnail else None, budget=budget)
    return result, embed, thumbnail


def named(result: IdentifyResult) -> int | None:
    """The gallery character the answer names (None: unknown, or named by the tagger only), for "Not right?"."""
    match = best_match(result)
    return match.character_id if match is not None else None


class IdentifyCog(MenuCog):
    """Translates identify requests from Discord into the identify service and back."""

    def __init__(self, bot: WaifuBot) -> None:
        super().__init__(bot)
        self.auto_channels: set[int] = set()
        self.auto_cooldown = commands.CooldownMapping.from_cooldown(
            bot.settings.discord.identify_per_minute, 60.0, commands.BucketType.user
        )
        """Auto-identify answers a person this often; pictures posted faster are left alone."""
        self.message_menu("Identify character", self.identify_message, guild_only=True)

    async def cog_load(self) -> None:
        """Register the context menu and the "Not right?" buttons, and remember where auto-identify is on."""
        await super().cog_load()
        self.bot.add_dynamic_items(NotRightButton)
        self.auto_channels = await self.bot.services.guild_settings.all_autoidentify_channels()

    async def cog_unload(self) -> None:
        """Take the buttons and menus away with the cog."""
        self.bot.remove_dynamic_items(NotRightButton)
        await super().cog_unload()

    @app_commands.command(name="identify", description="Who is the character in this picture?")
    @app_commands.describe(image="A picture (PNG, JPEG, GIF, WebP or BMP)")
    @per_user_cooldown()
    async def identify(self, interaction: discord.Interaction, image: discord.Attachment) -> None:
        """Identify an attached picture."""
        await interaction.response.defer(thinking=True)
        data = await read_attachment(image, self.bot.settings.images.max_bytes, self.bot.http_session)
        guild_id = interaction_guild_id(interaction)
        result, embed, thumbnail = await identify_bytes(
            self.bot,
            data,
            guild_id=guild_id,
            channel=interaction.channel,
            label=None,
            max_upload=upload_limit(interaction.guild),
            user_id=interaction.user.id,
        )
        files = [thumbnail] if thumbnail else []
        room = upload_limit(interaction.guild) - (len(thumbnail.fp.getbuffer()) if thumbnail else 0)
        shown = may_show(result.rating, age_restricted=age_restricted(interaction.channel))  # it is reposted
        if interaction.guild is None or interaction.channel_id is None or len(data) > room or not shown:
            await interaction.followup.send(embed=embed, files=files, allowed_mentions=NO_MENTIONS)
            return
        # The answer carries the query picture, so "Not right?" can read it back from the bot's own message.
        files.append(discord.File(io.BytesIO(data), filename=f"query.{sniff_image_type(data) or 'png'}"))
        view = not_right_view([PictureAddress(interaction.channel_id, THIS_MESSAGE, len(files) - 1, named(result))])
        await interaction.followup.send(embed=embed, files=files, view=view, allowed_mentions=NO_MENTIONS)

    @per_user_cooldown()
    async def identify_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Identify every picture of a message (attachments and embeds), up to four."""
        sources = images_in(message)
        if not sources:
            raise NotFound("That message has no pictures (attachments or embedded images) to identify.")
        await interaction.response.defer(thinking=True)
        if len(sources) > 1:
            await interaction.edit_original_response(content=f"Looking at {len(sources)} pictures…")
        bot = bot_of(interaction)
        guild_id = interaction_guild_id(interaction)
        embeds: list[discord.Embed] = []
        files: list[discord.File] = []
        said: list[int | None] = []
        budget = EMBED_TOTAL // len(sources)  # Discord's limit is on all the embeds of the message together
        for index, source in enumerate(sources):
            label = source.label if len(sources) > 1 else None
            try:
                data = await read_source(source, bot.settings.images.max_bytes, bot.http_session)
                result, embed, thumbnail = await identify_bytes(
                    bot,
                    data,
                    guild_id=guild_id,
                    channel=interaction.channel,
                    label=label,
                    max_upload=upload_limit(interaction.guild) // len(sources),  # one request carries them all
                    user_id=interaction.user.id,
                    index=index,
                    budget=budget,
                )
                said.append(named(result))
            except Exception as error:
                message_text = user_message(error)
                if message_text is None:
                    raise
                embed, thumbnail = discord.Embed(title="Could not read this picture", description=message_text), None
                said.append(None)
                embed.set_footer(text=clip(label or "", budget // 6))
            embeds.append(embed)
            if thumbnail is not None:
                files.append(thumbnail)
        addresses = [
            PictureAddress(message.channel.id, message.id, index, said[index]) for index in range(len(sources))
        ]
        await interaction.edit_original_response(
            content=None, embeds=embeds, attachments=files, view=not_right_view(addresses)
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """In auto-identify channels, answer each picture with a reply (only when someone is recognised)."""
        if message.author.bot or message.guild is None or message.channel.id not in self.auto_channels:
            return
        sources = images_in(message, limit=1)
        if not sources:
            return
        bucket = self.auto_cooldown.get_bucket(message)
        if bucket is not None and bucket.update_rate_limit():
            log.info("auto-identify skipped message %s: %s posts too quickly", message.id, message.author.id)
            return
        try:
            data = await read_source(sources[0], self.bot.settings.images.max_bytes, self.bot.http_session)
            result, embed, thumbnail = await identify_bytes(
                self.bot,
                data,
                guild_id=message.guild.id,
                channel=message.channel,
                label=None,
                max_upload=upload_limit(message.guild),
                user_id=message.author.id,
            )
        except Exception as error:
            if user_message(error) is None:
                log.exception("auto-identify failed on message %s", message.id)
            return
        if all(region.unknown for region in result.regions):
            return
        files = [thumbnail] if thumbnail else []
        try:
            view = not_right_view([PictureAddress(message.channel.id, message.id, 0, named(result))])
            await message.reply(embed=embed, files=files, view=view, mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:  # e.g. 403: a moderator turned it on where the bot may not speak
            log.warning("auto-identify cannot reply in channel %s: %s", message.channel.id, error)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(IdentifyCog(bot))
