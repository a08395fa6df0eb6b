"""`waifu-bot promote CHARACTER --guild ID`: the owner shares one server's character with every server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import services_for

if TYPE_CHECKING:
    from bot.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser(
        "promote", help="make a server's character and its approved references global (owner)"
    )
    parser.add_argument("character", metavar="CHARACTER", help="name or alias, as the server knows it")
    parser.add_argument("--guild", type=int, required=True, metavar="ID", help="the server (guild) id it belongs to")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Promote, then say how many references now serve every server."""
    async with services_for(settings, analysis=False) as services:
        record = await services.characters.resolve(args.character, guild_id=args.guild)
        promoted, served = await services.characters.promote(record.id)
    print(f"{promoted.name} is now global, with {served} approved reference(s).")
    every = settings.recognition.refresh_seconds
    if every > 0:
        print(f"A running bot on this database picks the change up within {every:g} s.")
    else:
        print("Refreshing is off (WAIFU_RECOGNITION__REFRESH_SECONDS=0): a running bot sees it after a restart.")
    return 0
