"""What is wrong with a platform file, and where.

Every error names the file, the line and column (1-based, as editors count them), the
place inside the document (``spec.apps[2].accepts[0].ports[1]``) and the rule that was
broken, quoting the bad value::

    shop.yaml:31:17: spec.apps[2].accepts[0].ports[1]: port 70000 must be an integer 1-65535

A file is checked as a whole: :class:`PlatformFileError` carries every error found.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import TypeAlias

__all__ = [
    "FileTooLargeError",
    "PathSegment",
    "PlatformFileError",
    "SpecError",
    "format_path",
    "quote",
]

#: One step into a document: a mapping key or a list index.
PathSegment: TypeAlias = str | int

_QUOTE_LIMIT = 60
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def quote(value: object) -> str:
    """``repr(value)``, shortened in the middle when long (errors quote user input).

    Example:
        >>> quote("x" * 100)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxx' (102 characters)"
    """
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python will print
        return "a number too large to print"
    if len(text) <= _QUOTE_LIMIT:
        return text
    half = (_QUOTE_LIMIT - 3) // 2
    return f"{text[:half]}...{text[-half:]} ({len(text)} characters)"


def format_path(path: Iterable[PathSegment]) -> str:
    """A document path as it is written in errors.

    Example:
        >>> format_path(("spec", "apps", 2, "accepts", 0, "ports", 1))
        'spec.apps[2].accepts[0].ports[1]'
        >>> format_path(("spec", "odd key"))
        "spec['odd key']"
    """
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif not _PLAIN_KEY.fullmatch(segment):
            text += f"[{quote(segment)}]"
        else:
            text += f".{segment}" if text else segment
    return text


@dataclasses.dataclass(frozen=True, order=True)
class SpecError:
    """One thing wrong with a platform file.

    Errors sort by file, line and column, so that a list of them reads top to bottom.

    Attributes:
        file: the file's name as the user gave it.
        line: the line (1-based), or 0 when the error is not at a place in the file.
        column: the column (1-based), or 0 with ``line``.
        path: the place inside the document (``spec.apps[0].name``), or "".
        message: the rule that was broken, quoting the bad value.
    """

    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return ": ".join(part for part in (where, self.path, self.message) if part)


class PlatformFileError(Exception):
    """A platform file could not be used; :attr:`errors` says every reason, in order.

    Attributes:
        errors: the errors, sorted by position.
    """

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors = tuple(sorted(set(errors)))
        super().__init__("\n".join(str(e) for e in self.errors))


class FileTooLargeError(PlatformFileError):
    """The file is larger than the most that is read; it was not parsed.

    Attributes:
        limit: that most, in bytes.
    """

    def __init__(self, file: str, limit: int) -> None:
        shown = f"{limit / 1_000_000:g} MB" if limit >= 100_000 else f"{limit} bytes"
        message = f"the file is larger than {shown}, the most that is read; refused unread"
        super().__init__([SpecError(file, message=message)])
        self.limit = limit
