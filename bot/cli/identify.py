"""`waifu-bot identify IMAGE... [--top N] [--json]`: who is in each picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, read_image_file, services_for
from models.errors import ImageRejected

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.results import IdentifyResult


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
    """Identify each picture in turn and print it at once; a refused, slow or crashing one is named and skipped.

    Every path is checked before any model loads (a typo fails at once); each file is read only when its turn
    comes, after its size is checked. With one picture its error is the one line; with several, each failure is
    a line on stderr and the exit code is 2.
    """
    from bot.errors import InferenceFailed, PoolClosed, UsageError
    from models.intake import check_size

    paths = [Path(path) for path in args.images]
    for path in paths:
        if not path.is_file():
            read_image_file(path)  # raises the error that names what is wrong with the path
    failures: list[str] = []
    async with services_for(settings, pictures=len(paths)) as services:
        empty = services.gallery.character_count == 0
        for path in paths:
            try:
                check_size(path.stat().st_size, settings.images.max_bytes)
                result = await services.identify.identify(read_image_file(path), top=args.top)
            except PoolClosed:
                raise
            except (ImageRejected, InferenceFailed, UsageError) as error:
                message = (
                    error.user_message if error.user_message.startswith(str(path)) else f"{path}: {error.user_message}"
                )
                if len(paths) == 1:
                    raise UsageError(message) from error
                failures.append(message)
                print(message, file=sys.stderr, flush=True)
                continue
            if args.json:
                print_json(identify_json(path, result))
            else:
                print(render(path, result, empty_gallery=empty), flush=True)
    return 2 if failures else 0


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
