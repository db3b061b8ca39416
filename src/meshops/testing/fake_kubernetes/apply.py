"""Field ownership and server-side apply, after Kubernetes' structured-merge-diff.

Every stored object carries, per field manager and operation, the set of fields that
manager owns (``metadata.managedFields``, encoded as ``FieldsV1``). A field is a path of
elements written the way ``FieldsV1`` writes them:

* ``f:<name>`` — a property of an object, or a key of a map (labels are owned one by one);
* ``k:{"name":"http"}`` — an item of a ``x-kubernetes-list-type: map`` list, by its keys;
* ``v:"GET"`` — an item of a ``x-kubernetes-list-type: set`` list, by value.

Leaves are scalars, atomic lists (no list type, or ``atomic``), atomic maps
(``x-kubernetes-map-type: atomic``) and empty maps/lists; map-list and set items are
owned as items too. Where no schema is known (built-in kinds, preserved unknown fields)
maps are granular and lists atomic.

:func:`apply` implements an Apply: conflicts are fields another manager owns whose value
the applied configuration changes (409 unless forced, which moves them to the applier);
equal values become shared ownership; fields the applier owned before and no longer
applies are removed unless another manager owns them. :func:`record_update` implements
the bookkeeping of every other write: the writer takes the fields it changed from
everyone else.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from meshops.testing.fake_kubernetes.errors import ErrorType, FieldError
from meshops.testing.fake_kubernetes.meta import SERVER_MANAGED
from meshops.testing.fake_kubernetes.schema import Node
from meshops.testing.fake_kubernetes.values import MISSING, as_dict, as_list, json_equal

__all__ = [
    "ApplyConfigError",
    "ApplyConflictError",
    "FieldPath",
    "ManagedEntry",
    "apply",
    "decode_fields",
    "encode_fields",
    "object_fields",
    "record_update",
    "typed_errors",
]

#: A field: a tuple of FieldsV1 path elements, e.g. ``("f:spec", "f:port")``.
FieldPath = tuple[str, ...]

_UNTRACKED_META = SERVER_MANAGED | {"name", "namespace"}


@dataclasses.dataclass(frozen=True)
class ManagedEntry:
    """One ``metadata.managedFields`` entry.

    Attributes:
        manager: the field manager (the ``fieldManager`` of the writes).
        operation: ``Apply`` or ``Update``.
        api_version: the apiVersion the writes used.
        time: when the set of fields last changed (RFC 3339).
        fields: the fields owned.
        subresource: ``status`` for writes to the status subresource, else empty.
    """

    manager: str
    operation: str
    api_version: str
    time: str
    fields: frozenset[FieldPath]
    subresource: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the entry: manager, operation and subresource."""
        return (self.manager, self.operation, self.subresource)

    def to_json(self) -> dict[str, Any]:
        """The entry as it appears in ``metadata.managedFields``."""
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode_fields(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


class ApplyConfigError(ValueError):
    """An applied configuration that cannot be merged (duplicate list items).

    The API server finds these while it turns the configuration into a typed object
    (structured-merge-diff), before any validation: it answers 500 "failed to create
    typed patch object" with :meth:`typed_message`.

    Attributes:
        errors: one field error per duplicate.
    """

    def __init__(self, errors: list[FieldError], typed: list[str] | None = None) -> None:
        self.errors = errors
        self.typed = typed or [str(e) for e in errors]
        super().__init__("; ".join(map(str, errors)))

    def typed_message(self) -> str:
        """structured-merge-diff's wording: ``.spec.x: duplicate entries for key [name="a"]``."""
        return typed_errors(self.typed)


def typed_errors(messages: Sequence[str]) -> str:
    """Several structured-merge-diff errors, joined as it joins them."""
    if len(messages) == 1:
        return messages[0]
    return "\n".join(["errors:", *("  " + m for m in messages)])


class ApplyConflictError(Exception):
    """An apply would change fields other managers own.

    Attributes:
        conflicts: ``(field, owner)`` pairs.
    """

    def __init__(self, conflicts: Sequence[tuple[FieldPath, ManagedEntry]]) -> None:
        self.conflicts = list(conflicts)
        super().__init__(self.message())

    def message(self) -> str:
        """Worded like the API server's: ``Apply failed with 1 conflict: ...``."""
        by_owner: dict[str, list[str]] = {}
        for path, entry in self.conflicts:
            by_owner.setdefault(_owner(entry), []).append(path_string(path))
        count = len(self.conflicts)
        head = f"Apply failed with {count} conflict{'s' if count > 1 else ''}: "
        if count == 1:
            ((owner, (field,)),) = by_owner.items()
            return f"{head}conflict with {owner}: {field}"
        parts = [
            f"conflicts with {owner}:\n" + "\n".join(f"- {f}" for f in fields)
            for owner, fields in by_owner.items()
        ]
        return head + "\n".join(parts)

    def causes(self) -> list[dict[str, str]]:
        """The ``details.causes`` of the 409 Status."""
        return [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {_owner(entry)}",
                "field": path_string(path),
            }
            for path, entry in self.conflicts
        ]


