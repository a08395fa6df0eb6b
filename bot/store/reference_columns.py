"""A gallery's load as columns: every approved reference of one tagger (and embedder) in one query, as matrices.

Why: the bot reads every approved reference at start. One record per reference, each with its own small arrays,
cost 21 s for 500,000 references before a single one was indexed; here the rows stream back in partitions of
tuples of bytes, each partition one float32 matrix per kind of vector (bot/store/vector_columns.py), and the
characters come in two queries before them (rows, then aliases), whatever the gallery's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.driver_rows import driver_partitions, utc_datetime
from bot.store.records import CharacterRecord, ReferenceStatus
from bot.store.tables import Character, CharacterAlias, Reference
from bot.store.vector_columns import decode_block_matrices, decode_matrix

NO_GUILD = -1
"""The scope column's value for a global reference."""

PARTITION = 5_000
"""Rows decoded at once while a load streams: small enough that a partition's rows, bytes and matrices stay a few
MB, reused partition after partition (20,000 read 0.4 s slower at 500,000 references, 50 MB more RSS)."""
Column = tuple[np.ndarray, np.ndarray]
"""(indices of the rows that hold a vector, those rows' (k, d) float32 matrix)."""


@dataclass(frozen=True, eq=False)
class ReferenceColumns:
    """Approved references of one model identity, row i of every array being one reference."""

    ids: np.ndarray
    owners: np.ndarray
    """Character id of each reference."""
    scopes: np.ndarray
    """Guild of each reference, NO_GUILD for a global one."""
    tags: np.ndarray
    """[n, tagger dims] tag vectors, as the tagger made them."""
    blocks: dict[str, Column]
    """Feature blocks by stored name, of the references made by the requested feature recipe only."""
    embeddings: Column | None
    faces: Column | None
    """Largest-face embeddings of the references that have one."""

    def __len__(self) -> int:
        return len(self.ids)


async def stream_reference_columns(
    session: AsyncSession, *, tagger: str, embedder: str | None, features: str | None
) -> AsyncIterator[ReferenceColumns]:
    """The approved references made by `tagger` (and `embedder`, when given: those with its embedding), in
    partitions of PARTITION rows, each decoded on its own.

    Why partitions: the gallery takes each into its own arrays at once, so no matrix of the whole store exists
    beside them (500,000 embeddings are 1.5 GB as float32). Without an embedder, embeddings are not read:
    a gallery that ranks by tags never compares them.
    """
    table = Reference.__table__
    scope = func.coalesce(table.c.guild_id, NO_GUILD)
    wanted = [table.c.id, table.c.character_id, scope, table.c.tag_vector, table.c.tag_dims]
    if features is not None:  # only the requested recipe's blocks come back; a gallery without one reads none
        wanted.append(case((table.c.features == features, table.c.blocks)))
    if embedder is not None:
        wanted += [table.c.embedding, table.c.embedding_dims, table.c.face_embedding]
    statement = select(*wanted).where(*_made_by(tagger, embedder)).order_by(table.c.id)
    async for rows in driver_partitions(session, statement, PARTITION):
        yield _decoded(list(zip(*rows, strict=True)), blocks=features is not None, embeddings=embedder is not None)


def _decoded(columns: list[tuple], *, blocks: bool, embeddings: bool) -> ReferenceColumns:
    """One partition's rows (as columns of values, in `stream_reference_columns`' order) decoded into arrays."""
    ids, owners, scopes, tag_blobs, tag_dims = columns[:5]
    rest = iter(columns[5:])
    block_blobs = next(rest) if blocks else ()
    embedded = faces = None
    if embeddings:
        embedding_blobs, embedding_dims, face_blobs = rest
        dims = _one(embedding_dims, "embedding")
        embedded = (np.arange(len(ids)), decode_matrix(embedding_blobs, dims))
        with_face = np.flatnonzero([bool(blob) for blob in face_blobs])
        faces = (with_face, decode_matrix([face_blobs[i] for i in with_face], dims))
    return ReferenceColumns(
        ids=np.asarray(ids, dtype=np.int64),
        owners=np.asarray(owners, dtype=np.int64),
        scopes=np.asarray(scopes, dtype=np.int64),
        tags=decode_matrix(tag_blobs, _one(tag_dims, "tag vector")),
        blocks=decode_block_matrices(block_blobs),
        embeddings=embedded,
        faces=faces,
    )


