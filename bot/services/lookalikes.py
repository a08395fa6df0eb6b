"""Names that look alike: a small Unicode confusables skeleton, so "Rеmilia" (Cyrillic е) reads as "Remilia".

The skeleton follows the idea of Unicode TS #39: decompose (NFKD), drop accents, fold case, map the letters of
other scripts that render like Latin ones, and keep letters and digits only. Two names with one skeleton look
the same to a reader; a moderator should be told before approving the second.
"""

from __future__ import annotations

import unicodedata

CONFUSABLE = str.maketrans(
    {
        # Cyrillic letters drawn like Latin ones
        "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k", "ӏ": "l",
        "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d",
        "ԛ": "q", "ԝ": "w", "ү": "y", "ъ": "b", "ь": "b",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
        # Armenian and others seen in impersonation
        "օ": "o", "ս": "u", "ց": "g", "ɡ": "g", "ı": "i", "ȷ": "j", "ɑ": "a",
        # digits and marks that pass for letters
        "0": "o", "1": "l", "|": "l", "ǀ": "l",
    }
)  # fmt: skip


def skeleton(name: str) -> str:
    """What a reader sees of a name: accents, case, spacing and cross-script look-alikes removed."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    # casefold first: capitals of other scripts (Cyrillic Р, Greek Ρ) fold onto the lower case the table maps
    mapped = bare.translate(CONFUSABLE).replace("rn", "m")
    return "".join(char for char in mapped if char.isalnum())
