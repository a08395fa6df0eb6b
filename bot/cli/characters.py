"""`waifu-bot characters [--json]`: the global characters and how many approved references each has."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, services_for

if TYPE_CHECKING:
    from bot.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("characters", help="list the known characters")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """List the global characters with an approved reference (pending names are for review), with their counts."""
    async with services_for(settings, analysis=False) as services:
        characters = await services.store.list_characters(approved_only=True)
        counts = {character.id: services.gallery.reference_count(character.id) for character in characters}
    if args.json:
        print_json(
            {
                "characters": [
                    {
                        "id": character.id,
                        "name": character.name,
                        "series": character.series,
                        "aliases": list(character.aliases),
                        "guild_id": character.guild_id,
                        "references": counts[character.id],
                    }
                    for character in characters
                ]
            }
        )
        return 0
    if not characters:
        print("no characters yet; add some with `waifu-bot enroll` or `waifu-bot import`.")
        return 0
    rows = [
        (character.id, character.name, character.series, ", ".join(character.aliases) or None, counts[character.id])
        for character in characters
    ]
    print(format_table(("id", "name", "series", "aliases", "references"), rows))
    return 0
