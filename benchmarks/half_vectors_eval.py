"""`waifu-bot eval` with references stored as float32 and as float16: top-1 per seed and the answers that changed.

Run from the repository root: `.venv/bin/python -m benchmarks.half_vectors_eval DIR [DIR ...] [--refs 10]
[--seeds 0,1,2,3,4] [--json]`. Each run is the CLI's own `evaluate` (temporary store and gallery, same split, same
ranking); only the stored width differs, set by the `half` switch of bot/store/vectors.py's encoders. Every
picture is analysed once per kind of job (reference or query) and the analyses are reused by all runs, since the
analysis does not depend on the width; the gallery reads each reference back from the bytes the store wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import bot.services.evaluation as evaluation
import bot.store.reference_vectors as reference_vectors
from bot.config import Settings
from bot.inference import create_analyzer
from bot.recognition.analysis import Analyzer, ImageAnalysis, InferenceJob
from bot.store.vectors import encode_blocks, encode_vector


class OnceAnalyzer:
    """An analyzer that analyses each (picture, job kind) once and hands the same analysis out again."""

    def __init__(self, inner: Analyzer) -> None:
        self.inner = inner
        self.analyses: dict[tuple[bytes, InferenceJob], ImageAnalysis] = {}

    async def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """The cached analysis of this picture and job (errors are not cached: they re-raise each time)."""
        key = (hashlib.sha256(job.image).digest(), replace(job, image=b""))
        if key not in self.analyses:
            self.analyses[key] = await self.inner.analyze(job)
        return self.analyses[key]

    async def close(self) -> None:
        """Nothing: the inner analyzer is closed by its owner."""


@contextlib.contextmanager
def stored_width(*, half: bool) -> Iterator[None]:
    """References written in float16 (the store's default) or in float32 (the store before migration 0006)."""
    saved = reference_vectors.encode_vector, reference_vectors.encode_blocks
    reference_vectors.encode_vector = functools.partial(encode_vector, half=half)
    reference_vectors.encode_blocks = functools.partial(encode_blocks, half=half)
    try:
        yield
    finally:
        reference_vectors.encode_vector, reference_vectors.encode_blocks = saved


@contextlib.contextmanager
def recorded_answers(answers: list[tuple[str, float]]) -> Iterator[None]:
    """Every query's top-1 character name and distance, in the evaluation's (fixed) query order."""
    rank_region = evaluation.rank_region

    async def recording(gallery: object, region: object, **options: object) -> object:
        ranking = await rank_region(gallery, region, **options)
        best = ranking.candidates[0] if ranking.candidates else None
        answers.append((best.character.name, best.distance) if best is not None else ("", 0.0))
        return ranking

    evaluation.rank_region = recording
    try:
        yield
    finally:
        evaluation.rank_region = rank_region


async def compare(directories: list[Path], refs: int, seeds: list[int]) -> list[dict[str, object]]:
    """One row per dataset and seed: top-1 with float32 and float16 references, how many answers differ, and the
    largest relative change of a query's top-1 distance (not zero: the two runs really ranked different bytes)."""
    settings = Settings()
    inner = create_analyzer(settings)
    analyzer = OnceAnalyzer(inner)
    rows = []
    try:
        for directory in directories:
            for seed in seeds:
                top1: dict[str, float] = {}
                answers: dict[str, list[tuple[str, float]]] = {}
                for label, half in (("float32", False), ("float16", True)):
                    answers[label] = []
                    with stored_width(half=half), recorded_answers(answers[label]):
                        report = await evaluation.evaluate(directory, settings, refs=refs, seed=seed, analyzer=analyzer)
                    top1[label] = report.top1
                    assert len(answers[label]) == report.queries
                pairs = list(zip(answers["float32"], answers["float16"], strict=True))
                changed = sum(wide[0] != half[0] for wide, half in pairs)
                moved = max(abs(half[1] - wide[1]) / max(abs(wide[1]), 1e-12) for wide, half in pairs)
                row = {"dataset": directory.name, "seed": seed, "queries": report.queries, **top1, "changed": changed}
                row["top1_distance_change"] = moved
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        await inner.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", type=Path, nargs="+", metavar="DIR")
    parser.add_argument("--refs", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON list at the end")
    args = parser.parse_args()
    rows = asyncio.run(compare(args.directories, args.refs, [int(seed) for seed in args.seeds.split(",")]))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(
                f"{row['dataset']:<28} seed {row['seed']}: {row['queries']} queries, top-1 float32 "
                f"{row['float32']:.3f}, float16 {row['float16']:.3f}, answers changed {row['changed']}, "
                f"top-1 distance moved at most {row['top1_distance_change']:.1e} (relative)"
            )


if __name__ == "__main__":
    main()
