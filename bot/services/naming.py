"""Finding a character by a name a person typed, with the closest names as suggestions when there is none."""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from bot.errors import UnknownCharacter
from bot.store.records import CharacterRecord
from bot.store.repository import CharacterStore

SUGGESTION_CUTOFF = 55.0
"""WRatio score (0-100) below which a name is too different to suggest."""


def suggest_names(typed: str, characters: list[CharacterRecord], *, limit: int = 3) -> list[str]:
    """The known names or aliases closest to what was typed, best first, one per character."""
    choices: list[tuple[str, str]] = []  # (name or alias, the character's name)
    for character in characters:
        choices.append((character.name, character.name))
        choices.extend((alias, character.name) for alias in character.aliases)
    found = process.extract(
        typed,
        [choice for choice, _ in choices],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=SUGGESTION_CUTOFF,
        limit=None,
    )
    suggestions: list[str] = []
    seen: set[str] = set()
    for _, _, position in found:
        choice, name = choices[position]
        if name in seen:
            continue
        seen.add(name)
        suggestions.append(choice)
        if len(suggestions) == limit:
            break
    return suggestions


async def resolve_character(store: CharacterStore, name: str, *, guild_id: int | None = None) -> CharacterRecord:
    """The character with this name or alias visible from the guild, or UnknownCharacter with suggestions."""
    character = await store.find_character(name, guild_id=guild_id)
    if character is not None:
        return character
    known = await store.list_characters(guild_id=guild_id)
    raise UnknownCharacter(name, suggest_names(name, known))
