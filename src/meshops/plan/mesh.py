"""The mesh side of a namespace: its waypoint, its labels and its AuthorizationPolicies.

Istio's ambient mode enforces policy in two places. ztunnel, on every node, sees only
connections (L4: source identity and port); a waypoint, an Envoy proxy per namespace,
sees requests (L7: hosts, methods, paths). So:

* an *app* policy protects a Service and is attached to it (``targetRefs``); the
  waypoint the Service uses enforces it, with any hosts, methods and paths;
* a *unit* policy protects pods (``selector``) and is enforced by ztunnel, so it may
  only name ports. An L7 field in one is reported as a problem, never dropped.
  Traffic that reaches those pods through their Service passes the waypoint, and the
  pods' ztunnel then sees the waypoint's identity, not the caller's: an ALLOW policy
  on the pods that did not name the waypoint would cut off every call through the
  Service (which the app policies at the waypoint govern). So a unit policy also allows
  the namespace's waypoint, when there is one.

Sources are SPIFFE principals ``cluster.local/ns/<namespace>/sa/<service account>``.

Example:
    >>> from meshops.model import Endpoint, MeshPolicy, Method
    >>> p = MeshPolicy("shop", "frontend", "shop", target_app_name="cart",
    ...                endpoints=(Endpoint(ports=(8080,), methods=(Method.get,)),))
    >>> objs, problems = authorization_policies([PolicySet("frontend", "frontend", (p,))],
    ...                                         prefix="beacon")
    >>> objs[0]["spec"]["rules"][0]["to"]
    [{'operation': {'ports': ['8080'], 'methods': ['GET']}}]
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from meshops.model.mesh import Endpoint, MeshPolicy, TargetType
from meshops.model.names import dns_label, label_value, principal, stable_hash
from meshops.model.problems import Problem

Obj = dict[str, Any]

DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
#: Label on each AuthorizationPolicy naming the group (relation app) it came from.
POLICY_SOURCE_LABEL = "meshops.io/policy-source"
WAYPOINT_PORT = 15008


@dataclasses.dataclass(frozen=True)
class PolicySet:
    """The policies one party asked for: a related application, or an app in a file.

    Attributes:
        source: where they came from, for problems (e.g. ``"service-mesh:4"``).
        app: the party's name; objects built from the set are labelled with it.
        policies: the policies.
    """

    source: str
    app: str
    policies: tuple[MeshPolicy, ...]


def waypoint_name(owner: str) -> str:
    """The name of the waypoint an application (e.g. a beacon) creates for its namespace."""
    return dns_label(owner, "waypoint")


def waypoint(namespace: str, name: str) -> Obj:
    """The namespace's waypoint: a Gateway of class ``istio-waypoint`` for services.

    One HBONE listener on port 15008 named ``mesh``, as ``istioctl waypoint generate``
    writes it.
    """
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {WAYPOINT_FOR_LABEL: "service"},
        },
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": WAYPOINT_PORT, "protocol": "HBONE"}],
        },
    }


def namespace_labels(waypoint: str) -> dict[str, str]:
    """Labels that put a whole namespace on the ambient mesh, behind ``waypoint``."""
    return {DATAPLANE_MODE_LABEL: "ambient", USE_WAYPOINT_LABEL: waypoint}


def workload_labels(namespace: str, waypoint: str, *, namespace_on_mesh: bool) -> dict[str, str]:
    """Labels a workload needs to join the mesh (none when its namespace is on it)."""
    if namespace_on_mesh:
        return {}
    return {
        DATAPLANE_MODE_LABEL: "ambient",
        USE_WAYPOINT_LABEL: waypoint,
        USE_WAYPOINT_NAMESPACE_LABEL: namespace,
    }


def authorization_policies(
    sets: Iterable[PolicySet], *, prefix: str, waypoints: Mapping[str, str] | None = None
) -> tuple[list[Obj], list[Problem]]:
    """ALLOW AuthorizationPolicies for every valid set, and problems for the others.

    A set with a policy that cannot be enforced as written (an L7 field in a unit
    policy) produces no objects at all, and one problem per bad policy: half of what a
    party asked for is not what it asked for.

    Args:
        sets: the policy sets.
        prefix: the start of every object name (e.g. the beacon application's name).
        waypoints: the waypoint in front of each namespace's Services, by namespace.

    Returns:
        The objects, sorted by namespace and name, and the problems.
    """
    objects: dict[tuple[str, str], Obj] = {}
    problems: list[Problem] = []
    for policy_set in sets:
        built: list[Obj] = []
        set_problems: list[Problem] = []
        for i, policy in enumerate(policy_set.policies):
            try:
                waypoint_ = (waypoints or {}).get(policy.target_namespace)
                built.append(
                    authorization_policy(
                        policy, prefix=prefix, source=policy_set.app, waypoint=waypoint_
                    )
                )
            except ValueError as e:
                set_problems.append(
                    Problem(policy_set.source, f"policies[{i}]", str(e), app=policy_set.app)
                )
        if set_problems:
            problems.extend(set_problems)
            continue
        for obj in built:
            meta = obj["metadata"]
            objects[(meta["namespace"], meta["name"])] = obj
    return [objects[k] for k in sorted(objects)], problems


def authorization_policy(
    policy: MeshPolicy, *, prefix: str, source: str, waypoint: str | None = None
) -> Obj:
    """The AuthorizationPolicy that enforces one policy.

    Args:
        policy: the policy.
        prefix: the start of the object's name.
        source: the party that asked for it (becomes the :data:`POLICY_SOURCE_LABEL`).
        waypoint: the waypoint in front of the target's Service, if any; a unit policy
            also allows it (see the module's docstring).

    Raises:
        ValueError: a unit policy names hosts, methods or paths.
    """
    if policy.target_type is TargetType.unit:
        for j, endpoint in enumerate(policy.endpoints):
            if endpoint.is_l7:
                raise ValueError(
                    f"endpoints[{j}]: a unit policy is enforced at L4 (ztunnel) and can only "
                    f"name ports, not hosts, methods or paths: {_describe(endpoint)}"
                )
        target: Obj = {"selector": {"matchLabels": dict(sorted(policy.selector.items()))}}
        target_name = "-".join(sorted(policy.selector.values())) or "pods"
    else:
        target = {"targetRefs": [{"kind": "Service", "group": "", "name": policy.service}]}
        target_name = policy.service
    rule: Obj = {
        "from": [
            {
                "source": {
                    "principals": [principal(policy.source_namespace, policy.service_account)]
                }
            }
        ]
    }
    operations = [_operation(e) for e in policy.endpoints]
    if operations and all(operations):
        rule["to"] = [{"operation": op} for op in operations]
    rules = [rule]
    if policy.target_type is TargetType.unit and waypoint:
        rules.append(
            {"from": [{"source": {"principals": [principal(policy.target_namespace, waypoint)]}}]}
        )
    spec: Obj = {**target, "action": "ALLOW", "rules": rules}
    digest = stable_hash(json.dumps(spec, sort_keys=True), policy.target_namespace)
    name = dns_label(prefix, policy.source_app_name, target_name, digest)
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": name,
            "namespace": policy.target_namespace,
            "labels": {POLICY_SOURCE_LABEL: label_value(source)},
        },
        "spec": spec,
    }


def _operation(endpoint: Endpoint) -> Obj:
    op: Obj = {}
    if endpoint.hosts:
        op["hosts"] = list(endpoint.hosts)
    if endpoint.ports:
        op["ports"] = [str(p) for p in endpoint.ports]
    if endpoint.methods:
        op["methods"] = [m.value for m in endpoint.methods]
    if endpoint.paths:
        op["paths"] = list(endpoint.paths)
    return op


def _describe(endpoint: Endpoint) -> str:
    parts: list[str] = []
    for field in ("hosts", "methods", "paths"):
        values: tuple[Any, ...] = getattr(endpoint, field)
        if values:
            parts.append(f"{field}={[getattr(v, 'value', v) for v in values]!r}")
    return ", ".join(parts)


def labels_for(source: str) -> Mapping[str, str]:
    """The labels :func:`authorization_policies` puts on objects built for ``source``."""
    return {POLICY_SOURCE_LABEL: label_value(source)}