def _owner(entry: ManagedEntry) -> str:
    if entry.operation == "Update":
        return f'"{entry.manager}" using {entry.api_version}'
    return f'"{entry.manager}"'


def path_string(path: FieldPath) -> str:
    """A field as the API server prints it in conflicts: ``.spec.rules[name="a"].port``."""
    out: list[str] = []
    for element in path:
        tag, body = element[0], element[2:]
        if tag == "f":
            out.append("." + body)
        elif tag == "k":
            keys = json.loads(body)
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        else:
            out.append(f"[={body}]")
    return "".join(out)


# --- fields of a value -------------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def key_element(item: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The ``k:{...}`` element of a map-list item."""
    return "k:" + _compact({k: item[k] for k in keys if k in item})


def value_element(value: Any) -> str:
    """The ``v:...`` element of a set-list item."""
    return "v:" + _compact(value)


def _collect(
    value: Any,
    node: Node | None,
    path: FieldPath,
    leaves: dict[FieldPath, Any],
    items: set[FieldPath],
    duplicates: list[FieldError] | None = None,
    typed: list[str] | None = None,
) -> None:
    if typed is None:
        typed = []
    kind = type(value)  # pyright: ignore[reportUnknownVariableType]
    if kind is dict and (node is None or not node.atomic):
        mapping = cast(dict[str, Any], value)
        if not mapping and path:
            leaves[path] = mapping
            return
        for key, child in mapping.items():
            child_node = node.child(key) if node is not None else None
            _collect(child, child_node, (*path, "f:" + key), leaves, items, duplicates, typed)
        return
    if kind is list and node is not None and node.list_type != "atomic" and value:
        elements = cast(list[Any], value)
        if node.list_type == "set":
            for index, element in enumerate(elements):
                item_path = (*path, value_element(element))
                if item_path in items and duplicates is not None:
                    duplicates.append(_duplicate(path, index, element))
                    typed.append(_typed_duplicate(path, item_path[-1]))
                items.add(item_path)
            return
        if all(type(element) is dict for element in elements):
            for index, element in enumerate(elements):
                item_path = (*path, key_element(element, node.map_keys))
                if item_path in items and duplicates is not None:
                    shown = {k: element[k] for k in node.map_keys if k in element}
                    duplicates.append(_duplicate(path, index, shown))
                    typed.append(_typed_duplicate(path, item_path[-1]))
                items.add(item_path)
                _collect(element, node.items, item_path, leaves, items, duplicates, typed)
            return
    leaves[path] = value


def _duplicate(path: FieldPath, index: int, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, f"{path_string(path)[1:]}[{index}]", value)


def _typed_duplicate(path: FieldPath, item: str) -> str:
    return f"{path_string(path)}: duplicate entries for key {path_string((item,))}"


def object_fields(
    obj: Mapping[str, Any],
    node: Node,
    *,
    status: str,
    duplicates: list[FieldError] | None = None,
    typed: list[str] | None = None,
) -> tuple[dict[FieldPath, Any], set[FieldPath]]:
    """The leaves (with their values) and list items an object sets.

    Args:
        obj: the object (or apply configuration).
        node: the kind's root schema node.
        status: ``"exclude"`` to leave ``.status`` out (main resource of a kind with a
            status subresource), ``"only"`` for the status subresource, ``"include"``
            otherwise.
        duplicates: when given, collects set or map-list items that occur twice.
        typed: when given, collects the same as structured-merge-diff words them.
    """
    leaves: dict[FieldPath, Any] = {}
    items: set[FieldPath] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if (status == "exclude" and key == "status") or (status == "only" and key != "status"):
            continue
        if key == "metadata" and type(value) is dict:
            meta_node = node.child("metadata")
            meta = cast(dict[str, Any], value)
            for meta_key, meta_value in meta.items():
                if meta_key not in _UNTRACKED_META:
                    child = meta_node.child(meta_key) if meta_node is not None else None
                    path = ("f:metadata", "f:" + meta_key)
                    _collect(meta_value, child, path, leaves, items, duplicates, typed)
            continue
        _collect(value, node.child(key), ("f:" + key,), leaves, items, duplicates, typed)
    return leaves, items


