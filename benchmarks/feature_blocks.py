"""Per-picture cost of each feature block on one thread: decode, face detector, palette crops, CNN.

Run from the repository root: `.venv/bin/python -m benchmarks.feature_blocks DIR [--limit N] [--json]`, with
DIR a folder of pictures (sub-folders are searched). One ONNX thread, as a pool worker runs; the draft target
is the engine's with a detector (1024 px). Without the `faces` extra the detector row is absent. `total` is a
query's cost; `reference_total` an enrolled reference's, which also runs the models on its mirrored crops.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bot.inference.engine import FACE_DRAFT_SIDE
from models.anime_faces import open_anime_faces
from models.blocks import BlockExtractor
from models.cnn_features import CnnFeatures
from models.intake import load_image
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.sessions import SessionConfig
from models.tagger import load_tagger

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}


def measure(directory: Path, limit: int) -> dict[str, float]:
    """Mean seconds per picture of each stage, and of them all, over the first `limit` pictures."""
    config = SessionConfig(intra_op_threads=1)
    with tempfile.TemporaryDirectory() as scratch:
        palette = load_tagger(
            ensure_palette_tagger(Path(scratch)), name=PALETTE_NAME, version=PALETTE_VERSION, session_config=config
        )
        extractor = BlockExtractor(palette, CnnFeatures(config), open_anime_faces())
        files = sorted(path for path in directory.rglob("*") if path.suffix.lower() in SUFFIXES)[:limit]
        rows: list[dict[str, float]] = []
        for path in files:
            start = time.perf_counter()
            picture = load_image(path.read_bytes(), draft_size=(FACE_DRAFT_SIDE, FACE_DRAFT_SIDE)).image
            decode = time.perf_counter() - start
            start = time.perf_counter()
            palette.predict_batch([picture])  # the whole-picture palette: the engine's tag vector
            whole = time.perf_counter() - start
            blocks = extractor.extract(picture, all_faces=False)
            start = time.perf_counter()
            extractor.extract(picture, all_faces=False, mirror=True)  # a reference: its mirrored view too
            reference = decode + whole + time.perf_counter() - start
            rows.append(
                {
                    "decode": decode,
                    "palette_whole": whole,
                    **blocks.seconds,
                    "faces": float(bool(blocks.faces)),
                    "reference": reference,
                }
            )
    stages = sorted({name for row in rows for name in row} - {"faces", "reference"})
    result = {name: statistics.fmean(row.get(name, 0.0) for row in rows) for name in stages}
    result["total"] = sum(result.values())
    result["reference_total"] = statistics.fmean(row["reference"] for row in rows)
    result["face_found"] = statistics.fmean(row["faces"] for row in rows)
    result["pictures"] = float(len(rows))
    return result


def main() -> None:
    """Print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.directory, args.limit)
    if args.json:
        print(json.dumps({name: round(value, 4) for name, value in result.items()}))
        return
    for name, value in result.items():
        print(f"{name:>14} {value:8.3f}")


if __name__ == "__main__":
    main()
