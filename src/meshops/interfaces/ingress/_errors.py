"""The library's exceptions, and bounded quoting of values for problems and logs."""

from __future__ import annotations

import reprlib

_QUOTE_MAX = 120
_MESSAGE_MAX = 300

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 40
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4


def quote(value: object) -> str:
    """A short ``repr`` of ``value``, bounded in length and cost whatever its size.

    Example:
        >>> quote("x" * 100)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'"
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


class IngressError(RuntimeError):
    """Base class of the errors this library raises."""


class NotReadyError(IngressError):
    """The relation cannot be read yet: Juju does not know the remote application."""


class DataValidationError(IngressError):
    """Data that must be valid is not.

    Raised by :meth:`IngressPerAppProvider.get_data` when the requirer's data is unusable
    (the message lists the problems), and by :class:`IngressPerAppRequirer` when the
    charm asks to publish invalid requirements (the message quotes the bad value).
    """
