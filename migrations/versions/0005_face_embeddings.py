"""Faces against faces and a tagger's own "unknown" cutoff (issue 12 points 2 and 4).

`references.face_embedding`: the embedder's vector of the largest detected face (empty: no face; NULL: never
searched, filled by `waifu-bot reindex` when the hub face detector is on). `unknown_cutoffs`: the distance
`waifu-bot eval --calibrate` measured per tagger identity and measure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One nullable column (existing references were never searched for a face) and the calibration table."""
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("face_embedding", sa.LargeBinary(), nullable=True))
    op.create_table(
        "unknown_cutoffs",
        sa.Column("tagger", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("distance", sa.Float(), nullable=False),
        sa.Column("acceptance", sa.Float(), nullable=False),
        sa.Column("absent_rejected", sa.Float(), nullable=True),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("calibrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tagger", "measure", name=op.f("pk_unknown_cutoffs")),
    )


def downgrade() -> None:
    """Drop the calibrations and the face embeddings; the whole-picture vectors stay."""
    op.drop_table("unknown_cutoffs")
    with op.batch_alter_table("references") as batch:
        batch.drop_column("face_embedding")
