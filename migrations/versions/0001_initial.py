"""Initial schema: characters, their aliases, references and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the four tables of the character store and their lookup indexes."""
    op.create_table(
        "characters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=400), nullable=False),
        sa.Column("series", sa.String(length=200), nullable=True),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("scope_key", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("scope_key = coalesce(guild_id, 0)", name=op.f("ck_characters_scope_matches_guild")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_characters")),
        sa.UniqueConstraint("scope_key", "name_key", name=op.f("uq_characters_scope_key_name_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_characters_name_key", "characters", ["name_key"])
    op.create_index("ix_characters_guild_id", "characters", ["guild_id"])

    op.create_table(
        "character_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("alias_key", sa.String(length=400), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("scope_key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["character_id"],
            ["characters.id"],
            name=op.f("fk_character_aliases_character_id_characters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_character_aliases")),
        sa.UniqueConstraint("scope_key", "alias_key", name=op.f("uq_character_aliases_scope_key_alias_key")),
    )
    op.create_index("ix_character_aliases_alias_key", "character_aliases", ["alias_key"])
    op.create_index("ix_character_aliases_character_id", "character_aliases", ["character_id"])

    op.create_table(
        "references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("tagger", sa.String(length=200), nullable=False),
        sa.Column("tag_vector", sa.LargeBinary(), nullable=False),
        sa.Column("tag_dims", sa.Integer(), nullable=False),
        sa.Column("embedder", sa.String(length=200), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_dims", sa.Integer(), nullable=True),
        sa.Column("phash", sa.String(length=64), nullable=False),
        sa.Column("image_path", sa.String(length=500), nullable=True),
        sa.Column("rating", sa.String(length=32), nullable=True),
        sa.Column("submitted_by", sa.BigInteger(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_references_status_known")
        ),
        sa.CheckConstraint(
            "(embedder IS NULL) = (embedding IS NULL)", name=op.f("ck_references_embedding_has_model")
        ),
        sa.ForeignKeyConstraint(
            ["character_id"],
            ["characters.id"],
            name=op.f("fk_references_character_id_characters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_references")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_references_status_guild_id", "references", ["status", "guild_id"])
    op.create_index("ix_references_character_id", "references", ["character_id"])
    op.create_index("ix_references_tagger", "references", ["tagger"])
    op.create_index("ix_references_phash", "references", ["phash"])
    op.create_index("ix_references_submitted_by_submitted_at", "references", ["submitted_by", "submitted_at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("character_id", sa.Integer(), nullable=True),
        sa.Column("reference_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_guild_id_id", "audit_log", ["guild_id", "id"])


def downgrade() -> None:
    """Drop everything the initial schema created, children first."""
    op.drop_index("ix_audit_log_guild_id_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_references_submitted_by_submitted_at", table_name="references")
    op.drop_index("ix_references_phash", table_name="references")
    op.drop_index("ix_references_tagger", table_name="references")
    op.drop_index("ix_references_character_id", table_name="references")
    op.drop_index("ix_references_status_guild_id", table_name="references")
    op.drop_table("references")
    op.drop_index("ix_character_aliases_character_id", table_name="character_aliases")
    op.drop_index("ix_character_aliases_alias_key", table_name="character_aliases")
    op.drop_table("character_aliases")
    op.drop_index("ix_characters_guild_id", table_name="characters")
    op.drop_index("ix_characters_name_key", table_name="characters")
    op.drop_table("characters")
