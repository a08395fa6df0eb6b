"""Character operations of the store: create, look up by name or alias, rename, remove, promote, re-file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import delete, func, select, update

from bot.errors import NotFound
from bot.store import audit
from bot.store.convert import character_record, reference_record
from bot.store.names import clean_name, count_of, name_key
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.reference_columns import (
    ReferenceColumns,
    approved_model_counts,
    count_approved,
    joined_columns,
    read_characters,
    stream_reference_columns,
)
from bot.store.scopes import ensure_name_free, scope_key, visible_character
from bot.store.sessions import StoreSessions
from bot.store.tables import GLOBAL_SCOPE_KEY, Character, Reference
from bot.store.writes import add_aliases, character_or_raise, new_character, reference_or_raise
from models.errors import UserFacingError


class CharacterOperations(StoreSessions):
    """The character half of `CharacterStore`."""

    async def create_character(
        self,
        name: str,
        *,
        series: str | None = None,
        aliases: Iterable[str] = (),
        guild_id: int | None = None,
        actor_id: int | None = None,
    ) -> CharacterRecord:
        """Create a character in a scope; CharacterExists names the character already using a name."""
        async with self._writing() as session:
            character = await new_character(
                session, name, series=series, aliases=aliases, guild_id=guild_id, actor_id=actor_id
            )
            return character_record(character)

    async def get_character(self, character_id: int) -> CharacterRecord | None:
        """The character with this id, or None."""
        async with self._reading() as session:
            character = await session.get(Character, character_id)
            return None if character is None else character_record(character)

    @asynccontextmanager
    async def gallery_stream(
        self, *, tagger: str, embedder: str | None, features: str | None
    ) -> AsyncIterator[tuple[dict[int, CharacterRecord], int, AsyncIterator[ReferenceColumns]]]:
        """A gallery's load: every character, how many approved references the store holds (of any model: at
        least the load's, so room for them is made once, and more when other models made some), then the
        references of these models as partitions of columns, all in one read transaction and four queries
        whatever the gallery's size (bot/store/reference_columns.py). Consume the partitions inside the
        `async with`.
        """
        async with self._reading() as session:
            characters = await read_characters(session)
            count = await count_approved(session)
            partitions = stream_reference_columns(session, tagger=tagger, embedder=embedder, features=features)
            yield characters, count, partitions

    async def gallery_columns(
        self, *, tagger: str, embedder: str | None, features: str | None
    ) -> tuple[ReferenceColumns, dict[int, CharacterRecord]]:
        """`gallery_stream` gathered into one set of columns (tests, and a benchmark's read on its own)."""
        async with self.gallery_stream(tagger=tagger, embedder=embedder, features=features) as (characters, _, parts):
            return joined_columns([part async for part in parts]), characters

    async def approved_model_counts(self) -> dict[tuple[str, str | None], int]:
        """Approved references per (tagger, embedder): how many a gallery of other models leaves out."""
        async with self._reading() as session:
            return await approved_model_counts(session)

    async def find_character(self, name: str, *, guild_id: int | None = None) -> CharacterRecord | None:
        """The character a guild means by a name or alias (any case, width or language): its own, then global."""
        key = name_key(name)
        if not key:
            return None
        async with self._reading() as session:
            character = await visible_character(session, key, guild_id)
            return None if character is None else character_record(character)

    async def list_characters(
        self, *, guild_id: int | None = None, approved_only: bool = False
    ) -> list[CharacterRecord]:
        """Every character a guild can see (global ones and its own), by name.

        `approved_only`: only those with an approved reference the guild can see, which is what members may be
        shown; a name that only a pending or rejected submission gave is for the review queue alone.
        """
        scopes = [GLOBAL_SCOPE_KEY] if guild_id is None else [GLOBAL_SCOPE_KEY, scope_key(guild_id)]
        query = select(Character).where(Character.scope_key.in_(scopes)).order_by(Character.name_key, Character.id)
        if approved_only:
            served_here = Reference.guild_id.is_(None)
            if guild_id is not None:
                served_here = served_here | (Reference.guild_id == guild_id)
            approved = select(Reference.id).where(
                Reference.character_id == Character.id,
                Reference.status == ReferenceStatus.APPROVED.value,
                served_here,
            )
            query = query.where(approved.exists())
        async with self._reading() as session:
            return [character_record(character) for character in await session.scalars(query)]

    async def add_alias(
        self, character_id: int, alias: str, *, language: str | None = None, actor_id: int | None = None
    ) -> CharacterRecord:
        """Give a character another name; a no-op when it already answers to it."""
        async with self._writing() as session:
            character = await character_or_raise(session, character_id)
            await add_aliases(session, character, [alias], actor_id=actor_id, language=language)
            return character_record(character)

    async def remove_alias(self, character_id: int, alias: str, *, actor_id: int | None = None) -> CharacterRecord:
        """Take an alias away from a character; NotFound when it has no such alias."""
        key = name_key(alias)
        async with self._writing() as session:
            character = await character_or_raise(session, character_id)
            match = next((row for row in character.aliases if row.alias_key == key), None)
            if match is None:
                raise NotFound(f"{character.name} has no alias {alias!r}.")
            character.aliases.remove(match)
            await audit.record_change(
                session,
                "character.alias_remove",
                f"removed alias {match.alias!r} from {character.name}",
                actor_id=actor_id,
                guild_id=character.guild_id,
                character_id=character.id,
            )
            return character_record(character)

    async def rename_character(
        self, character_id: int, new_name: str, *, actor_id: int | None = None
    ) -> CharacterRecord:
        """Rename a character; an alias equal to the new name is dropped, since the name now says it."""
        shown = clean_name(new_name)
        key = name_key(shown)
        async with self._writing() as session:
            character = await character_or_raise(session, character_id)
            await ensure_name_free(session, key, shown, guild_id=character.guild_id, owner_id=character.id)
            old_name = character.name
            for row in [row for row in character.aliases if row.alias_key == key]:
                character.aliases.remove(row)
            await session.flush()  # the alias row goes before the name takes its key
            character.name, character.name_key = shown, key
            await audit.record_change(
                session,
                "character.rename",
                f"renamed {old_name!r} to {shown!r}",
                actor_id=actor_id,
                guild_id=character.guild_id,
                character_id=character.id,
            )
            return character_record(character)

    async def remove_character(self, character_id: int, *, actor_id: int | None = None) -> None:
        """Delete a character with its aliases and every reference of it."""
        async with self._writing() as session:
            character = await character_or_raise(session, character_id)
            removed = await session.execute(delete(Reference).where(Reference.character_id == character.id))
            await audit.record_change(
                session,
                "character.remove",
                f"removed {character.name} and its {count_of(removed.rowcount, 'reference')}",
                actor_id=actor_id,
                guild_id=character.guild_id,
                character_id=character.id,
            )
            await session.delete(character)

    async def promote_character(self, character_id: int, *, actor_id: int | None = None) -> CharacterRecord:
        """Owner action: make a guild character global, with its approved references.

        For a character that is already global, its approved guild-only references become global.
        """
        async with self._writing() as session:
            character = await character_or_raise(session, character_id)
            old_guild = character.guild_id
            if old_guild is not None:
                names = [(character.name_key, character.name)] + [
                    (row.alias_key, row.alias) for row in character.aliases
                ]
                for key, shown in names:
                    await ensure_name_free(session, key, shown, guild_id=None, owner_id=character.id)
                character.guild_id, character.scope_key = None, GLOBAL_SCOPE_KEY
                for row in character.aliases:
                    row.scope_key = GLOBAL_SCOPE_KEY
                await session.flush()
            moved = await session.execute(
                update(Reference)
                .where(
                    Reference.character_id == character.id,
                    Reference.status == ReferenceStatus.APPROVED.value,
                    Reference.guild_id.is_not(None),
                )
                .values(guild_id=None)
            )
            if old_guild is None and moved.rowcount == 0:
                raise UserFacingError(f"{character.name} is already global and has no guild references to promote.")
            origin = "its guild references" if old_guild is None else f"guild {old_guild}"
            moved_count = count_of(moved.rowcount, "approved reference")
            await audit.record_change(
                session,
                "character.promote",
                f"promoted {character.name} from {origin} to global with {moved_count}",
                actor_id=actor_id,
                guild_id=old_guild,
                character_id=character.id,
            )
            return character_record(character)

    async def refile_submission(
        self, reference_id: int, character_id: int, *, actor_id: int | None = None
    ) -> tuple[ReferenceRecord, CharacterRecord]:
        """Move a pending submission to another character its guild can see ("did you mean X?" answered yes).

        The character it leaves is removed when no reference is left (the new name existed for it alone). NotFound
        when the submission was reviewed meanwhile or the character is not visible from the submission's guild.
        """
        async with self._writing() as session:
            reference = await reference_or_raise(session, reference_id)
            target = await session.get(Character, character_id)
            if target is None or target.guild_id not in (None, reference.guild_id):
                raise NotFound(f"There is no character #{character_id} here.")
            left = await session.get(Character, reference.character_id)
            moved = await session.execute(  # conditional, so a moderator deciding at the same time wins cleanly
                update(Reference)
                .where(Reference.id == reference_id, Reference.status == ReferenceStatus.PENDING.value)
                .values(character_id=target.id)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                raise NotFound(f"Submission #{reference_id} was already reviewed; it stays filed as it is.")
            await session.refresh(reference)
            detail = f"re-filed submission #{reference_id} under {target.name}"
            if left is not None and left.id != target.id:
                detail += f" (was {left.name})"
                others = select(func.count(Reference.id)).where(Reference.character_id == left.id)
                if not await session.scalar(others):
                    await session.delete(left)
            await audit.record_change(
                session,
                "reference.refile",
                detail,
                actor_id=actor_id,
                guild_id=reference.guild_id,
                character_id=target.id,
                reference_id=reference_id,
            )
            return reference_record(reference), character_record(target)
