"""Name lookups across scopes: a guild sees its own characters first, then the global ones.

A name or alias is unique within a scope (the database enforces names against names and aliases
against aliases; the checks here also keep names and aliases apart, and keep a guild from taking a
global character's name).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import CharacterExists
from bot.store.tables import GLOBAL_SCOPE_KEY, Character, CharacterAlias


def scope_key(guild_id: int | None) -> int:
    """The non-null scope column value: the guild id, or 0 for global."""
    return GLOBAL_SCOPE_KEY if guild_id is None else guild_id


async def character_in_scope(session: AsyncSession, key: str, scope: int) -> Character | None:
    """The character of one scope whose name or alias has this key."""
    by_name = select(Character).where(Character.scope_key == scope, Character.name_key == key)
    character = (await session.scalars(by_name)).first()
    if character is not None:
        return character
    by_alias = (
        select(Character)
        .join(CharacterAlias, CharacterAlias.character_id == Character.id)
        .where(CharacterAlias.scope_key == scope, CharacterAlias.alias_key == key)
    )
    return (await session.scalars(by_alias)).first()


async def visible_character(session: AsyncSession, key: str, guild_id: int | None) -> Character | None:
    """The character a guild means by this key: its own first, then a global one."""
    if guild_id is not None:
        character = await character_in_scope(session, key, scope_key(guild_id))
        if character is not None:
            return character
    return await character_in_scope(session, key, GLOBAL_SCOPE_KEY)


def _describe(character: Character) -> str:
    """How an existing character is named in an error, so the user knows which one is in the way."""
    scope = "global character" if character.guild_id is None else "character"
    series = f" from {character.series}" if character.series else ""
    return f"the {scope} {character.name!r}{series} (#{character.id})"


async def ensure_name_free(
    session: AsyncSession, key: str, shown: str, *, guild_id: int | None, owner_id: int | None = None
) -> None:
    """Raise CharacterExists unless `shown` is free in the scope (and, for a guild, globally).

    `owner_id` is the character about to take the name; its own names and aliases do not count.
    """
    scopes = [scope_key(guild_id)] if guild_id is None else [scope_key(guild_id), GLOBAL_SCOPE_KEY]
    for scope in scopes:
        holder = await character_in_scope(session, key, scope)
        if holder is not None and holder.id != owner_id:
            raise CharacterExists(
                f"{shown!r} is already a name or alias of {_describe(holder)}; "
                "use that character, or pick another name."
            )
