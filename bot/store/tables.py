"""SQLAlchemy 2 declarative tables of the character store.

The schema is created only by the Alembic migrations in `migrations/`; these classes describe it so
the repository can query it, and a test checks that the migrations' head matches them exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAME_LENGTH = 100
"""Longest character name or alias a user may give."""
KEY_LENGTH = 400
"""Room for a name after NFKC (which can expand a character into several)."""
SERIES_LENGTH = 200
"""Longest series name a user may give."""
GLOBAL_SCOPE_KEY = 0
"""`scope_key` of global rows; Discord snowflakes are never 0, and NULLs are never equal in a UNIQUE."""

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
"""SQLite otherwise hands a deleted newest row's id to the next insert, so a stale review button or audit entry
for submission #N would silently point at a different, unseen one. PostgreSQL sequences never reuse ids."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone, so it is re-attached)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; a naive datetime is refused because its zone would be a guess."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Hand back aware UTC datetimes whatever the backend returned."""
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    """A stored moment as an aware UTC datetime: a naive one was stored as UTC (SQLite keeps no zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with named constraints, so migrations can alter them on every backend."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Character(Base):
    """A character; global when `guild_id` is NULL, else visible only in that guild."""

    __tablename__ = "characters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    series: Mapped[str | None] = mapped_column(String(SERIES_LENGTH))
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    scope_key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(BigInteger)

    aliases: Mapped[list[CharacterAlias]] = relationship(
        back_populates="character",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CharacterAlias.id",
        lazy="selectin",
    )

    __table_args__ = (
        UniqueConstraint("scope_key", "name_key"),
        CheckConstraint(f"scope_key = coalesce(guild_id, {GLOBAL_SCOPE_KEY})", name="scope_matches_guild"),
        Index("ix_characters_name_key", "name_key"),
        Index("ix_characters_guild_id", "guild_id"),
        NEVER_REUSE_IDS,
    )


class CharacterAlias(Base):
    """Another name of a character (any language); it shares the namespace of names in its scope."""

    __tablename__ = "character_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(NAME_LENGTH))
    alias_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    language: Mapped[str | None] = mapped_column(String(16))
    scope_key: Mapped[int] = mapped_column(BigInteger)

    character: Mapped[Character] = relationship(back_populates="aliases")

    __table_args__ = (
        UniqueConstraint("scope_key", "alias_key"),
        Index("ix_character_aliases_alias_key", "alias_key"),
        Index("ix_character_aliases_character_id", "character_id"),
    )


class Reference(Base):
    """One reference image of a character and the vectors one model version produced for it."""

    __tablename__ = "references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    character_id: Mapped[int] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    tagger: Mapped[str] = mapped_column(String(200))
    tag_vector: Mapped[bytes] = mapped_column(LargeBinary)
    tag_dims: Mapped[int] = mapped_column(Integer)
    embedder: Mapped[str | None] = mapped_column(String(200))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_dims: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[str | None] = mapped_column(String(300))
    """Identity of the feature recipe and models that made `blocks` (migration 0003)."""
    blocks: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Named feature blocks (bot/store/vectors.encode_blocks); NULL until made or reindexed."""
    quality: Mapped[str | None] = mapped_column(String(200))
    """Comma-separated warnings about the picture for moderators, e.g. "monochrome,small" (migration 0004)."""
    face_embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The embedder's vector of the largest detected face (`embedding_dims` long); empty: no face; NULL: never
    searched (migration 0005; bot/store/reference_vectors.py)."""
    phash: Mapped[str] = mapped_column(String(64))
    image_path: Mapped[str | None] = mapped_column(String(500))
    rating: Mapped[str | None] = mapped_column(String(32))
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("(embedder IS NULL) = (embedding IS NULL)", name="embedding_has_model"),
        Index("ix_references_status_guild_id", "status", "guild_id"),
        Index("ix_references_character_id", "character_id"),
        Index("ix_references_tagger", "tagger"),
        Index("ix_references_phash", "phash"),
        Index("ix_references_submitted_by_submitted_at", "submitted_by", "submitted_at"),
        NEVER_REUSE_IDS,
    )


class UnknownCutoff(Base):
    """A tagger's "unknown" distance measured by `waifu-bot eval --calibrate` (migration 0005), read at gallery load.

    `measure` names the distance it was read on ("blocks": the fitted block metric, "tags": the tag profile), since
    the two live on different scales; `acceptance` is the share of known queries the distance still answers.
    """

    __tablename__ = "unknown_cutoffs"

    tagger: Mapped[str] = mapped_column(String(200), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    distance: Mapped[float] = mapped_column(Float)
    acceptance: Mapped[float] = mapped_column(Float)
    absent_rejected: Mapped[float | None] = mapped_column(Float)
    queries: Mapped[int] = mapped_column(Integer)
    calibrated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One change, kept after the character or reference it names is gone (so no foreign keys)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    character_id: Mapped[int | None] = mapped_column(Integer)
    reference_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_log_guild_id_id", "guild_id", "id"), NEVER_REUSE_IDS)


def utcnow() -> datetime:
    """The one clock of the store, so every row's time is aware UTC."""
    return datetime.now(UTC)
