"""Character names as people type them, and the keys that make "Miku", "ＭＩＫＵ" and "miku " one name."""

from __future__ import annotations

import unicodedata

from bot.store.tables import KEY_LENGTH, NAME_LENGTH
from models.errors import UserFacingError

INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Controls (NUL too: PostgreSQL cannot store it), format characters (bidi overrides such as U+202E, zero-width
spaces and joiners, U+FEFF), surrogates, private-use and unassigned code points: each can make a name render as
another one, or not be stored at all."""
LAYOUT_WHITESPACE = frozenset("\t\n\r")
"""Controls that are only line layout: collapsed into one space like any other whitespace."""


def refuse_invisible(text: str, field: str) -> None:
    """Raise a UserFacingError naming the first invisible or control character in `text`, if there is one."""
    for char in text:
        if char not in LAYOUT_WHITESPACE and unicodedata.category(char) in REFUSED_CATEGORIES:
            what = unicodedata.name(char, "a control character")
            raise UserFacingError(
                f"{field} cannot contain invisible or control characters (found U+{ord(char):04X} {what}); "
                "type it again without them."
            )


def clean_text(text: str, field: str) -> str:
    """NFKC-normalised text (full-width letters become plain ones) with whitespace collapsed; no invisibles."""
    refuse_invisible(text, field)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def clean_name(name: str) -> str:
    """The name as it will be shown: NFKC, whitespace collapsed; refuses empty, overlong or invisible-laden names."""
    cleaned = clean_text(name, "A character name or alias")
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
