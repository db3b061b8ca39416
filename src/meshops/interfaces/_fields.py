"""What every interface reader uses to report a remote app's bad data.

Bounded quoting of values (whatever a remote app wrote, a problem's message stays short
and cheap to build), clipping of long messages, and :class:`FieldError`: a
``ValueError`` naming the path of the field it is about.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["FieldError", "as_field_error", "clip", "join_field", "json_type", "quote"]

_MESSAGE_MAX = 300
_QUOTE_MAX = 120

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4


def quote(value: object) -> str:
    """A short ``repr`` of ``value``, bounded in length and cost whatever its size.

    Example:
        >>> len(quote("x" * 10_000))
        60
    """
    try:
        text = _repr.repr(value)
    except RecursionError:  # pragma: no cover - reprlib stops at maxlevel first
        return f"<{type(value).__name__}>"
    return text if len(text) <= _QUOTE_MAX else f"{text[: _QUOTE_MAX - 3]}..."


def clip(message: str) -> str:
    """``message``, its middle cut out if it is too long for a status line or a log."""
    if len(message) <= _MESSAGE_MAX:
        return message
    return f"{message[: _MESSAGE_MAX - 80]} ... {message[-60:]}"


def json_type(value: Any) -> str:
    """What JSON calls ``value``'s type, and the value.

    Example:
        >>> json_type([1, 2]), json_type(None)
        ('an array [1, 2]', 'null')
    """
    shown = quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, (int, float)):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    else:
        kind = "an object"
    return f"{kind} {shown}"


class FieldError(ValueError):
    """A :class:`ValueError` about one field, named by its path.

    Attributes:
        field: the path of the field, relative to where it was raised
            (e.g. ``"listener.protocol"``; ``""`` for the object itself).
        detail: what is wrong with it, quoting the value.
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail


def as_field_error(error: ValueError) -> FieldError:
    """``error`` as a :class:`FieldError`.

    :mod:`meshops.model` raises plain ``ValueError("<field>: <detail>")``; a field path
    holds no ``": "`` and no space, so the first ``": "`` separates the two.

    Example:
        >>> as_field_error(ValueError("path.value: '/a b' is not valid")).field
        'path.value'
    """
    if isinstance(error, FieldError):
        return error
    message = str(error)
    field, sep, detail = message.partition(": ")
    if not sep or " " in field:
        return FieldError("", message)
    return FieldError(field, detail)


def join_field(prefix: str, field: str) -> str:
    """``prefix`` and the relative path ``field``, joined by '.' unless ``field`` is an index.

    Example:
        >>> join_field("config.http_routes[0]", "hostnames[1]")
        'config.http_routes[0].hostnames[1]'
        >>> join_field("config.listeners", "[2]")
        'config.listeners[2]'
    """
    if not field:
        return prefix
    if not prefix:
        return field
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"
