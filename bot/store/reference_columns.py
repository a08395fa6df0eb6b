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
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.records import CharacterRecord, ReferenceStatus
from bot.store.tables import Character, CharacterAlias, Reference
from bot.store.vector_columns import decode_block_matrices, decode_matrix

NO_GUILD = -1
"""The scope column's value for a global reference."""

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
    """
    table = Reference.__table__
    wanted = [table.c.id, table.c.character_id, table.c.guild_id, table.c.tag_vector, table.c.tag_dims]
    wanted += [table.c.features, table.c.blocks]
    if embedder is not None:
        wanted += [table.c.embedding, table.c.embedding_dims, table.c.face_embedding]
    query = select(*wanted).where(table.c.status == ReferenceStatus.APPROVED.value, table.c.tagger == tagger)
    if embedder is not None:
        query = query.where(table.c.embedder == embedder, table.c.embedding.is_not(None))
    rows = (await session.execute(query.order_by(table.c.id))).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return ReferenceColumns(empty, empty, empty, np.zeros((0, 0), dtype=np.float32), {}, None, None)
    columns = list(zip(*rows, strict=True))
    ids, owners, guilds, tag_blobs, tag_dims, recipes, block_blobs = columns[:7]
    blocks = decode_block_matrices([b if r == features else None for r, b in zip(recipes, block_blobs, strict=True)])
    embeddings = faces = None
    if embedder is not None:
        embedding_blobs, embedding_dims, face_blobs = columns[7:]
        embeddings = (np.arange(len(rows)), decode_matrix(embedding_blobs, _one(embedding_dims, "embedding")))
        with_face = np.flatnonzero([bool(blob) for blob in face_blobs])
        faces = (with_face, decode_matrix([face_blobs[i] for i in with_face], embeddings[1].shape[1]))
    return ReferenceColumns(
        ids=np.asarray(ids, dtype=np.int64),
        owners=np.asarray(owners, dtype=np.int64),
        scopes=np.asarray([NO_GUILD if guild is None else guild for guild in guilds], dtype=np.int64),
        tags=decode_matrix(tag_blobs, _one(tag_dims, "tag vector")),
        blocks=blocks,
        embeddings=embeddings,
        faces=faces,
    )


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


def approved_owners(tagger: str) -> Select:
    """The ids of characters with an approved reference of this tagger (a subquery for `read_characters_of`)."""
    table = Reference.__table__
    return (
        select(table.c.character_id)
        .where(table.c.status == ReferenceStatus.APPROVED.value, table.c.tagger == tagger)
        .distinct()
    )


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
