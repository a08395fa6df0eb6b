"""/review: moderators walk pending submissions with Approve / Reject / Skip buttons that survive restarts.

The buttons are `DynamicItem`s: the action and the submission id live in the custom id, so a button on
a message sent before a restart is still understood after it.
"""

from __future__ import annotations

import io
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_client import WaifuBot
from bot.discord_errors import reply_error
from bot.errors import NotFound
from bot.store.records import ReferenceRecord, ReferenceStatus
from cogs.common import NO_MENTIONS, bot_of, esc, guild_id_of, require_moderator
from cogs.rendering import review_embed

log = logging.getLogger(__name__)

ACTIONS = {
    "approve": ("Approve", discord.ButtonStyle.success),
    "reject": ("Reject", discord.ButtonStyle.danger),
    "skip": ("Skip", discord.ButtonStyle.secondary),
}
CUSTOM_ID = r"waifu:review:(?P<action>approve|reject|skip):(?P<reference>\d+)"


class ReviewButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID):
    """One review action on one submission."""

    def __init__(self, action: str, reference_id: int) -> None:
        label, style = ACTIONS[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"waifu:review:{action}:{reference_id}"))
        self.action = action
        self.reference_id = reference_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ReviewButton:
        """Rebuild the button from its custom id (after a restart too)."""
        return cls(match["action"], int(match["reference"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator, apply the action, and show the next submission in place."""
        try:
            await self._review(interaction)
        except Exception as error:
            await reply_error(interaction, error)

    async def _review(self, interaction: discord.Interaction) -> None:
        await require_moderator(interaction)
        bot = bot_of(interaction)
        guild_id = guild_id_of(interaction)
        reference = await bot.services.store.get_reference(self.reference_id)
        if reference is None or reference.guild_id != guild_id:
            raise NotFound(f"Submission #{self.reference_id} no longer exists.")
        character = await bot.services.store.get_character(reference.character_id)
        name = esc(character.name) if character else f"character #{reference.character_id}"
        if self.action == "skip":
            status = f"Skipped #{reference.id}."
        elif reference.status is not ReferenceStatus.PENDING:
            status = f"Submission #{reference.id} was already {reference.status.value}."
        elif self.action == "approve":
            await bot.services.enrollment.approve(reference.id, reviewer_id=interaction.user.id)
            status = f"Approved #{reference.id}: **{name}** is now recognised in this server."
            await notify_submitter(bot, reference, f"Your picture of **{name}** was approved. Thank you!")
        else:
            await bot.services.enrollment.reject(reference.id, reviewer_id=interaction.user.id)
            status = f"Rejected #{reference.id} ({name})."
            await notify_submitter(bot, reference, f"Your picture of **{name}** was not accepted.")
        after = reference.id if self.action == "skip" else None
        card = await review_card(bot, guild_id, after_id=after)
        if card is None:
            await interaction.response.edit_message(
                content=f"{status} No more pending submissions.", embed=None, attachments=[], view=None
            )
            return
        embed, files, view = card
        await interaction.response.edit_message(content=status, embed=embed, attachments=files, view=view)


async def notify_submitter(bot: WaifuBot, reference: ReferenceRecord, text: str) -> None:
    """Tell the submitter by direct message when configured; a closed DM is not an error."""
    if not bot.settings.discord.notify_submitter or not reference.submitted_by:
        return
    try:
        user = await bot.fetch_user(reference.submitted_by)
        await user.send(text, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.info("could not notify user %s about submission %s", reference.submitted_by, reference.id)


async def review_card(
    bot: WaifuBot, guild_id: int, *, after_id: int | None = None
) -> tuple[discord.Embed, list[discord.File], discord.ui.View] | None:
    """The next pending submission of the guild (after `after_id` when skipping) with its buttons."""
    store = bot.services.store
    reference = await store.next_pending(guild_id=guild_id, after_id=after_id)
    if reference is None and after_id is not None:
        reference = await store.next_pending(guild_id=guild_id)
    if reference is None:
        return None
    character = await store.get_character(reference.character_id)
    files: list[discord.File] = []
    if reference.image_path:
        try:
            data = bot.services.images.read(reference.image_path)
            files.append(discord.File(io.BytesIO(data), filename="submission." + reference.image_path.rsplit(".")[-1]))
        except OSError:
            log.warning("picture of submission %s is missing", reference.id)
    pending = await store.count_pending(guild_id=guild_id)
    embed = review_embed(reference, character, pending, files[0].filename if files else None)
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(ReviewButton(action, reference.id))
    return embed, files, view


class ReviewCog(commands.Cog):
    """Moderation of community submissions."""

    def __init__(self, bot: WaifuBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Make buttons of earlier sessions work again."""
        self.bot.add_dynamic_items(ReviewButton)

    async def cog_unload(self) -> None:
        """Stop handling the buttons with the cog."""
        self.bot.remove_dynamic_items(ReviewButton)

    @app_commands.command(name="review", description="Review pending character submissions (moderators)")
    @app_commands.guild_only()
    async def review(self, interaction: discord.Interaction) -> None:
        """Show the first pending submission privately, with its buttons."""
        await require_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        card = await review_card(self.bot, guild_id_of(interaction))
        if card is None:
            await interaction.followup.send("No pending submissions. 🎉", ephemeral=True)
            return
        embed, files, view = card
        await interaction.followup.send(embed=embed, files=files, view=view, ephemeral=True)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(ReviewCog(bot))
