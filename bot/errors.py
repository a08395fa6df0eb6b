"""Every error a user may be shown, in one tree: each maps to one short message they can act on.

    UserFacingError                 models/errors.py: the base; `user_message` is shown, the rest is logged
    ├── ImageRejected               models/errors.py: the bytes are not a usable picture (`reason` code)
    ├── ModelUnavailable            models/errors.py: a selected model is missing or cannot be loaded
    ├── UsageError                  bad input on the command line (printed as one line, exit 2)
    ├── UnknownCharacter            no character has this name or alias (with suggestions)
    ├── CharacterExists             a create or rename would clash with a name in the same scope
    ├── DuplicateReference          the picture is a near-duplicate of a stored reference
    ├── NotFound                    a record named by id does not exist or is not visible here
    ├── PermissionDenied            the caller lacks the role the action needs
    ├── RateLimited                 too many submissions too quickly (`retry_after`)
    ├── StoreUnavailable            the database is damaged, emptied, read-only, full, locked or unreachable
    ├── Busy                        the inference pool is at capacity; retry shortly
    └── InferenceFailed             a job failed (worker crash, timeout); detail in the log only
        └── PoolClosed              the pool is shutting down and takes no new work

The three defined in `models/` live there because `models/` may not import `bot/`; they are
re-exported here, so callers import every error from this module. A test fails when a subclass of
`UserFacingError` anywhere in the product is missing from this tree or from `__all__`.
"""

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
    "PoolClosed",
    "RateLimited",
    "StoreUnavailable",
    "UnknownCharacter",
    "UsageError",
    "UserFacingError",
]


class UsageError(UserFacingError):
    """Bad input on the command line: printed as one line, exit code 2."""


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
            f"(hash distance {distance}); use a different picture."
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


class StoreUnavailable(UserFacingError):
    """The database cannot be used (damaged, emptied, read-only, full, locked, unreachable): an operator must act.

    The message is written for the operator (it names the file or server and what to do); the Discord
    adapter logs it and tells members only that the bot's storage is unavailable.
    """


class Busy(UserFacingError):
    """The inference pool is at capacity (or the caller holds their share of it); retry shortly."""

    def __init__(
        self, message: str = "The bot is busy with other pictures right now; try again in a few seconds."
    ) -> None:
        super().__init__(message)


class InferenceFailed(UserFacingError):
    """An inference job failed (worker crash, timeout); the detail goes to the log only."""


class PoolClosed(InferenceFailed):
    """The pool is shutting down and takes no new work."""

    def __init__(self) -> None:
        super().__init__("The bot is shutting down; try again in a minute.")
