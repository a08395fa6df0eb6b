"""Name search as a person types: fuzzy over names and aliases, in any script, for autocomplete menus."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from bot.store.records import CharacterRecord

MAX_CHOICES = 25
"""Discord shows at most 25 autocomplete choices."""
MIN_SCORE = 50.0
"""WRatio score (0-100) below which a name is too different to offer."""


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


def rank_names(typed: str, characters: list[CharacterRecord], limit: int = MAX_CHOICES) -> list[NameChoice]:
    """Characters whose name or an alias resembles what was typed, best first, one choice per character."""
    if not normalized(typed):
        ordered = sorted(characters, key=lambda character: character.name.casefold())
        return [NameChoice(character.name, character.name) for character in ordered[:limit]]
    spoken: list[tuple[str, NameChoice]] = []  # (the name or alias compared, the choice it gives)
    for character in characters:
        spoken.append((character.name, NameChoice(character.name, character.name)))
        spoken.extend((alias, NameChoice(f"{alias} ({character.name})", character.name)) for alias in character.aliases)
    found = process.extract(
        typed,
        [text for text, _ in spoken],
        scorer=fuzz.WRatio,
        processor=normalized,
        score_cutoff=MIN_SCORE,
        limit=None,
    )
    chosen: list[NameChoice] = []
    seen: set[str] = set()
    for _, _, position in found:
        choice = spoken[position][1]
        if choice.name in seen:
            continue
        seen.add(choice.name)
        chosen.append(choice)
        if len(chosen) == limit:
            break
    return chosen


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
