"""JPEG decode time with the old fixed draft target vs the engine's model-derived one, on a 4000x3000 upload.

Run from the repository root: `.venv/bin/python -m benchmarks.draft_decode` (a few seconds). The upload is a
drawn character at 12 MP with film-grain noise, saved at quality 90, so the decoder has real detail to work
through. Each row times `load_image` (the whole intake: header checks, decode, RGB conversion) and then the
palette tagger on the decoded picture, then the palette engine's whole `analyze` (decode, tag, perceptual
hash) with that draft target, so the saving is shown end to end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from bot.config import Settings
from bot.inference.engine import build_recognition_engine, draft_side
from bot.recognition.analysis import InferenceJob
from models.intake import load_image
from tests.drawing import BLONDE, draw_character, encode

SIZE = (4000, 3000)


def twelve_megapixel_jpeg() -> bytes:
    """A 4000x3000 quality-90 JPEG with per-pixel noise (a flat drawing would decode unrealistically fast)."""
    drawing = draw_character(BLONDE, seed=1).resize(SIZE, Image.Resampling.BICUBIC)
    grain = np.random.default_rng(0).normal(0.0, 6.0, (SIZE[1], SIZE[0], 3))
    pixels = np.clip(np.asarray(drawing, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=90)


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of `action` in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main() -> None:
    """Print one row per draft target: decoded size, decode ms, palette-tagger ms, whole-analysis ms."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    data = twelve_megapixel_jpeg()
    with tempfile.TemporaryDirectory() as scratch:
        engine = build_recognition_engine(Settings(data_dir=Path(scratch)))
    tagger = engine.tagger
    targets = {
        "full decode (no draft)": None,
        "old default (1536, 1536)": 1536,
        f"palette only (tagger input {tagger.input_size})": draft_side(tagger),
        "WD v3 tagger (448)": draft_side(SimpleNamespace(input_size=448)),
        "WD v3 + CCIP + faces (448, 384, 640)": draft_side(
            SimpleNamespace(input_size=448), SimpleNamespace(input_size=384), SimpleNamespace(input_size=(640, 640))
        ),
    }
    print(f"{len(data) / 1e6:.1f} MB JPEG, {SIZE[0]}x{SIZE[1]}, median of {args.repeats}")
    print(f"{'draft target':40} {'side':>5} {'decoded':>11} {'decode ms':>10} {'palette ms':>11} {'analyze ms':>11}")
    for label, side in targets.items():
        draft = (side, side) if side else None
        picture = load_image(data, draft_size=draft).image
        decode = median_ms(lambda draft=draft: load_image(data, draft_size=draft), args.repeats)
        tag = median_ms(lambda picture=picture: tagger.predict(picture), args.repeats)
        engine.draft = side or 0
        analyze = median_ms(lambda: engine.analyze(InferenceJob(image=data)), args.repeats)
        decoded = f"{picture.size[0]}x{picture.size[1]}"
        print(f"{label:40} {side or '-':>5} {decoded:>11} {decode:10.1f} {tag:11.1f} {analyze:11.1f}")


if __name__ == "__main__":
    main()
