"""The rooms' rules, read from the imports of every project module with `ast` (see ../README's tour).

Each rule names the top-level packages a room may not import; a violation fails with file and line,
so a change that puts Discord, SQL or ONNX in the wrong room is caught at review time, not in prod.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "cogs", "models", "migrations")
"""The shipped packages; tests and benchmarks build ONNX graphs and talk to the emulator, so they are exempt."""


@dataclass(frozen=True)
class Rule:
    """`module` (and its sub-modules) may be imported only by files under one of `allowed`."""

    module: str
    allowed: tuple[str, ...]
    why: str


RULES = (
    Rule("discord", ("cogs/", "bot/discord_adapter/"), "Discord lives in the cogs and the Discord adapter"),
    Rule("sqlalchemy", ("bot/store/", "migrations/"), "SQL lives in the store and the migrations"),
    Rule("alembic", ("bot/store/", "migrations/"), "migrations are run by the store"),
    Rule("onnxruntime", ("models/",), "models run only in models/"),
    Rule("onnx", ("models/",), "model graphs are built only in models/"),
)

FORBIDDEN_BY_ROOM = {
    "cogs/": ("bot.store",),
    "bot/recognition/": ("bot.services", "bot.inference", "bot.cli", "bot.store.repository", "bot.discord_adapter"),
    "models/": ("bot", "cogs"),
}
"""Project modules a room may not import: cogs talk to services, recognition is pure, models know no bot."""


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str


def imports_in(path: Path, root: Path = ROOT) -> Iterator[Import]:
    """Every module a file imports, at any depth (late imports inside functions count too)."""
    relative = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(relative, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield Import(relative, node.lineno, node.module)


def product_files(root: Path = ROOT) -> list[Path]:
    """The project's own Python files, outside tests and benchmarks."""
    return sorted(path for package in PRODUCT for path in (root / package).rglob("*.py"))


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(files: list[Path], root: Path = ROOT) -> list[str]:
    """One line per import that breaks a rule: `file:line imports X (why)`."""
    found = []
    for path in files:
        for imported in imports_in(path, root):
            for rule in RULES:
                if _is_under(imported.module, rule.module) and not imported.path.startswith(rule.allowed):
                    found.append(f"{imported.path}:{imported.line} imports {imported.module} ({rule.why})")
            for room, forbidden in FORBIDDEN_BY_ROOM.items():
                if imported.path.startswith(room):
                    for package in forbidden:
                        if _is_under(imported.module, package):
                            found.append(f"{imported.path}:{imported.line} imports {imported.module} ({room} may not)")
    return found


def test_every_room_keeps_its_rules() -> None:
    broken = violations(product_files())
    assert not broken, "imports that break the rooms' rules:\n" + "\n".join(broken)


def test_the_bot_root_holds_only_wiring_config_and_errors() -> None:
    loose = sorted(path.name for path in (ROOT / "bot").glob("*.py"))
    assert loose == ["__init__.py", "app.py", "config.py", "errors.py"]


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("bot/services/leak.py", "import discord\n", "bot/services/leak.py:1 imports discord"),
        ("cogs/leak.py", "from bot.store.records import X\n", "cogs/leak.py:1 imports bot.store.records"),
        ("bot/recognition/leak.py", "def f():\n    import sqlalchemy.orm\n", "bot/recognition/leak.py:2 imports"),
        ("bot/leak.py", "from onnxruntime import InferenceSession\n", "bot/leak.py:1 imports onnxruntime"),
    ],
)
def test_a_broken_rule_is_reported_with_file_and_line(
    tmp_path: Path, relative: str, source: str, expected: str
) -> None:
    """The checker itself: a planted violation in a copy of the layout is found and located."""
    planted = tmp_path / relative
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(source, encoding="utf-8")
    found = violations([planted], tmp_path)
    assert any(line.startswith(expected) for line in found), found


def test_no_module_is_a_monolith() -> None:
    """Modules of one job: none of the product's files runs past ~300 lines."""
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in product_files()
        if "versions" not in path.parts and (count := len(path.read_text(encoding="utf-8").splitlines())) > 320
    ]
    assert not long, long
