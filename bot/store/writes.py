"""Steps that several store operations share, each run inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.store import audit
from bot.store.names import clean_name, name_key
from bot.store.scopes import ensure_name_free, scope_key
from bot.store.tables import SERIES_LENGTH, Character, CharacterAlias, Reference, utcnow
from models.errors import UserFacingError


async def character_or_raise(session: AsyncSession, character_id: int) -> Character:
    """The character with this id, or NotFound with a message a user understands."""
    character = await session.get(Character, character_id)
    if character is None:
        raise NotFound(f"There is no character #{character_id}.")
    return character


async def reference_or_raise(session: AsyncSession, reference_id: int) -> Reference:
    """The reference with this id, or NotFound."""
    reference = await session.get(Reference, reference_id)
    if reference is None:
        raise NotFound(f"There is no submission or reference #{reference_id}.")
    return reference


def clean_series(series: str | None) -> str | None:
    """A series name with its whitespace collapsed; blank means none; refuses one longer than its column."""
    if series is None:
        return None
    cleaned = " ".join(series.split())
    if len(cleaned) > SERIES_LENGTH:
        raise UserFacingError(f"A series name can be at most {SERIES_LENGTH} characters long.")
    return cleaned or None


async def new_character(
    session: AsyncSession,
    name: str,
    *,
    series: str | None,
    aliases: Iterable[str],
    guild_id: int | None,
    actor_id: int | None,
) -> Character:
    """Insert a character (its name checked in its scope and, for a guild, globally) and its aliases."""
    shown = clean_name(name)
    key = name_key(shown)
    await ensure_name_free(session, key, shown, guild_id=guild_id)
    character = Character(
        name=shown,
        name_key=key,
        series=clean_series(series),
        guild_id=guild_id,
        scope_key=scope_key(guild_id),
        created_at=utcnow(),
        created_by=actor_id,
        aliases=[],
    )
    session.add(character)
    await session.flush()
    await audit.record_change(
        session,
        "character.create",
        f"created {shown}" + (f" ({character.series})" if character.series else ""),
        actor_id=actor_id,
        guild_id=guild_id,
        character_id=character.id,
    )
    await add_aliases(session, character, aliases, actor_id=actor_id)
    return character


async def add_aliases(
    session: AsyncSession,
    character: Character,
    aliases: Iterable[str],
    *,
    actor_id: int | None,
    language: str | None = None,
) -> None:
    """Attach the aliases the character does not answer to yet; each must be free in its scope."""
    for alias in aliases:
        shown = clean_name(alias)
        key = name_key(shown)
        if key == character.name_key or any(row.alias_key == key for row in character.aliases):
            continue
        await ensure_name_free(session, key, shown, guild_id=character.guild_id, owner_id=character.id)
        character.aliases.append(
            CharacterAlias(alias=shown, alias_key=key, language=language, scope_key=character.scope_key)
        )
        await session.flush()
        await audit.record_change(
            session,
            "character.alias_add",
            f"added alias {shown!r} to {character.name}",
            actor_id=actor_id,
            guild_id=character.guild_id,
            character_id=character.id,
        )
