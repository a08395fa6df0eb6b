"""`waifu-bot models pull [NAME...]` and `waifu-bot models list`: the one-time download and what is there."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.common import format_table, print_json
from models.errors import ModelUnavailable
from models.registry import CARDS, DEFAULT_DETECTOR, DEFAULT_EMBEDDER, RECOMMENDED, ModelCard, get_card

if TYPE_CHECKING:
    from bot.config import Settings

BUILT_IN_TAGGER = "palette"


def add_parser(subparsers: Any) -> None:
    """Register `models pull` and `models list`; each sets `handler(args, settings) -> exit code`."""
    parser = subparsers.add_parser("models", help="download and list the hub models (WD tagger, CCIP, faces)")
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="{pull,list}")
    pull_parser = actions.add_parser(
        "pull", help="download models into the Hugging Face cache and check that they load"
    )
    pull_parser.add_argument("names", nargs="*", metavar="NAME", help=f"model names (default: {' '.join(RECOMMENDED)})")
    pull_parser.add_argument("--force", action="store_true", help="download again even if cached (broken files)")
    pull_parser.set_defaults(handler=run_pull)
    list_parser = actions.add_parser("list", help="show known models, which are downloaded and which are selected")
    list_parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    list_parser.set_defaults(handler=run_list)


def run_pull(args: argparse.Namespace, settings: Settings) -> int:
    """Download and verify; one clear line on stderr and exit 1 when a model cannot be fetched."""
    from bot.inference.model_choice import session_config
    from models.download import pull

    names = list(args.names) or list(RECOMMENDED)
    for name in names:
        get_card(name)  # an unknown name is bad input (exit 2 from main), checked before any download
    try:
        locations = pull(names, settings.model_cache_dir, force=args.force, session_config=session_config(settings))
    except ModelUnavailable as error:
        print(f"waifu-bot: {error.user_message}", file=sys.stderr)
        return 1
    for location in locations:
        print(f"{location.card.name}: ready ({location.identity}) in {location.directory}")
    return 0


def selected_names(settings: Settings) -> set[str]:
    """The models this configuration uses: its tagger, plus CCIP and the face detector when enabled."""
    selected = {settings.tagger}
    if settings.recognition.ccip:
        selected.add(DEFAULT_EMBEDDER)
    if settings.recognition.face_detection:
        selected.add(DEFAULT_DETECTOR)
    return selected


def model_rows(settings: Settings) -> list[dict[str, Any]]:
    """One row per known model (the built-in palette tagger first) for the table and --json."""
    selected = selected_names(settings)
    rows: list[dict[str, Any]] = [
        {
            "name": BUILT_IN_TAGGER,
            "kind": "tagger",
            "repo": None,
            "size_mb": 0,
            "present": True,
            "selected": BUILT_IN_TAGGER in selected,
            "licence": "MIT (built by waifu-bot, no download)",
        }
    ]
    rows.extend(_card_row(card, settings, selected) for card in CARDS)
    return rows


def _card_row(card: ModelCard, settings: Settings, selected: set[str]) -> dict[str, Any]:
    from models.download import is_present

    return {
        "name": card.name,
        "kind": str(card.kind),
        "repo": card.repo_id,
        "size_mb": card.approx_size_mb,
        "present": is_present(card, settings.model_cache_dir),
        "selected": card.name in selected,
        "licence": card.licence,
    }


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print what is known, present and selected; a selected model that is absent gets the pull hint."""
    rows = model_rows(settings)
    if args.json:
        print_json({"models": rows})
        return 0
    table = [
        (
            row["name"],
            row["kind"],
            f"~{row['size_mb']} MB" if row["size_mb"] else "-",
            "yes" if row["present"] else "no",
            "yes" if row["selected"] else "",
            row["licence"],
        )
        for row in rows
    ]
    print(format_table(("NAME", "KIND", "SIZE", "PRESENT", "SELECTED", "LICENCE"), table))
    missing = [row["name"] for row in rows if row["selected"] and not row["present"]]
    if missing:
        print(f"\nSelected but not downloaded: run `waifu-bot models pull {' '.join(missing)}`.")
    return 0
