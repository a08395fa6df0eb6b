"""Character names as people type them, and the keys that make "Miku", "ＭＩＫＵ" and "miku " one name."""

from __future__ import annotations

import unicodedata

from bot.store.tables import KEY_LENGTH, NAME_LENGTH
from models.errors import UserFacingError

INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})


def clean_name(name: str) -> str:
    """The name as it will be shown: whitespace trimmed and collapsed; refuses empty or overlong names."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserFacingError("A character name or alias cannot be empty.")
    if not name_key(cleaned):
        raise UserFacingError("A character name or alias needs at least one visible character.")
    if len(cleaned) > NAME_LENGTH:
        raise UserFacingError(f"A character name or alias can be at most {NAME_LENGTH} characters long.")
    return cleaned


def name_key(name: str) -> str:
    """The lookup and uniqueness key: NFKC case-folded (full-width latin and case vanish), spaces collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    # Invisible format and control characters (soft hyphen, zero-width space) would let a look-alike
    # of an existing name through, so they do not count.
    visible = "".join(char for char in folded if unicodedata.category(char) not in INVISIBLE_CATEGORIES)
    return " ".join(visible.split())[:KEY_LENGTH]


def count_of(count: int, noun: str) -> str:
    """'1 reference', '2 references': audit details are read by people."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
