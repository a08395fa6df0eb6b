"""Moderator and owner changes to characters (info, aliases, rename, promote), keeping store and gallery in step.

The Discord cogs and the CLI both call this, so a rename or a promotion means the same thing everywhere
and the gallery never serves a stale name or scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import PermissionDenied
from bot.recognition.gallery import Gallery, visible
from bot.services.names import resolve_character
from bot.store.records import CharacterRecord, ReferenceStatus
from bot.store.repository import CharacterStore


@dataclass(frozen=True)
class CharacterInfo:
    """A character with the counts of its references a guild can see."""

    character: CharacterRecord
    approved: int
    pending: int


class CharacterService:
    """Changes to characters that must reach the store and the in-memory gallery together."""

    def __init__(self, store: CharacterStore, gallery: Gallery) -> None:
        self.store = store
        self.gallery = gallery

    async def resolve(self, name: str, *, guild_id: int | None = None) -> CharacterRecord:
        """The character with this name or alias, or UnknownCharacter with suggestions."""
        return await resolve_character(self.store, name, guild_id=guild_id)

    async def editable(self, name: str, *, guild_id: int | None, is_owner: bool) -> CharacterRecord:
        """The named character if the caller may change it: a guild's own, or any one for the owner."""
        character = await self.resolve(name, guild_id=guild_id)
        if character.guild_id is None and not is_owner:
            raise PermissionDenied(f"{character.name} is a global character; only the bot's owner can change it.")
        return character

    async def info(self, name: str, *, guild_id: int | None = None) -> CharacterInfo:
        """Names, scope and how many approved and pending references the guild can see."""
        character = await self.resolve(name, guild_id=guild_id)
        counts: dict[ReferenceStatus, int] = {}
        for status in (ReferenceStatus.APPROVED, ReferenceStatus.PENDING):
            references = await self.store.list_references(status=status, character_id=character.id, all_scopes=True)
            counts[status] = sum(1 for reference in references if visible(reference.guild_id, guild_id))
        return CharacterInfo(character, counts[ReferenceStatus.APPROVED], counts[ReferenceStatus.PENDING])

    async def add_alias(self, character_id: int, alias: str, *, actor_id: int | None = None) -> CharacterRecord:
        """Another name the character is found by, in any language."""
        updated = await self.store.add_alias(character_id, alias, actor_id=actor_id)
        self.gallery.update_character(updated)
        return updated

    async def remove_alias(self, character_id: int, alias: str, *, actor_id: int | None = None) -> CharacterRecord:
        """Forget one alias."""
        updated = await self.store.remove_alias(character_id, alias, actor_id=actor_id)
        self.gallery.update_character(updated)
        return updated

    async def rename(self, character_id: int, new_name: str, *, actor_id: int | None = None) -> CharacterRecord:
        """Rename in the store and the gallery at once."""
        updated = await self.store.rename_character(character_id, new_name, actor_id=actor_id)
        self.gallery.update_character(updated)
        return updated

    async def promote(self, character_id: int, *, actor_id: int | None = None) -> tuple[CharacterRecord, int]:
        """Make a guild's character and its approved references global; returns it and how many now serve."""
        promoted = await self.store.promote_character(character_id, actor_id=actor_id)
        self.gallery.remove_character(promoted.id)
        references = await self.store.list_references(
            status=ReferenceStatus.APPROVED, character_id=promoted.id, all_scopes=True
        )
        served = sum(self.gallery.add(promoted, reference) for reference in references)
        return promoted, served
