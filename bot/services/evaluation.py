"""Offline evaluation: K references per character go into a fresh, temporary gallery; the rest are queried.

The user's database is never touched: the gallery lives in a temporary data directory that is
deleted afterwards. Every picture is analysed exactly once, through an injectable Analyzer, so the
process pool can run the evaluation on every core.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bot.app import Services, open_services
from bot.config import Settings
from bot.errors import DuplicateReference
from bot.inference import create_analyzer
from bot.recognition.analysis import Analyzer, ImageAnalysis
from bot.services.batch import analyze_files
from bot.services.calibration import Calibration, calibrate, refuse_with_embedder
from bot.services.identify import rank_region
from bot.services.unknown_rate import unknown_rejection
from bot.store.names import clean_name, name_key
from bot.store.records import ReferenceStatus
from models.errors import UserFacingError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class CharacterScore:
    """How one character fared: top-k rates of its queries, and precision/recall of top-1 predictions."""

    name: str
    refs: int
    queries: int
    top1: float
    top3: float
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class EvalReport:
    """The whole evaluation, ready to print as a table or as the documented JSON."""

    characters: int
    queries: int
    refs: int
    """References per character asked for (--refs); `per_character` holds how many each really got."""
    top1: float
    top3: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    per_character: tuple[CharacterScore, ...]
    confusions: tuple[tuple[str, str, int], ...]
    """(true character, predicted character, count), most frequent first."""
    skipped: tuple[str, ...]
    seconds: float
    unknown_rejected: float | None = None
    """Leave-one-character-out: share of an absent character's queries called unknown at 95% acceptance."""
    predictions: tuple[tuple[str, str, int], ...] = ()
    """(true character, top-1 answer, count) of every pair, right answers too: the confusion matrix."""
    calibration: Calibration | None = None
    """The tagger's unknown cutoff measured by `--calibrate` (None: not asked, or too few characters)."""

    def to_json(self) -> dict:
        """The JSON shape documented for `waifu-bot eval --json` (with `calibration` only after `--calibrate`)."""
        calibration = {} if self.calibration is None else {"calibration": asdict(self.calibration)}
        return {
            "characters": self.characters,
            "queries": self.queries,
            "refs": self.refs,
            "top1": round(self.top1, 4),
            "top3": round(self.top3, 4),
            "macro_precision": round(self.macro_precision, 4),
            "macro_recall": round(self.macro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "seconds": round(self.seconds, 3),
            "unknown_rejected": None if self.unknown_rejected is None else round(self.unknown_rejected, 4),
            "per_character": {
                score.name: {
                    "refs": score.refs,
                    "queries": score.queries,
                    "top1": round(score.top1, 4),
                    "top3": round(score.top3, 4),
                    "precision": round(score.precision, 4),
                    "recall": round(score.recall, 4),
                    "f1": round(score.f1, 4),
                }
                for score in self.per_character
            },
            "confusions": [
                {"character": truth, "predicted": predicted, "count": count}
                for truth, predicted, count in self.confusions
            ],
            "skipped": list(self.skipped),
            **calibration,
        }


def list_dataset(directory: Path) -> dict[str, list[Path]]:
    """Picture files per character sub-folder, sorted, so a seed always picks the same split."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserFacingError(
            f"{directory}: is a file, not a folder (expected one sub-folder of pictures per character)."
        )
    if not directory.is_dir():
        raise UserFacingError(f"{directory}: no such folder (expected one sub-folder of pictures per character).")
    dataset: dict[str, list[Path]] = {}
    for folder in sorted(path for path in directory.iterdir() if path.is_dir() and not path.name.startswith(".")):
        files = sorted(
            path
            for path in folder.iterdir()
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
        )
        if files:
            dataset[folder.name] = files
    if not dataset:
        raise UserFacingError(f"{directory}: no sub-folders with pictures (expected one sub-folder per character).")
    _check_character_names(dataset)
    return dataset


def _check_character_names(dataset: dict[str, list[Path]]) -> None:
    """Each folder must be its own character: a valid name, not one the store would merge with another folder's."""
    folder_by_key: dict[str, str] = {}
    for folder in dataset:
        try:
            key = name_key(clean_name(folder))
        except UserFacingError as error:
            raise UserFacingError(f"folder {folder!r}: {error.user_message}") from None
        if key in folder_by_key:
            raise UserFacingError(
                f"folders {folder_by_key[key]!r} and {folder!r} name the same character; merge or rename one."
            )
        folder_by_key[key] = folder


def split_dataset(
    dataset: dict[str, list[Path]], *, refs: int, seed: int
) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """K references per character chosen by `random.Random(seed)`; the remaining pictures are queries."""
    if refs < 1:
        raise UserFacingError("--refs must be at least 1.")
    rng = random.Random(seed)
    references: dict[str, list[Path]] = {}
    queries: dict[str, list[Path]] = {}
    for name, files in dataset.items():
        if len(files) <= refs:
            raise UserFacingError(
                f"{name} has only {len(files)} picture(s); --refs {refs} leaves none to query. Use a smaller --refs."
            )
        chosen = set(rng.sample(range(len(files)), refs))
        references[name] = [path for index, path in enumerate(files) if index in chosen]
        queries[name] = [path for index, path in enumerate(files) if index not in chosen]
    return references, queries


async def evaluate(
    directory: Path,
    settings: Settings,
    *,
    refs: int = 10,
    seed: int = 0,
    analyzer: Analyzer | None = None,
    on_analyzed: Callable[[], None] | None = None,
    calibrate_cutoff: bool = False,
) -> EvalReport:
    """Run the evaluation protocol on a folder of character sub-folders (`calibrate_cutoff`: measure the cutoff)."""
    if calibrate_cutoff:
        refuse_with_embedder(settings)
    started = time.perf_counter()
    dataset = list_dataset(directory)
    references, queries = split_dataset(dataset, refs=refs, seed=seed)
    owned = analyzer is None
    if analyzer is None:
        analyzer = create_analyzer(settings)
    try:
        by_path: dict[Path, ImageAnalysis | UserFacingError] = {}
        # references bring their mirrored view and their largest face's embedding; queries come as asked
        for chosen, mirror in ((references, True), (queries, False)):
            ordered = [path for paths in chosen.values() for path in paths]
            analyses = await analyze_files(
                analyzer,
                ordered,
                max_bytes=settings.images.max_bytes,
                detect_faces=False,
                on_done=on_analyzed,
                mirror=mirror,
                largest_face=mirror,
            )  # read as each gets its turn: memory holds a window of pictures, not the folder
            by_path.update(zip(ordered, analyses, strict=True))
        with tempfile.TemporaryDirectory(prefix="waifu-eval-") as scratch:
            scratch_settings = settings.model_copy(update={"data_dir": Path(scratch), "database_url": None})
            services = await open_services(scratch_settings, analyzer=analyzer)  # lent: closing them leaves it open
            try:
                used_refs, folders, skipped = await _enroll_references(services, references, by_path)
                outcomes = await _query(services, queries, by_path, folders, skipped)
                unknown = await unknown_rejection(services, queries, by_path, folders)
                measured = await calibrate(services, queries, by_path, folders) if calibrate_cutoff else None
            finally:
                await services.close()
    finally:
        if owned:
            await analyzer.close()
    report = _score(dataset, refs, used_refs, outcomes, skipped, time.perf_counter() - started)
    return replace(report, unknown_rejected=unknown, calibration=measured)


async def _enroll_references(
    services: Services, references: dict[str, list[Path]], by_path: dict[Path, ImageAnalysis | UserFacingError]
) -> tuple[dict[str, int], dict[int, str], list[str]]:
    """Enroll the chosen references; returns references per folder, each character id's folder, the skipped ones.

    The store cleans names ("a  b " shows as "a b"), so predictions are read back by character id, never by name.
    """
    skipped: list[str] = []
    enrolled: dict[str, int] = {}
    folders: dict[int, str] = {}
    for name, paths in references.items():
        enrolled[name] = 0
        for path in paths:
            analysis = by_path[path]
            if isinstance(analysis, UserFacingError):  # refused, too slow or crashing
                skipped.append(f"reference {path}: {analysis.user_message}")
                continue
            try:
                result = await services.enrollment.enroll_analysis(
                    name, path.read_bytes(), analysis, status=ReferenceStatus.APPROVED, source=str(path)
                )
            except DuplicateReference as error:
                skipped.append(f"reference {path}: {error.user_message}")
            else:
                enrolled[name] += 1
                folders[result.character.id] = name
    return enrolled, folders, skipped


async def _query(
    services: Services,
    queries: dict[str, list[Path]],
    by_path: dict[Path, ImageAnalysis | UserFacingError],
    folders: dict[int, str],
    skipped: list[str],
) -> list[tuple[str, list[str]]]:
    """(true folder, ranked predicted folders) for every usable query picture."""
    outcomes: list[tuple[str, list[str]]] = []
    for name, paths in queries.items():
        for path in paths:
            analysis = by_path[path]
            if isinstance(analysis, UserFacingError):  # refused, too slow or crashing
                skipped.append(f"query {path}: {analysis.user_message}")
                continue
            ranking = await rank_region(services.gallery, analysis.whole, exhaustive=True)
            outcomes.append((name, [folders[candidate.character.id] for candidate in ranking.candidates]))
    return outcomes


def _score(
    dataset: dict[str, list[Path]],
    refs_per_character: int,
    used_refs: dict[str, int],
    outcomes: list[tuple[str, list[str]]],
    skipped: list[str],
    seconds: float,
) -> EvalReport:
    predicted = Counter(ranked[0] for _, ranked in outcomes if ranked)
    scores = []
    for name in dataset:
        own = [ranked for truth, ranked in outcomes if truth == name]
        hits = sum(1 for ranked in own if ranked[:1] == [name])
        top3 = sum(1 for ranked in own if name in ranked[:3])
        precision = hits / predicted[name] if predicted[name] else 0.0
        recall = hits / len(own) if own else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(
            CharacterScore(
                name,
                used_refs[name],
                len(own),
                hits / len(own) if own else 0.0,
                top3 / len(own) if own else 0.0,
                precision,
                recall,
                f1,
            )
        )
    total = len(outcomes) or 1
    confusions = Counter((truth, ranked[0]) for truth, ranked in outcomes if ranked and ranked[0] != truth)
    count = len(scores)
    return EvalReport(
        characters=count,
        queries=len(outcomes),
        refs=refs_per_character,
        top1=sum(1 for truth, ranked in outcomes if ranked[:1] == [truth]) / total,
        top3=sum(1 for truth, ranked in outcomes if truth in ranked[:3]) / total,
        macro_precision=sum(score.precision for score in scores) / count,
        macro_recall=sum(score.recall for score in scores) / count,
        macro_f1=sum(score.f1 for score in scores) / count,
        per_character=tuple(scores),
        confusions=tuple((truth, guess, n) for (truth, guess), n in confusions.most_common(10)),
        skipped=tuple(skipped),
        seconds=seconds,
        predictions=tuple(
            (truth, guess, n)
            for (truth, guess), n in sorted(Counter((t, r[0] if r else "") for t, r in outcomes).items())
        ),
    )
