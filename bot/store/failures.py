"""Store failures as operator messages: a damaged, emptied, read-only, full, locked or unreachable database.

Each failure becomes one `StoreUnavailable` line naming the database and what to do; the CLI prints
it and exits 2, the bot logs it. Errors this module does not recognise (a constraint, a bug) pass
through unchanged, so nothing is hidden behind a wrong explanation.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from bot.errors import StoreUnavailable

START_EMPTY_SETTING = "WAIFU_START_EMPTY=1"
"""The setting that accepts an emptied database file beside existing reference pictures."""

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


def shown_database(url: URL) -> str:
    """How an operator recognises the database: the SQLite file's path, or the server URL without its password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:").removeprefix("file:")
    return url.render_as_string(hide_password=True)


def _sqlite_advice(code: int, name: str, database: str, *, migrating: bool) -> str | None:
    """The operator's line for one SQLite result code, or None when it is not a store failure."""
    primary = code & 0xFF
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return (
            f"The database {database} is damaged ({name}); restore it from a backup, "
            f"or move it aside to start a new gallery."
        )
    if primary == _SQLITE_READONLY:
        need = "needs a schema upgrade but" if migrating else "cannot be written: it"
        return (
            f"The database {database} {need} is read-only (the file or its folder); make both writable "
            f"for this user, or use only commands that read (characters, identify, whynot)."
        )
    if primary == _SQLITE_FULL:
        return f"The disk holding the database {database} is full; free some space and retry (nothing was written)."
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return (
            f"The database {database} is locked by another process writing to it (another waifu-bot?); "
            f"retry when it has finished."
        )
    if primary == _SQLITE_CANTOPEN:
        return f"The database {database} cannot be opened ({name}); check that the file and its folder are readable."
    if primary == _SQLITE_IOERR:
        return f"The database {database} could not be read or written ({name}); check the disk it lies on."
    return None


def explain(error: BaseException, url: URL, *, migrating: bool = False) -> StoreUnavailable | None:
    """The operator's message for a failure of the database at `url`, or None for other errors."""
    database = shown_database(url)
    original = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(original, sqlite3.Error) and getattr(original, "sqlite_errorcode", None) is not None:
        advice = _sqlite_advice(original.sqlite_errorcode, original.sqlite_errorname, database, migrating=migrating)
        return StoreUnavailable(advice, detail=f"{database}: {original}") if advice else None
    if url.get_backend_name() != "sqlite" and isinstance(original, OSError | TimeoutError):
        errno = getattr(original, "errno", None)
        reason = os.strerror(errno).lower() if errno else str(original) or type(original).__name__
        return StoreUnavailable(
            f"Cannot reach the database server at {database} ({reason}); check that it is running and "
            f"that the URL (--db or WAIFU_DATABASE_URL) is right.",
            detail=f"{database}: {original!r}",
        )
    return None


@contextmanager
def operator_errors(url: URL, *, migrating: bool = False) -> Iterator[None]:
    """Re-raise store failures inside the block as one `StoreUnavailable` line; anything else unchanged."""
    try:
        yield
    except (DBAPIError, OSError, TimeoutError) as error:
        failure = explain(error, url, migrating=migrating)
        if failure is None:
            raise
        raise failure from error


def refuse_emptied_file(url: URL, reference_dir: Path | None, *, start_empty: bool) -> None:
    """A 0-byte SQLite file beside stored reference pictures was truncated, not new: refuse to start over silently."""
    if start_empty or reference_dir is None or url.get_backend_name() != "sqlite":
        return
    path = Path(shown_database(url))
    try:
        emptied = path.is_file() and path.stat().st_size == 0
    except OSError:
        return
    if not emptied or not reference_dir.is_dir():
        return
    pictures = sum(1 for item in reference_dir.rglob("*") if item.is_file())
    if pictures:
        raise StoreUnavailable(
            f"The database {path} is empty (0 bytes) but {pictures} reference picture(s) lie in {reference_dir}: "
            f"it was probably truncated. Restore it from a backup, or set {START_EMPTY_SETTING} to start a new, "
            f"empty gallery beside those pictures."
        )
