"""`waifu-bot demo [--keep DIR]`: draw a small cast, import it, identify unseen pictures, explain one answer."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings (pydantic) and the services (the models) only when the demo runs
    from bot.config import Settings
    from bot.services.demo import DemoRun


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser(
        "demo", help="show the bot working offline on drawn characters (nothing downloaded, your gallery untouched)"
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the drawn pictures and the demo gallery in DIR (must be empty)"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the demo in a throwaway folder (or DIR) and print what the bot answered."""
    from bot.errors import UsageError
    from bot.services.demo import run_demo

    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        raise UsageError(f"{args.keep}: not empty; --keep needs a new or empty folder.")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="waifu-bot-demo-"))
    try:
        outcome = await run_demo(settings, workdir, on_step=lambda step: print(f"- {step}", file=sys.stderr))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(render(outcome, kept=args.keep))
    return 0 if all(answer.correct for answer in outcome.answers) else 1


def render(outcome: DemoRun, *, kept: Path | None) -> str:
    """The answers as a person reads them, then what to try next."""
    from bot.cli.common import format_table
    from bot.cli.whynot import render as render_whynot

    imported = outcome.imported
    lines = [
        f"Imported {imported.imported} pictures of {imported.characters} characters as the gallery.",
        "",
        "Who is in each new picture (never seen by the gallery)?",
    ]
    rows = []
    for answer in outcome.answers:
        region = answer.result.regions[0]
        best = region.matches[0] if region.matches else None
        runner_up = region.matches[1] if len(region.matches) > 1 else None
        rows.append(
            (
                answer.member.name,
                "unknown" if region.unknown or best is None else best.character,
                None if best is None else best.confidence,
                "-" if runner_up is None else f"{runner_up.character} ({runner_up.confidence:.2f})",
                "yes" if answer.correct else "NO",
            )
        )
    lines.append(format_table(("drawn", "answer", "confidence", "runner-up", "right?"), rows, indent="  "))
    right = sum(answer.correct for answer in outcome.answers)
    lines += [f"  {right} of {len(outcome.answers)} identified correctly.", ""]
    lines.append(f"Why (not)? `whynot` on the picture of {outcome.answers[0].member.name}:")
    lines += ["  " + line for line in render_whynot(outcome.explained).splitlines()]
    lines += [
        "",
        f"Done in {outcome.seconds:.1f} s." + (f" Pictures and gallery kept in {kept}." if kept else ""),
        "Next:",
        "  waifu-bot import ~/pictures/characters     # one sub-folder of pictures per character",
        "  waifu-bot identify picture.png             # who is this?",
        '  waifu-bot whynot picture.png "Name"        # why (not) this character?',
        "  waifu-bot models pull && export WAIFU_TAGGER=wd-swinv2-tagger-v3 WAIFU_RECOGNITION__CCIP=true",
        "                                             # the hub models (one download), then `waifu-bot reindex`",
    ]
    return "\n".join(lines)
