"""A gallery's load as columns: every approved reference of one tagger (and embedder) in one query, as matrices.

Why: the bot reads every approved reference at start. One record per reference, each with its own small arrays,
cost 21 s for 500,000 references before a single one was indexed; here the rows come back as a few tuples
of bytes and become one float32 matrix per kind of vector (bot/store/vector_columns.py), and the characters
come in two more queries (rows, then aliases), whatever the gallery's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.records import CharacterRecord, ReferenceStatus
from bot.store.tables import Character, CharacterAlias, Reference
from bot.store.vector_columns import decode_block_matrices, decode_matrix

NO_GUILD = -1
"""The scope column's value for a global reference."""

PARTITION = 20_000
"""Rows decoded at once while a load streams."""
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


async def read_reference_columns(
    session: AsyncSession, *, tagger: str, embedder: str | None, features: str | None
) -> ReferenceColumns:
    """The approved references made by `tagger` (and `embedder`, when given: those with its embedding).

    Without an embedder, embeddings are not read at all: a gallery that ranks by tags never compares them.
    Rows stream in partitions decoded into matrices sized by a count first, so the bytes held at once are
    one partition's, not the whole store's (500,000 embeddings are 770 MB of float16 bytes).
    """
    table = Reference.__table__
    wanted = [table.c.id, table.c.character_id, table.c.guild_id, table.c.tag_vector, table.c.tag_dims]
    wanted += [table.c.features, table.c.blocks]
    if embedder is not None:
        wanted += [table.c.embedding, table.c.embedding_dims, table.c.face_embedding]
    chosen = _made_by(tagger, embedder)
    count = int(await session.scalar(select(func.count()).select_from(table).where(*chosen)) or 0)
    parts = _Parts(count)
    result = await session.stream(select(*wanted).where(*chosen).order_by(table.c.id))
    async for rows in result.partitions(PARTITION):
        parts.take(list(zip(*rows, strict=True)), features)
    return parts.columns()


class _Parts:
    """Matrices filled partition by partition (sized by the count), then handed over as `ReferenceColumns`."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.filled = 0
        self.ids = np.zeros(count, dtype=np.int64)
        self.owners = np.zeros(count, dtype=np.int64)
        self.scopes = np.zeros(count, dtype=np.int64)
        self.tags: np.ndarray | None = None
        self.embeddings: np.ndarray | None = None
        self.blocks: dict[str, list[Column]] = {}
        self.faces: list[Column] = []

    def take(self, columns: list[tuple], features: str | None) -> None:
        ids, owners, guilds, tag_blobs, tag_dims, recipes, block_blobs = columns[:7]
        start, end = self.filled, self.filled + len(ids)
        if end > self.count:  # approved between the count and the read (no snapshot across them in SQLite)
            self._grow(end)
        self.ids[start:end], self.owners[start:end] = ids, owners
        self.scopes[start:end] = [NO_GUILD if guild is None else guild for guild in guilds]
        self.tags = _filled(self.tags, self.count, start, decode_matrix(tag_blobs, _one(tag_dims, "tag vector")))
        chosen = [blob if recipe == features else None for recipe, blob in zip(recipes, block_blobs, strict=True)]
        for name, (rows, vectors) in decode_block_matrices(chosen).items():
            self.blocks.setdefault(name, []).append((rows + start, vectors))
        if len(columns) > 7:
            embedding_blobs, embedding_dims, face_blobs = columns[7:]
            dims = _one(embedding_dims, "embedding")
            self.embeddings = _filled(self.embeddings, self.count, start, decode_matrix(embedding_blobs, dims))
            with_face = np.flatnonzero([bool(blob) for blob in face_blobs])
            self.faces.append((with_face + start, decode_matrix([face_blobs[i] for i in with_face], dims)))
        self.filled = end

    def _grow(self, count: int) -> None:
        def grown(array: np.ndarray | None) -> np.ndarray | None:
            if array is None:
                return None
            bigger = np.zeros((count, *array.shape[1:]), dtype=array.dtype)
            bigger[: len(array)] = array
            return bigger

        self.ids, self.owners, self.scopes = grown(self.ids), grown(self.owners), grown(self.scopes)
        self.tags, self.embeddings, self.count = grown(self.tags), grown(self.embeddings), count

    def columns(self) -> ReferenceColumns:
        size = self.filled
        embeddings = faces = None
        if self.embeddings is not None:
            embeddings = (np.arange(size), self.embeddings[:size])
            faces = _joined(self.faces)
        return ReferenceColumns(
            ids=self.ids[:size],
            owners=self.owners[:size],
            scopes=self.scopes[:size],
            tags=self.tags[:size] if self.tags is not None else np.zeros((0, 0), dtype=np.float32),
            blocks={name: _joined(parts) for name, parts in self.blocks.items()},
            embeddings=embeddings,
            faces=faces,
        )


def _filled(matrix: np.ndarray | None, count: int, start: int, part: np.ndarray) -> np.ndarray:
    """`part` written at `start` of a [count, d] matrix (made at the first partition)."""
    if matrix is None:
        matrix = np.zeros((count, part.shape[1]), dtype=np.float32)
    elif matrix.shape[1] != part.shape[1]:
        raise ValueError(f"stored vectors have {part.shape[1]} values, earlier ones {matrix.shape[1]}")
    matrix[start : start + len(part)] = part
    return matrix


def _joined(parts: list[Column]) -> Column:
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    return np.concatenate([rows for rows, _ in parts]), np.concatenate([vectors for _, vectors in parts])


async def read_characters_of(session: AsyncSession, query: Select) -> dict[int, CharacterRecord]:
    """The characters whose ids `query` selects (one column), with aliases in the order added: two queries."""
    characters = Character.__table__
    aliases = CharacterAlias.__table__
    chosen = characters.c.id.in_(query.scalar_subquery())
    alias_rows = await session.execute(
        select(aliases.c.character_id, aliases.c.alias)
        .where(aliases.c.character_id.in_(query.scalar_subquery()))
        .order_by(aliases.c.character_id, aliases.c.id)
    )
    aliases_of: defaultdict[int, list[str]] = defaultdict(list)
    for character_id, alias in alias_rows:
        aliases_of[character_id].append(alias)
    wanted = (characters.c.id, characters.c.name, characters.c.series, characters.c.guild_id, characters.c.created_at)
    found: dict[int, CharacterRecord] = {}
    for character_id, name, series, guild_id, created_at in await session.execute(select(*wanted).where(chosen)):
        found[character_id] = CharacterRecord(
            id=character_id,
            name=name,
            series=series,
            aliases=tuple(aliases_of.get(character_id, ())),
            guild_id=guild_id,
            created_at=created_at,
        )
    return found


def approved_owners(tagger: str, embedder: str | None) -> Select:
    """The ids of characters with an approved reference of these models (a subquery for `read_characters_of`)."""
    return select(Reference.__table__.c.character_id).where(*_made_by(tagger, embedder)).distinct()


def _made_by(tagger: str, embedder: str | None) -> list[ColumnElement[bool]]:
    """Approved, made by the tagger, and (given an embedder) holding that embedder's embedding."""
    table = Reference.__table__
    chosen = [table.c.status == ReferenceStatus.APPROVED.value, table.c.tagger == tagger]
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
