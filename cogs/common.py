"""What several cogs share: who may run what, the picture cooldown, name autocomplete, and quiet, escaped text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.replies import written_for_discord
from bot.errors import PermissionDenied
from bot.services.names import NameChoice

if TYPE_CHECKING:
    from bot.discord_adapter.client import WaifuBot

NO_MENTIONS = discord.AllowedMentions.none()
T = TypeVar("T")
Check = Callable[[discord.Interaction], Awaitable[bool]]


def esc(text: str) -> str:
    """A name as literal text: markdown escaped, mentions impossible."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def bot_of(interaction: discord.Interaction) -> WaifuBot:
    """The client serving the interaction, typed."""
    return interaction.client  # type: ignore[return-value]


def guild_id_of(interaction: discord.Interaction) -> int:
    """The guild of an interaction of a guild-only command."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Manage Server, or the guild's moderator role (set with /settings modrole)."""
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    if interaction.permissions.manage_guild:
        return True
    role_id = await bot_of(interaction).services.guild_settings.mod_role(interaction.guild.id)
    return role_id is not None and any(role.id == role_id for role in interaction.user.roles)


async def require_moderator(interaction: discord.Interaction) -> None:
    """Raise PermissionDenied unless the user moderates this guild."""
    if not await is_moderator(interaction):
        raise written_for_discord(
            PermissionDenied(
                "Only moderators can do that (the Manage Server permission, or the role set with `/settings modrole`)."
            )
        )


async def moderator_check(interaction: discord.Interaction) -> bool:
    """`require_moderator` as an app-command check (checks must raise CheckFailure)."""
    try:
        await require_moderator(interaction)
    except PermissionDenied as denied:
        raise app_commands.CheckFailure(denied.user_message) from denied
    return True


def restricted(check: Check, **default_permissions: bool) -> Callable[[T], T]:
    """Who may run a command, said once: whom Discord shows it to by default, and the check run on every use.

    Discord's default permissions only hide a command (a server can show it to anyone under Server
    Settings > Integrations); the check is what refuses. Decorates a command or a `GroupCog` class,
    whose every subcommand then runs the check (Discord takes default permissions per top-level command).
    """

    def decorator(target: T) -> T:
        app_commands.default_permissions(**default_permissions)(target)  # type: ignore[arg-type]
        if isinstance(target, type) and issubclass(target, commands.GroupCog):
            for command in target.__cog_app_commands__:
                app_commands.check(check)(command)
        else:
            app_commands.check(check)(target)
        return target

    return decorator


def moderators_only() -> Callable[[T], T]:
    """For moderators: shown to Manage Server by default, run by Manage Server or the moderator role."""
    return restricted(moderator_check, manage_guild=True)


async def manager_check(interaction: discord.Interaction) -> bool:
    """Manage Server, as an app-command check."""
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


def managers_only() -> Callable[[T], T]:
    """For members with Manage Server only (the moderator role is not enough): shown to and run by them."""
    return restricted(manager_check, manage_guild=True)


def picture_cooldown(interaction: discord.Interaction) -> app_commands.Cooldown:
    """How often one person may ask for a picture to be analysed (`discord.identify_per_minute`)."""
    return app_commands.Cooldown(bot_of(interaction).settings.discord.identify_per_minute, 60.0)


def per_user_cooldown() -> Callable[[T], T]:
    """Limit a picture command per person at the configured rate: inference is shared by everyone."""
    return app_commands.checks.dynamic_cooldown(picture_cooldown, key=lambda interaction: interaction.user.id)


def age_restricted(channel: object) -> bool:
    """Whether the channel is marked age-restricted (threads inherit it; DMs never are)."""
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw is not None and is_nsfw())


def upload_limit(guild: discord.Guild | None) -> int:
    """The largest file the bot may attach here (the guild's boost tier decides); larger ones fail with 413."""
    return guild.filesize_limit if guild is not None else discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES


def interaction_guild_id(interaction: discord.Interaction) -> int | None:
    """The guild of the interaction, or None in direct messages (global characters only)."""
    return interaction.guild.id if interaction.guild else None


def _as_choices(found: list[NameChoice]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=choice.label[:100], value=choice.name[:100]) for choice in found]


async def character_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete of character names and aliases visible from this guild, in any script."""
    found = await bot_of(interaction).services.names.choices(current, guild_id=interaction_guild_id(interaction))
    return _as_choices(found)


async def new_or_known_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Like `character_autocomplete`, plus what was typed as a new character's name when nobody has it."""
    search = bot_of(interaction).services.names
    return _as_choices(await search.choices(current, guild_id=interaction_guild_id(interaction), offer_new=True))
