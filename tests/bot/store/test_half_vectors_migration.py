"""Migration 0006: float32 rows of an existing store read back as their float16 values in half the bytes, and back."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.convert import reference_record
from bot.store.database import create_engine, downgrade, schema_revision, upgrade
from bot.store.repository import CharacterStore
from bot.store.tables import Reference
from tests.bot.store.samples import enroll_sample, vector

ROWS = 1203
"""More than two of the migration's batches of 500, so the batching is crossed twice."""
VECTOR_COLUMNS = ("tag_vector", "embedding", "face_embedding", "blocks")


def old_blocks(blocks: dict[str, np.ndarray]) -> bytes:
    """A blocks blob as stores wrote it before float16: a header of plain lengths, then float32 bytes."""
    header = json.dumps({name: int(vector.size) for name, vector in blocks.items()}, separators=(",", ":")).encode()
    return (
        len(header).to_bytes(4, "little")
        + header
        + b"".join(vector.astype("<f4").tobytes() for vector in blocks.values())
    )


def float32_rows() -> dict[str, dict[str, np.ndarray]]:
    """ROWS references written as float32, keyed by phash: tags, embeddings, faces (found, none, never) and blocks."""
    rng = np.random.default_rng(11)
    rows: dict[str, dict[str, np.ndarray]] = {}
    for row in range(ROWS):
        vectors = {"tags": rng.random(24).astype(np.float32), "embedding": rng.normal(size=16).astype(np.float32)}
        if row % 10 == 0:
            vectors["tags"][3] = 1e5  # beyond float16's range: this vector must stay float32
        if row % 3 == 0:
            vectors["face"] = rng.normal(size=16).astype(np.float32)
        if row % 4 != 3:
            vectors["cnn_whole"] = rng.normal(size=256).astype(np.float32)
            vectors["mirror:cnn_whole"] = rng.normal(size=256).astype(np.float32)
        rows[f"f32-{row:012d}"] = vectors
    return rows


def searched(phash: str) -> bool:
    """Whether a row's picture was searched for a face (found one, or none: an empty blob)."""
    return int(phash[4:]) % 2 == 1


def stored_row(template: dict[str, object], phash: str, vectors: dict[str, np.ndarray]) -> dict[str, object]:
    """The template reference's columns with these float32 vectors and phash."""
    blocks = {name: vectors[name] for name in ("cnn_whole", "mirror:cnn_whole") if name in vectors}
    face = vectors["face"].astype("<f4").tobytes() if "face" in vectors else (b"" if searched(phash) else None)
    return template | {
        "phash": phash,
        "tag_vector": vectors["tags"].astype("<f4").tobytes(),
        "embedding": vectors["embedding"].astype("<f4").tobytes(),
        "face_embedding": face,
        "blocks": old_blocks(blocks) if blocks else None,
        "features": "blocks-1:test" if blocks else None,
    }


async def column_bytes(engine: AsyncEngine) -> dict[str, int]:
    """Total stored bytes of each vector column."""
    columns = [func.coalesce(func.sum(func.length(getattr(Reference, name))), 0) for name in VECTOR_COLUMNS]
    async with engine.connect() as connection:
        totals = (await connection.execute(select(*columns))).one()
    return dict(zip(VECTOR_COLUMNS, map(int, totals), strict=True))


async def loaded_records(engine: AsyncEngine) -> dict[str, object]:
    """Every reference decoded the way the store decodes it, keyed by phash."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Reference.__table__))).all()
    return {row.phash: reference_record(row) for row in rows}


def halved(vector: np.ndarray) -> np.ndarray:
    """What a vector reads back as after the migration: its float16 value, or itself where float16 overflows."""
    return vector if np.abs(vector).max() > 65504 else vector.astype(np.float16).astype(np.float32)


async def test_float32_rows_upgrade_to_half_the_bytes_and_downgrade_back_to_float32(empty_database_url: str) -> None:
    store = await CharacterStore.open(empty_database_url)
    try:
        _, first = await enroll_sample(store, "Nakano Nino", embedder="ccip@1", embedding=vector(2, dims=16))
    finally:
        await store.close()
    assert await downgrade(empty_database_url, "0005") == "0005"

    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            row = (await connection.execute(select(Reference.__table__).where(Reference.id == first.id))).one()
            template = {key: value for key, value in row._asdict().items() if key != "id"}
            written = float32_rows()
            await connection.execute(
                insert(Reference.__table__), [stored_row(template, phash, v) for phash, v in written.items()]
            )
        before = await column_bytes(engine)

        assert await upgrade(empty_database_url, "0006") == await schema_revision(engine) == "0006"
        after = await column_bytes(engine)
        records = await loaded_records(engine)
        kept_wide = sum(24 * 4 for phash, vectors in written.items() if vectors["tags"].max() > 65504)
        assert after["tag_vector"] == (before["tag_vector"] + kept_wide) // 2
        assert (after["embedding"], after["face_embedding"]) == (
            before["embedding"] // 2,
            before["face_embedding"] // 2,
        )
        assert after["blocks"] < 0.52 * before["blocks"]
        for phash, vectors in written.items():
            record = records[phash]
            assert record.tag_vector.tobytes() == halved(vectors["tags"]).tobytes()
            assert record.embedding.tobytes() == halved(vectors["embedding"]).tobytes()
            assert record.face_searched == ("face" in vectors or searched(phash))
            if "face" in vectors:
                assert record.face_embedding.tobytes() == halved(vectors["face"]).tobytes()
            for name in ("cnn_whole", "mirror:cnn_whole"):
                if name in vectors:
                    assert record.blocks[name].tobytes() == halved(vectors[name]).tobytes()
            assert ("cnn_whole" in vectors) == bool(record.blocks)

        assert await downgrade(empty_database_url, "0005") == "0005"
        assert await column_bytes(engine) == before  # float32 again, blocks in the old header format
        for phash, record in (await loaded_records(engine)).items():
            assert record.tag_vector.tobytes() == records[phash].tag_vector.tobytes()
            assert {name: v.tobytes() for name, v in record.blocks.items()} == {
                name: v.tobytes() for name, v in records[phash].blocks.items()
            }
    finally:
        await engine.dispose()
