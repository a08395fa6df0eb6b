""" "Did you mean X?" on a submission whose new name is close to a known character: Use X, or Keep as new.

The submission is already filed under the name as typed, so nothing is lost if nobody presses; "Use X" moves it
to X while it is pending (the name it leaves goes with it), "Keep as new" confirms it. The buttons are
`DynamicItem`s: the submission and the character live in the custom id, so they work after a restart. Ids are
parsed strictly (1-18 digit ids, always within BIGINT); one that does not parse, names another guild's
submission or a character not visible here is answered privately as a button that is no longer valid. Only the
submitter may press them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from bot.discord_adapter.replies import reply_error
from bot.services.refiling import refile
from bot.services.results import EnrollmentResult
from cogs.common import NO_MENTIONS, bot_of, esc
from cogs.rendering import submitted_text

PREFIX = "refile:"
TEMPLATE = r"refile:(?P<rest>.{0,90})"
"""Every id under the prefix reaches the button, so a forged or malformed one is answered rather than ignored."""
FIELDS = r"(?P<reference>[1-9][0-9]{0,17}):(?P<character>0|[1-9][0-9]{0,17})"
KEEP = 0
"""Character id meaning "keep the submission under the name as typed"."""
STALE_TEXT = "This button is no longer valid."
MAX_CHOICES = 3


@dataclass(frozen=True)
class RefileChoice:
    """One answer to "did you mean": the submission, and the character to file it under (KEEP: as typed)."""

    reference_id: int
    character_id: int

    @property
    def custom_id(self) -> str:
        """The button's custom id."""
        return f"{PREFIX}{self.reference_id}:{self.character_id}"


def parse_choice(custom_id: str) -> RefileChoice | None:
    """The choice a "did you mean" custom id carries, or None when any part is missing or malformed."""
    match = re.fullmatch(FIELDS, custom_id.removeprefix(PREFIX)) if custom_id.startswith(PREFIX) else None
    return None if match is None else RefileChoice(int(match["reference"]), int(match["character"]))


class RefileButton(discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    """Files one submission under one character, or keeps it as typed."""

    def __init__(self, choice: RefileChoice | None, *, label: str = "Keep as new", raw: str = "") -> None:
        custom_id = choice.custom_id if choice else (raw or f"{PREFIX}invalid")
        style = discord.ButtonStyle.secondary if choice and choice.character_id == KEEP else discord.ButtonStyle.primary
        super().__init__(discord.ui.Button(label=label[:80], style=style, custom_id=custom_id))
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RefileButton:
        """Rebuild from the custom id (after a restart too); a bad id gives a button that says it is stale."""
        return cls(parse_choice(match.string), raw=match.string[:100])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Move or keep the submission and say where it now is, in place of the question."""
        kept = self.choice is not None and self.choice.character_id == KEEP
        try:
            result = None
            if self.choice is not None and interaction.guild_id is not None:
                services = bot_of(interaction).services
                result = await refile(
                    services.store,
                    self.choice.reference_id,
                    None if kept else self.choice.character_id,
                    guild_id=interaction.guild_id,
                    user_id=interaction.user.id,
                    duplicates=services.enrollment.duplicates,
                )
            if result is None:
                await interaction.response.send_message(STALE_TEXT, ephemeral=True)
                return
            await interaction.response.edit_message(
                content=refiled_text(result, kept=kept), view=None, allowed_mentions=NO_MENTIONS
            )
        except Exception as error:
            await reply_error(interaction, error)


def refiled_text(result: EnrollmentResult, *, kept: bool) -> str:
    """Where the submission is filed after the answer."""
    name, reference_id = esc(result.character.name), result.reference.id
    if kept:
        return f"Kept as the new character **{name}**: submission #{reference_id}; a moderator will review it."
    return f"Filed under **{name}** instead: submission #{reference_id}; a moderator will review it."


def submission_reply(result: EnrollmentResult) -> tuple[str, discord.ui.View | None]:
    """The acknowledgement of a submission, and for a new name close to known ones "did you mean" with buttons."""
    text = submitted_text(result)
    close = result.close_to[:MAX_CHOICES]
    if not (result.created_character and close):
        return text, None
    names = " or ".join(f"**{esc(character.name)}**" for character in close)
    text += (
        f"\nDid you mean {names}? **{esc(result.character.name)}** is close to an existing character: "
        "use it to file the picture under that name, or keep it as a new character."
    )
    view = discord.ui.View(timeout=None)
    for character in close:
        view.add_item(RefileButton(RefileChoice(result.reference.id, character.id), label=f"Use {character.name}"))
    view.add_item(RefileButton(RefileChoice(result.reference.id, KEEP), label="Keep as new"))
    return text, view


async def send_submission_reply(interaction: discord.Interaction, result: EnrollmentResult) -> None:
    """Acknowledge a submission privately (after a deferral), asking "did you mean" where its new name calls for it."""
    text, view = submission_reply(result)
    if view is None:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.followup.send(text, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
