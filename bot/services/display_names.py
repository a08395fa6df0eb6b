"""How imported folders become characters: `nakano_miku` reads "Nakano Miku", and `characters.csv` may say more.

`characters.csv` beside the character folders has a header row and the columns `folder,name,series,aliases`:
`folder` is the sub-folder's name, `name` the display name (blank: derived from the folder), `series` the series
(blank: the import's `--series`), `aliases` other names separated by `|`. It is per character, unlike a
`labels.csv` of `path,label` rows, which labels single pictures and is not read here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import UsageError

CHARACTERS_FILE = "characters.csv"
COLUMNS = ("folder", "name", "series", "aliases")


@dataclass(frozen=True)
class Naming:
    """The name, series and aliases one folder's character is imported with."""

    name: str
    series: str | None
    aliases: tuple[str, ...]


def display_name(folder: str) -> str:
    """`nakano_miku` -> "Nakano Miku": separators become spaces, and an all-lower-case name gets capitals."""
    spaced = " ".join(re.split(r"[_\s]+", folder.strip())).strip() or folder
    return spaced.title() if spaced == spaced.lower() and spaced != spaced.upper() else spaced


def read_characters_file(directory: Path) -> dict[str, Naming]:
    """The rows of `directory/characters.csv` by folder, or {} when there is none; a bad file is one UsageError."""
    path = directory / CHARACTERS_FILE
    if not path.is_file():
        return {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.DictReader(file)
            if reader.fieldnames is None or "folder" not in reader.fieldnames:
                raise UsageError(f"{path}: the first row must name the columns {','.join(COLUMNS)}.")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"{path}: cannot be read ({error}).") from error
    namings: dict[str, Naming] = {}
    for row in rows:
        folder = (row.get("folder") or "").strip()
        if not folder:
            continue
        aliases = tuple(alias.strip() for alias in (row.get("aliases") or "").split("|") if alias.strip())
        namings[folder] = Naming(
            (row.get("name") or "").strip() or display_name(folder), (row.get("series") or "").strip() or None, aliases
        )
    return namings


def naming_of(folder: str, listed: dict[str, Naming], series: str | None) -> Naming:
    """One folder's naming: its `characters.csv` row or its derived name; the folder name stays an alias."""
    row = listed.get(folder) or Naming(display_name(folder), None, ())
    aliases = row.aliases if folder == row.name or folder in row.aliases else (*row.aliases, folder)
    return Naming(row.name, row.series or series, aliases)
