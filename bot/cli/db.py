"""`waifu-bot db upgrade [REV]` and `waifu-bot db downgrade REV`: run the schema migrations by hand."""

from __future__ import annotations

import argparse

from alembic.util import CommandError

from bot.cli.common import UsageError
from bot.config import Settings
from bot.store import database


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
    try:
        revision = await database.upgrade(settings.resolved_database_url(), args.revision)
    except CommandError as error:
        raise UsageError(f"cannot upgrade to {args.revision!r}: {error}") from error
    print(f"database upgraded; schema revision {revision or 'base'}.")
    return 0


async def run_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Downgrade and say where the schema is now."""
    try:
        revision = await database.downgrade(settings.resolved_database_url(), args.revision)
    except CommandError as error:
        raise UsageError(f"cannot downgrade to {args.revision!r}: {error}") from error
    print(f"database downgraded; schema revision {revision or 'base'}.")
    return 0
