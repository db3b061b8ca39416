"""Exceptions the library raises, and field-naming errors for what it reads.

:class:`IstioIngressRouteError` and :class:`UnauthorizedError` are raised to the charm
using the library (for its own mistakes, never for what a remote app wrote).
:class:`FieldError` and the quoting helpers build the messages of the problems
reported about a remote app's data.
"""

from __future__ import annotations

from meshops.interfaces._fields import FieldError, as_field_error, clip, join_field, quote

__all__ = [
    "FieldError",
    "IstioIngressRouteError",
    "UnauthorizedError",
    "as_field_error",
    "clip",
    "join_field",
    "quote",
]


class IstioIngressRouteError(RuntimeError):
    """Base class of the errors this library raises."""


class UnauthorizedError(IstioIngressRouteError):
    """Only the leader unit may do this (e.g. submit the requirer's config)."""
