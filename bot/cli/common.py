"""What every command shares: reading image files, opening the services, printing tables and JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from bot.app import Services, open_services
from bot.config import Settings
from bot.errors import ImageRejected, UsageError
from bot.inference import create_analyzer


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
async def services_for(settings: Settings) -> AsyncIterator[Services]:
    """Open the analyzer and the services for one command and always close both (the services, then the analyzer)."""
    analyzer = create_analyzer(settings)
    try:
        services = await open_services(settings, analyzer=analyzer)
        try:
            yield services
        finally:
            await services.close()
    finally:
        await analyzer.close()


def progress_bar(total: int, description: str, unit: str = "img", *, quiet: bool = False) -> tqdm:
    """A progress bar on stderr that draws only on a terminal, so logs and pipes get no carriage-return spam."""
    return tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False, disable=True if quiet else None)


def print_json(payload: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout, UTF-8 names kept readable."""
    print(json.dumps(payload, ensure_ascii=False), file=stream or sys.stdout)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "") -> str:
    """A plain aligned text table; numbers right-aligned, text left-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        all(isinstance(row[column], int | float) for row in rows) if rows else False for column in range(len(headers))
    ]
    widths = [max([len(header)] + [len(row[column]) for row in cells]) for column, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[column]) if numeric[column] else value.ljust(widths[column])
            for column, value in enumerate(values)
        ]
        return (indent + "  ".join(parts)).rstrip()

    separator = indent + "  ".join("-" * width for width in widths)
    return "\n".join([line(list(headers)), separator, *(line(row) for row in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
