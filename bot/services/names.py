"""Finding characters by a name a person typed: autocomplete menus, and suggestions when no name matches.

One fuzzy matcher (rapidfuzz WRatio after NFKC) over names and aliases, in any script.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from bot.errors import UnknownCharacter
from bot.services.lookalikes import skeleton
from bot.store.records import CharacterRecord
from bot.store.repository import CharacterStore

MAX_CHOICES = 25
"""Discord shows at most 25 autocomplete choices."""
MIN_SCORE = 50.0
"""WRatio score (0-100) below which a name is too different to offer while typing."""
SUGGESTION_CUTOFF = 55.0
"""WRatio score (0-100) below which a name is too different to suggest for an unknown name."""
MAX_SUGGESTIONS = 3
CLOSE_CUTOFF = 85.0
"""WRatio score (0-100) from which a new name is close enough to an existing one to ask "did you mean"."""


def normalized(text: str) -> str:
    """NFKC first, so full-width letters and half-width kana match what a keyboard elsewhere types."""
    return utils.default_process(unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class NameChoice:
    """One line of an autocomplete menu: what the person reads, and the canonical name it stands for."""

    label: str
    name: str
    new: bool = False
    """True for the typed text itself, offered as a new character's name."""


def closest_names(
    typed: str, characters: list[CharacterRecord], *, cutoff: float, limit: int
) -> list[tuple[str, CharacterRecord]]:
    """The names or aliases resembling what was typed, best first, one per character, with whose they are."""
    spoken: list[tuple[str, CharacterRecord]] = []  # (the name or alias compared, its character)
    for character in characters:
        spoken.append((character.name, character))
        spoken.extend((alias, character) for alias in character.aliases)
    found = process.extract(
        typed,
        [text for text, _ in spoken],
        scorer=fuzz.WRatio,
        processor=normalized,
        score_cutoff=cutoff,
        limit=None,
    )
    closest: list[tuple[str, CharacterRecord]] = []
    seen: set[str] = set()
    for _, _, position in found:
        text, character = spoken[position]
        if character.name in seen:
            continue
        seen.add(character.name)
        closest.append((text, character))
        if len(closest) == limit:
            break
    return closest


def rank_names(typed: str, characters: list[CharacterRecord], limit: int = MAX_CHOICES) -> list[NameChoice]:
    """Characters whose name or an alias resembles what was typed, best first, one choice per character."""
    if not normalized(typed):
        ordered = sorted(characters, key=lambda character: character.name.casefold())
        return [NameChoice(character.name, character.name) for character in ordered[:limit]]
    return [
        NameChoice(text if text == character.name else f"{text} ({character.name})", character.name)
        for text, character in closest_names(typed, characters, cutoff=MIN_SCORE, limit=limit)
    ]


def suggest_names(typed: str, characters: list[CharacterRecord], *, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """The known names or aliases closest to what was typed, best first, one per character."""
    return [text for text, _ in closest_names(typed, characters, cutoff=SUGGESTION_CUTOFF, limit=limit)]


async def resolve_character(store: CharacterStore, name: str, *, guild_id: int | None = None) -> CharacterRecord:
    """The character with this name or alias visible from the guild, or UnknownCharacter with suggestions."""
    character = await store.find_character(name, guild_id=guild_id)
    if character is not None:
        return character
    known = await store.list_characters(guild_id=guild_id, approved_only=True)
    raise UnknownCharacter(name, suggest_names(name, known))


def close_names(name: str, characters: list[CharacterRecord], *, limit: int = MAX_SUGGESTIONS) -> list[CharacterRecord]:
    """Characters a new name could be mistaken for: the same look-alike skeleton, or the suggestion matcher's
    score of at least CLOSE_CUTOFF on a name or alias; look-alikes first."""
    wanted = skeleton(name)
    same = [c for c in characters if wanted and wanted in {skeleton(c.name), *map(skeleton, c.aliases)}]
    similar = [character for _, character in closest_names(name, characters, cutoff=CLOSE_CUTOFF, limit=limit)]
    found: list[CharacterRecord] = []
    for character in [*same, *similar]:
        if character not in found:
            found.append(character)
    return found[:limit]


async def close_to_existing(store: CharacterStore, name: str, *, guild_id: int | None) -> list[CharacterRecord]:
    """For a name that would create a character: the shown characters it is close to (empty for a known name)."""
    if await store.find_character(name, guild_id=guild_id) is not None:
        return []
    return close_names(name, await store.list_characters(guild_id=guild_id, approved_only=True))


def is_known(typed: str, characters: list[CharacterRecord]) -> bool:
    """Whether the typed text is exactly (after normalisation) a name or alias of one of the characters."""
    wanted = normalized(typed)
    return any(wanted in {normalized(c.name), *map(normalized, c.aliases)} for c in characters)


class NameSearch:
    """Autocomplete over the characters a guild's members may see: those with an approved reference served there.

    A name that only a pending or rejected submission gave is never offered, so nobody can show text to everyone
    without a moderator's approval.
    """

    def __init__(self, store) -> None:
        self.store = store

    async def choices(
        self, typed: str, *, guild_id: int | None, offer_new: bool = False, limit: int = MAX_CHOICES
    ) -> list[NameChoice]:
        """Known characters resembling `typed`; with `offer_new`, the typed text too unless it is a known name."""
        characters = await self.store.list_characters(guild_id=guild_id, approved_only=True)
        typed = typed.strip()
        if not (offer_new and typed and not is_known(typed, characters)):
            return rank_names(typed, characters, limit)
        known = rank_names(typed, characters, limit - 1)
        return [*known, NameChoice(f"{typed} (new character)", typed, new=True)]
