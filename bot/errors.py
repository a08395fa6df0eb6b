"""Domain errors: each maps to one short message a user can act on (see `models.errors.UserFacingError`)."""

from __future__ import annotations

from collections.abc import Sequence

from models.errors import ImageRejected, ModelUnavailable, UserFacingError

__all__ = [
    "Busy",
    "CharacterExists",
    "DuplicateReference",
    "ImageRejected",
    "InferenceFailed",
    "ModelUnavailable",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "UnknownCharacter",
    "UserFacingError",
]


class UnknownCharacter(UserFacingError):
    """No character has this name or alias; `suggestions` holds the closest known names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        message = f"Could not find a character named {name!r}."
        if self.suggestions:
            message += " Did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message)


class CharacterExists(UserFacingError):
    """A create or rename would give two characters in one scope the same name."""


class DuplicateReference(UserFacingError):
    """The image is a near-duplicate (perceptual hash) of a reference the gallery already has."""

    def __init__(self, character: str, distance: int, reference_id: int) -> None:
        self.character = character
        self.distance = distance
        self.reference_id = reference_id
        super().__init__(
            f"This image is a near-duplicate of reference #{reference_id} of {character} "
            f"(hash distance {distance}); send a different picture."
        )


class NotFound(UserFacingError):
    """A submission, reference or other record named by id does not exist (or is not visible here)."""


class PermissionDenied(UserFacingError):
    """The caller lacks the role or permission the action needs."""


class RateLimited(UserFacingError):
    """The caller has submitted too much too quickly; `retry_after` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"You are submitting too quickly; try again in {max(1, round(retry_after))} s.")


class Busy(UserFacingError):
    """The inference pool is at capacity; the caller should retry shortly."""

    def __init__(self) -> None:
        super().__init__("The bot is busy with other pictures right now; try again in a few seconds.")


class InferenceFailed(UserFacingError):
    """An inference job failed (worker crash, timeout); the detail goes to the log only."""
