"""`waifu-bot import DIR`: one sub-folder per character, every picture enrolled (approved), duplicates skipped."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import UsageError, progress_bar, services_for
from bot.config import Settings
from bot.errors import DuplicateReference
from bot.services.batch import analyze_many
from bot.services.evaluation import list_dataset
from bot.store.records import ReferenceStatus
from models.errors import ImageRejected


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("import", help="enroll a folder with one sub-folder of pictures per character")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--series", help="series of every imported character")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Analyse all pictures (in parallel, with a progress bar), then enroll them in folder order."""
    dataset = list_dataset(args.directory)
    work = [(name, path) for name, paths in dataset.items() for path in paths]
    payloads: list[bytes] = []
    for _, path in work:
        try:
            payloads.append(path.read_bytes())
        except OSError as error:
            raise UsageError(f"{path}: cannot be read ({error.strerror or error}).") from error
    imported = 0
    duplicates: list[str] = []
    rejected: list[str] = []
    async with services_for(settings) as services:
        with progress_bar(len(work), "analysing") as progress:
            analyses = await analyze_many(services.analyzer, payloads, detect_faces=False, on_done=progress.update)
        with progress_bar(len(work), "enrolling") as progress:
            for (name, path), data, analysis in zip(work, payloads, analyses, strict=True):
                progress.update()
                if isinstance(analysis, ImageRejected):
                    rejected.append(f"{path}: {analysis.user_message}")
                    continue
                try:
                    await services.enrollment.enroll_analysis(
                        name, data, analysis, status=ReferenceStatus.APPROVED, series=args.series, source=str(path)
                    )
                except DuplicateReference as error:
                    duplicates.append(f"{path}: {error.user_message}")
                    continue
                imported += 1
    print(
        f"imported {imported} reference(s) of {len(dataset)} character(s) from {args.directory}; "
        f"skipped {len(duplicates)} duplicate(s) and {len(rejected)} unusable file(s)."
    )
    for line in duplicates + rejected:
        print(f"  skipped {line}")
    return 0
