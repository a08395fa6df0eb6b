"""Bulk import: a folder with one sub-folder of pictures per character, every picture enrolled approved.

The caller lists the folder first with `list_dataset` (cheap, no model loaded), so a wrong folder or a folder
name that is no valid character name is refused before the services open and before anything is written.
Analysis runs in parallel through the enrollment service's analyzer (a pool keeps every core busy); enrolling
then follows folder order, so of two near-duplicate pictures the first in the folder is kept. A duplicate or an
unusable file is skipped and named in the summary, never the end of the import; a file that cannot be read
stops the import before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from bot.errors import DuplicateReference, ImageRejected, UsageError
from bot.services.batch import analyze_many
from bot.services.enrollment import EnrollmentService
from bot.services.results import ImportSummary
from bot.store.records import ReferenceStatus

ImportStage = Literal["analysing", "enrolling"]

ImportProgress = Callable[[ImportStage, int, int], None]
"""Called as (stage, pictures done, pictures in all): once with 0 when a stage starts, then after each picture."""


async def import_dataset(
    enrollment: EnrollmentService,
    dataset: Mapping[str, Sequence[Path]],
    *,
    series: str | None = None,
    on_progress: ImportProgress | None = None,
) -> ImportSummary:
    """Enroll every picture of a dataset (approved), skipping duplicates and unusable files, and say what it did.

    `dataset` maps character names (the sub-folders) to their picture files, as `list_dataset` returns it;
    `series`, when given, is every imported character's series.
    """
    work = [(name, path) for name, paths in dataset.items() for path in paths]
    # Read all before analysing any, so an unreadable file leaves nothing half imported (the next step is to stream).
    payloads = [_read(path) for _, path in work]
    report = on_progress or _ignore_progress
    total = len(work)
    analysed = 0

    def one_analysed() -> None:
        nonlocal analysed
        analysed += 1
        report("analysing", analysed, total)

    report("analysing", 0, total)
    analyses = await analyze_many(enrollment.analyzer, payloads, detect_faces=False, on_done=one_analysed)
    imported = 0
    duplicates: list[str] = []
    rejected: list[str] = []
    report("enrolling", 0, total)
    for done, ((name, path), data, analysis) in enumerate(zip(work, payloads, analyses, strict=True), start=1):
        if isinstance(analysis, ImageRejected):
            rejected.append(f"{path}: {analysis.user_message}")
        else:
            try:
                await enrollment.enroll_analysis(
                    name, data, analysis, status=ReferenceStatus.APPROVED, series=series, source=str(path)
                )
            except DuplicateReference as error:
                duplicates.append(f"{path}: {error.user_message}")
            else:
                imported += 1
        report("enrolling", done, total)
    return ImportSummary(
        characters=len(dataset), imported=imported, duplicates=tuple(duplicates), rejected=tuple(rejected)
    )


def _read(path: Path) -> bytes:
    """A dataset file's bytes, or one error naming it (an empty file is read and then rejected as unusable)."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror or error}).") from error


def _ignore_progress(stage: ImportStage, done: int, total: int) -> None:
    """The progress callback of a caller that draws none."""
