"""API discovery documents: ``/api``, ``/apis``, ``/apis/<group>`` and resource lists.

Clients such as kubectl (and code that checks whether a CRD is installed) ask these
before anything else. The fake answers them from the resource types it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshops.testing.fake_kubernetes.errors import StatusError
from meshops.testing.fake_kubernetes.resources import ResourceType
from meshops.testing.fake_kubernetes.values import dump_json

__all__ = ["answer", "core_versions", "groups", "resources"]

Served = Mapping[tuple[str, str, str], ResourceType]
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]


def answer(method: str, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """A discovery response; discovery documents are read-only (405 otherwise)."""
    if method != "GET":
        raise StatusError.method_not_allowed(method, path)
    return 200, dump_json(body)


def core_versions() -> dict[str, Any]:
    """``/api``: the versions of the core group."""
    return {"kind": "APIVersions", "versions": ["v1"]}


def groups(served: Served, group: str | None) -> dict[str, Any]:
    """``/apis`` (every group) or ``/apis/<group>``.

    Raises:
        StatusError: 404 for a group the fake does not serve.
    """
    versions: dict[str, list[str]] = {}
    for g, v, _ in served:
        if g and v not in versions.setdefault(g, []):
            versions[g].append(v)
    entries = [
        {
            "name": g,
            "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
            "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
        }
        for g, vs in sorted(versions.items())
    ]
    if group is None:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": entries}
    for entry in entries:
        if entry["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **entry}
    raise StatusError.not_served()


def resources(served: Served, group: str, version: str) -> dict[str, Any]:
    """``/api/v1`` or ``/apis/<group>/<version>``: the resources of a group version.

    Raises:
        StatusError: 404 for a group version the fake does not serve.
    """
    listed: list[dict[str, Any]] = []
    for (g, v, _), resource in sorted(served.items()):
        if (g, v) != (group, version):
            continue
        entry: dict[str, Any] = {
            "name": resource.plural,
            "singularName": resource.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": _VERBS,
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        listed.append(entry)
        if resource.status_subresource:
            listed.append(
                {
                    "name": f"{resource.plural}/status",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": resource.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    if not listed:
        raise StatusError.not_served()
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": listed,
    }
