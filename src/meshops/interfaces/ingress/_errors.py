"""The library's exceptions, and bounded quoting of values for problems and logs."""

from __future__ import annotations

from meshops.interfaces._fields import clip, quote

__all__ = ["DataValidationError", "IngressError", "NotReadyError", "clip", "quote"]


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
