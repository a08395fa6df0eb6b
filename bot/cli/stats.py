"""`waifu-bot stats [--json] [--guild ID]`: characters, references per character, the queue and contributors."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import format_table, print_json, services_for

if TYPE_CHECKING:
    from bot.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("stats", help="how well taught the gallery is, and where it is weakest")
    parser.add_argument("--guild", type=int, default=None, help="one server's view (global and its own)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the statistics of every scope, or of what one guild sees."""
    from bot.services.stats import age_text, gallery_stats

    async with services_for(settings, analysis=False) as services:
        stats = await gallery_stats(
            services.store, services.gallery, guild_id=args.guild, all_scopes=args.guild is None
        )
    if args.json:
        age = stats.oldest_pending_age.total_seconds() if stats.oldest_pending_age else None
        print_json(
            {
                "characters": stats.characters,
                "references": stats.references,
                "per_character": {"min": stats.minimum, "median": stats.median, "max": stats.maximum},
                "histogram": dict(stats.histogram),
                "pending": stats.pending,
                "oldest_pending_seconds": age,
                "other_model": stats.other_model,
                "contributors": [{"user_id": user, "approved": count} for user, count in stats.contributors],
                "weakest": [{"character": name, "references": count} for name, count in stats.weakest],
                "most_confused": [
                    {"character": c.character, "corrections": c.corrections, "mostly_to": c.mostly_to}
                    for c in stats.confused
                ],
                "confusion_window_days": stats.window.days,
            }
        )
        return 0
    print(
        f"{stats.characters} characters, {stats.references} approved references "
        f"(per character min {stats.minimum}, median {stats.median:g}, max {stats.maximum})"
    )
    print(f"pending: {stats.pending} (oldest {age_text(stats.oldest_pending_age)})")
    print(f"made by another model, waiting for `waifu-bot reindex`: {stats.other_model}")
    print(format_table(("references", "characters"), list(stats.histogram)))
    if stats.weakest:
        print(format_table(("weakest character", "references"), list(stats.weakest)))
    if stats.confused:
        rows = [(c.character, c.corrections, c.mostly_to) for c in stats.confused]
        print(f"most corrected with Not right? in the last {stats.window.days} days:")
        print(format_table(("answer named", "corrected", "mostly to"), rows))
    if stats.contributors:
        print(format_table(("contributor", "approved"), list(stats.contributors)))
    return 0
