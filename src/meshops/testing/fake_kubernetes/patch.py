"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

The patched document is always a private copy of the stored object, so these functions
mutate it in place (and return the result, which differs from the input only when the
whole document is replaced).

Strategic merge patch follows the API server's for the built-in kinds the fake serves
(see :data:`SHAPES` for their merge keys; a list the table does not name is replaced).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, cast

from meshops.testing.fake_kubernetes.values import (
    MISSING,
    as_dict,
    as_list,
    copy_json,
    json_equal,
)

__all__ = [
    "SHAPES",
    "Merge",
    "PatchError",
    "StrategicPatchError",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]


class PatchError(ValueError):
    """A JSON patch that cannot be applied to the document (bad path, failed test, ...)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge, ``null`` deletes, the rest replaces."""
    if type(patch) is not dict:
        return patch
    changes = cast(dict[str, Any], patch)
    result = cast(dict[str, Any], target) if type(target) is dict else {}
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- strategic merge patch ---------------------------------------------------------------
#
# No maintained Python library implements Kubernetes' strategic merge patch (it lives in
# k8s.io/apimachinery/pkg/util/strategicpatch, in Go), so this is a port of the part the
# fake's built-in kinds need: maps merge, ``null`` deletes, lists with a patch merge key
# merge item by item (the patch's items first, then the others as they were), lists of
# primitives with the merge strategy merge as sets, other lists are replaced; and the
# directives ``$patch`` (replace, delete; in maps and in keyed lists), ``$retainKeys``,
# ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``. The patch
# strategies and merge keys are those of the Go types' struct tags.


@dataclasses.dataclass(frozen=True)
class Merge:
    """A list merged by a strategic merge patch.

    Attributes:
        key: the patch merge key of its items; None for a list of primitives.
        item: the shape of its items (for the lists and maps inside them).
    """

    key: str | None
    item: Mapping[str, Any] = dataclasses.field(default_factory=dict[str, Any])


#: A shape: field name -> :class:`Merge` (a list that merges) or a nested shape (a map).
Shape = Mapping[str, Any]

_META: Shape = {"finalizers": Merge(None), "ownerReferences": Merge("uid")}
_CONTAINER: Shape = {
    "ports": Merge("containerPort"),
    "env": Merge("name"),
    "volumeMounts": Merge("mountPath"),
    "volumeDevices": Merge("devicePath"),
}
_POD_SPEC: Shape = {
    "containers": Merge("name", _CONTAINER),
    "initContainers": Merge("name", _CONTAINER),
    "ephemeralContainers": Merge("name", _CONTAINER),
    "volumes": Merge("name"),
    "imagePullSecrets": Merge("name"),
    "hostAliases": Merge("ip"),
}
_TEMPLATE: Shape = {"metadata": _META, "spec": _POD_SPEC}
_WORKLOAD: Shape = {"metadata": _META, "spec": {"template": _TEMPLATE}}

#: The strategic-merge shapes of the built-in kinds, by kind (metadata only otherwise).
SHAPES: Mapping[str, Shape] = {
    "Pod": {"metadata": _META, "spec": _POD_SPEC},
    "Deployment": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "Service": {"metadata": _META, "spec": {"ports": Merge("port")}},
}

_PATCH = "$patch"
_RETAIN = "$retainKeys"
_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_DELETED = object()


class StrategicPatchError(ValueError):
    """A strategic merge patch the API server refuses; ``code`` is its answer (400/500)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _go_map(mapping: Mapping[str, Any]) -> str:
    """A map as Go's ``%v`` prints it (``map[$patch:bogus]``)."""
    return "map[" + " ".join(f"{k}:{_go_value(mapping[k])}" for k in sorted(mapping)) + "]"


def _go_value(value: Any) -> str:
    if type(value) is dict:
        return _go_map(cast(dict[str, Any], value))
    if type(value) is list:
        return "[" + " ".join(_go_value(v) for v in cast(list[Any], value)) + "]"
    return "<nil>" if value is None else str(value)


