"""What several cogs share: who moderates, character-name autocomplete, and quiet, escaped text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from rapidfuzz import fuzz, process, utils

from bot.errors import PermissionDenied
from bot.store.records import CharacterRecord

if TYPE_CHECKING:
    from bot.discord_client import WaifuBot

NO_MENTIONS = discord.AllowedMentions.none()
MAX_CHOICES = 25
RATE, PER_SECONDS = 6, 60.0
"""Per-user cooldown of the picture commands: a person can ask this often; inference is shared by everyone."""


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
    role_id = await bot_of(interaction).guild_settings.mod_role(interaction.guild.id)
    return role_id is not None and any(role.id == role_id for role in interaction.user.roles)


async def require_moderator(interaction: discord.Interaction) -> None:
    """Raise PermissionDenied unless the user moderates this guild."""
    if not await is_moderator(interaction):
        raise PermissionDenied(
            "Only moderators can do that (the Manage Server permission, or the role set with `/settings modrole`)."
        )


async def moderator_check(interaction: discord.Interaction) -> bool:
    """`require_moderator` as an app-command check (checks must raise CheckFailure)."""
    try:
        await require_moderator(interaction)
    except PermissionDenied as denied:
        raise app_commands.CheckFailure(denied.user_message) from denied
    return True


def rank_names(current: str, characters: list[CharacterRecord], limit: int = MAX_CHOICES) -> list[tuple[str, str]]:
    """(label, canonical name) pairs matching what was typed, over names and aliases in any script."""
    if not current.strip():
        return [(c.name, c.name) for c in sorted(characters, key=lambda c: c.name.casefold())][:limit]
    labels: list[tuple[str, str]] = []
    for character in characters:
        labels.append((character.name, character.name))
        labels.extend((f"{alias} ({character.name})", character.name) for alias in character.aliases)
    found = process.extract(
        current, [label for label, _ in labels], scorer=fuzz.WRatio, processor=utils.default_process, limit=None
    )
    result: list[tuple[str, str]] = []
    seen: set[str] = set()
    for _, score, position in found:
        label, name = labels[position]
        if score < 50 or name in seen:
            continue
        seen.add(name)
        result.append((label, name))
        if len(result) == limit:
            break
    return result


async def character_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete of character names and aliases visible from this guild."""
    guild_id = interaction.guild.id if interaction.guild else None
    characters = await bot_of(interaction).services.store.list_characters(guild_id=guild_id)
    return [app_commands.Choice(name=label[:100], value=name[:100]) for label, name in rank_names(current, characters)]
