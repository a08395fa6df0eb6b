"""`waifu-bot whynot IMAGE CHARACTER [--json]`: the tag evidence for and against a character."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import format_table, name_file, print_json, read_image_file, services_for
from models.errors import ImageRejected

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.results import WhyNotResult


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("whynot", help="explain why a picture is (not) a given character")
    parser.add_argument("image", type=Path, metavar="IMAGE")
    parser.add_argument("character", metavar="CHARACTER", help="name or alias")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Resolve the name, analyse the picture, print the evidence."""
    data = read_image_file(args.image)
    async with services_for(settings, pictures=1) as services:
        try:
            result = await services.whynot.whynot(data, args.character)
        except ImageRejected as error:
            raise name_file(args.image, error) from error
    if args.json:
        print_json(whynot_json(result))
    else:
        print(render(result))
    return 0


def whynot_json(result: WhyNotResult) -> dict:
    """The documented JSON shape of a whynot answer."""
    return {
        "character": result.character,
        "rank": result.rank,
        "distance": round(result.distance, 6),
        "best_match": result.best_match,
        "evidence": [
            {
                "tag": item.tag,
                "image": round(item.image, 6),
                "character": round(item.character, 6),
                "weight": round(item.weight, 6),
                "rival": None if item.rival is None else round(item.rival, 6),
            }
            for item in result.evidence
        ],
        "compared_with": result.compared_with,
    }


def render(result: WhyNotResult) -> str:
    """A verdict line and a table of the strongest evidence, for and against."""
    if result.rank == 1:
        verdict = f"{result.character} is the best match (distance {result.distance:.3f})."
    else:
        verdict = (
            f"{result.character} ranks #{result.rank} of {result.candidates} (distance {result.distance:.3f}); "
            f"best match: {result.best_match} (distance {result.best_distance:.3f})."
        )
    sections = [verdict]
    if result.compared_with:
        sections.append(f"evidence: tags on which the picture is nearer {result.character} or {result.compared_with}.")
    headers = ("tag", "image", result.character) + ((result.compared_with,) if result.compared_with else ())
    for title, items in (("speaks for", result.supporting), ("speaks against", result.opposing)):
        if items:
            rows = [
                (item.tag, item.image, item.character)
                + ((item.rival,) if result.compared_with else ())
                + (item.weight,)
                for item in items
            ]
            sections.append(f"\n{title} {result.character}:")
            sections.append(format_table((*headers, "weight"), rows, indent="  "))
    if result.supporting or result.opposing:
        sections.append("\n" + textwrap.fill(weight_legend(result), width=100))
    return "\n".join(sections)


_COLUMNS = "The other columns: the tag's probability (0-1) in the picture and averaged over each character's pictures."


def weight_legend(result: WhyNotResult) -> str:
    """What the weight column means, which differs with and without a rival character."""
    if result.compared_with:
        return (
            f"weight: the tag's share of the difference between {result.character} and {result.compared_with} "
            f"(the sizes of all tags' shares add up to 1); + means the picture is nearer {result.character} "
            f"on this tag, - nearer {result.compared_with}. {_COLUMNS}"
        )
    return (
        f"weight: how strongly the tag speaks for (+) or against (-) {result.character}: how present it is "
        "in the picture or the character, times how well the two agree, scaled by how steady the tag is across "
        f"the character's references. {_COLUMNS}"
    )
