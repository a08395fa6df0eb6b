"""Finding characters by a name a person typed: autocomplete menus, and suggestions when no name matches.

One fuzzy matcher (rapidfuzz WRatio after NFKC) over names and aliases, in any script.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from bot.errors import UnknownCharacter
from bot.store.records import CharacterRecord
from bot.store.repository import CharacterStore

MAX_CHOICES = 25
"""Discord shows at most 25 autocomplete choices."""
MIN_SCORE = 50.0
"""WRatio score (0-100) below which a name is too different to offer while typing."""
SUGGESTION_CUTOFF = 55.0
"""WRatio score (0-100) below which a name is too different to suggest for an unknown name."""
MAX_SUGGESTIONS = 3


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
    known = await store.list_characters(guild_id=guild_id)
    raise UnknownCharacter(name, suggest_names(name, known))


def is_known(typed: str, characters: list[CharacterRecord]) -> bool:
    """Whether the typed text is exactly (after normalisation) a name or alias of one of the characters."""
    wanted = normalized(typed)
    return any(wanted in {normalized(c.name), *map(normalized, c.aliases)} for c in characters)


class NameSearch:
    """Autocomplete over the characters a guild can see (global ones and its own)."""

    def __init__(self, store) -> None:
        self.store = store

    async def choices(
        self, typed: str, *, guild_id: int | None, offer_new: bool = False, limit: int = MAX_CHOICES
    ) -> list[NameChoice]:
        """Known characters resembling `typed`; with `offer_new`, the typed text too unless it is a known name."""
        characters = await self.store.list_characters(guild_id=guild_id)
        typed = typed.strip()
        if not (offer_new and typed and not is_known(typed, characters)):
            return rank_names(typed, characters, limit)
        known = rank_names(typed, characters, limit - 1)
        return [*known, NameChoice(f"{typed} (new character)", typed, new=True)]
