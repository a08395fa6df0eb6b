"""/stats: how well taught the bot is here, with a histogram of references per character."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.client import WaifuBot
from bot.services.cards import bar_chart
from bot.services.stats import GalleryStats, age_text, gallery_stats
from cogs.common import NO_MENTIONS, esc, interaction_guild_id, upload_limit
from cogs.rendering import REVIEW_COLOUR, clip

HISTOGRAM_NAME = "references.png"


def stats_embed(stats: GalleryStats, *, image: str | None) -> discord.Embed:
    """Counts, the queue, stale references, contributors and the weakest characters, within Discord's limits."""
    embed = discord.Embed(title="Gallery statistics", colour=REVIEW_COLOUR)
    embed.description = (
        f"**{stats.characters}** characters, **{stats.references}** approved references "
        f"(per character: min {stats.minimum}, median {stats.median:g}, max {stats.maximum})."
    )
    embed.add_field(name="Pending", value=f"{stats.pending} (oldest: {age_text(stats.oldest_pending_age)})")
    embed.add_field(name="Waiting for reindex", value=str(stats.other_model))
    contributors = "\n".join(f"<@{user}> · {count}" for user, count in stats.contributors) or "nobody yet"
    embed.add_field(name="Top contributors", value=clip(contributors, 1024), inline=False)
    weakest = "\n".join(f"**{esc(name)}** · {count}" for name, count in stats.weakest) or "no characters yet"
    embed.add_field(name="Fewest references", value=clip(weakest, 1024), inline=False)
    embed.add_field(
        name=f"Most corrected in the last {stats.window.days} days",
        value=clip(confused_text(stats), 1024),
        inline=False,
    )
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    return embed


def confused_text(stats: GalleryStats) -> str:
    """One line per character answers named and people corrected with "Not right?", with what they said instead."""
    lines = []
    for confusion in stats.confused:
        times = "time" if confusion.corrections == 1 else "times"
        instead = f", mostly to **{esc(confusion.mostly_to)}**" if confusion.mostly_to else ""
        lines.append(f"**{esc(confusion.character)}** · corrected {confusion.corrections} {times}{instead}")
    return "\n".join(lines) or "no corrections yet"


class StatsCog(commands.Cog):
    """Translates /stats into the statistics service and back."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="How many characters and references the bot knows here")
    async def stats(self, interaction: discord.Interaction) -> None:
        """The statistics of what this server sees (the global gallery and its own)."""
        await interaction.response.defer(thinking=True)
        services = self.bot.services
        found = await gallery_stats(services.store, services.gallery, guild_id=interaction_guild_id(interaction))
        limit = upload_limit(interaction.guild)
        chart = await asyncio.to_thread(
            bar_chart, found.histogram, title="characters by number of references", max_bytes=limit
        )
        files = [discord.File(io.BytesIO(chart), filename=HISTOGRAM_NAME)] if len(chart) <= limit else []
        embed = stats_embed(found, image=HISTOGRAM_NAME if files else None)
        await interaction.followup.send(embed=embed, files=files, allowed_mentions=NO_MENTIONS)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(StatsCog(bot))
