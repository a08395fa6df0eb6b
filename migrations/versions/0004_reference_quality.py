"""What a moderator should know about a reference's picture: monochrome, small, no face (issue 14).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """One nullable column of comma-separated codes; existing references have no recorded warnings."""
    with op.batch_alter_table("references") as batch:
        batch.add_column(sa.Column("quality", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Drop the warnings; nothing else depends on them."""
    with op.batch_alter_table("references") as batch:
        batch.drop_column("quality")
