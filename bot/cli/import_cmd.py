"""`waifu-bot import DIR`: one sub-folder per character, every picture enrolled (approved), duplicates skipped."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import progress_bar, refuse_close_names, services_for

if TYPE_CHECKING:
    from tqdm import tqdm

    from bot.config import Settings
    from bot.services.importing import ImportStage


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("import", help="enroll a folder with one sub-folder of pictures per character")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--series", help="series of every imported character")
    parser.add_argument(
        "--new", action="store_true", help="create characters even when a name is close to an existing one"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="skip pictures with quality warnings (black-and-white, smaller than the models' input, no face)",
    )
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
    """List the folder (refused before any model loads), import it with a bar per stage, and list what it skipped.

    A folder whose character name is new but close to an existing one refuses the import before any picture is
    analysed, unless `--new`.
    """
    _say(f"scanning {args.directory}")
    from bot.services.display_names import naming_of, read_characters_file
    from bot.services.evaluation import list_dataset
    from bot.services.importing import import_dataset

    dataset = list_dataset(args.directory)
    found = sum(len(paths) for paths in dataset.values())
    _say(f"found {found} picture(s) of {len(dataset)} character(s)")
    names = read_characters_file(args.directory)
    bars = _StageBars()
    try:
        async with services_for(settings, on_step=_say) as services:
            new_names = [naming_of(folder, names, args.series).name for folder in dataset]
            await refuse_close_names(services.store, new_names, allowed=args.new)
            summary = await import_dataset(
                services.enrollment,
                dataset,
                series=args.series,
                on_progress=bars,
                max_bytes=settings.images.max_bytes,
                names=names,
                strict=args.strict,
            )
    finally:
        bars.close()
    print(
        f"imported {summary.imported} reference(s) of {summary.characters} character(s) from {args.directory}; "
        f"skipped {len(summary.duplicates)} duplicate(s) and {len(summary.rejected)} unusable file(s)"
        + (f" and {len(summary.weak)} with quality warnings (--strict)." if summary.strict else ".")
    )
    for line in summary.skipped:
        print(f"  skipped {line}")
    if summary.weak and not summary.strict:
        print(f"{len(summary.weak)} imported picture(s) have quality warnings (--strict skips them):")
        for line in summary.weak:
            print(f"  warning {line}")
    return 0


def _say(step: str) -> None:
    """One line on a terminal's stderr as a slow step begins, so the wait before the bar says what it waits for.

    Like the bars, it is quiet when stderr is a pipe or a log, whose readers get the summary and errors only.
    """
    if sys.stderr.isatty():
        print(step, file=sys.stderr, flush=True)
