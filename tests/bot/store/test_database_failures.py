"""Store failures through the CLI: damaged, emptied, locked, full, read-only and unreachable databases.

Each must give one line naming the database and what to do (exit 2), and lose nothing.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.store import database
from tests.drawing import BLONDE, BLUE_HAIR, draw_character

WRITE_GUARD_MS = 200
"""The busy timeout under test: a locked database is reported after this, not after the default 10 s."""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR", "WAIFU_START_EMPTY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", WRITE_GUARD_MS)
    return tmp_path / "data"


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "alice.png"
    draw_character(BLONDE, seed=1).save(path)
    return path


@pytest.fixture
def another(tmp_path: Path) -> Path:
    path = tmp_path / "bea.png"
    draw_character(BLUE_HAIR, seed=2).save(path)
    return path


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), "--workers", "0", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_operator_line(result: tuple[int, str, str], *fragments: str) -> str:
    code, out, err = result
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and "unexpected error" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def characters(capsys: pytest.CaptureFixture[str], data_dir: Path) -> list[str]:
    code, out, err = run(capsys, data_dir, "characters", "--json")
    assert code == 0, err
    return [character["name"] for character in json.loads(out)["characters"]]


def database_file(data_dir: Path) -> Path:
    return data_dir / "waifu.sqlite3"


def stored_pictures(data_dir: Path) -> list[Path]:
    return sorted(path for path in (data_dir / "references").rglob("*") if path.is_file())


@pytest.fixture
def gallery(capsys: pytest.CaptureFixture[str], data_dir: Path, picture: Path) -> Path:
    """A data dir holding one character with one picture, its database closed cleanly."""
    code, _, err = run(capsys, data_dir, "enroll", "Alice", str(picture))
    assert code == 0, err
    return data_dir


def test_a_damaged_file_is_one_line_for_every_command(capsys, gallery: Path, picture: Path) -> None:
    path = database_file(gallery)
    path.write_bytes(random.Random(7).randbytes(path.stat().st_size))
    for command in (["characters"], ["identify", str(picture)], ["db", "upgrade"]):
        one_operator_line(run(capsys, gallery, *command), str(path), "damaged", "backup")


def test_damaged_pages_behind_a_valid_header_are_one_line(capsys, gallery: Path) -> None:
    path = database_file(gallery)
    data = bytearray(path.read_bytes())
    data[100:] = random.Random(8).randbytes(len(data) - 100)  # the header says SQLite; the pages are noise
    path.write_bytes(bytes(data))
    one_operator_line(run(capsys, gallery, "characters"), str(path), "damaged")


def test_an_emptied_file_beside_pictures_is_refused_not_silently_restarted(
    capsys, gallery: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_file(gallery)
    path.write_bytes(b"")
    line = one_operator_line(run(capsys, gallery, "characters"), str(path), "0 bytes", "backup", "WAIFU_START_EMPTY=1")
    assert "1 reference picture" in line
    assert path.stat().st_size == 0 and len(stored_pictures(gallery)) == 1  # nothing was overwritten

    monkeypatch.setenv("WAIFU_START_EMPTY", "1")  # the operator's explicit choice: a new gallery
    assert characters(capsys, gallery) == []


def test_an_empty_file_without_pictures_is_just_a_new_gallery(capsys, data_dir: Path) -> None:
    data_dir.mkdir()
    database_file(data_dir).touch()
    assert characters(capsys, data_dir) == []


@pytest.fixture
def writer_holding_the_lock(gallery: Path) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction: BEGIN IMMEDIATE held on a second connection."""
    connection = sqlite3.connect(database_file(gallery), isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    yield connection
    connection.execute("ROLLBACK")
    connection.close()


def test_reads_work_beside_a_writer_and_writes_say_it_is_locked(
    capsys, gallery: Path, picture: Path, another: Path, writer_holding_the_lock: sqlite3.Connection
) -> None:
    assert characters(capsys, gallery) == ["Alice"]
    code, out, err = run(capsys, gallery, "identify", str(picture))
    assert code == 0 and "Alice" in out, err
    one_operator_line(run(capsys, gallery, "enroll", "Bea", str(another)), str(database_file(gallery)), "locked")
    writer_holding_the_lock.execute("ROLLBACK")
    writer_holding_the_lock.execute("BEGIN")  # the fixture's ROLLBACK ends this one
    assert characters(capsys, gallery) == ["Alice"]
    assert len(stored_pictures(gallery)) == 1  # Bea's picture was taken back with her transaction


def test_a_full_disk_is_one_line_and_writes_nothing(
    capsys, gallery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_file(gallery)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("VACUUM")  # no free pages left: three more pictures' rows need new ones
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.close()
    batch = []
    for seed in range(3):
        batch.append(str(tmp_path / f"bea-{seed}.png"))
        draw_character(BLUE_HAIR, seed=20 + seed).save(batch[-1])
    # SQLite's own "database or disk is full" (SQLITE_FULL), as a full disk gives it: no page may be added
    monkeypatch.setattr(database, "EXTRA_SQLITE_PRAGMAS", (f"PRAGMA max_page_count={pages}",))
    one_operator_line(run(capsys, gallery, "enroll", "Bea", *batch), str(path), "full", "free some space")
    monkeypatch.setattr(database, "EXTRA_SQLITE_PRAGMAS", ())
    assert characters(capsys, gallery) == ["Alice"]
    assert len(stored_pictures(gallery)) == 1


def _without_root_override() -> list[str]:
    """A command prefix under which file permissions hold even for root (root ignores chmod otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to hold")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_a_read_only_data_dir_serves_reads_and_refuses_writes_in_one_line(
    gallery: Path, picture: Path, another: Path
) -> None:
    script = (
        "import sys\nfrom bot.cli.main import main\n"
        "for argv in (['characters'], ['identify', sys.argv[2]], ['enroll', 'Bea', sys.argv[3]]):\n"
        "    print('exit', main(['--data-dir', sys.argv[1], '--workers', '0', *argv]), flush=True)\n"
    )
    path = database_file(gallery)
    folders = [gallery, *(p for p in gallery.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    path.chmod(0o444)
    try:
        process = subprocess.run(
            [*_without_root_override(), sys.executable, "-c", script, str(gallery), str(picture), str(another)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    finally:
        for folder in folders:
            folder.chmod(0o755)
        path.chmod(0o644)
    exits = [line for line in process.stdout.splitlines() if line.startswith("exit")]
    assert exits == ["exit 0", "exit 0", "exit 2"], process.stdout + process.stderr
    assert "Alice" in process.stdout
    (line,) = process.stderr.strip().splitlines()
    assert "writable" in line or "read-only" in line, line
    assert str(gallery) in line


def test_an_unreachable_database_server_is_one_line_without_the_password(capsys, data_dir: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: connecting is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"postgresql://waifu:hunter2@127.0.0.1:{port}/waifu"
        line = one_operator_line(run(capsys, data_dir, "--db", url, "characters"), "Cannot reach", f":{port}")
    assert "hunter2" not in line and "refused" in line
