"""Steps that several store operations share, each run inside the caller's transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound, RateLimited
from bot.store import audit
from bot.store.names import clean_name, clean_text, name_key
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


@dataclass(frozen=True)
class SubmissionQuota:
    """At most `limit` submissions by one user within `window` before `now`, checked where the next one is added."""

    user_id: int
    limit: int
    window: timedelta
    now: datetime


async def check_quota(session: AsyncSession, quota: SubmissionQuota | None) -> None:
    """Raise RateLimited (with the wait until one submission leaves the window) when the user has no room left.

    Runs inside the transaction that adds the submission, so concurrent submissions cannot all see room: SQLite
    writers are serialised by BEGIN IMMEDIATE, and on PostgreSQL a transaction lock per user does the same.
    """
    if quota is None:
        return
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:user_id)"), {"user_id": quota.user_id})
    query = (
        select(Reference.submitted_at)
        .where(Reference.submitted_by == quota.user_id, Reference.submitted_at >= quota.now - quota.window)
        .order_by(Reference.submitted_at)
    )
    recent = list(await session.scalars(query))
    if len(recent) < quota.limit:
        return
    frees_up = recent[len(recent) - quota.limit] + quota.window  # when fewer than `limit` remain in the window
    raise RateLimited(retry_after=float(max(1, math.ceil((frees_up - quota.now).total_seconds()))))


def clean_series(series: str | None) -> str | None:
    """A series name (NFKC, whitespace collapsed); blank means none; refuses invisibles and overlong ones."""
    if series is None:
        return None
    cleaned = clean_text(series, "A series name")
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
