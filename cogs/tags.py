"""/tags: what the tagger sees in a picture, above its thresholds, by category (or by region for the palette)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.attachments import read_attachment
from bot.discord_adapter.client import WaifuBot
from bot.services.tags import TagScore, TagsResult
from cogs.common import NO_MENTIONS, esc, per_user_cooldown
from cogs.rendering import EMBED_TOTAL, FIELD_VALUE, REVIEW_COLOUR, listed

NOTHING = "nothing above the threshold"


def scores_text(scores: tuple[TagScore, ...], room: int = FIELD_VALUE) -> str:
    """`tag 0.93, other 0.41, …` within `room` characters (what did not fit is counted)."""
    return listed([f"{esc(score.tag)} {score.probability:.2f}" for score in scores], room) or NOTHING


def tags_embed(result: TagsResult) -> discord.Embed:
    """Rating, character and general tags (a WD tagger), or the palette's colours per region."""
    embed = discord.Embed(title="Tags", colour=REVIEW_COLOUR)
    thresholds = ", ".join(f"{name} {value:.2f}" for name, value in result.thresholds)
    embed.set_footer(text=f"{result.tagger[:200]} · thresholds: {thresholds}")
    if result.palette:
        embed.description = "Colours the offline palette tagger sees in each region of the picture."
        groups = result.regions() or (("whole", ()),)
    else:
        groups = (("rating", result.rating), ("character", result.character), ("general", result.general))
    room = (EMBED_TOTAL - len(embed)) // max(1, len(groups)) - 20
    for name, scores in groups:
        embed.add_field(name=name.capitalize(), value=scores_text(scores, min(FIELD_VALUE, room)), inline=False)
    return embed


class TagsCog(commands.Cog):
    """Translates /tags into the tag service and back."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot

    @app_commands.command(name="tags", description="The tags the tagger sees in this picture")
    @app_commands.describe(image="A picture (PNG, JPEG, GIF, WebP or BMP)")
    @per_user_cooldown()
    async def tags(self, interaction: discord.Interaction, image: discord.Attachment) -> None:
        """Tag the attached picture."""
        await interaction.response.defer(thinking=True)
        data = await read_attachment(image, self.bot.settings.images.max_bytes, self.bot.http_session)
        result = await self.bot.services.tags.tags(data, owner=interaction.user.id)
        await interaction.followup.send(embed=tags_embed(result), allowed_mentions=NO_MENTIONS)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(TagsCog(bot))
