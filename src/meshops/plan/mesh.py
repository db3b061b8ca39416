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
  Service. So, when a waypoint is in front of the Service, a unit policy also allows
  the waypoint at the pods, and puts a twin rule (same callers, same ports) in the
  policy on the app's Service, enforced at the waypoint: without it, any caller could
  reach the pods through the Service. (Calls straight to a pod's address never pass
  the waypoint: only unit policies govern those.)

A namespace whose pods run Istio's sidecar has neither waypoint nor ztunnel: each pod's
sidecar (an Envoy) enforces the policies that select the pod, with every field, L7
included, and ignores those attached to a Service (``targetRefs`` of a Service are for
waypoints only). So there every policy protects pods: an app policy selects the pods of
its app (``app.kubernetes.io/name``) and keeps its hosts, methods and paths.

Each party gets one AuthorizationPolicy per Service and one per group of pods it
protects, each of its policies a rule in it, named after the party and the target (so a
changed policy updates its object in place).

Sources are SPIFFE principals ``cluster.local/ns/<namespace>/sa/<service account>``.

Example:
    >>> from meshops.model import Endpoint, MeshPolicy, Method
    >>> p = MeshPolicy("shop", "frontend", "shop", target_app_name="cart",
    ...                endpoints=(Endpoint(ports=(8080,), methods=(Method.get,)),))
    >>> objs, problems = authorization_policies([PolicySet("apps[1]", "cart", (p,))],
    ...                                         prefix="shop")
    >>> objs[0]["metadata"]["name"], objs[0]["spec"]["rules"][0]["to"]
    ('shop-cart-svc', [{'operation': {'ports': ['8080'], 'methods': ['GET']}}])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from meshops.model.ambient import (
    DATAPLANE_MODE_LABEL,
    INJECTION_LABEL,
    USE_WAYPOINT_LABEL,
    USE_WAYPOINT_NAMESPACE_LABEL,
    WAYPOINT_FOR_LABEL,
)
from meshops.model.mesh import APP_NAME_LABEL, Endpoint, MeshPolicy, TargetType
from meshops.model.names import dns_label, label_value, principal, stable_hash
from meshops.model.problems import Problem

__all__ = [
    "POLICY_SOURCE_LABEL",
    "WAYPOINT_PORT",
    "Obj",
    "PolicySet",
    "authorization_policies",
    "namespace_labels",
    "sidecar_namespace_labels",
    "waypoint",
    "waypoint_name",
    "workload_labels",
]

Obj = dict[str, Any]

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


def sidecar_namespace_labels() -> dict[str, str]:
    """Labels that make Istio's injector give every new pod of a namespace a sidecar."""
    return {INJECTION_LABEL: "enabled"}


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
    sets: Iterable[PolicySet],
    *,
    prefix: str,
    waypoints: Mapping[str, str] | None = None,
    sidecars: Collection[str] = (),
) -> tuple[list[Obj], list[Problem]]:
    """ALLOW AuthorizationPolicies for every valid set, and problems for the others.

    Each set gets one AuthorizationPolicy per thing its policies protect: one on each
    Service (its app policies, and the twins of its unit policies), one on each group
    of pods (its unit policies). Each policy is a rule in it; Istio allows a request
    that any rule of any ALLOW policy matches, so this is the same as one object per
    policy, with fewer objects, and names that stay the same when policies change.

    A set with a policy that cannot be enforced as written (an L7 field in a unit
    policy) produces no objects at all, and one problem per bad policy: half of what a
    party asked for is not what it asked for.

    Args:
        sets: the policy sets.
        prefix: the start of every object name (e.g. the beacon application's name).
        waypoints: the waypoint in front of each namespace's Services, by namespace.
        sidecars: the namespaces whose pods run sidecars: every policy there protects
            pods, L7 fields included.

    Returns:
        The objects, sorted by namespace and name, and the problems.
    """
    objects: dict[tuple[str, str], Obj] = {}
    problems: list[Problem] = []
    for policy_set in sets:
        built, set_problems = _build_set(policy_set, prefix, waypoints or {}, frozenset(sidecars))
        for obj in built:
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            if key in objects:
                set_problems.append(
                    Problem(
                        policy_set.source,
                        "policies",
                        f"its AuthorizationPolicy name {key[1]!r} is already taken by "
                        f"another party's",
                        app=policy_set.app,
                    )
                )
        if set_problems:
            problems.extend(set_problems)
            continue
        for obj in built:
            objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
    return [objects[k] for k in sorted(objects)], problems


