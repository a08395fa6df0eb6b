"""One place that turns any error raised while serving an interaction into a short, private answer.

Domain errors (`UserFacingError`) carry their own message; discord.py's check failures get a plain
sentence; anything else is a bug: the user gets an apology, the log gets the traceback. Nothing
from a traceback ever reaches a channel.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TypeVar

import discord
from discord import app_commands

from bot.errors import StoreUnavailable
from models.errors import UserFacingError

log = logging.getLogger(__name__)
E = TypeVar("E", bound=BaseException)

MESSAGE_LIMIT = 2000
"""Discord refuses longer message content; an error quoting what a person typed can run past it."""
APOLOGY = "Sorry, something went wrong on my side while doing that. The error was logged; please try again later."


def written_for_discord(error: E) -> E:
    """Mark an error whose message was written here, for Discord: its markdown is meant, not a name's."""
    error.discord_markdown = True  # type: ignore[attr-defined]
    return error


def _shown(error: UserFacingError) -> str:
    """The message as Discord should show it: a core message is plain text, so names in it stay literal."""
    if getattr(error, "discord_markdown", False):
        return error.user_message
    return discord.utils.escape_mentions(discord.utils.escape_markdown(error.user_message))


def unwrap(error: BaseException) -> BaseException:
    """The error a command or component actually raised, under discord.py's wrappers."""
    wrappers = app_commands.CommandInvokeError | app_commands.TransformerError | app_commands.CheckFailure
    while isinstance(error, wrappers) and isinstance(error.__cause__, Exception):
        error = error.__cause__
    original = getattr(error, "original", None)
    return original if isinstance(original, BaseException) else error


STORE_UNAVAILABLE = "The bot's storage is unavailable right now; the operator has been told. Please try again later."
"""What members see when the database fails: its file name and the operator's remedy stay in the log."""


def user_message(error: BaseException) -> str | None:
    """The sentence to show for an expected error, or None when it is a bug."""
    error = unwrap(error)
    if isinstance(error, StoreUnavailable):
        log.error("store unavailable: %s", error.user_message)
        return STORE_UNAVAILABLE
    if isinstance(error, UserFacingError):
        return _shown(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try this again in {max(1, round(error.retry_after))} s."
    if isinstance(error, app_commands.MissingPermissions):
        missing = ", ".join(p.replace("_", " ").replace("guild", "server") for p in error.missing_permissions)
        return f"You need the {missing} permission to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only inside a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    return None


EXPIRED_CODES = frozenset({10015, 10062})
"""Unknown Webhook / Unknown Interaction: the interaction's token expired (15 minutes) or was never answered in 3 s."""


async def reply_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer the interaction privately with the error's message (or an apology, logging the bug)."""
    cause = unwrap(error)
    if isinstance(cause, discord.NotFound) and cause.code in EXPIRED_CODES:
        # not a bug, and nothing can be sent on a dead token: say so once, without a traceback
        log.warning("interaction %s expired before its answer was sent: %s", interaction.id, cause)
        return
    message = user_message(error)
    if message is None:
        command = interaction.command.qualified_name if interaction.command else interaction.data
        log.error("unhandled error in interaction %s (%s)", interaction.id, command, exc_info=unwrap(error))
        message = APOLOGY
    else:
        log.info("interaction %s refused: %s", interaction.id, unwrap(error))
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 1] + "…"
    try:
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # a public "thinking..." would turn the error public: drop it and answer privately instead
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException:
        log.warning("could not tell the user about an error in interaction %s", interaction.id, exc_info=True)
