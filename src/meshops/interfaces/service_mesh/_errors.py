"""Field-naming errors and bounded quoting of values (see :mod:`meshops.interfaces._fields`)."""

from meshops.interfaces._fields import FieldError, as_field_error, clip, join_field, quote

__all__ = ["FieldError", "as_field_error", "clip", "join_field", "quote"]
