"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the fake's strategic merge.

The patched document is always a private copy of the stored object, so these functions
mutate it in place (and return the result, which differs from the input only when the
whole document is replaced).

Strategic merge patch is applied as a merge patch: lists are replaced, not merged by
their patch merge key, and the ``$patch``/``$retainKeys``/``$setElementOrder``/
``$deleteFromPrimitiveList`` directives are not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from meshops.testing.fake_kubernetes.errors import NotSupportedError
from meshops.testing.fake_kubernetes.values import copy_json, json_equal

__all__ = ["PatchError", "json_patch", "merge_patch", "strategic_merge_patch"]


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


_DIRECTIVES = ("$patch", "$retainKeys", "$setElementOrder/", "$deleteFromPrimitiveList/")


def _check_directives(patch: Any, path: str) -> None:
    if type(patch) is dict:
        mapping = cast(dict[str, Any], patch)
        for key, value in mapping.items():
            if key.startswith(_DIRECTIVES):
                raise NotSupportedError(
                    f"strategic merge patch directive {key!r} at {path or '<root>'} is not "
                    "supported by the fake; use a merge patch, a JSON patch or server-side apply"
                )
            _check_directives(value, f"{path}.{key}" if path else key)
    elif type(patch) is list:
        items = cast(list[Any], patch)
        for i, item in enumerate(items):
            _check_directives(item, f"{path}[{i}]")


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch the fake's way: as a merge patch (lists replaced).

    Raises:
        NotSupportedError: the patch uses a strategic-merge directive.
    """
    _check_directives(patch, "")
    return merge_patch(target, patch)


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
