"""meshops.plan.mesh where the target namespace's pods run sidecars (``sidecars=``).

There every policy protects pods, L7 fields included (a sidecar enforces every field of
the policies that select its pod, and none attached to a Service): an app policy selects
its app's pods, a unit policy may name methods and paths, and no waypoint twin is made.
"""

from __future__ import annotations

from typing import Any

from meshops.model import Endpoint, MeshPolicy, Method, TargetType
from meshops.plan.mesh import PolicySet, authorization_policies

CART = "cluster.local/ns/shop/sa/cart"
L7 = Endpoint(ports=(8080,), methods=(Method.get,), paths=("/api/*",))
L7_RULE = {
    "from": [{"source": {"principals": [CART]}}],
    "to": [{"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/api/*"]}}],
}


def policy(**kw: Any) -> MeshPolicy:
    return MeshPolicy("shop", "cart", "legacy", endpoints=(L7,), **kw)


def specs(*policies: MeshPolicy, **kw: Any) -> tuple[dict[str, Any], list[str]]:
    objects, problems = authorization_policies(
        [PolicySet("apps[1]", "db", policies)],
        prefix="p",
        **kw,
    )
    return (
        {o["metadata"]["name"]: o["spec"] for o in objects},
        [f"{p.field}: {p.message}" for p in problems],
    )


def test_a_unit_policy_with_l7_fields_is_enforced_by_the_sidecars() -> None:
    unit = policy(target_app_name="db", target_type=TargetType.unit)
    assert specs(unit, sidecars={"legacy"}) == (
        {
            "p-db-pods": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
                "action": "ALLOW",
                "rules": [L7_RULE],
            }
        },
        [],
    )
    # where ztunnel enforces it, the same policy is refused
    objects, problems = specs(unit)
    assert objects == {}
    assert [p.split(":")[0] for p in problems] == ["policies[0]"]


def test_an_app_policy_selects_its_apps_pods_and_gets_no_waypoint_twin() -> None:
    app = policy(target_app_name="db")
    objects, problems = specs(app, sidecars={"legacy"}, waypoints={"shop": "waypoint"})
    assert (objects, problems) == (
        {
            "p-db-pods": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
                "action": "ALLOW",
                "rules": [L7_RULE],
            }
        },
        [],
    )


def test_an_app_policy_naming_only_a_service_is_refused_saying_why() -> None:
    service_only = policy(target_service="db-svc")
    assert specs(service_only, sidecars={"legacy"}) == (
        {},
        [
            "policies[0]: target_app_name: the pods of namespace 'legacy' run sidecars, which "
            "enforce policies on pods, not on a Service: name the app whose pods serve "
            "Service 'db-svc'"
        ],
    )
    # a unit policy with a selector of its own is no such case
    unit = policy(target_selector_labels=(("tier", "db"),), target_type=TargetType.unit)
    objects, problems = specs(unit, sidecars={"legacy"})
    assert problems == []
    assert [o["selector"] for o in objects.values()] == [{"matchLabels": {"tier": "db"}}]
