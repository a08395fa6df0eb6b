"""Start-up of a large gallery from SQLite: `load_gallery` time, the first fit, and the process's memory.

Run from the repository root: `.venv/bin/python -m benchmarks.gallery_load [--characters 100000] [--embeddings]
[--json]`. The store (N characters x 5 approved references of the palette vocabulary's 145 dims, made by the
project's migrations, then filled with one bulk insert per table; with `--embeddings` each reference also holds
a 768-d embedding, stored as the store stores them) is built once under `--cache` and reused. With embeddings
the gallery compares them (a 1 - cosine metric of the CCIP metric's signature), so it holds the tag blocks and
the embedding index, and the shortlist is built in its thread after the load. Printed:
- `read_s`: the store read alone (`CharacterStore.gallery_stream`: characters and aliases, then the references'
  partitions read and decoded);
- `load_s`: `load_gallery` in all (the read, then `Gallery.add_many`);
  (the first fit of the block metric is part of it: the load makes it in a thread at its end);
- `fit_s`: what the first ranking still waits for: a refit of a stale fit (none after a load, which fits);
  with embeddings, the shortlist's build in its thread (the gallery answers by exact search meanwhile);
- `first_answer_s`: start-up until the gallery can answer its first ranking: `load_s` + `fit_s` (with embeddings
  `load_s`: it answers exactly while the shortlist builds);
- `rss_mb`: peak resident memory of the process after the load (and, with embeddings, the shortlist's build).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert

from benchmarks.embedding_scale import CosineMetric
from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.vocabulary import Vocabulary
from bot.services.gallery_loading import load_gallery
from bot.store.database import sqlite_url
from bot.store.records import ReferenceStatus
from bot.store.repository import CharacterStore
from bot.store.tables import GLOBAL_SCOPE_KEY, Character, Reference
from bot.store.vectors import encode_vector

DIMS = 145
REFS = 5
TAGGER = "palette@bench"
CHUNK = 50_000
EMBEDDING_DIMS = 768


async def build_store(path: Path, count: int, embeddings: bool = False) -> None:
    """Migrate a new SQLite file with the project's code, then bulk-insert characters and references."""
    store = await CharacterStore.open(sqlite_url(path))
    await store.close()
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            insert(Character),
            [
                {
                    "id": i + 1,
                    "name": f"character {i + 1}",
                    "name_key": f"character {i + 1}",
                    "series": None,
                    "guild_id": None,
                    "scope_key": GLOBAL_SCOPE_KEY,
                    "created_at": now,
                    "created_by": None,
                }
                for i in range(count)
            ],
        )
        for start in range(0, count, CHUNK):
            characters = range(start, min(count, start + CHUNK))
            centres = rng.random((len(characters), DIMS), dtype=np.float32)
            rows = []
            for offset, character in enumerate(characters):
                for ref in range(REFS):
                    vector = centres[offset] + rng.normal(0, 0.05, DIMS).astype(np.float32)
                    embedding = _embedding(rng) if embeddings else {}
                    rows.append(
                        embedding
                        | {
                            "character_id": character + 1,
                            "status": ReferenceStatus.APPROVED.value,
                            "guild_id": None,
                            "tagger": TAGGER,
                            "tag_vector": encode_vector(vector)[0],
                            "tag_dims": DIMS,
                            "phash": f"{(character * REFS + ref):016x}",
                            "submitted_at": now,
                        }
                    )
            connection.execute(insert(Reference), rows)
    engine.dispose()


def _embedding(rng: np.random.Generator) -> dict[str, object]:
    """The embedding columns of one reference: a random unit vector, encoded as the store encodes vectors."""
    vector = rng.standard_normal(EMBEDDING_DIMS).astype(np.float32)
    blob, dims = encode_vector(vector / np.linalg.norm(vector))
    return {"embedder": CosineMetric.identity, "embedding": blob, "embedding_dims": dims}


async def measure(path: Path, embeddings: bool = False) -> dict[str, float]:
    """Load the gallery as the bot does at start and fit it once (with embeddings: build its shortlist)."""
    vocabulary = Vocabulary(tagger=TAGGER, indices=np.arange(DIMS), names=tuple(f"t{i}" for i in range(DIMS)))
    metric = CosineMetric() if embeddings else None
    store = await CharacterStore.open(sqlite_url(path))
    try:
        start = time.perf_counter()
        models = {"tagger": TAGGER, "embedder": metric and metric.identity, "features": None}
        async with store.gallery_stream(**models) as (_, _count, partitions):
            async for _ in partitions:  # read and decoded, then dropped (a load hands each to the gallery)
                pass
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        gallery = await load_gallery(store, vocabulary, block_weights={TAGS_BLOCK: 1.0}, metric=metric)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        if gallery.blocks is not None:
            if gallery.blocks.stale:  # the load fits it; a ranking would refit only a stale one
                gallery.blocks.install(await asyncio.to_thread(gallery.blocks.prepare_refit()))
        else:
            await asyncio.to_thread(gallery._embeddings.wait_for_shortlist)
        fit_s = time.perf_counter() - start
    finally:
        await store.close()
    return {
        "characters": gallery.character_count,
        "references": len(gallery),
        "read_s": round(read_s, 2),
        "load_s": round(load_s, 2),
        "fit_s": round(fit_s, 2),
        "first_answer_s": round(load_s if embeddings else load_s + fit_s, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    """Build the store once (cached), then print the figures (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--characters", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/waifu-gallery-load"))
    parser.add_argument("--embeddings", action="store_true", help="references also hold 768-d embeddings")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kind = "-embeddings" if args.embeddings else ""
    path = args.cache / f"gallery-{args.characters}{kind}-v2.sqlite3"
    if not path.exists():
        args.cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        asyncio.run(build_store(path, args.characters, args.embeddings))
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    result = asyncio.run(measure(path, args.embeddings))
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:>12} {value}")


if __name__ == "__main__":
    main()
