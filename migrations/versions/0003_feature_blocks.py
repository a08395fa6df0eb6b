"""Feature blocks of a reference: the face/head palette and CNN vectors beside the tag vector (issue 14).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two nullable columns: existing references get their blocks from `waifu-bot reindex`."""
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("features", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("blocks", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the blocks; the tag vectors and embeddings stay."""
    with op.batch_alter_table("references") as batch:
        batch.drop_column("blocks")
        batch.drop_column("features")
