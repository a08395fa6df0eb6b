"""`waifu-bot`: global options, command discovery, and one place that turns errors into exit codes.

Every module in `bot.cli` that defines `add_parser(subparsers)` is a command, so a new command is
a new module and nothing else. A command's handler gets `(args, settings)` and returns an exit code;
it may be a coroutine function (run with `asyncio.run`). Building the parser imports every command
module, so those stay light at import (heavy imports inside their handlers) and `--help` is instant;
the settings (pydantic) are read only once a command runs.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import bot.cli
from models.errors import UserFacingError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("waifu_bot.cli")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose reader (`| head`) went away."""


class _UsageExit(Exception):
    """argparse found bad arguments; carries the one line to print."""


class QuietParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and an exit code, not a usage dump and SystemExit."""

    def error(self, message: str) -> NoReturn:
        """Report bad arguments in one line (the caller prints it and returns 2)."""
        raise _UsageExit(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every discovered command; global options work before or after the command."""
    parser = QuietParser(prog="waifu-bot", description="Identify anime characters in pictures, offline.")
    parser.add_argument("--version", action=_VersionAction, help="print the installed version and exit")
    _add_global_options(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        module.add_parser(subparsers)
    _share_global_options(parser)
    return parser


class _VersionAction(argparse.Action):
    """`--version`: the installed package's version, read only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"waifu-bot {installed_version()}")
        parser.exit()


def installed_version() -> str:
    """The version pip installed (pyproject.toml's), or 'unknown' when run from a tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("waifu-bot")
    except PackageNotFoundError:
        return "unknown"


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--db", dest="database_url", metavar="URL", default=default, help="database URL (env WAIFU_DATABASE_URL)"
    )
    parser.add_argument(
        "--tagger",
        metavar="NAME",
        default=default,
        help="palette, a hub model (`models list`) or a WD folder (env WAIFU_TAGGER)",
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", default=default, help="data directory (env WAIFU_DATA_DIR)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        default=default,
        help="inference worker processes, 0 for in-process (env WAIFU_POOL__WORKERS; default one per core)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=default or False, help="log details to stderr")


def _share_global_options(parser: argparse.ArgumentParser) -> None:
    """Let every (sub)command take the global options too; SUPPRESS keeps the top-level value when absent."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                _add_global_options(command, default=argparse.SUPPRESS)
                _share_global_options(command)


def _command_modules() -> list[object]:
    modules = []
    for info in sorted(pkgutil.iter_modules(bot.cli.__path__), key=lambda item: item.name):
        if info.name in {"main", "common"}:
            continue
        module = importlib.import_module(f"bot.cli.{info.name}")
        if hasattr(module, "add_parser"):
            modules.append(module)
    return modules


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the global options that were given."""
    from bot.config import PoolSettings, Settings

    overrides: dict[str, object] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.tagger:
        overrides["tagger"] = args.tagger
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    settings = Settings(**overrides)
    if args.workers is not None:
        pool = PoolSettings.model_validate({**settings.pool.model_dump(), "workers": args.workers})
        settings = settings.model_copy(update={"pool": pool})
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 2 bad input, 1 unexpected failure, 141 reader gone)."""
    try:
        return _run(argv)
    except BrokenPipeError:
        # `waifu-bot characters | head`: the reader has all it wanted. Point stdout at nothing so the
        # interpreter's final flush cannot raise again, and say nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _setting_problem(item: Mapping[str, Any]) -> str:
    """One invalid setting as an operator reads it: where, and pydantic's message without its "Value error," prefix."""
    where = ".".join(map(str, item["loc"]))
    cause = (item.get("ctx") or {}).get("error")
    message = str(cause) if isinstance(cause, ValueError) else str(item["msg"])
    return f"{where}: {message}"


_UNWRITABLE = {
    errno.EACCES: "make it writable for this user",
    errno.EPERM: "make it writable for this user",
    errno.EROFS: "the file system is mounted read-only",
    errno.ENOSPC: "the disk is full; free some space and retry",
    errno.EDQUOT: "the disk quota is used up; free some space and retry",
}
"""File-system failures an operator fixes (permissions, a read-only mount, a full disk), with what to do."""


def unwritable(error: OSError) -> str | None:
    """One line naming the file a command could not write and what to do, or None for other OS errors."""
    advice = _UNWRITABLE.get(error.errno or 0)
    if advice is None or not error.filename:
        return None
    return f"cannot write {error.filename} ({error.strerror or error}); {advice}."


def _run(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except _UsageExit as error:
        print(str(error), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_request:  # --help and --version print and stop
        return int(exit_request.code or 0)
    import asyncio  # imported once a command runs: not for --help
    import inspect

    import pydantic

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = settings_from_args(args)
        outcome = args.handler(args, settings)
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(outcome)
        return int(outcome or EXIT_OK)
    except UserFacingError as error:
        print(f"waifu-bot: {error.user_message}", file=sys.stderr)
        log.debug("user-facing error", exc_info=True)
        return EXIT_USAGE
    except pydantic.ValidationError as error:
        problems = "; ".join(_setting_problem(item) for item in error.errors())
        print(f"waifu-bot: invalid setting: {problems}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("waifu-bot: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as error:
        if isinstance(error, OSError) and (message := unwritable(error)) is not None:
            print(f"waifu-bot: {message}", file=sys.stderr)
            log.debug("file system failure", exc_info=True)
            return EXIT_USAGE
        log.debug("unexpected failure", exc_info=True)
        print(
            f"waifu-bot: unexpected error: {type(error).__name__}: {error} (run with -v for details)", file=sys.stderr
        )
        if args.verbose:
            log.exception("unexpected failure")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