#: What an AuthorizationPolicy protects: (namespace, a Service's name) or
#: (namespace, the pod selector's labels as sorted pairs).
_Target = tuple[str, tuple[tuple[str, str], ...] | str]


def _build_set(
    policy_set: PolicySet, prefix: str, waypoints: Mapping[str, str], sidecars: frozenset[str]
) -> tuple[list[Obj], list[Problem]]:
    rules: dict[_Target, list[Obj]] = {}
    problems: list[Problem] = []
    for i, policy in enumerate(policy_set.policies):
        with_sidecars = policy.target_namespace in sidecars
        try:
            _check_enforceable(policy, with_sidecars)
        except ValueError as e:
            problems.append(
                Problem(policy_set.source, f"policies[{i}]", str(e), app=policy_set.app)
            )
            continue
        rule = _rule(policy)
        if with_sidecars:
            # Each pod's sidecar enforces what selects the pod, every field included.
            _add(rules, (policy.target_namespace, tuple(sorted(policy.selector.items()))), rule)
            continue
        if policy.target_type is TargetType.app:
            _add(rules, (policy.target_namespace, policy.service), rule)
            continue
        pods = tuple(sorted(policy.selector.items()))
        _add(rules, (policy.target_namespace, pods), rule)
        waypoint_ = waypoints.get(policy.target_namespace)
        if waypoint_:
            # Calls through the Service reach the pods from the waypoint...
            by_waypoint = {"from": [_source(principal(policy.target_namespace, waypoint_))]}
            _add(rules, (policy.target_namespace, pods), by_waypoint)
            # ... so the waypoint must let through only what the pods would.
            if policy.target_app_name:
                _add(rules, (policy.target_namespace, policy.target_app_name), rule)
    if problems:
        return [], problems
    built = [_object(target, r, prefix, policy_set.app) for target, r in rules.items()]
    return built, []


def _add(rules: dict[_Target, list[Obj]], target: _Target, rule: Obj) -> None:
    found = rules.setdefault(target, [])
    if rule not in found:
        found.append(rule)


def _check_enforceable(policy: MeshPolicy, with_sidecars: bool) -> None:
    if with_sidecars:
        if policy.target_type is TargetType.app and not policy.target_app_name:
            raise ValueError(
                f"target_app_name: the pods of namespace {policy.target_namespace!r} run "
                "sidecars, which enforce policies on pods, not on a Service: name the app "
                f"whose pods serve Service {policy.service!r}"
            )
        return
    if policy.target_type is TargetType.unit:
        for j, endpoint in enumerate(policy.endpoints):
            if endpoint.is_l7:
                raise ValueError(
                    f"endpoints[{j}]: a unit policy is enforced at L4 (ztunnel) and can only "
                    f"name ports, not hosts, methods or paths: {_describe(endpoint)}"
                )


def _source(identity: str) -> Obj:
    return {"source": {"principals": [identity]}}


def _rule(policy: MeshPolicy) -> Obj:
    """The rule that allows what ``policy`` allows: its caller, and its operations."""
    rule: Obj = {"from": [_source(principal(policy.source_namespace, policy.service_account))]}
    operations = [_operation(e) for e in policy.endpoints]
    if operations and all(operations):
        rule["to"] = [{"operation": op} for op in operations]
    return rule


def _object(target: _Target, rules: list[Obj], prefix: str, source: str) -> Obj:
    namespace, what = target
    if isinstance(what, str):
        spec: Obj = {"targetRefs": [{"kind": "Service", "group": "", "name": what}]}
        parts = (prefix, source, "svc") if what == source else (prefix, source, "svc", what)
    else:
        labels = dict(what)
        spec = {"selector": {"matchLabels": labels}}
        default = labels == {APP_NAME_LABEL: source}
        parts = (
            (prefix, source, "pods")
            if default
            else (prefix, source, "pods", stable_hash(*map(str, what)))
        )
    spec["action"] = "ALLOW"
    spec["rules"] = rules
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": dns_label(*parts),
            "namespace": namespace,
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
