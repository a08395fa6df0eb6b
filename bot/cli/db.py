"""`waifu-bot db upgrade [REV]` and `waifu-bot db downgrade REV`: run the schema migrations by hand."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command and its two actions."""
    parser = subparsers.add_parser("db", help="database schema migrations")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate up to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=run_upgrade)
    downgrade = actions.add_parser("downgrade", help="migrate down to a revision ('base' drops everything)")
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=run_downgrade)


async def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade and say where the schema is now."""
    from bot.store import database

    return await _migrate("upgrade", database.upgrade, args.revision, settings)


async def run_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Downgrade and say where the schema is now."""
    from bot.store import database

    return await _migrate("downgrade", database.downgrade, args.revision, settings)


async def _migrate(
    action: str, migrate: Callable[[str, str], Awaitable[str | None]], revision: str, settings: Settings
) -> int:
    """Run one migration direction (an unknown revision is refused by the store as bad input)."""
    reached = await migrate(settings.resolved_database_url(), revision)
    print(f"database {action}d; schema revision {reached or 'base'}.")
    return 0
