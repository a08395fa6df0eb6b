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


def _all_subclasses(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_user_facing_error_is_in_the_one_documented_tree() -> None:
    """The tree in bot/errors.py's docstring and its __all__ list every UserFacingError the product defines."""
    import importlib

    import bot.errors
    from tests.test_layout import ROOT, product_files

    for path in product_files():
        if "versions" in path.parts or path.parts[-2:] == ("migrations", "env.py"):
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        importlib.import_module(module)
    defined = {cls for cls in _all_subclasses(UserFacingError) if not cls.__module__.startswith("tests")}
    tree = bot.errors.__doc__ or ""
    assert {cls.__name__ for cls in defined} | {"UserFacingError"} == set(bot.errors.__all__)
    for cls in defined:
        assert f"── {cls.__name__} " in tree, f"{cls.__name__} ({cls.__module__}) is not drawn in bot/errors.py"
        assert getattr(bot.errors, cls.__name__) is cls
