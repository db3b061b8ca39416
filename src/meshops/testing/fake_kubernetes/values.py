"""Helpers for JSON values (the decoded bodies of Kubernetes objects).

Objects in the fake's store are never mutated once stored: every write builds a new
object. Copies are made with :func:`copy_json`, which knows that a JSON tree holds only
dicts, lists, strings, numbers, booleans and None, and is several times faster than
:func:`copy.deepcopy`.
"""

from __future__ import annotations

import json
from typing import Any, cast

__all__ = [
    "JSON",
    "MISSING",
    "as_dict",
    "as_list",
    "copy_json",
    "dump_json",
    "format_value",
    "json_equal",
]

#: A decoded JSON value; Kubernetes objects are ``dict[str, JSON]``.
JSON = Any


class _Missing:
    """The type of :data:`MISSING`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: Marks an absent value where None is a legitimate JSON value (``null``).
MISSING: Any = _Missing()


def as_dict(value: Any) -> dict[str, Any] | None:
    """``value`` typed as a JSON object, or None when it is not one."""
    if isinstance(value, dict):
        mapping = cast(dict[str, Any], value)
        return mapping
    return None


def as_list(value: Any) -> list[Any] | None:
    """``value`` typed as a JSON array, or None when it is not one."""
    if isinstance(value, list):
        items = cast(list[Any], value)
        return items
    return None


def copy_json(value: JSON) -> JSON:
    """A deep copy of a JSON value (dicts and lists are copied, scalars shared)."""
    if type(value) is dict:
        return {k: copy_json(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if type(value) is list:
        return [copy_json(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def json_equal(a: JSON, b: JSON) -> bool:
    """JSON equality: like ``==`` but ``true`` is not ``1`` and ``1.5`` is not ``"1.5"``."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if type(a) is dict:
        if type(b) is not dict or len(a) != len(b):  # pyright: ignore[reportUnknownArgumentType]
            return False
        return all(k in b and json_equal(v, b[k]) for k, v in a.items())  # pyright: ignore[reportUnknownVariableType]
    if type(a) is list:
        if type(b) is not list or len(a) != len(b):  # pyright: ignore[reportUnknownArgumentType]
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return a == b


def dump_json(value: JSON) -> bytes:
    """Compact UTF-8 JSON, as the API server sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def format_value(value: JSON) -> str:
    """A value the way Kubernetes quotes it in field errors (``"x"``, ``5``, ``true``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