def strategic_merge_patch(target: Any, patch: Any, shape: Shape | None = None) -> Any:
    """Apply a strategic merge patch to ``target`` (a built-in kind of ``shape``).

    Raises:
        StrategicPatchError: a directive or merge key the API server refuses.
    """
    if type(patch) is not dict:
        return patch
    original = cast(dict[str, Any], target) if type(target) is dict else {}
    merged = _merge_map(original, cast(dict[str, Any], patch), shape or {"metadata": _META})
    return {} if merged is _DELETED else merged


def _merge_map(original: dict[str, Any], patch: dict[str, Any], shape: Shape) -> Any:
    directive = patch.get(_PATCH)
    if directive is not None:
        if directive == "replace":
            return _strip({k: v for k, v in patch.items() if k != _PATCH})
        if directive == "delete":
            return _DELETED
        raise StrategicPatchError(500, f"unknown patch type: {directive} in map: {_go_map(patch)}")
    retain = patch.get(_RETAIN, MISSING)
    if retain is not MISSING:
        keys = [k for k in patch if not k.startswith("$")]
        if type(retain) is not list or any(k not in retain for k in keys):
            raise StrategicPatchError(400, "invalid patch format of retainKeys")
    result = dict(original)
    orders: dict[str, list[Any]] = {}
    removals: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(_ORDER):
            orders[key[len(_ORDER) :]] = cast(list[Any], value) if type(value) is list else []
            continue
        if key.startswith(_DELETE_FROM):
            field = key[len(_DELETE_FROM) :]
            removals[field] = cast(list[Any], value) if type(value) is list else []
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        field = shape.get(key)
        current = result.get(key)
        patched = as_list(value)
        mapping = as_dict(value)
        if isinstance(field, Merge) and patched is not None:
            before = as_list(current) or []
            result[key] = _merge_list(before, patched, field, orders.get(key))
        elif mapping is not None:
            sub: Shape = cast(Shape, field) if isinstance(field, Mapping) else {}
            merged = _merge_map(as_dict(current) or {}, mapping, sub)
            if merged is _DELETED:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy_json(value)
    for key, order in orders.items():
        field = shape.get(key)
        present = as_list(result.get(key))
        if key not in patch and isinstance(field, Merge) and present is not None:
            result[key] = _ordered(present, field, order)
    for key, values in removals.items():
        present = as_list(result.get(key))
        if present is not None:
            result[key] = [v for v in present if v not in values]
    kept = as_list(retain)
    if kept is not None:
        result = {k: v for k, v in result.items() if k in kept}
    return result


def _strip(value: Any) -> Any:
    """A replacing value: directives and nulls taken out, as the server stores it."""
    if type(value) is dict:
        mapping = cast(dict[str, Any], value)
        return {
            k: _strip(v) for k, v in mapping.items() if v is not None and not k.startswith("$")
        }
    if type(value) is list:
        return [_strip(v) for v in cast(list[Any], value)]
    return copy_json(value)


def _merge_list(
    original: list[Any], patch: list[Any], field: Merge, order: list[Any] | None
) -> list[Any]:
    if field.key is None:  # primitives: a set, the patch's first
        merged = [copy_json(v) for i, v in enumerate(patch) if v not in patch[:i]]
        return merged + [v for v in original if v not in merged]
    key = field.key

    def replaces(item: Any) -> bool:
        return (as_dict(item) or {}).get(_PATCH) == "replace"

    if any(replaces(item) for item in patch):
        return [_strip(item) for item in patch if not replaces(item)]
    by_key: dict[str, dict[str, Any]] = {}
    for element in original:
        mapping = as_dict(element)
        if mapping is not None and key in mapping:
            by_key[json.dumps(mapping[key], sort_keys=True)] = mapping
    mentioned: set[str] = set()
    merged: list[Any] = []
    for raw in patch:
        item = as_dict(raw)
        if item is None:
            merged.append(copy_json(raw))
            continue
        if key not in item:
            raise StrategicPatchError(
                500, f"map: {_go_map(item)} does not contain declared merge key: {key}"
            )
        ident = json.dumps(item[key], sort_keys=True)
        mentioned.add(ident)
        if item.get(_PATCH) == "delete":
            continue
        result = _merge_map(dict(by_key.get(ident, {})), item, field.item)
        if result is not _DELETED:
            merged.append(result)
    for element in original:
        mapping = as_dict(element)
        ident = json.dumps(mapping.get(key), sort_keys=True) if mapping is not None else None
        if ident is None or ident not in mentioned:
            merged.append(element)
    return _ordered(merged, field, order) if order is not None else merged


