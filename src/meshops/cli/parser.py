"""The argument parser every ``meshops`` command uses: usage errors in one line, with a guess.

argparse prints a usage error as the usage and then the message, and names a wrong
subcommand or choice without saying which one was meant. :class:`Parser` prints one
line (``meshops: error: ...; did you mean 'validate'? (usage: ...)``), exits 2, and
adds "did you mean" for a misspelt subcommand, choice (``--output jsn``) or option
(``--metod``), by the project's one rule (:func:`meshops.model.problems.closest`).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from meshops.model.problems import did_you_mean

__all__ = ["Parser", "UsageError"]

_CHOICE = re.compile(r"invalid choice: '(?P<value>[^']*)' \(choose from (?P<choices>.*)\)$")
_UNKNOWN = re.compile(r"unrecognized arguments: (?P<args>.*)$")


class UsageError(Exception):
    """A wrong command line; the message is the whole line to print.

    Attributes:
        prog: the command whose line it is (``meshops check``).
    """

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one line with a guess.

    Subparsers made from it are of the same class (argparse's default). ``error`` raises
    :class:`UsageError`, which :func:`meshops.cli.main` prints (as text, or as JSON with
    ``--output json``) and turns into exit status 2.
    """

    #: Every option string of the whole command line, for "did you mean" on unknown ones.
    known_options: set[str]

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.known_options = set()  # before argparse's __init__ adds --help
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def add_argument(self, *args: object, **kwargs: object) -> argparse.Action:  # type: ignore[override]
        """Add an argument, remembering its option strings."""
        action = super().add_argument(*args, **kwargs)  # type: ignore[arg-type]
        self.known_options.update(action.option_strings)
        return action

    def error(self, message: str) -> NoReturn:
        """Raise (or print) the one-line usage error for ``message``."""
        line = f"{self.prog}: error: {self.explain(message)}"
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        raise UsageError(self.prog, f"{line} (usage: {usage})")

    def explain(self, message: str) -> str:
        """``message`` with the subcommand, choice or option most likely meant."""
        choice = _CHOICE.search(message)
        if choice is not None:
            choices = re.findall(r"'([^']*)'", choice["choices"])
            hint = did_you_mean(choice["value"], choices)
            return message[: choice.start()] + (
                f"invalid choice: {choice['value']!r}{hint} (choose from {choice['choices']})"
            )
        unknown = _UNKNOWN.search(message)
        if unknown is not None:
            hints = [
                did_you_mean(arg.split("=", 1)[0], sorted(self.known_options))
                for arg in unknown["args"].split()
                if arg.startswith("--")
            ]
            return message + "".join(h for h in hints if h)
        return message

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Exit as argparse does (``--help``, ``--version``)."""
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)
