"""/similar: the approved references nearest to a picture, as a gallery image with the names beneath."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.attachments import read_attachment
from bot.discord_adapter.client import WaifuBot
from bot.services.cards import Panel, gallery_card
from bot.services.similar import DEFAULT_TOP, MAX_TOP, SimilarResult
from cogs.common import NO_MENTIONS, age_restricted, esc, interaction_guild_id, per_user_cooldown, upload_limit
from cogs.rendering import REVIEW_COLOUR, TITLE, UNKNOWN_COLOUR, clip

CARD_NAME = "similar.png"
DESCRIPTION = 4096
"""Discord's limit on an embed description."""
MEASURES = {"embedding": "CCIP difference", "blocks": "fitted feature distance", "tags": "tag distance"}
EMPTY_TEXT = (
    "This server has no approved references to compare with yet. "
    "Teach me a character with `/enroll character:<name> image:<picture>`."
)


def similar_embed(result: SimilarResult, *, image: str | None) -> discord.Embed:
    """Each near reference as a numbered line (read by screen readers), the gallery image beneath."""
    if not result.references:
        return discord.Embed(title="No similar references", description=EMPTY_TEXT, colour=UNKNOWN_COLOUR)
    measure = MEASURES.get(result.measure, result.measure)
    lines = [
        f"The {len(result.references)} references nearest to this picture, of {result.searched} this server "
        f"can see ({measure}, smaller is nearer):"
    ]
    for position, reference in enumerate(result.references, start=1):
        series = f" — *{esc(reference.series)}*" if reference.series else ""
        hidden = " · picture not shown in this channel (age rating)" if reference.withheld else ""
        lines.append(
            f"{position}. **{esc(reference.character)}**{series} · reference #{reference.reference_id} · "
            f"{reference.distance:.3f}{hidden}"
        )
    embed = discord.Embed(
        title=clip("Nearest references", TITLE), description=clip("\n".join(lines), DESCRIPTION), colour=REVIEW_COLOUR
    )
    if result.notes:
        embed.set_footer(text=clip(" · ".join(result.notes), 2048))
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    return embed


def panels_of(result: SimilarResult) -> list[Panel]:
    """One captioned tile per reference; a withheld or missing picture is a grey tile that says why."""
    return [
        Panel(
            f"{position}. {reference.character}",
            reference.picture,
            note="not shown in this channel" if reference.withheld else "picture missing",
        )
        for position, reference in enumerate(result.references, start=1)
    ]


class SimilarCog(commands.Cog):
    """Translates /similar into the similar-references service and back."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot

    @app_commands.command(name="similar", description="The approved references nearest to this picture")
    @app_commands.describe(image="A picture (PNG, JPEG, GIF, WebP or BMP)", count="How many references (1-12)")
    @per_user_cooldown()
    async def similar(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        count: app_commands.Range[int, 1, MAX_TOP] = DEFAULT_TOP,
    ) -> None:
        """The nearest references this server may see, their pictures only where this channel may show them."""
        await interaction.response.defer(thinking=True)
        data = await read_attachment(image, self.bot.settings.images.max_bytes, self.bot.http_session)
        result = await self.bot.services.similar.similar(
            data,
            guild_id=interaction_guild_id(interaction),
            age_restricted=age_restricted(interaction.channel),
            top=count,
            owner=interaction.user.id,
        )
        limit = upload_limit(interaction.guild)
        files: list[discord.File] = []
        if result.references:
            card = await asyncio.to_thread(gallery_card, panels_of(result), max_bytes=limit)
            if len(card) <= limit:
                files.append(discord.File(io.BytesIO(card), filename=CARD_NAME))
        embed = similar_embed(result, image=CARD_NAME if files else None)
        await interaction.followup.send(embed=embed, files=files, allowed_mentions=NO_MENTIONS)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(SimilarCog(bot))
