""" "Not right?" corrections: remembered for /stats ("most confused in recent answers"), never at a submission's cost.

The submission itself is filed by the enrollment service (same checks and queue as /enroll); this only notes
which character the answer had named, so the statistics can say which characters people correct most.
"""

from __future__ import annotations

import logging

from bot.errors import StoreUnavailable
from bot.services.results import EnrollmentResult
from bot.store.repository import CharacterStore

log = logging.getLogger(__name__)


async def record_correction(
    store: CharacterStore, said_character_id: int | None, submitted: EnrollmentResult, *, guild_id: int, user_id: int
) -> bool:
    """Note that an answer named `said_character_id` and the person filed `submitted` instead; False if not noted.

    Nothing is noted when the answer named nobody from the gallery or the person named the same character.
    A database failure here is logged and swallowed: the person's submission is already safely filed.
    """
    if said_character_id is None or said_character_id == submitted.character.id:
        return False
    try:
        await store.record_correction(
            said_character_id=said_character_id,
            reference_id=submitted.reference.id,
            guild_id=guild_id,
            actor_id=user_id,
        )
    except StoreUnavailable:
        log.warning("could not note the correction of character %s", said_character_id, exc_info=True)
        return False
    return True
