"""What every command shares: reading image files, opening the services, printing tables and JSON.

Importing this module (and any command module) stays cheap: `waifu-bot --help` builds every command's
parser, so the app, the models, numpy and SQLAlchemy are imported only inside the functions that use them.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.errors import ImageRejected, UsageError

if TYPE_CHECKING:
    from tqdm import tqdm

    from bot.app import Services
    from bot.config import Settings
    from bot.store.repository import CharacterStore

__all__ = [
    "UsageError",
    "display_width",
    "format_table",
    "name_file",
    "print_json",
    "progress_bar",
    "read_image_file",
    "read_image_files",
    "refuse_close_names",
    "services_for",
]


def read_image_file(path: Path) -> bytes:
    """The bytes of an image file named on the command line, or one clear error naming it."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not an image file.") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror or error}).") from None
    if not data:
        raise UsageError(f"{path}: the file is empty.")
    return data


def read_image_files(paths: Sequence[Path]) -> list[tuple[Path, bytes]]:
    """Read every file before doing anything, so a typo in the last one leaves nothing half done."""
    return [(Path(path), read_image_file(Path(path))) for path in paths]


def name_file(path: Path, error: ImageRejected) -> UsageError:
    """Prefix an image error with the file it came from."""
    return UsageError(f"{path}: {error.user_message}")


@asynccontextmanager
async def services_for(
    settings: Settings,
    *,
    pictures: int | None = None,
    analysis: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> AsyncIterator[Services]:
    """Open the analyzer and the services for one command and always close both (the services, then the analyzer).

    `pictures` is how many the command will analyse (None: a batch of unknown size), so one or a few run
    in this process instead of starting a pool; `analysis=False` opens no analyzer and loads no model.
    `on_step` hears each slow step as it begins (starting workers, loading models), so a long wait says why.
    """
    from bot.app import open_services
    from bot.inference import InferencePool, NoAnalysis, create_analyzer, uses_pool

    step = on_step or _quiet
    if not analysis:
        analyzer = NoAnalysis()
    else:
        if uses_pool(settings, pictures=pictures):
            step(f"starting {settings.pool.workers} inference workers (each loads the models)")
        else:
            step("loading the models in this process")
        analyzer = create_analyzer(settings, pictures=pictures)
    try:
        if isinstance(analyzer, InferencePool):
            await analyzer.start()
        step("opening the gallery")
        services = await open_services(settings, analyzer=analyzer)
        try:
            yield services
        finally:
            await services.close()
    finally:
        await analyzer.close()


async def refuse_close_names(store: CharacterStore, names: Sequence[str], *, allowed: bool) -> None:
    """Refuse, in one line, new names close to an existing character's (a typo would split one character in two).

    The same matcher as the suggestions for an unknown name; `allowed` is `--new`, the operator's "it really is
    another character".
    """
    if allowed:
        return
    from bot.services.names import close_to_existing

    clashes = []
    for name in dict.fromkeys(names):
        close = await close_to_existing(store, name, guild_id=None)
        if close:
            clashes.append(f"'{name}' is close to existing '{close[0].name}'")
    if len(clashes) == 1:
        raise UsageError(f"{clashes[0]}; use that name, or pass --new to create a new character")
    if clashes:
        raise UsageError(f"{'; '.join(clashes)}; use those names, or pass --new to create new characters")


def _quiet(_step: str) -> None:
    """The step reporter of a command that prints none."""


def progress_bar(total: int, description: str, unit: str = "img", *, quiet: bool = False) -> tqdm:
    """A progress bar on stderr that draws only on a terminal, so logs and pipes get no carriage-return spam."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False, disable=True if quiet else None)


def print_json(payload: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout, UTF-8 names kept readable."""
    print(json.dumps(payload, ensure_ascii=False), file=stream or sys.stdout)


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK, fullwidth) characters take two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
            continue
        width += 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1
    return width


def _pad(text: str, width: int, *, right: bool) -> str:
    padding = " " * max(0, width - display_width(text))
    return padding + text if right else text + padding


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "") -> str:
    """A plain aligned text table; numbers right-aligned, text left-aligned, wide characters counted as two."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        all(isinstance(row[column], int | float) for row in rows) if rows else False for column in range(len(headers))
    ]
    widths = [
        max([display_width(header)] + [display_width(row[column]) for row in cells])
        for column, header in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [_pad(value, widths[column], right=numeric[column]) for column, value in enumerate(values)]
        return (indent + "  ".join(parts)).rstrip()

    separator = indent + "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), separator, *(line(row) for row in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
