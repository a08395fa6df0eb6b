"""`waifu-bot embed IMAGE... [--json]`: the feature vectors the recognizer compares for each picture, by block."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, read_image_file, services_for

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.features import FeatureExport


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("embed", help="export the feature vectors the recognizer uses for pictures")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--json", action="store_true", help="one JSON object per image, one per line, with vectors")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Analyse each picture and print its vectors; with several, a refused one is named on stderr and skipped."""
    from bot.errors import ImageRejected, InferenceFailed, UsageError
    from bot.recognition.analysis import InferenceJob
    from bot.services.features import export_features
    from models.intake import check_size

    paths = [Path(path) for path in args.images]
    for path in paths:
        if not path.is_file():
            read_image_file(path)  # raises the error that names what is wrong with the path
    failures = 0
    async with services_for(settings, pictures=len(paths)) as services:
        for path in paths:
            try:
                check_size(path.stat().st_size, settings.images.max_bytes)
                analysis = await services.analyzer.analyze(InferenceJob(image=read_image_file(path)))
            except (ImageRejected, InferenceFailed, UsageError) as error:
                message = f"{path}: {error.user_message}"
                if len(paths) == 1:
                    raise UsageError(message) from error
                failures += 1
                print(message, file=sys.stderr, flush=True)
                continue
            exported = export_features(analysis, services.gallery)
            if args.json:
                print_json(export_json(path, exported))
            else:
                print(render(path, exported), flush=True)
    return 2 if failures else 0


def export_json(path: Path, exported: FeatureExport) -> dict:
    """`{"image", "tagger", "embedder", "features", "regions": [{"box", "blocks": {name: {"dims", "names",
    "vector"}}}]}`; `names` is null for a block whose dimensions have no names (the CNN's, CCIP's)."""
    return {
        "image": str(path),
        "tagger": exported.tagger,
        "embedder": exported.embedder,
        "features": exported.features,
        "regions": [
            {
                "box": list(region.box) if region.box is not None else None,
                "blocks": {
                    block.name: {
                        "dims": block.dims,
                        "names": list(block.dimension_names) if block.dimension_names else None,
                        "vector": [float(value) for value in block.vector],
                    }
                    for block in region.blocks
                },
            }
            for region in exported.regions
        ],
    }


def render(path: Path, exported: FeatureExport) -> str:
    """Per region: each block's dimension and length (the vectors themselves with --json)."""
    lines = [f"{path}  ({exported.tagger}; features {exported.features or 'tags only'})"]
    for number, region in enumerate(exported.regions, start=1):
        where = "whole picture" if region.box is None else f"box {region.box}"
        lines.append(f"  region {number}: {where}")
        rows = [
            (block.name, block.dims, float((block.vector.astype(float) ** 2).sum() ** 0.5)) for block in region.blocks
        ]
        lines.append(format_table(("block", "dims", "norm"), rows, indent="    "))
    return "\n".join(lines)
