"""`waifu-bot import DIR`: one sub-folder per character, every picture enrolled (approved), duplicates skipped."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from bot.cli.common import progress_bar, services_for
from bot.config import Settings
from bot.services.evaluation import list_dataset
from bot.services.importing import ImportStage, import_dataset


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("import", help="enroll a folder with one sub-folder of pictures per character")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--series", help="series of every imported character")
    parser.set_defaults(handler=run)


class _StageBars:
    """One progress bar per stage of the import, drawn from the service's progress reports."""

    def __init__(self) -> None:
        self.stage: ImportStage | None = None
        self.bar: tqdm | None = None

    def __call__(self, stage: ImportStage, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.bar = stage, progress_bar(total, stage)
        assert self.bar is not None
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Take the current bar off the terminal."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """List the folder (refused before any model loads), import it with a bar per stage, and list what it skipped."""
    dataset = list_dataset(args.directory)
    bars = _StageBars()
    try:
        async with services_for(settings) as services:
            summary = await import_dataset(
                services.enrollment,
                dataset,
                series=args.series,
                on_progress=bars,
                max_bytes=settings.images.max_bytes,
            )
    finally:
        bars.close()
    print(
        f"imported {summary.imported} reference(s) of {summary.characters} character(s) from {args.directory}; "
        f"skipped {len(summary.duplicates)} duplicate(s) and {len(summary.rejected)} unusable file(s)."
    )
    for line in summary.skipped:
        print(f"  skipped {line}")
    return 0
