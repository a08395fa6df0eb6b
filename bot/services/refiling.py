"""The submitter's answer to "did you mean X?": a pending submission filed under X instead, or kept as typed.

A submission whose new name is close to a shown character is filed at once under the name as typed (nothing is
lost if nobody answers); the answer only moves it, before a moderator has reviewed it.
"""

from __future__ import annotations

from bot.errors import NotFound, PermissionDenied
from bot.services.duplicates import DuplicateCheck
from bot.services.results import EnrollmentResult
from bot.store.records import ReferenceStatus
from bot.store.repository import CharacterStore


async def refile(
    store: CharacterStore,
    reference_id: int,
    character_id: int | None,
    *,
    guild_id: int,
    user_id: int,
    duplicates: DuplicateCheck | None = None,
) -> EnrollmentResult | None:
    """File the submission under `character_id`, or keep it as typed (None); the result says where it now is.

    None when no submission of this guild has that id or the character is not visible here: the answer of a stale
    or forged button. Only the submitter may answer, and only while the submission is pending. The duplicate index
    (`duplicates`) learns the submission's new character at once.
    """
    reference = await store.get_reference(reference_id)
    if reference is None or reference.guild_id != guild_id:
        return None
    if reference.submitted_by != user_id:
        raise PermissionDenied("Only the member who submitted this picture can choose its character.")
    if reference.status is not ReferenceStatus.PENDING:
        raise NotFound(f"Submission #{reference_id} was already {reference.status.value}; it stays filed as it is.")
    if character_id is None:
        character = await store.get_character(reference.character_id)
        return None if character is None else EnrollmentResult(character=character, reference=reference)
    target = await store.get_character(character_id)
    if target is None or target.guild_id not in (None, guild_id):
        return None
    moved, character = await store.refile_submission(reference_id, target.id, actor_id=user_id)
    if duplicates is not None:
        duplicates.note(moved)
    return EnrollmentResult(character=character, reference=moved)
