"""`waifu-bot identify IMAGE... [--top N] [--json]`: who is in each picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import format_table, name_file, print_json, read_image_files, services_for
from bot.config import Settings
from bot.services.results import IdentifyResult
from models.errors import ImageRejected


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("identify", help="identify the characters in pictures")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--top", type=_positive, default=None, metavar="N", help="matches per region (default 3)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    """A count of at least 1; the message names the problem, not this function (argparse would show `_positive`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Analyse every picture first, then print, so a bad file leaves no partial output."""
    images = read_image_files(args.images)
    results: list[tuple[Path, IdentifyResult]] = []
    async with services_for(settings) as services:
        empty = services.gallery.character_count == 0
        for path, data in images:
            try:
                results.append((path, await services.identify.identify(data, top=args.top)))
            except ImageRejected as error:
                raise name_file(path, error) from error
    for path, result in results:
        if args.json:
            print_json(identify_json(path, result))
        else:
            print(render(path, result, empty_gallery=empty))
    return 0


def identify_json(path: Path, result: IdentifyResult) -> dict:
    """The documented JSON shape of one identified image."""
    return {
        "image": str(path),
        "results": [
            {
                "box": list(region.box) if region.box is not None else None,
                "matches": [
                    {
                        "character": match.character,
                        "series": match.series,
                        "distance": round(match.distance, 6),
                        "confidence": round(match.confidence, 6),
                        "source": match.source,
                    }
                    for match in region.matches
                ],
                "unknown": region.unknown,
            }
            for region in result.regions
        ],
    }


def render(path: Path, result: IdentifyResult, *, empty_gallery: bool = False) -> str:
    """A readable block per image: a table of matches per region, and a verdict."""
    lines = [f"{path}"]
    lines.extend(f"  note: {note}" for note in result.notes)
    for number, region in enumerate(result.regions, start=1):
        if len(result.regions) > 1 or region.box is not None:
            lines.append(f"  region {number}: box {region.box}")
        if region.matches:
            rows = [
                (rank, match.character, match.series, match.distance, match.confidence, match.source)
                for rank, match in enumerate(region.matches, start=1)
            ]
            headers = ("#", "character", "series", "distance", "confidence", "from")
            lines.append(format_table(headers, rows, indent="  "))
        if empty_gallery:
            lines.append("  unknown: the gallery is empty; add references with `waifu-bot enroll` or `import`.")
        elif region.unknown:
            lines.append("  unknown: no enrolled character is close enough (enroll this one to teach the bot).")
        else:
            lines.append(f"  best match: {region.matches[0].character}")
    return "\n".join(lines)
