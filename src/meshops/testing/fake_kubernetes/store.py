"""The fake cluster's object store and its resourceVersion counter.

Stored objects are immutable: every write replaces the :class:`StoredObject`. That lets
the store hand out the same dicts to readers that only serialize them, and cache each
object's JSON encoding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshops.testing.fake_kubernetes.apply import ManagedEntry
from meshops.testing.fake_kubernetes.values import dump_json

__all__ = ["Store", "StoredObject"]


class StoredObject:
    """One object as stored: the JSON dict and its managed-fields entries.

    ``metadata.managedFields`` is not kept in ``obj``: it is rendered from ``managers``
    when the object is served, which keeps the many small dicts of ``FieldsV1`` out of
    memory (and out of the garbage collector's way) for large stores.

    Attributes:
        obj: the object, without ``metadata.managedFields``.
        managers: the field ownership, as entries.
        defaulted_on_read: see below.
    """

    __slots__ = ("_raw", "defaulted_on_read", "managers", "obj")

    def __init__(
        self,
        obj: dict[str, Any],
        managers: tuple[ManagedEntry, ...],
        *,
        defaulted_on_read: bool = False,
    ) -> None:
        self.obj = obj
        self.managers = managers
        self.defaulted_on_read = defaulted_on_read
        """Whether part of ``obj`` (a defaulted status) is one a real server would not
        have stored yet: it drops the status of a create and defaults it again on every
        read, so the next write stores it even when it changes nothing else."""
        self._raw: bytes | None = None

    @property
    def namespace(self) -> str:
        """The object's namespace ("" for cluster-scoped objects)."""
        return str(self.obj["metadata"].get("namespace") or "")

    @property
    def name(self) -> str:
        """The object's name."""
        return str(self.obj["metadata"]["name"])

    @property
    def resource_version(self) -> str:
        """The object's resourceVersion."""
        return str(self.obj["metadata"].get("resourceVersion", ""))

    def body(self, api_version: str) -> bytes:
        """The object's JSON as served in ``api_version``."""
        if self.obj.get("apiVersion") == api_version:
            if self._raw is None:
                self._raw = dump_json(self.view(api_version))
            return self._raw
        return dump_json(self.view(api_version))

    def view(self, api_version: str) -> dict[str, Any]:
        """The object as served in ``api_version``, with its managedFields.

        The result shares values with the stored object: copy it before mutating.
        """
        meta = dict(self.obj["metadata"])
        if self.managers:
            # in the API server's order (managedfields' sortEncodedManagedFields):
            # operation, then time (to the second), manager, apiVersion, subresource
            ordered = sorted(
                self.managers,
                key=lambda e: (e.operation, e.time, e.manager, e.api_version, e.subresource),
            )
            meta["managedFields"] = [entry.to_json() for entry in ordered]
        return {**self.obj, "apiVersion": api_version, "metadata": meta}


class Store:
    """Objects by resource (``(group, plural)``), then by ``(namespace, name)``."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], dict[tuple[str, str], StoredObject]] = {}
        self._revision = 0

    @property
    def revision(self) -> int:
        """The latest resourceVersion handed out."""
        return self._revision

    def next_revision(self) -> str:
        """A new, larger resourceVersion."""
        self._revision += 1
        return str(self._revision)

    def get(self, resource: tuple[str, str], namespace: str, name: str) -> StoredObject | None:
        """The stored object, or None."""
        return self._objects.get(resource, {}).get((namespace, name))

    def put(self, resource: tuple[str, str], stored: StoredObject) -> None:
        """Store (or replace) an object."""
        self._objects.setdefault(resource, {})[(stored.namespace, stored.name)] = stored

    def delete(self, resource: tuple[str, str], namespace: str, name: str) -> StoredObject | None:
        """Remove an object; return what was stored, if anything."""
        return self._objects.get(resource, {}).pop((namespace, name), None)

    def list(self, resource: tuple[str, str], namespace: str | None = None) -> list[StoredObject]:
        """The objects of a resource, in one namespace or all, ordered by namespace and name."""
        objects = self._objects.get(resource, {})
        keys = sorted(k for k in objects if namespace is None or k[0] == namespace)
        return [objects[k] for k in keys]

    def drop_resource(self, resource: tuple[str, str]) -> None:
        """Forget every object of a resource (its CRD was deleted)."""
        self._objects.pop(resource, None)

    def drop_namespace(self, namespace: str) -> int:
        """Delete every object in ``namespace``; return how many were deleted."""
        count = 0
        for objects in self._objects.values():
            doomed = [k for k in objects if k[0] == namespace]
            for key in doomed:
                del objects[key]
            count += len(doomed)
        return count

    def __iter__(self) -> Iterator[tuple[tuple[str, str], StoredObject]]:
        for resource, objects in self._objects.items():
            for stored in objects.values():
                yield resource, stored
