"""Field-naming errors and bounded quoting of values, shared by the models and readers."""

from __future__ import annotations

import reprlib

_MESSAGE_MAX = 300
_QUOTE_MAX = 120

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4


def quote(value: object) -> str:
    """A short ``repr`` of ``value``, bounded in length and cost whatever its size."""
    try:
        text = _repr.repr(value)
    except RecursionError:  # pragma: no cover - reprlib stops at maxlevel first
        return f"<{type(value).__name__}>"
    return text if len(text) <= _QUOTE_MAX else f"{text[: _QUOTE_MAX - 3]}..."


def clip(message: str) -> str:
    """``message``, its middle cut out if it is too long to show in a status or a log."""
    if len(message) <= _MESSAGE_MAX:
        return message
    return f"{message[: _MESSAGE_MAX - 80]} ... {message[-60:]}"


class FieldError(ValueError):
    """A :class:`ValueError` about one field, named by its path.

    Attributes:
        field: the path of the field, e.g. ``"endpoints[0].ports[1]"`` ("" if none).
        detail: what is wrong with it, quoting the value.
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.detail = detail


def as_field_error(error: ValueError) -> FieldError:
    """``error`` as a :class:`FieldError`.

    :mod:`meshops.model` raises plain ``ValueError("<field>: <detail>")``; field paths
    never contain ``": "``, so the first one separates the two.
    """
    if isinstance(error, FieldError):
        return error
    message = str(error)
    field, sep, detail = message.partition(": ")
    if not sep or " " in field:
        return FieldError("", message)
    return FieldError(field, detail)


def join_field(prefix: str, field: str) -> str:
    """``prefix`` and the relative path ``field``, joined by '.' unless ``field`` is an index."""
    if not field:
        return prefix
    if not prefix:
        return field
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"
