"""Reference operations of the store: enrollment, the review queue, vectors and rate-limit counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import CharacterExists, NotFound
from bot.store import audit
from bot.store.convert import character_record, reference_record
from bot.store.names import clean_name, name_key
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus
from bot.store.reference_vectors import ReferenceVectors
from bot.store.scopes import visible_character
from bot.store.sessions import StoreSessions
from bot.store.tables import Character, Reference, utcnow
from bot.store.writes import SubmissionQuota, add_aliases, check_quota, clean_series, new_character, reference_or_raise
from models.errors import UserFacingError

ENROLL_ATTEMPTS = 3
"""Tries of an enrollment that lost a race to create the same character (PostgreSQL)."""
REVIEW_ACTIONS = {ReferenceStatus.APPROVED: "reference.approve", ReferenceStatus.REJECTED: "reference.reject"}


class ReferenceOperations(StoreSessions):
    """The reference half of `CharacterStore`."""

    async def enroll(
        self,
        name: str,
        *,
        series: str | None = None,
        aliases: Iterable[str] = (),
        guild_id: int | None = None,
        status: ReferenceStatus,
        tagger: str,
        tag_vector: np.ndarray,
        embedder: str | None = None,
        embedding: np.ndarray | None = None,
        features: str | None = None,
        blocks: dict[str, np.ndarray] | None = None,
        face_embedding: np.ndarray | None = None,
        face_searched: bool = False,
        phash: str,
        image_path: str | None = None,
        rating: str | None = None,
        submitted_by: int | None = None,
        source: str | None = None,
        actor_id: int | None = None,
        quota: SubmissionQuota | None = None,
        quality: Sequence[str] = (),
    ) -> tuple[CharacterRecord, ReferenceRecord]:
        """Add a reference, creating its character if the guild knows none by that name: all or nothing.

        An existing character of the caller's own scope also gains the given aliases; a global one seen
        from a guild is left untouched (a guild's submission must not rename the global gallery).
        """
        vectors = ReferenceVectors.encode(
            tagger,
            tag_vector,
            embedder,
            embedding,
            features,
            blocks,
            face_embedding=face_embedding,
            face_searched=face_searched,
        )
        status = ReferenceStatus(status)
        aliases = list(aliases)
        clean_name(name)  # refuse bad input before opening a transaction
        clean_series(series)

        def new_row() -> Reference:
            reference = Reference(
                status=status.value,
                guild_id=guild_id,
                phash=phash,
                image_path=image_path,
                rating=rating,
                submitted_by=submitted_by,
                source=source,
                quality=",".join(quality) or None,
            )
            vectors.apply(reference)
            return reference

        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._writing() as session:
                    await check_quota(session, quota)  # in the transaction: concurrent submissions cannot all pass
                    character = await visible_character(session, name_key(name), guild_id)
                    if character is None:
                        character = await new_character(
                            session, name, series=series, aliases=aliases, guild_id=guild_id, actor_id=actor_id
                        )
                    elif character.guild_id == guild_id:
                        await add_aliases(session, character, aliases, actor_id=actor_id)
                    reference = await self._add_reference(session, character, new_row(), actor_id)
                    return character_record(character), reference_record(reference)
            except IntegrityError as error:
                # Another writer created the name between our lookup and insert (PostgreSQL does not
                # serialise writers as SQLite does); the next attempt finds it.
                if attempt == ENROLL_ATTEMPTS:
                    raise CharacterExists(f"{name!r} was just created by someone else; try again.") from error

    @staticmethod
    async def _add_reference(
        session: AsyncSession, character: Character, reference: Reference, actor_id: int | None
    ) -> Reference:
        """Insert the reference of `character` with its audit row; reviewed at once unless pending."""
        now = utcnow()
        reviewed = reference.status != ReferenceStatus.PENDING.value
        reference.character_id, reference.submitted_at = character.id, now
        reference.reviewed_by, reference.reviewed_at = (actor_id, now) if reviewed else (None, None)
        session.add(reference)
        await session.flush()
        await audit.record_change(
            session,
            "reference.add",
            f"added {reference.status} reference #{reference.id} of {character.name} ({reference.tagger})",
            actor_id=actor_id if actor_id is not None else reference.submitted_by,
            guild_id=reference.guild_id,
            character_id=character.id,
            reference_id=reference.id,
        )
        return reference

    async def get_reference(self, reference_id: int) -> ReferenceRecord | None:
        """The reference with this id, or None."""
        async with self._reading() as session:
            reference = await session.get(Reference, reference_id)
            return None if reference is None else reference_record(reference)

    async def list_references(
        self,
        *,
        status: ReferenceStatus | None = ReferenceStatus.APPROVED,
        tagger: str | None = None,
        character_id: int | None = None,
        guild_id: int | None = None,
        all_scopes: bool = False,
    ) -> list[ReferenceRecord]:
        """References a guild's gallery uses (global and its own), or every scope's; `status=None`: any.

        Read as plain rows, not ORM objects: a gallery's load reads every reference, and building an ORM instance
        per row cost more than the query (50,000 references: 6.1 s of 9.3).
        """
        query = select(Reference.__table__).order_by(Reference.id)
        if status is not None:
            query = query.where(Reference.status == ReferenceStatus(status).value)
        if tagger is not None:
            query = query.where(Reference.tagger == tagger)
        if character_id is not None:
            query = query.where(Reference.character_id == character_id)
        if not all_scopes:
            visible = Reference.guild_id.is_(None)
            query = query.where(visible if guild_id is None else visible | (Reference.guild_id == guild_id))
        async with self._reading() as session:
            return [reference_record(row) for row in await session.execute(query)]

    async def next_pending(self, *, guild_id: int | None, after_id: int | None = None) -> ReferenceRecord | None:
        """The oldest pending submission of a guild (None: global ones) after `after_id`, for /review."""
        query = select(Reference).where(_pending_in(guild_id)).order_by(Reference.id).limit(1)
        if after_id is not None:
            query = query.where(Reference.id > after_id)
        async with self._reading() as session:
            reference = (await session.scalars(query)).first()
            return None if reference is None else reference_record(reference)

    async def count_pending(self, *, guild_id: int | None) -> int:
        """How many submissions wait for a guild's moderators."""
        async with self._reading() as session:
            return int(await session.scalar(select(func.count(Reference.id)).where(_pending_in(guild_id))) or 0)

    async def review_reference(self, reference_id: int, *, approve: bool, reviewer_id: int | None) -> ReferenceRecord:
        """Approve or reject a pending submission; NotFound if it is gone or was already reviewed."""
        decision = ReferenceStatus.APPROVED if approve else ReferenceStatus.REJECTED
        async with self._writing() as session:
            reference = await reference_or_raise(session, reference_id)
            if reference.status != ReferenceStatus.PENDING.value:
                raise NotFound(f"Submission #{reference_id} was already {reference.status}; nothing to review.")
            changed = await session.execute(  # conditional, so two moderators racing cannot both decide
                update(Reference)
                .where(Reference.id == reference_id, Reference.status == ReferenceStatus.PENDING.value)
                .values(status=decision.value, reviewed_by=reviewer_id, reviewed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:
                raise NotFound(f"Submission #{reference_id} was reviewed by someone else just now.")
            await session.refresh(reference)
            character = await session.get(Character, reference.character_id)
            await audit.record_change(
                session,
                REVIEW_ACTIONS[decision],
                f"{decision.value} reference #{reference_id} of {character.name if character else '?'}",
                actor_id=reviewer_id,
                guild_id=reference.guild_id,
                character_id=reference.character_id,
                reference_id=reference_id,
            )
            return reference_record(reference)

    async def promote_reference(self, reference_id: int, *, actor_id: int | None = None) -> ReferenceRecord:
        """Owner action: let one approved guild reference of a global character serve every guild."""
        async with self._writing() as session:
            reference = await reference_or_raise(session, reference_id)
            if reference.status != ReferenceStatus.APPROVED.value:
                raise UserFacingError(
                    f"Reference #{reference_id} is {reference.status}; only approved ones can be promoted."
                )
            if reference.guild_id is None:
                raise UserFacingError(f"Reference #{reference_id} is already global.")
            character = await session.get(Character, reference.character_id)
            if character is None or character.guild_id is not None:
                name = character.name if character else f"character #{reference.character_id}"
                raise UserFacingError(f"{name} belongs to one guild; promote the character itself.")
            old_guild, reference.guild_id = reference.guild_id, None
            await audit.record_change(
                session,
                "reference.promote",
                f"promoted reference #{reference_id} of {character.name} from guild {old_guild} to global",
                actor_id=actor_id,
                guild_id=old_guild,
                character_id=character.id,
                reference_id=reference_id,
            )
            return reference_record(reference)

    async def remove_reference(self, reference_id: int, *, actor_id: int | None = None) -> None:
        """Delete one reference (its image file is the caller's to remove)."""
        async with self._writing() as session:
            reference = await reference_or_raise(session, reference_id)
            await audit.record_change(
                session,
                "reference.remove",
                f"removed {reference.status} reference #{reference_id}",
                actor_id=actor_id,
                guild_id=reference.guild_id,
                character_id=reference.character_id,
                reference_id=reference_id,
            )
            await session.delete(reference)

    async def update_reference_vectors(
        self,
        reference_id: int,
        *,
        tagger: str,
        tag_vector: np.ndarray,
        embedder: str | None = None,
        embedding: np.ndarray | None = None,
        features: str | None = None,
        blocks: dict[str, np.ndarray] | None = None,
        face_embedding: np.ndarray | None = None,
        face_searched: bool = False,
    ) -> None:
        """Replace a reference's vectors with a newer model's (reindex); its image and status stay.

        `face_searched` with no `face_embedding` records that the picture shows no face, so reindex stops asking.
        """
        vectors = ReferenceVectors.encode(
            tagger,
            tag_vector,
            embedder,
            embedding,
            features,
            blocks,
            face_embedding=face_embedding,
            face_searched=face_searched,
        )
        async with self._writing() as session:
            reference = await reference_or_raise(session, reference_id)
            previous = reference.tagger
            vectors.apply(reference)
            await audit.record_change(
                session,
                "reference.reindex",
                f"recomputed vectors of reference #{reference_id}: {previous} -> {tagger}"
                + (f", embedding {vectors.embedder}" if vectors.embedder else ""),
                actor_id=None,
                guild_id=reference.guild_id,
                character_id=reference.character_id,
                reference_id=reference_id,
            )

    async def count_submissions_since(self, user_id: int, since: datetime) -> int:
        """How many references a user submitted since a moment (timezone-aware), for rate limits."""
        query = select(func.count(Reference.id)).where(
            Reference.submitted_by == user_id, Reference.submitted_at >= since
        )
        async with self._reading() as session:
            return int(await session.scalar(query) or 0)


def _pending_in(guild_id: int | None) -> ColumnElement[bool]:
    """Pending rows of exactly this guild (None: the global scope)."""
    same_guild = Reference.guild_id.is_(None) if guild_id is None else Reference.guild_id == guild_id
    return (Reference.status == ReferenceStatus.PENDING.value) & same_guild