# --- FieldsV1 ----------------------------------------------------------------------------


def encode_fields(fields: Iterable[FieldPath]) -> dict[str, Any]:
    """A set of fields as a ``FieldsV1`` object (``{"f:spec": {"f:port": {}}}``)."""
    members = set(fields)
    tree: dict[str, Any] = {}
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def render(prefix: FieldPath, node: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node and prefix in members:
            out["."] = {}
        for element in sorted(node):
            out[element] = render((*prefix, element), node[element])
        return out

    return render((), tree)


def decode_fields(fields_v1: Mapping[str, Any]) -> frozenset[FieldPath]:
    """The set of fields a ``FieldsV1`` object denotes.

    Raises:
        ValueError: not a FieldsV1 object.
    """
    out: set[FieldPath] = set()

    def walk(prefix: FieldPath, node: Mapping[str, Any]) -> None:
        for element, child in node.items():
            if element == ".":
                out.add(prefix)
                continue
            if not isinstance(element, str) or element[:2] not in ("f:", "k:", "v:", "i:"):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"invalid FieldsV1 path element {element!r}")
            if not isinstance(child, Mapping):
                raise ValueError(f"invalid FieldsV1 value under {element!r}: {child!r}")
            if child:
                walk((*prefix, element), child)  # pyright: ignore[reportUnknownArgumentType]
            else:
                out.add((*prefix, element))

    walk((), fields_v1)
    return frozenset(out)


# --- navigating fields -------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _decode_element(body: str) -> Any:
    return json.loads(body)


def _find_item(container: list[Any], element: str) -> int:
    tag, body = element[0], element[2:]
    wanted = _decode_element(body)
    if tag == "k":
        for i, item in enumerate(container):
            if type(item) is dict and all(
                k in item and json_equal(item[k], v) for k, v in wanted.items()
            ):
                return i
    elif tag == "v":
        for i, item in enumerate(container):
            if json_equal(item, wanted):
                return i
    elif tag == "i" and type(wanted) is int and 0 <= wanted < len(container):
        return wanted
    return -1


def value_at(obj: Any, path: FieldPath) -> Any:
    """The value at ``path`` in ``obj`` (``MISSING`` when absent)."""
    current: Any = obj
    for element in path:
        if element[0] == "f":
            if type(current) is not dict:
                return MISSING
            mapping = cast(dict[str, Any], current)
            current = mapping.get(element[2:], MISSING)
            if current is MISSING:
                return MISSING
        else:
            if type(current) is not list:
                return MISSING
            elements = cast(list[Any], current)
            index = _find_item(elements, element)
            if index < 0:
                return MISSING
            current = elements[index]
    return current


def _remove(obj: Any, path: FieldPath) -> bool:
    parent: Any = value_at(obj, path[:-1])
    element = path[-1]
    if element[0] == "f":
        if type(parent) is dict and element[2:] in parent:
            mapping = cast(dict[str, Any], parent)
            del mapping[element[2:]]
            return True
        return False
    if type(parent) is list:
        elements = cast(list[Any], parent)
        index = _find_item(elements, element)
        if index >= 0:
            del elements[index]
            return True
    return False


# --- apply -------------------------------------------------------------------------------


def _merge(live: Any, config: Any, node: Node | None) -> Any:
    """Merge an applied value into the live one (mutating ``live``, which is a copy)."""
    config_kind, live_kind = type(config), type(live)  # pyright: ignore[reportUnknownVariableType]
    if config_kind is dict and live_kind is dict and (node is None or not node.atomic):
        into = cast(dict[str, Any], live)
        applied = cast(dict[str, Any], config)
        for key, value in applied.items():
            if key in into:
                into[key] = _merge(into[key], value, node.child(key) if node is not None else None)
            else:
                into[key] = value
        return into
    if config_kind is list and live_kind is list and node is not None:
        have = cast(list[Any], live)
        want = cast(list[Any], config)
        if (
            node.list_type == "map"
            and all(type(i) is dict for i in want)
            and all(type(i) is dict for i in have)
        ):
            index = {key_element(item, node.map_keys): i for i, item in enumerate(have)}
            for item in want:
                element = key_element(item, node.map_keys)
                at = index.get(element)
                if at is None:
                    index[element] = len(have)
                    have.append(item)
                else:
                    have[at] = _merge(have[at], item, node.items)
            return have
        if node.list_type == "set":
            present = {value_element(v) for v in have}
            for value in want:
                element = value_element(value)
                if element not in present:
                    present.add(element)
                    have.append(value)
            return have
    return config


