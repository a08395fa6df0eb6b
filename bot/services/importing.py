"""Bulk import: a folder with one sub-folder of pictures per character, every picture enrolled approved.

The caller lists the folder first with `list_dataset` (cheap, no model loaded), so a wrong folder or a folder
name that is no valid character name is refused before the services open and before anything is written.
Files stream through in chunks: each chunk is read (size checked before reading), analysed in parallel through
the enrollment service's analyzer (a pool keeps every core busy), then enrolled and committed in folder order, so
of two near-duplicate pictures the first in the folder is kept, memory holds one chunk, and an interrupted import
keeps what it committed. A duplicate, an unreadable, unusable, slow or crashing file is skipped and named in the
summary, never the end of the import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from bot.errors import DuplicateReference, UserFacingError
from bot.services.batch import analyze_many, default_concurrency, read_capped
from bot.services.display_names import Naming, naming_of
from bot.services.enrollment import EnrollmentService
from bot.services.reference_quality import describe, quality_issues
from bot.services.results import ImportSummary
from bot.store.records import ReferenceStatus

ImportStage = Literal["importing"]

ImportProgress = Callable[[ImportStage, int, int], None]
"""Called as (stage, pictures done, pictures in all): once with 0 at the start, then after each picture is settled."""


async def import_dataset(
    enrollment: EnrollmentService,
    dataset: Mapping[str, Sequence[Path]],
    *,
    series: str | None = None,
    on_progress: ImportProgress | None = None,
    max_bytes: int | None = None,
    names: dict[str, Naming] | None = None,
    strict: bool = False,
) -> ImportSummary:
    """Enroll every picture of a dataset (approved), skipping duplicates and unusable files, and say what it did.

    `dataset` maps character names (the sub-folders) to their picture files, as `list_dataset` returns it;
    `series`, when given, is every imported character's series; a file over `max_bytes` is skipped unread.
    A picture with quality warnings (bot/services/reference_quality.py) is reported, and with `strict` skipped.
    """
    work = [(name, path) for name, paths in dataset.items() for path in paths]
    report = on_progress or _ignore_progress
    total = len(work)
    done = 0
    imported = 0
    duplicates: list[str] = []
    rejected: list[str] = []
    weak: list[str] = []
    report("importing", 0, total)
    step = 2 * default_concurrency()
    for chunk in (work[start : start + step] for start in range(0, total, step)):
        payloads: list[bytes | UserFacingError] = [_read(path, max_bytes) for _, path in chunk]
        readable = [data for data in payloads if isinstance(data, bytes)]
        analyses = iter(
            await analyze_many(enrollment.analyzer, readable, detect_faces=False, mirror=True, largest_face=True)
        )
        for (name, path), data in zip(chunk, payloads, strict=True):
            analysis = next(analyses) if isinstance(data, bytes) else data
            issues = () if isinstance(analysis, UserFacingError) else quality_issues(analysis)
            warning = f"{path}: {'; '.join(describe(issues))}"
            if isinstance(analysis, UserFacingError):
                rejected.append(f"{path}: {analysis.user_message}")
            elif issues and strict:
                weak.append(warning)
            else:
                try:
                    naming = naming_of(name, names or {}, series)  # "nakano_miku" -> "Nakano Miku", or characters.csv
                    await enrollment.enroll_analysis(
                        naming.name,
                        data,
                        analysis,
                        status=ReferenceStatus.APPROVED,
                        series=naming.series,
                        aliases=naming.aliases,
                        source=str(path),
                    )
                except DuplicateReference as error:
                    duplicates.append(f"{path}: {error.user_message}")
                else:
                    imported += 1
                    weak.extend([warning] if issues else [])
            done += 1
            report("importing", done, total)
    return ImportSummary(
        characters=len(dataset),
        imported=imported,
        duplicates=tuple(duplicates),
        rejected=tuple(rejected),
        weak=tuple(weak),
        strict=strict,
    )


def _read(path: Path, max_bytes: int | None) -> bytes | UserFacingError:
    """A dataset file's bytes (never more than `max_bytes`), or the error that names why it was skipped."""
    try:
        return read_capped(path, max_bytes)
    except UserFacingError as error:
        return error


def _ignore_progress(stage: ImportStage, done: int, total: int) -> None:
    """The progress callback of a caller that draws none."""
