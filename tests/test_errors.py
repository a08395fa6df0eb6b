"""Errors cross the process pool by pickle: each keeps its class, message for the user, and attributes."""

from __future__ import annotations

import pickle

import pytest

from bot.errors import (
    Busy,
    CharacterExists,
    DuplicateReference,
    InferenceFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnknownCharacter,
)
from models.errors import ImageRejected, ModelUnavailable, UserFacingError

ERRORS: list[UserFacingError] = [
    ImageRejected("truncated", "That picture is cut short; send the whole file.", detail="eof at byte 10"),
    ModelUnavailable("Run `waifu-bot models pull x`."),
    UnknownCharacter("lisa", ["lisa_simpson", "Lisa"]),
    DuplicateReference("Bart", 2, 17),
    RateLimited(12.4),
    Busy(),
    InferenceFailed("The picture could not be analysed.", detail="worker died"),
    NotFound("There is no reference #3."),
    PermissionDenied("Moderators only."),
    CharacterExists("A character named Miku already exists."),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_error_round_trips_through_pickle(error: UserFacingError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.user_message == error.user_message
    assert copy.args == error.args
    assert vars(copy) == vars(error)
