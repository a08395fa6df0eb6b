"""Per-guild Discord settings: the moderator role and the channels where pictures are identified automatically.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the two small tables the Discord cogs keep their per-guild choices in."""
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("mod_role_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "autoidentify_channels",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "channel_id", name=op.f("pk_autoidentify_channels")),
    )


def downgrade() -> None:
    """Drop the Discord settings tables."""
    op.drop_table("autoidentify_channels")
    op.drop_table("guild_settings")
