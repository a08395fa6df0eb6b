"""Why a character and not another, in the tagger's own tags: the gallery's per-character tag profiles.

A mixin of `Gallery` (it reads the gallery's entries): the block metric ranks, but a person reads tags, so
`whynot` explains with each character's tag profile over the references the asking guild may see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.recognition.evidence import explain_tags
from bot.recognition.profile import CharacterProfile, build_profile
from bot.recognition.ranking import TagEvidence


def visible(owner_guild: int | None, guild_id: int | None) -> bool:
    """A global record serves everyone; a guild's record serves only that guild."""
    return owner_guild is None or owner_guild == guild_id


class TagExplanations:
    """Tag profiles per character and guild, cached until the character changes, and the evidence they give."""

    _entries: dict[int, Any]
    _table: Any
    vocabulary: Any

    def evidence(
        self, tag_probs: np.ndarray, character_id: int, *, guild_id: int | None = None, versus: int | None = None
    ) -> list[TagEvidence]:
        """Signed per-tag evidence of the query for one character, strongest (either sign) first.

        With `versus` (another character's id) the evidence contrasts the two profiles, and each weight is
        that tag's share of the whole contrast, so the weights read as "how much of the difference".
        """
        profile = self._visible_profile(character_id, guild_id)
        if profile is None:
            return []
        rival = self._visible_profile(versus, guild_id) if versus is not None and versus != character_id else None
        return explain_tags(self.vocabulary.names, self.vocabulary.select(tag_probs), profile, rival)

    def _visible_profile(self, character_id: int, guild_id: int | None) -> CharacterProfile | None:
        entry = self._entries.get(character_id)
        return self._profile(entry, guild_id) if entry else None

    def _profile(self, entry: Any, guild_id: int | None) -> CharacterProfile | None:
        """The character's profile over the references this guild may see, built once per change."""
        if guild_id not in entry.profiles:
            shown = [i for i, guild in entry.references.items() if visible(guild, guild_id)]
            entry.profiles[guild_id] = build_profile(self._table.tags(shown)) if shown else None
        return entry.profiles[guild_id]
