"""/review: moderators walk pending submissions with Approve / Reject / Skip buttons that survive restarts.

The buttons are `DynamicItem`s: the action and the submission id live in the custom id, so a button on
a message sent before a restart is still understood after it. Custom ids are parsed strictly (a known action and
an id of at most 18 digits, so it fits every database's BIGINT); any other `waifu:` id is answered privately as a
button that is no longer valid, never with an error.
"""

from __future__ import annotations

import io
import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.client import WaifuBot
from bot.discord_adapter.replies import reply_error
from bot.services.references import may_show
from bot.services.review import Action, ReviewDecision, Submission
from cogs.common import (
    NO_MENTIONS,
    age_restricted,
    bot_of,
    esc,
    guild_id_of,
    moderators_only,
    require_moderator,
    upload_limit,
)
from cogs.rendering import review_embed

log = logging.getLogger(__name__)

ACTIONS = {
    "approve": ("Approve", discord.ButtonStyle.success),
    "reject": ("Reject", discord.ButtonStyle.danger),
    "skip": ("Skip", discord.ButtonStyle.secondary),
}
CUSTOM_ID = r"waifu:review:(?P<action>approve|reject|skip):(?P<reference>[1-9][0-9]{0,17})"
"""At most 18 digits: always below 2**63, so no forged id can overflow a BIGINT (79 nines did, in SQLite)."""
CUSTOM_ID_PREFIX = "waifu:"
STALE_TEXT = "This button is no longer valid."


def parse_custom_id(custom_id: str) -> tuple[Action, int] | None:
    """The action and submission id of a review button's custom id, or None for anything else."""
    match = re.fullmatch(CUSTOM_ID, custom_id)
    return None if match is None else (match["action"], int(match["reference"]))  # type: ignore[return-value]


class ReviewButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID):
    """One review action on one submission."""

    def __init__(self, action: Action, reference_id: int) -> None:
        label, style = ACTIONS[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"waifu:review:{action}:{reference_id}"))
        self.action = action
        self.reference_id = reference_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ReviewButton:
        """Rebuild the button from its custom id (after a restart too); the template admits only valid ids."""
        action, reference_id = parse_custom_id(match.string) or ("skip", 0)
        return cls(action, reference_id)

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
        review = bot.services.review
        decision = await review.decide(
            self.reference_id, self.action, guild_id=guild_id, reviewer_id=interaction.user.id
        )
        status = decision_text(decision)
        after = decision.reference.id if decision.outcome == "skipped" else None
        submission = await review.next_submission(guild_id, after_id=after)
        if submission is None:
            await interaction.response.edit_message(
                content=f"{status} No more pending submissions.", embed=None, attachments=[], view=None
            )
        else:
            embed, files, view = review_card(
                submission, age_restricted(interaction.channel), upload_limit(interaction.guild)
            )
            await interaction.response.edit_message(content=status, embed=embed, attachments=files, view=view)
        if decision.submitter_should_hear:  # after answering: Discord waits only 3 s for the answer
            await notify_submitter(bot, decision)


def decision_text(decision: ReviewDecision) -> str:
    """The moderator's confirmation of what their press did."""
    reference_id, name = decision.reference.id, esc(decision.character_name)
    match decision.outcome:
        case "approved":
            return f"Approved #{reference_id}: **{name}** is now recognised in this server."
        case "rejected":
            return f"Rejected #{reference_id} ({name})."
        case "skipped":
            return f"Skipped #{reference_id}."
        case _:
            return f"Submission #{reference_id} was already {decision.reference.status.value}."


async def notify_submitter(bot: WaifuBot, decision: ReviewDecision) -> None:
    """Tell the submitter by direct message when configured; a closed DM is not an error."""
    reference = decision.reference
    if not bot.settings.discord.notify_submitter or not reference.submitted_by:
        return
    name = esc(decision.character_name)
    if decision.outcome == "approved":
        text = f"Your picture of **{name}** (submission #{reference.id}) was approved. Thank you!"
    else:
        text = f"Your picture of **{name}** (submission #{reference.id}) was not accepted."
    try:
        user = await bot.fetch_user(reference.submitted_by)
        await user.send(text, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.info("could not notify user %s about submission %s", reference.submitted_by, reference.id)


def review_card(
    submission: Submission, channel_age_restricted: bool, max_upload: int
) -> tuple[discord.Embed, list[discord.File], discord.ui.View]:
    """A submission's embed, picture (a spoiler where its rating does not suit; left out if too large) and buttons."""
    reference = submission.reference
    hidden = not may_show(reference.rating, age_restricted=channel_age_restricted)
    files: list[discord.File] = []
    if submission.image is not None and len(submission.image) <= max_upload:
        filename = f"submission.{submission.extension}"
        files.append(discord.File(io.BytesIO(submission.image), filename=filename, spoiler=hidden))
    embed = review_embed(submission, files[0].filename if files else None, hidden_rating=hidden)
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

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer a press on a `waifu:` button that no handler understands (forged, malformed or retired)."""
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if custom_id.startswith(CUSTOM_ID_PREFIX) and parse_custom_id(custom_id) is None:
            try:
                await interaction.response.send_message(STALE_TEXT, ephemeral=True)
            except discord.HTTPException:
                log.info("could not answer a press on the unknown button %.100r", custom_id)

    @app_commands.command(name="review", description="Review pending character submissions (moderators)")
    @app_commands.guild_only()
    @moderators_only()
    async def review(self, interaction: discord.Interaction) -> None:
        """Show the first pending submission privately, with its buttons."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        submission = await self.bot.services.review.next_submission(guild_id_of(interaction))
        if submission is None:
            await interaction.followup.send("No pending submissions. 🎉", ephemeral=True)
            return
        embed, files, view = review_card(
            submission, age_restricted(interaction.channel), upload_limit(interaction.guild)
        )
        await interaction.followup.send(embed=embed, files=files, view=view, ephemeral=True)


async def setup(bot: WaifuBot) -> None:
    """Extension entry point."""
    await bot.add_cog(ReviewCog(bot))
