"""Errors that carry a message fit to show a user, raised where pixels and models are handled."""

from __future__ import annotations


class UserFacingError(Exception):
    """Base of every error whose message can be shown to a user as it is.

    The Discord error handler and the CLI print `user_message` and log the rest, so a message here
    must say what went wrong and what to do, in one short sentence, without internals.
    """

    def __init__(self, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message

    def __reduce__(self) -> tuple:
        """Pickle by state, not by constructor arguments, so every subclass survives the process pool."""
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(cls: type[UserFacingError], args: tuple, state: dict) -> UserFacingError:
    """Rebuild an error from its class, message arguments and attributes without calling its __init__."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ImageRejected(UserFacingError):
    """The bytes given as an image cannot be used; `reason` is a stable code for logs and tests."""

    def __init__(self, reason: str, user_message: str, *, detail: str | None = None) -> None:
        super().__init__(user_message, detail=detail)
        self.reason = reason


class ModelUnavailable(UserFacingError):
    """A model the configuration selects is not on disk or cannot be loaded."""
