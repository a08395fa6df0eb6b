"""`waifu-bot enroll CHARACTER IMAGE... [--series S] [--alias A]...`: operator enrollment, approved at once."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import read_image_files, refuse_close_names, services_for
from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("enroll", help="add approved reference pictures of a character")
    parser.add_argument("character", metavar="CHARACTER", help="the character's name (created if new)")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--series", help="the series the character comes from")
    parser.add_argument("--alias", action="append", default=[], help="another name (repeatable, any language)")
    parser.add_argument(
        "--new", action="store_true", help="create the character even when its name is close to an existing one"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Read every file first, then let the service check them all before it enrolls any (errors name the file).

    A new name close to an existing character's is refused before any picture is analysed, unless `--new`.
    """
    name = args.character.strip()
    if not name:
        raise UsageError("the character name is empty.")
    pictures = [(str(path), data) for path, data in read_image_files(args.images)]
    async with services_for(settings, pictures=len(pictures)) as services:
        await refuse_close_names(services.store, [name], allowed=args.new)
        results = await services.enrollment.enroll_approved_many(name, pictures, series=args.series, aliases=args.alias)
        character = results[-1].character
        total = services.gallery.reference_count(character.id)
    created = " (new character)" if results[0].created_character else ""
    print(
        f"enrolled {len(results)} reference(s) of {character.name}{created}: character #{character.id}, "
        f"{total} approved reference(s) in the gallery."
    )
    return 0
