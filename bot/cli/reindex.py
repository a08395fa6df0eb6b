"""`waifu-bot reindex`: recompute references made by other models than the configured ones, resumably."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import progress_bar

if TYPE_CHECKING:
    from tqdm import tqdm

    from bot.config import Settings
    from bot.services.reindex import ReindexSummary


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser(
        "reindex",
        help="recompute reference vectors made by another tagger or embedder (resumable)",
        description=(
            "Recompute, from the stored pictures, the vectors of approved and pending references made by "
            "other models than the configured tagger/embedder. Safe to interrupt: run it again to resume."
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Open the store and the analyzer, recompute stale references with a progress bar, print a summary."""
    from bot.inference import create_analyzer
    from bot.inference.engine import expected_features
    from bot.inference.model_choice import embedder_identity, read_tagger_tags
    from bot.services.reference_images import ReferenceImages
    from bot.services.reindex import reindex
    from bot.store.repository import CharacterStore

    tagger, _ = read_tagger_tags(settings)
    embedder = embedder_identity(settings)
    store = await CharacterStore.open(settings.resolved_database_url())
    bar: tqdm | None = None

    def start(total: int) -> None:
        nonlocal bar
        bar = progress_bar(total, "reindex", "ref", quiet=args.quiet or total == 0)

    def advance(_reference: object) -> None:
        if bar is not None:
            bar.update(1)

    try:
        analyzer = create_analyzer(settings)
        try:
            summary = await reindex(
                store,
                analyzer,
                ReferenceImages(settings.reference_dir),
                tagger=tagger,
                embedder=embedder,
                features=expected_features(settings),
                faces=settings.recognition.face_detection,
                on_start=start,
                on_progress=advance,
            )
        finally:
            if bar is not None:
                bar.close()
            await analyzer.close()
    finally:
        await store.close()
    print(render(summary))
    return 1 if summary.missing or summary.unreadable else 0


def render(summary: ReindexSummary) -> str:
    """The closing summary: models, counts, and every reference that could not be recomputed."""
    models = f"{summary.tagger}" + (f" + {summary.embedder}" if summary.embedder else "")
    lines = [
        f"reindex with {models}: {summary.updated} recomputed, {summary.current} already current "
        f"({summary.checked} approved or pending references)."
    ]
    if summary.missing:
        ids = ", ".join(f"#{reference_id}" for reference_id in summary.missing)
        lines.append(
            f"{len(summary.missing)} references have no stored picture and keep their old vectors "
            f"(not served until re-enrolled or removed): {ids}"
        )
    if summary.unreadable:
        ids = ", ".join(f"#{reference_id}" for reference_id in summary.unreadable)
        lines.append(f"{len(summary.unreadable)} stored pictures could not be read: {ids}")
    return "\n".join(lines)
