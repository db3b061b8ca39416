"""Typed reads of the parts of Kubernetes objects (plain dicts) that meshops looks at.

Objects come back from the API server as JSON; these accessors tolerate a missing or
null ``metadata``, ``labels`` or ``annotations`` and always return the declared type.
"""

from collections.abc import Mapping
from typing import Any, cast

__all__ = [
    "annotations",
    "condition_true",
    "conditions",
    "labels",
    "managed_fields",
    "metadata",
    "name",
    "namespace",
]


def metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj["metadata"]``, or an empty dict."""
    meta = obj.get("metadata")
    return cast("dict[str, Any]", meta) if isinstance(meta, dict) else {}


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    items = cast("dict[Any, Any]", value).items()
    return {str(k): str(v) for k, v in items}


def labels(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's labels (a copy)."""
    return _strings(metadata(obj).get("labels"))


def annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's annotations (a copy)."""
    return _strings(metadata(obj).get("annotations"))


def name(obj: Mapping[str, Any]) -> str:
    """The object's name ("" when missing)."""
    return str(metadata(obj).get("name") or "")


def namespace(obj: Mapping[str, Any]) -> str:
    """The object's namespace ("" when cluster-scoped or missing)."""
    return str(metadata(obj).get("namespace") or "")


def managed_fields(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The object's ``metadata.managedFields`` entries."""
    entries = metadata(obj).get("managedFields")
    if not isinstance(entries, list):
        return []
    return [cast("dict[str, Any]", e) for e in cast("list[Any]", entries) if isinstance(e, dict)]


def conditions(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The object's ``status.conditions``."""
    status = obj.get("status")
    if not isinstance(status, dict):
        return []
    found = cast("dict[str, Any]", status).get("conditions")
    if not isinstance(found, list):
        return []
    return [cast("dict[str, Any]", c) for c in cast("list[Any]", found) if isinstance(c, dict)]


def condition_true(obj: Mapping[str, Any], kind: str) -> bool:
    """Whether the object's status has condition ``kind`` with status "True"."""
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions(obj))
