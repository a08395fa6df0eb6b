"""Quality warnings: named from the worker's facts, recorded with a submission, shown to moderators and by import."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.app import Services
from bot.recognition.analysis import ImageAnalysis, RegionAnalysis
from bot.services.evaluation import list_dataset
from bot.services.importing import import_dataset
from bot.services.reference_quality import DESCRIPTIONS, MONOCHROME, NO_FACE, SMALL, describe, quality_issues
from bot.store.records import ReferenceStatus
from tests.drawing import BLONDE, BLUE_HAIR, draw_character, encode


def analysis(**facts) -> ImageAnalysis:
    whole = RegionAnalysis(box=None, tag_probs=np.zeros(3, dtype=np.float32))
    return replace(ImageAnalysis(tagger="t@1", embedder=None, whole=whole, width=640, height=480), **facts)


def test_each_fact_names_its_warning() -> None:
    assert quality_issues(analysis(input_side=448)) == ()
    assert quality_issues(analysis(monochrome=True)) == (MONOCHROME,)
    assert quality_issues(analysis(width=300, height=200, input_side=448)) == (SMALL,)
    assert quality_issues(analysis(faces_found=0)) == (NO_FACE,)
    assert quality_issues(analysis(faces_found=None)) == ()  # no detector installed: nothing to say
    assert quality_issues(analysis(monochrome=True, width=100, height=90, input_side=128, faces_found=0)) == (
        MONOCHROME,
        SMALL,
        NO_FACE,
    )
    assert describe([SMALL, "future_code"]) == [DESCRIPTIONS[SMALL], "future_code"]


def grey(design, seed: int, size: tuple[int, int] = (320, 320)) -> bytes:
    return encode(draw_character(design, seed=seed, size=size).convert("L"), "PNG")


async def test_a_submission_keeps_its_warnings_for_the_review_card(services: Services) -> None:
    coloured = encode(draw_character(BLONDE, seed=3), "PNG")
    await services.enrollment.enroll_approved("Alice", coloured)
    small = encode(draw_character(BLONDE, seed=4, size=(90, 90)), "PNG")
    pending = await services.enrollment.submit("Alice", grey(BLUE_HAIR, 5), guild_id=7, user_id=1)
    tiny = await services.enrollment.submit("Alice", small, guild_id=7, user_id=1)
    assert pending.reference.quality == (MONOCHROME,)
    assert tiny.reference.quality == (SMALL,)
    stored = await services.store.get_reference(pending.reference.id)
    assert stored is not None and stored.quality == (MONOCHROME,)
    submission = await services.review.next_submission(7)
    assert submission is not None and submission.reference.id == pending.reference.id
    assert submission.warnings == [DESCRIPTIONS[MONOCHROME]]
    approved = await services.store.list_references(status=ReferenceStatus.APPROVED, all_scopes=True)
    assert [reference.quality for reference in approved] == [()]


async def test_import_reports_weak_pictures_and_strict_skips_them(services: Services, tmp_path: Path) -> None:
    root = tmp_path / "set"
    (root / "alice").mkdir(parents=True)
    for seed in range(2):
        draw_character(BLONDE, seed=seed).save(root / "alice" / f"{seed}.png")
    (root / "alice" / "page.png").write_bytes(grey(BLONDE, 9))
    dataset = list_dataset(root)

    strict = await import_dataset(services.enrollment, dataset, strict=True)
    assert strict.imported == 2
    assert strict.weak == (f"{root / 'alice' / 'page.png'}: {DESCRIPTIONS[MONOCHROME]}",)
    assert strict.skipped == strict.weak

    lenient = await import_dataset(services.enrollment, dataset)
    assert lenient.imported == 1  # the two coloured ones are duplicates now; the page is imported, with its warning
    assert lenient.weak == strict.weak
    assert strict.weak[0] not in lenient.skipped
    references = await services.store.list_references(all_scopes=True)
    assert sorted(reference.quality for reference in references) == [(), (), (MONOCHROME,)]
