"""A gallery's bulk load: columns of references into the table, the entries, the embedding and block indexes.

Why: at start the gallery takes every approved reference at once (500,000 at the field's scale); each part
of it takes whole matrices here (one append, one product per block, one append per embedding index), so
the only per-reference Python work is a dict entry saying which character holds which reference.
`record_columns` stacks records (tests, benchmarks, `Gallery.add_many`) into the same columns the store reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from bot.recognition.blocks import TAGS_BLOCK
from bot.recognition.reference_table import NO_GUILD, CharacterEntry
from bot.store.records import CharacterRecord, ReferenceRecord
from bot.store.reference_columns import Column, ReferenceColumns
from models.blocks import MIRROR_PREFIX

if TYPE_CHECKING:
    from bot.recognition.gallery import Gallery


def add_columns(gallery: Gallery, characters: Mapping[int, CharacterRecord], columns: ReferenceColumns) -> None:
    """Index references none of which the gallery holds, every one's character in `characters`."""
    count = len(columns)
    if not count:
        return
    ids, owners, scopes = columns.ids, columns.owners, columns.scopes
    unique, inverse = np.unique(owners, return_inverse=True)  # one look-up per character, not per reference
    scope_of = np.fromiter((_scope(characters[o].guild_id) for o in unique.tolist()), np.int64, len(unique))
    character_scopes = scope_of[inverse]
    tags = np.asarray(columns.tags, dtype=np.float32)[..., gallery.vocabulary.columns]  # the table copies it
    table_columns: dict[str, Column] = {TAGS_BLOCK: (np.arange(count), tags)}
    if gallery.features is not None:
        table_columns.update(columns.blocks)
    gallery._table.append(ids, owners, scopes, table_columns)
    _add_entries(gallery._entries, characters, columns)
    if gallery.metric is not None:
        for index, column in ((gallery._embeddings, columns.embeddings), (gallery._faces, columns.faces)):
            if column is not None and len(column[0]):
                rows, vectors = column
                index.add_rows(ids[rows], owners[rows], character_scopes[rows], scopes[rows], vectors)
    if gallery.blocks is not None:
        views: dict[str, list[Column]] = {}
        mirrored = np.zeros(count, dtype=bool)
        for name, column in table_columns.items():
            if name.startswith(MIRROR_PREFIX):
                mirrored[column[0]] = True
                name = name[len(MIRROR_PREFIX) :]
            views.setdefault(name, []).append(column)
        gallery.blocks.add_columns(owners, scopes, character_scopes, views, 1 + mirrored.astype(np.int64))


def _add_entries(
    entries: dict[int, CharacterEntry], characters: Mapping[int, CharacterRecord], columns: ReferenceColumns
) -> None:
    """Which character holds which reference (and its guild): one dict made or updated per character."""
    owners = columns.owners
    order = None if np.all(owners[1:] >= owners[:-1]) else np.argsort(owners, kind="stable")  # a load's are sorted
    if order is not None:
        owners = owners[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    ends = np.r_[starts[1:], len(owners)]
    ids = (columns.ids if order is None else columns.ids[order]).tolist()
    scopes = columns.scopes if order is None else columns.scopes[order]
    if np.all(scopes == NO_GUILD):
        guilds: list[int | None] = [None] * len(ids)
    else:
        guilds = [None if scope == NO_GUILD else scope for scope in scopes.tolist()]
    for owner, start, end in zip(owners[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        held = zip(ids[start:end], guilds[start:end], strict=True)
        entry = entries.get(owner)
        if entry is None:
            entries[owner] = CharacterEntry(characters[owner], dict(held))
            continue
        entry.character = characters[owner]
        entry.references.update(held)
        entry.profiles.clear()


def record_columns(pairs: Sequence[tuple[CharacterRecord, ReferenceRecord]], features: str | None) -> ReferenceColumns:
    """Reference records (with their characters) as the columns a store load reads: the same bulk path."""
    references = [reference for _, reference in pairs]
    count = len(references)
    tags = np.stack([np.asarray(r.tag_vector, dtype=np.float32) for r in references]) if count else np.zeros((0, 0))
    blocks: dict[str, tuple[list[int], list[np.ndarray]]] = {}
    for position, reference in enumerate(references):
        if features is not None and reference.features == features:
            for name, vector in reference.blocks.items():
                rows, vectors = blocks.setdefault(name, ([], []))
                rows.append(position)
                vectors.append(np.asarray(vector, dtype=np.float32))
    return ReferenceColumns(
        ids=np.asarray([r.id for r in references], dtype=np.int64),
        owners=np.asarray([character.id for character, _ in pairs], dtype=np.int64),
        scopes=np.asarray([_scope(r.guild_id) for r in references], dtype=np.int64),
        tags=tags.astype(np.float32),
        blocks={name: (np.asarray(rows), np.stack(vectors)) for name, (rows, vectors) in blocks.items()},
        embeddings=_stacked([r.embedding for r in references]),
        faces=_stacked([r.face_embedding if r.embedding is not None else None for r in references]),
    )


def take_columns(columns: ReferenceColumns, positions: np.ndarray) -> ReferenceColumns:
    """The columns of the references at these (ascending) positions only."""

    def taken(column: Column | None) -> Column | None:
        if column is None:
            return None
        rows, vectors = column
        kept = np.isin(rows, positions)
        return np.searchsorted(positions, rows[kept]), vectors[kept]

    return ReferenceColumns(
        ids=columns.ids[positions],
        owners=columns.owners[positions],
        scopes=columns.scopes[positions],
        tags=columns.tags[positions],
        blocks={name: column for name, column in ((n, taken(c)) for n, c in columns.blocks.items()) if column},
        embeddings=taken(columns.embeddings),
        faces=taken(columns.faces),
    )


def _stacked(vectors: Sequence[np.ndarray | None]) -> Column | None:
    rows = [position for position, vector in enumerate(vectors) if vector is not None]
    if not rows:
        return None
    return np.asarray(rows), np.stack([np.asarray(vectors[i], dtype=np.float32) for i in rows])


def _scope(guild_id: int | None) -> int:
    return NO_GUILD if guild_id is None else guild_id