def _ordered(items: list[Any], field: Merge, order: list[Any]) -> list[Any]:
    """``$setElementOrder``: the listed items in its order, then the others as they were."""
    if field.key is None:
        rank = {json.dumps(v, sort_keys=True): i for i, v in enumerate(order)}
        ident = [json.dumps(v, sort_keys=True) for v in items]
    else:
        key = field.key
        rank: dict[str, int] = {}
        for i, v in enumerate(order):
            wanted = as_dict(v)
            if wanted is not None:
                rank[json.dumps(wanted.get(key), sort_keys=True)] = i
        ident = [json.dumps((as_dict(v) or {}).get(key), sort_keys=True) for v in items]
    positions = sorted(range(len(items)), key=lambda i: (rank.get(ident[i], len(rank) + i), i))
    return [items[i] for i in positions]


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    if not path:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, for_add: bool) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise PatchError(f"array index {index} out of bounds (length {len(container)})")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    current: Any = doc
    for token in tokens:
        if type(current) is dict:
            mapping = cast(dict[str, Any], current)
            if token not in mapping:
                raise PatchError(f"path /{'/'.join(tokens)} does not exist: no key {token!r}")
            current = mapping[token]
        elif type(current) is list:
            items = cast(list[Any], current)
            current = items[_index(items, token, for_add=False)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return current


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent: Any = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if type(parent) is dict:
        mapping = cast(dict[str, Any], parent)
        mapping[last] = value
    elif type(parent) is list:
        items = cast(list[Any], parent)
        items.insert(_index(items, last, for_add=True), value)
    else:
        raise PatchError(f"cannot add at /{'/'.join(tokens)}: parent is not an object or array")
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent: Any = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if type(parent) is dict:
        mapping = cast(dict[str, Any], parent)
        if last not in mapping:
            raise PatchError(f"cannot remove /{'/'.join(tokens)}: no such key")
        return doc, mapping.pop(last)
    if type(parent) is list:
        items = cast(list[Any], parent)
        return doc, items.pop(_index(items, last, for_add=False))
    raise PatchError(f"cannot remove /{'/'.join(tokens)}: parent is not an object or array")


def json_patch(doc: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch (add, remove, replace, move, copy, test).

    Raises:
        PatchError: an operation is malformed, addresses a missing path, or a ``test`` fails.
    """
    if not isinstance(operations, list):
        raise PatchError(
            f"a JSON patch must be a list of operations, not {type(operations).__name__}"
        )
    for number, op in enumerate(operations):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if not isinstance(op, Mapping):
            raise PatchError(f"operation {number} is not an object: {op!r}")
        kind = op.get("op")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        tokens = _pointer(op.get("path"))  # pyright: ignore[reportUnknownMemberType]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {number} ({kind}) has no value")
        if kind == "add":
            doc = _add(doc, tokens, copy_json(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, tokens)
        elif kind == "replace":
            doc, _ = _remove(doc, tokens) if tokens else (doc, None)
            doc = _add(doc, tokens, copy_json(op["value"]))
        elif kind == "move":
            source = _pointer(op.get("from"))  # pyright: ignore[reportUnknownMemberType]
            doc, value = _remove(doc, source)
            doc = _add(doc, tokens, value)
        elif kind == "copy":
            value = copy_json(_resolve(doc, _pointer(op.get("from"))))  # pyright: ignore[reportUnknownMemberType]
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if not json_equal(_resolve(doc, tokens), op["value"]):
                raise PatchError(
                    f"test operation {number} failed: /{'/'.join(tokens)} is not {op['value']!r}"
                )
        else:
            raise PatchError(f"operation {number} has unsupported op {kind!r}")
    return doc