def _prefixes(paths: Iterable[FieldPath]) -> set[FieldPath]:
    out: set[FieldPath] = set()
    for path in paths:
        for i in range(1, len(path)):
            out.add(path[:i])
    return out


def _is_key_of_kept_item(path: FieldPath) -> bool:
    """Whether ``path`` is a key field of a keyed-list item (removed only with the item)."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in _decode_element(path[-2][2:])


def _remove_stale(
    obj: dict[str, Any], stale: set[FieldPath], others: set[FieldPath], kept: frozenset[FieldPath]
) -> None:
    """Remove fields nobody applies any more, then maps/lists that removal emptied."""
    others_inside = _prefixes(others)
    owned = others | kept
    removed: set[FieldPath] = set()
    for path in sorted(stale, key=len):
        if path in others or path in others_inside:
            continue
        if any(path[:i] in removed for i in range(1, len(path))):
            continue
        if _is_key_of_kept_item(path):
            continue
        if not _remove(obj, path):
            continue
        removed.add(path)
        parent = path[:-1]
        while len(parent) > 1:
            container = value_at(obj, parent)
            if type(container) not in (dict, list) or container or parent in owned:
                break
            _remove(obj, parent)
            removed.add(parent)
            parent = parent[:-1]


def apply(
    live: dict[str, Any] | None,
    managers: Sequence[ManagedEntry],
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    node: Node,
    subresource: str,
    status: str,
    api_version: str,
    now: str,
) -> tuple[dict[str, Any], tuple[ManagedEntry, ...]]:
    """Server-side apply of ``config`` by ``manager``.

    Args:
        live: a private copy of the stored object (mutated and returned), or None to
            create the object from ``config``.
        managers: the stored object's managed-fields entries.
        config: the applied configuration (already stripped of what the endpoint ignores).
        manager: the field manager.
        force: take over conflicting fields instead of failing.
        node: the kind's root schema node.
        subresource: ``status`` for the status subresource, else empty.
        status: how ``.status`` counts (see :func:`object_fields`).
        api_version: the request's apiVersion, recorded in the entry.
        now: the request's timestamp.

    Returns:
        The merged object and its new managed-fields entries.

    Raises:
        ApplyConflictError: fields other managers own would change and ``force`` is false.
        ApplyConfigError: the configuration lists an item of a set or keyed list twice.
    """
    duplicates: list[FieldError] = []
    typed: list[str] = []
    leaves, items = object_fields(config, node, status=status, duplicates=duplicates, typed=typed)
    if duplicates:
        raise ApplyConfigError(duplicates, typed)
    applied = frozenset(leaves.keys() | items)
    key = (manager, "Apply", subresource)
    mine = (
        (ManagedEntry(manager, "Apply", api_version, now, applied, subresource),)
        if applied
        else ()
    )
    if live is None:
        return config, mine

    conflicts: list[tuple[FieldPath, ManagedEntry]] = []
    previous: ManagedEntry | None = None
    for entry in managers:
        if entry.key == key:
            previous = entry
            continue
        for path in entry.fields & leaves.keys():
            if leaves[path] == {} and type(value_at(live, path)) is dict:
                continue  # an empty map merges into the live one: nothing of it changes
            if not json_equal(value_at(live, path), leaves[path]):
                conflicts.append((path, entry))
    if conflicts and not force:
        raise ApplyConflictError(sorted(conflicts, key=lambda c: (c[1].manager, c[0])))
    taken: dict[tuple[str, str, str], set[FieldPath]] = {}
    for path, entry in conflicts:
        taken.setdefault(entry.key, set()).add(path)

    merged = _merge(live, config, node)
    others: set[FieldPath] = set()
    for entry in managers:
        if entry.key != key:
            others |= entry.fields - taken.get(entry.key, set())
    if previous is not None:
        stale = set(previous.fields - applied)
        if stale:
            _remove_stale(merged, stale, others, applied)

    result: list[ManagedEntry] = []
    placed = False
    for entry in managers:
        if entry.key == key:
            same = entry.fields == applied and entry.api_version == api_version
            result.extend((entry,) if same else mine)
            placed = True
        elif entry.key in taken:
            remaining = entry.fields - taken[entry.key]
            if remaining:
                result.append(dataclasses.replace(entry, fields=remaining))
        else:
            result.append(entry)
    if not placed:
        result.extend(mine)
    return merged, tuple(result)


def _created_members(
    obj: Mapping[str, Any], old: Mapping[str, Any] | None, node: Node, status: str
) -> set[FieldPath]:
    """The maps and lists of ``obj`` that ``old`` does not have, as owned members.

    Granular ones only: maps of arbitrary keys (labels, data, ...), the objects of a
    custom resource's schema, non-atomic lists. The structs of built-in kinds (a
    Service's ``spec``), ``metadata`` and atomic values are not members of their own.
    """
    out: set[FieldPath] = set()

    def walk(value: Any, before: Any, child: Node | None, path: FieldPath) -> None:
        kind = type(value)  # pyright: ignore[reportUnknownVariableType]
        if kind is dict:
            if child is not None and child.atomic:
                return
            struct = child is not None and bool(child.properties) and child.preserve_unknown
            if path and not struct and type(before) is not dict:
                out.add(path)
            previous = as_dict(before) or {}
            for key, sub in cast(dict[str, Any], value).items():
                grand = child.child(key) if child is not None else None
                walk(sub, previous.get(key), grand, (*path, "f:" + key))
        elif kind is list and child is not None and child.list_type not in (None, "atomic"):
            if value and type(before) is not list:
                out.add(path)
            if child.list_type == "map" and child.items is not None:
                keys = child.map_keys
                earlier: dict[str, dict[str, Any]] = {}
                for o in as_list(before) or []:
                    mapping = as_dict(o)
                    if mapping is not None:
                        earlier[key_element(mapping, keys)] = mapping
                for element in as_list(value) or []:
                    mapping = as_dict(element)
                    if mapping is None:
                        continue
                    item = key_element(mapping, keys)
                    for key, sub in mapping.items():
                        grand = child.items.child(key)
                        prior = earlier.get(item, {}).get(key, MISSING)
                        walk(sub, prior, grand, (*path, item, "f:" + key))

    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            if key == "metadata" and type(value) is dict:
                meta_node = node.child("metadata")
                previous = (old or {}).get("metadata")
                before = cast(dict[str, Any], previous) if type(previous) is dict else {}
                for meta_key, meta_value in cast(dict[str, Any], value).items():
                    if meta_key in _UNTRACKED_META:
                        continue
                    child = meta_node.child(meta_key) if meta_node is not None else None
                    path = ("f:metadata", "f:" + meta_key)
                    walk(meta_value, before.get(meta_key), child, path)
            continue
        if (status == "exclude" and key == "status") or (status == "only" and key != "status"):
            continue
        walk(value, (old or {}).get(key, MISSING), node.child(key), ("f:" + key,))
    return out


def record_update(
    managers: Sequence[ManagedEntry],
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    manager: str,
    node: Node,
    subresource: str,
    status: str,
    api_version: str,
    now: str,
) -> tuple[ManagedEntry, ...]:
    """The managed fields after a non-apply write (create, replace, patch) by ``manager``.

    The writer's ``Update`` entry gains every field the write added or changed; other
    managers lose those fields; removed fields leave every entry.
    """
    new_leaves, new_items = object_fields(new, node, status=status)
    # An Update also owns the maps and lists it creates, as a member ("." in FieldsV1),
    # as the API server records them; an Apply owns only what it sets.
    created = _created_members(new, old, node, status)
    if old is None:
        changed = set(new_leaves) | new_items | created
        removed: set[FieldPath] = set()
    else:
        old_leaves, old_items = object_fields(old, node, status=status)
        changed = {
            p
            for p, v in new_leaves.items()
            if p not in old_leaves or not json_equal(old_leaves[p], v)
        }
        changed |= (new_items - old_items) | created
        removed = (old_leaves.keys() - new_leaves.keys()) | (old_items - new_items)
        removed |= _created_members(old, None, node, status) - _created_members(
            new, None, node, status
        )
    if not changed and not removed:
        return tuple(managers)
    key = (manager, "Update", subresource)
    result: list[ManagedEntry] = []
    placed = False
    for entry in managers:
        if entry.key == key:
            placed = True
            fields = (entry.fields - removed) | changed
            if fields:
                result.append(
                    ManagedEntry(
                        manager, "Update", api_version, now, frozenset(fields), subresource
                    )
                )
            continue
        fields = entry.fields - changed - removed
        if fields == entry.fields:
            result.append(entry)
        elif fields:
            result.append(dataclasses.replace(entry, fields=frozenset(fields)))
    if not placed and changed:
        result.append(
            ManagedEntry(manager, "Update", api_version, now, frozenset(changed), subresource)
        )
    return tuple(result)
