"""`waifu-bot eval DIR [--refs K] [--seed S] [--json] [--calibrate]`: accuracy on a labelled folder, in a temporary
gallery; `--calibrate` also measures the tagger's "unknown" cutoff and stores it in the bot's database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, progress_bar

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.evaluation import EvalReport


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("eval", help="measure recognition on a folder of character sub-folders")
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--refs", type=int, default=10, metavar="K", help="references per character (default 10)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the reference choice (default 0)")
    parser.add_argument(
        "--blocks",
        metavar="B,B",
        help="feature blocks to rank with, e.g. tags,cnn_head (palette_whole = tags; default: all configured)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="measure and store this tagger's unknown cutoff (keeps 90%% of known queries; CCIP off)",
    )
    parser.add_argument(
        "--report", type=Path, metavar="OUT", help="also write report.json, confusion.png and per_character.png here"
    )
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate with a progress bar on stderr, then print the report."""
    from bot.services.calibration import save_calibration
    from bot.services.evaluation import evaluate, list_dataset

    if args.blocks:
        settings = with_blocks(settings, args.blocks)
    total = sum(len(paths) for paths in list_dataset(args.directory).values())
    with progress_bar(total, "analysing") as progress:
        report = await evaluate(
            args.directory,
            settings,
            refs=args.refs,
            seed=args.seed,
            on_analyzed=progress.update,
            calibrate_cutoff=args.calibrate,
        )
    if report.calibration is not None:
        await save_calibration(settings, report.calibration)
    if args.json:
        print_json(report.to_json())
    else:
        print(render(report))
    if args.report is not None:
        from bot.services.eval_report import write_report

        for path in write_report(report, args.report):
            print(f"wrote {path}", file=sys.stderr)
    if args.calibrate and report.calibration is None:
        print("--calibrate: nothing stored (needs three or more characters with queries)", file=sys.stderr)
        return 1
    return 0


def with_blocks(settings: Settings, blocks: str) -> Settings:
    """Settings whose fitted metric weighs only the named blocks (at their configured weights)."""
    from models.errors import UserFacingError

    weights = settings.recognition.block_weights
    chosen = {"tags" if name.strip() == "palette_whole" else name.strip() for name in blocks.split(",") if name.strip()}
    unknown = chosen - set(weights)
    if unknown:
        raise UserFacingError(f"--blocks: unknown block(s) {', '.join(sorted(unknown))}; known: {', '.join(weights)}")
    kept = {name: weight for name, weight in weights.items() if name in chosen}
    return settings.model_copy(update={"recognition": settings.recognition.model_copy(update={"block_weights": kept})})


def _unknown_line(report: EvalReport) -> str:
    """What leave-one-character-out measured, or why it could not."""
    if report.unknown_rejected is None:
        return "unknown: not measured (needs three or more characters)"
    return (
        f"unknown: {report.unknown_rejected:.3f} of an absent character's pictures refused "
        "at 95% acceptance of the others (leave-one-character-out)"
    )


def _calibration_lines(report: EvalReport) -> list[str]:
    """What `--calibrate` measured and stored, when it ran."""
    measured = report.calibration
    if measured is None:
        return []
    rejected = "not measured" if measured.absent_rejected is None else f"{measured.absent_rejected:.3f}"
    return [
        f"unknown cutoff for {measured.tagger} ({measured.measure} distance): {measured.distance:.4f} keeps "
        f"{measured.kept:.3f} of {measured.queries} known queries; absent characters rejected at it: {rejected} "
        "(leave-one-character-out)",
        "stored in the bot's database: galleries of this tagger use it from their next start",
    ]


def render(report: EvalReport) -> str:
    """Summary lines, the per-character table and the most frequent confusions."""
    pictures = max(1, report.queries + sum(score.refs for score in report.per_character))
    lines = [
        f"{report.characters} characters, {report.refs} references each, {report.queries} queries "
        f"({report.seconds:.1f} s, {report.seconds / pictures:.2f} s per picture)",
        f"top-1 {report.top1:.3f}   top-3 {report.top3:.3f}   macro precision {report.macro_precision:.3f}   "
        f"macro recall {report.macro_recall:.3f}   macro F1 {report.macro_f1:.3f}",
        _unknown_line(report),
        *_calibration_lines(report),
        "",
        format_table(
            ("character", "refs", "queries", "top-1", "top-3", "precision", "recall", "F1"),
            [(s.name, s.refs, s.queries, s.top1, s.top3, s.precision, s.recall, s.f1) for s in report.per_character],
        ),
    ]
    if report.confusions:
        lines += ["", "most frequent confusions:"]
        lines.append(format_table(("character", "taken for", "times"), list(report.confusions), indent="  "))
    if report.skipped:
        lines += ["", f"skipped {len(report.skipped)} picture(s):"]
        lines += [f"  {line}" for line in report.skipped]
    return "\n".join(lines)
