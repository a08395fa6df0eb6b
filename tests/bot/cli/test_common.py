"""CLI helpers: the progress bar draws on a terminal only, and tables align numbers right and wide characters."""

from __future__ import annotations

import io

import pytest

from bot.cli.common import display_width, format_table, progress_bar


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_is_silent_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    with progress_bar(5, "analysing") as progress:
        for _ in range(5):
            progress.update()
    assert piped.getvalue() == ""


def test_progress_bar_draws_on_a_terminal_and_quiet_silences_it(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress_bar(5, "analysing") as progress:
        progress.update(5)
    drawn = terminal.getvalue()
    assert "analysing" in drawn and "/5" in drawn and "\r" in drawn

    quiet = Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    with progress_bar(5, "reindex", "ref", quiet=True) as progress:
        progress.update(5)
    assert quiet.getvalue() == ""


def test_format_table_right_aligns_numbers_and_marks_missing_values() -> None:
    table = format_table(("name", "score"), [("a", 0.5), ("long name", None)]).splitlines()
    assert table[0] == "name       score"
    assert table[2] == "a          0.500"
    assert table[3] == "long name  -"


def test_format_table_aligns_wide_and_combining_characters() -> None:
    rows = [("中野三玖", "五等分の花嫁", 3), ("Miku", "Quintessential", 12), ("Cafe\u0301", "x", 1)]
    lines = format_table(("name", "series", "refs"), rows).splitlines()
    assert [display_width(line) for line in lines] == [display_width(lines[1])] * len(lines)
    assert lines[2].startswith("中野三玖  五等分の花嫁  ")
    assert display_width("中野") == 4 and display_width("Cafe\u0301") == 4