def joined_columns(parts: Sequence[ReferenceColumns]) -> ReferenceColumns:
    """Partitions as one set of columns (their positions shifted to follow each other)."""
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return ReferenceColumns(empty, empty, empty, np.zeros((0, 0), dtype=np.float32), {}, None, None)
    offsets = np.cumsum([0] + [len(part) for part in parts[:-1]])

    def joined(columns: list[tuple[int, Column | None]]) -> Column | None:
        kept = [(offset, column) for offset, column in columns if column is not None]
        if not kept:
            return None
        rows = np.concatenate([column[0] + offset for offset, column in kept])
        return rows, np.concatenate([column[1] for _, column in kept])

    names = {name for part in parts for name in part.blocks}
    blocks = {name: joined([(o, p.blocks.get(name)) for o, p in zip(offsets, parts, strict=True)]) for name in names}
    return ReferenceColumns(
        ids=np.concatenate([part.ids for part in parts]),
        owners=np.concatenate([part.owners for part in parts]),
        scopes=np.concatenate([part.scopes for part in parts]),
        tags=np.concatenate([part.tags for part in parts]),
        blocks={name: column for name, column in blocks.items() if column is not None},
        embeddings=joined([(o, p.embeddings) for o, p in zip(offsets, parts, strict=True)]),
        faces=joined([(o, p.faces) for o, p in zip(offsets, parts, strict=True)]),
    )


async def read_characters(session: AsyncSession) -> dict[int, CharacterRecord]:
    """Every character, with aliases in the order added: two queries, whatever the store's size.

    Why every one: choosing those with an approved reference of the gallery's models took a DISTINCT subquery
    over every reference per query (0.6 s of a 100k-character start-up); a character without such a reference
    costs one record here and is never indexed (the gallery takes the owners of the references it reads).
    """
    characters = Character.__table__
    aliases = CharacterAlias.__table__
    alias_rows = await session.execute(
        select(aliases.c.character_id, aliases.c.alias).order_by(aliases.c.character_id, aliases.c.id)
    )
    aliases_of: defaultdict[int, list[str]] = defaultdict(list)
    for character_id, alias in alias_rows:
        aliases_of[character_id].append(alias)
    wanted = (characters.c.id, characters.c.name, characters.c.series, characters.c.guild_id, characters.c.created_at)
    found: dict[int, CharacterRecord] = {}
    # The driver's tuples: SQLAlchemy's rows took 0.39 s for 100,000 characters, the driver's 0.09 s.
    async for rows in driver_partitions(session, select(*wanted), PARTITION):
        for character_id, name, series, guild_id, created_at in rows:
            found[character_id] = CharacterRecord(
                id=character_id,
                name=name,
                series=series,
                aliases=tuple(aliases_of.get(character_id, ())),
                guild_id=guild_id,
                created_at=utc_datetime(created_at),
            )
    return found


async def count_approved(session: AsyncSession) -> int:
    """Approved references of every model: one index read (the status index covers it), where counting them per
    model reads every row (0.5 s at 500,000)."""
    query = select(func.count()).select_from(Reference.__table__).where(_approved())
    return int(await session.scalar(query) or 0)


def _approved() -> ColumnElement[bool]:
    return Reference.__table__.c.status == ReferenceStatus.APPROVED.value


def _made_by(tagger: str, embedder: str | None) -> list[ColumnElement[bool]]:
    """Approved, made by the tagger, and (given an embedder) holding that embedder's embedding."""
    table = Reference.__table__
    chosen = [_approved(), table.c.tagger == tagger]
    if embedder is not None:
        chosen += [table.c.embedder == embedder, table.c.embedding.is_not(None)]
    return chosen


async def approved_model_counts(session: AsyncSession) -> dict[tuple[str, str | None], int]:
    """Approved references per (tagger, embedder) pair: what a gallery leaves out is counted without reading it."""
    table = Reference.__table__
    query = (
        select(table.c.tagger, table.c.embedder, func.count())
        .where(table.c.status == ReferenceStatus.APPROVED.value)
        .group_by(table.c.tagger, table.c.embedder)
    )
    return {(tagger, embedder): int(count) for tagger, embedder, count in await session.execute(query)}


def _one(dims: Sequence[int | None], what: str) -> int:
    """The single length a column's vectors share (a tagger or embedder always makes one length)."""
    lengths = set(dims)
    if len(lengths) != 1 or None in lengths:
        raise ValueError(f"stored {what}s have lengths {sorted(map(str, lengths))}; one model makes one length")
    return int(next(iter(lengths)))
