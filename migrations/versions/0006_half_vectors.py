"""Reference vectors in half the bytes: existing float32 rows rewritten as float16 (issue 9 item 4).

No schema change: a vector blob's length against its `*_dims` column says its width, and a blocks blob's header
says each block's (bot/store/vectors.py). A vector float16 cannot hold stays float32. The rows are rewritten in
batches of BATCH_ROWS by id, so the memory used stays the same for any store size. Offline (`--sql`) there are
no rows to read: the upgrade then emits nothing (float32 rows stay valid), and the downgrade refuses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from bot.store.vectors import decode_blocks, decode_vector, encode_blocks, encode_vector

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_ROWS = 500
"""References read, converted and written back per round trip."""

REFERENCES = sa.table(
    "references",
    sa.column("id", sa.Integer),
    sa.column("tag_vector", sa.LargeBinary),
    sa.column("tag_dims", sa.Integer),
    sa.column("embedding", sa.LargeBinary),
    sa.column("embedding_dims", sa.Integer),
    sa.column("face_embedding", sa.LargeBinary),
    sa.column("blocks", sa.LargeBinary),
)


def _vector(blob: bytes | None, dims: int | None, *, half: bool) -> bytes | None:
    """One vector column re-encoded; NULL, and an empty face (no face found), stay as they are."""
    if not blob or dims is None:
        return blob
    return encode_vector(decode_vector(blob, dims), half=half)[0]


def _converted(row: sa.Row, *, half: bool) -> dict[str, object]:
    """A row's vector columns in the wanted width, named for the UPDATE's bind parameters."""
    return {
        "row_id": row.id,
        "new_tag_vector": _vector(row.tag_vector, row.tag_dims, half=half),
        "new_embedding": _vector(row.embedding, row.embedding_dims, half=half),
        "new_face_embedding": _vector(row.face_embedding, row.embedding_dims, half=half),
        "new_blocks": encode_blocks(decode_blocks(row.blocks), half=half) if row.blocks is not None else None,
    }


def _rewrite(*, half: bool) -> None:
    """Every reference's vectors re-encoded, one batch of ids at a time; rows already in the width are skipped."""
    connection = op.get_bind()
    update = (
        REFERENCES.update()
        .where(REFERENCES.c.id == sa.bindparam("row_id"))
        .values(
            tag_vector=sa.bindparam("new_tag_vector"),
            embedding=sa.bindparam("new_embedding"),
            face_embedding=sa.bindparam("new_face_embedding"),
            blocks=sa.bindparam("new_blocks"),
        )
    )
    columns = ("tag_vector", "embedding", "face_embedding", "blocks")
    last_id = 0
    while True:
        query = sa.select(REFERENCES).where(REFERENCES.c.id > last_id).order_by(REFERENCES.c.id).limit(BATCH_ROWS)
        rows = connection.execute(query).all()
        if not rows:
            return
        changed = []
        for row in rows:
            converted = _converted(row, half=half)
            if any(converted[f"new_{name}"] != getattr(row, name) for name in columns):
                changed.append(converted)
        if changed:
            connection.execute(update, changed)
        last_id = rows[-1].id


def upgrade() -> None:
    """float32 vectors to float16 where they survive it."""
    if not context.is_offline_mode():
        _rewrite(half=True)


def downgrade() -> None:
    """Every vector back to float32 (exact: each float16 value is a float32 value), blocks in the old header."""
    if context.is_offline_mode():
        raise RuntimeError("migration 0006 rewrites rows it must read: run its downgrade against the database")
    _rewrite(half=False)
