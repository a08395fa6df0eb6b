"""Moderation of community submissions one at a time: what to show next, and applying a decision.

Any client (the Discord buttons, a future web page) walks the queue the same way: a decision names the
submission by id, so a button pressed long after it was drawn still acts on the right picture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.errors import NotFound
from bot.services.enrollment import EnrollmentService
from bot.services.names import close_names
from bot.services.reference_images import ReferenceImages
from bot.services.reference_quality import describe
from bot.store.records import CharacterRecord, ReferenceRecord, ReferenceStatus

log = logging.getLogger(__name__)

Action = Literal["approve", "reject", "skip"]
Outcome = Literal["approved", "rejected", "skipped", "already_reviewed"]


@dataclass(frozen=True)
class Submission:
    """One pending submission as a moderator reviews it: the record, who it claims to show, the picture."""

    reference: ReferenceRecord
    character: CharacterRecord | None
    image: bytes | None
    """The submitted picture, or None when its file is missing."""
    extension: str | None
    pending: int
    """How many submissions of the guild are pending, this one included."""
    new_character: bool = False
    """True when approving it would show the name to members for the first time (no approved reference yet)."""
    looks_like: str | None = None
    """For a new character: the name of a shown character it is confusable with or close to, if any."""

    @property
    def warnings(self) -> list[str]:
        """What the moderator should know about the picture (monochrome, small, no face), one line each."""
        return describe(self.reference.quality)

    @property
    def character_name(self) -> str:
        """The claimed character's name, or a placeholder when it was deleted meanwhile."""
        return self.character.name if self.character else f"character #{self.reference.character_id}"


@dataclass(frozen=True)
class ReviewDecision:
    """What a moderator's action did to one submission."""

    outcome: Outcome
    reference: ReferenceRecord
    """The submission after the decision."""
    character_name: str

    @property
    def submitter_should_hear(self) -> bool:
        """Only a real approval or rejection is news for the person who submitted."""
        return self.outcome in {"approved", "rejected"} and self.reference.submitted_by is not None


class ReviewService:
    """The review queue of each guild over the store, with approvals reaching the gallery at once."""

    def __init__(self, store, images: ReferenceImages, enrollment: EnrollmentService) -> None:
        self.store = store
        self.images = images
        self.enrollment = enrollment

    async def next_submission(self, guild_id: int, *, after_id: int | None = None) -> Submission | None:
        """The oldest pending submission of the guild after `after_id`, wrapping around to the start."""
        reference = await self.store.next_pending(guild_id=guild_id, after_id=after_id)
        if reference is None and after_id is not None:
            reference = await self.store.next_pending(guild_id=guild_id)
        if reference is None:
            return None
        character = await self.store.get_character(reference.character_id)
        image, extension = None, None
        if reference.image_path:
            try:
                image = self.images.read(reference.image_path)
                extension = reference.image_path.rsplit(".", 1)[-1]
            except (OSError, ValueError):
                log.warning("picture of submission %s is missing", reference.id)
        pending = await self.store.count_pending(guild_id=guild_id)
        new_character, looks_like = await self._novelty(character, guild_id)
        return Submission(reference, character, image, extension, pending, new_character, looks_like)

    async def _novelty(self, character: CharacterRecord | None, guild_id: int) -> tuple[bool, str | None]:
        """Whether the character is new to the guild's members, and which shown character it resembles."""
        if character is None:
            return False, None
        shown = await self.store.list_characters(guild_id=guild_id, approved_only=True)
        if any(other.id == character.id for other in shown):
            return False, None
        close = close_names(character.name, shown, limit=1)
        return True, close[0].name if close else None

    async def decide(self, reference_id: int, action: Action, *, guild_id: int, reviewer_id: int) -> ReviewDecision:
        """Approve, reject or skip one submission of this guild; a decided one is reported, not changed."""
        reference = await self.store.get_reference(reference_id)
        if reference is None or reference.guild_id != guild_id:
            raise NotFound(f"Submission #{reference_id} no longer exists.")
        character = await self.store.get_character(reference.character_id)
        name = character.name if character else f"character #{reference.character_id}"
        if action == "skip":
            return ReviewDecision("skipped", reference, name)
        if reference.status is not ReferenceStatus.PENDING:
            return ReviewDecision("already_reviewed", reference, name)
        if action == "approve":
            decided = await self.enrollment.approve(reference_id, reviewer_id=reviewer_id)
            return ReviewDecision("approved", decided, name)
        decided = await self.enrollment.reject(reference_id, reviewer_id=reviewer_id)
        return ReviewDecision("rejected", decided, name)
