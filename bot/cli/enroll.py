"""`waifu-bot enroll CHARACTER IMAGE... [--series S] [--alias A]...`: operator enrollment, approved at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import UsageError, name_file, read_image_files, services_for
from bot.config import Settings
from bot.errors import DuplicateReference
from bot.recognition.analysis import ImageAnalysis
from bot.services.results import EnrollmentResult
from bot.store.records import ReferenceStatus
from models.errors import ImageRejected


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the command."""
    parser = subparsers.add_parser("enroll", help="add approved reference pictures of a character")
    parser.add_argument("character", metavar="CHARACTER", help="the character's name (created if new)")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--series", help="the series the character comes from")
    parser.add_argument("--alias", action="append", default=[], help="another name (repeatable, any language)")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Check every picture (readable, an image, not a duplicate) before enrolling any of them."""
    name = args.character.strip()
    if not name:
        raise UsageError("the character name is empty.")
    images = read_image_files(args.images)
    async with services_for(settings) as services:
        enrollment = services.enrollment
        analyses: list[ImageAnalysis] = []
        for path, data in images:
            try:
                analyses.append(await enrollment.analyze_reference(data))
            except ImageRejected as error:
                raise name_file(path, error) from error
        for index, (path, _) in enumerate(images):
            try:
                await enrollment.check_duplicate(analyses[index])
            except DuplicateReference as error:
                raise UsageError(f"{path}: {error.user_message}") from error
            for earlier in range(index):
                first, second = analyses[index], analyses[earlier]
                if (
                    enrollment.is_duplicate(first.phash, second.phash, first.whole.tag_probs, second.whole.tag_probs)
                    is not None
                ):
                    raise UsageError(f"{path}: a near-duplicate of {images[earlier][0]}; pass each picture once.")
        results: list[EnrollmentResult] = []
        for (path, data), analysis in zip(images, analyses, strict=True):
            results.append(
                await enrollment.enroll_analysis(
                    name,
                    data,
                    analysis,
                    status=ReferenceStatus.APPROVED,
                    series=args.series,
                    aliases=args.alias,
                    source=str(path),
                )
            )
        character = results[-1].character
        total = services.gallery.reference_count(character.id)
    created = " (new character)" if results[0].created_character else ""
    print(
        f"enrolled {len(results)} reference(s) of {character.name}{created}: character #{character.id}, "
        f"{total} approved reference(s) in the gallery."
    )
    return 0
