"""`waifu-bot tags IMAGE [--json]`: the tags the tagger sees in a picture, above its thresholds, by category."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, read_image_file, services_for

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.tags import TagScore, TagsResult


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("tags", help="the tagger's tags of a picture (general, character, rating)")
    parser.add_argument("image", type=Path, metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Tag one picture in this process and print its tags."""
    from models.intake import check_size

    path = Path(args.image)
    data = read_image_file(path)
    check_size(len(data), settings.images.max_bytes)
    async with services_for(settings, pictures=1) as services:
        result = await services.tags.tags(data)
    if args.json:
        print_json(tags_json(path, result))
    else:
        print(render(path, result))
    return 0


def _scores(scores: tuple[TagScore, ...]) -> list[dict]:
    return [{"tag": score.tag, "probability": round(score.probability, 6)} for score in scores]


def tags_json(path: Path, result: TagsResult) -> dict:
    """`{"image", "tagger", "thresholds", "tags": {"general", "character", "rating"}}`, plus the palette's regions."""
    payload = {
        "image": str(path),
        "tagger": result.tagger,
        "thresholds": dict(result.thresholds),
        "tags": {
            "general": _scores(result.general),
            "character": _scores(result.character),
            "rating": _scores(result.rating),
        },
    }
    if result.palette:
        payload["regions"] = {region: _scores(scores) for region, scores in result.regions()}
    return payload


def render(path: Path, result: TagsResult) -> str:
    """One table per category (per region for the palette tagger)."""
    thresholds = ", ".join(f"{name} {value:.2f}" for name, value in result.thresholds)
    lines = [f"{path}  ({result.tagger}; thresholds {thresholds})"]
    groups = (
        result.regions()
        if result.palette
        else (
            ("rating", result.rating),
            ("character", result.character),
            ("general", result.general),
        )
    )
    for name, scores in groups:
        if scores:
            lines.append(format_table((name, "probability"), [(s.tag, s.probability) for s in scores], indent="  "))
        else:
            lines.append(f"  {name}: nothing above the threshold")
    return "\n".join(lines)
