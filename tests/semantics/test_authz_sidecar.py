"""Table tests for meshops.semantics.authz where the destination pods run Istio's sidecar.

Written from Istio's documents: *Installing the Sidecar* (which labels ask for and refuse
injection; a refusal wins), *Add workloads to the mesh* ("sidecar injection takes
precedence" over the ambient labels; sidecars and ambient pods interoperate over HBONE),
the *Authorization Policy* reference (a sidecar enforces the policies that select its
pod and the namespace-wide ones, from the pod's namespace and the root namespace, with
every attribute; ``targetRefs`` of a Service are for waypoints only), and istio/istio
#52527 (traffic to a Service labelled for a waypoint goes through the waypoint even when
its pods run sidecars; the inbound sidecar then does the authorization).
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.semantics.authz import Call, Decision, Policies, Workload

Obj = dict[str, Any]

DB_LABELS = {"app": "db"}
DB = Workload("shop", "db", DB_LABELS)
CART = Workload("shop", "cart", {"app": "cart"})
PROM = Workload("monitoring", "prometheus", {"app": "prometheus"})
SIDECAR_DB = "sidecar (pods app=db in shop)"
ZTUNNEL_DB = "ztunnel (pods app=db in shop)"


def namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def injected(name: str = "shop", **labels: str) -> Obj:
    return namespace(name, **{"istio-injection": "enabled", **labels})


def ap(name: str, spec: Obj, ns: str = "shop") -> Obj:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def pods(rules: list[Obj], action: str = "ALLOW", app: str = "db") -> Obj:
    return {"selector": {"matchLabels": {"app": app}}, "action": action, "rules": rules}


def sa(name: str, ns: str = "shop") -> str:
    return f"cluster.local/ns/{ns}/sa/{name}"


def from_(*principals: str) -> Obj:
    return {"from": [{"source": {"principals": list(principals)}}]}


def to(**operation: Any) -> Obj:
    return {"to": [{"operation": operation}]}


def service(name: str = "db", **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {"ports": [{"port": 8080, "targetPort": 8080}]},
    }


def waypoint(name: str = "waypoint", ns: str = "shop") -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


def check(objects: list[Obj], call: Call) -> Decision:
    return Policies.from_objects(objects).check(call)


def outcome(decision: Decision) -> tuple[str, str | None, str | None, str | None, int | None]:
    hop = decision.deciding
    if hop is None:
        return decision.verdict, None, None, None, None
    return decision.verdict, hop.enforcer, hop.action, hop.policy, hop.rule


def get(path: str, caller: Workload = CART, destination: Workload = DB, **kw: Any) -> Call:
    return Call(caller, destination, "db", 8080, method="GET", path=path, **kw)


# --- whether the pods run a sidecar --------------------------------------------------------

ALLOW_CART = ap("db", pods([from_(sa("cart"))]))


@pytest.mark.parametrize(
    ("namespace_labels", "pod_labels", "enforcer"),
    [
        pytest.param({"istio-injection": "enabled"}, {}, SIDECAR_DB, id="namespace-enabled"),
        pytest.param(
            {"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"},
            {},
            SIDECAR_DB,
            id="sidecar-takes-precedence-over-ambient",
        ),
        pytest.param(
            {"istio-injection": "enabled"},
            {"istio.io/dataplane-mode": "ambient"},
            SIDECAR_DB,
            id="over-an-ambient-pod-label-too",
        ),
        pytest.param({}, {"sidecar.istio.io/inject": "true"}, SIDECAR_DB, id="pod-asks"),
        pytest.param({"istio.io/rev": "stable"}, {}, SIDECAR_DB, id="namespace-names-a-revision"),
        pytest.param(
            {"istio-injection": "enabled", "istio.io/dataplane-mode": "ambient"},
            {"sidecar.istio.io/inject": "false"},
            ZTUNNEL_DB,
            id="pod-refuses-back-to-ambient",
        ),
        pytest.param(
            {"istio-injection": "disabled", "istio.io/dataplane-mode": "ambient"},
            {"sidecar.istio.io/inject": "true"},
            ZTUNNEL_DB,
            id="namespace-refusal-wins",
        ),
    ],
)
def test_which_pods_run_a_sidecar(
    namespace_labels: dict[str, str], pod_labels: dict[str, str], enforcer: str
) -> None:
    destination = Workload("shop", "db", {**DB_LABELS, **pod_labels})
    labels = ",".join(f"{k}={v}" for k, v in sorted(destination.labels.items()))
    expected = enforcer.replace("app=db", labels)
    decision = check(
        [namespace("shop", **namespace_labels), ALLOW_CART], get("/x", PROM, destination)
    )
    assert outcome(decision) == ("DENIED", expected, "ALLOW", None, None)


def test_pods_refusing_a_sidecar_in_a_namespace_off_the_ambient_mesh_are_off_the_mesh() -> None:
    destination = Workload("shop", "db", {**DB_LABELS, "sidecar.istio.io/inject": "false"})
    decision = check([injected(), ALLOW_CART], get("/x", PROM, destination))
    assert (decision.verdict, decision.hops) == ("ALLOWED", ())
    assert "Namespace shop is not on the ambient mesh" in decision.explanation


# --- what a sidecar enforces ---------------------------------------------------------------

L7_ALLOW = ap("db", pods([{**from_(sa("cart")), **to(methods=["GET"], paths=["/api/*"])}]))


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            get("/api/items"), ("ALLOWED", SIDECAR_DB, "ALLOW", "shop/db", 0), id="l7-ok"
        ),
        pytest.param(
            get("/admin"), ("DENIED", SIDECAR_DB, "ALLOW", None, None), id="path-not-allowed"
        ),
        pytest.param(
            Call(CART, DB, "db", 8080, method="POST", path="/api/items"),
            ("DENIED", SIDECAR_DB, "ALLOW", None, None),
            id="method-not-allowed",
        ),
        pytest.param(
            get("/api/items", PROM), ("DENIED", SIDECAR_DB, "ALLOW", None, None), id="caller"
        ),
        pytest.param(
            Call(CART, DB, "db", 8080),
            ("DENIED", SIDECAR_DB, "ALLOW", None, None),
            id="tcp-cannot-match-an-http-rule",
        ),
    ],
)
def test_a_sidecar_enforces_l7_fields_of_the_policies_on_its_pods(
    call: Call, expected: tuple[Any, ...]
) -> None:
    assert outcome(check([injected(), L7_ALLOW], call)) == expected


def test_the_same_l7_policy_at_ztunnel_never_allows() -> None:
    ambient = namespace("shop", **{"istio.io/dataplane-mode": "ambient"})
    decision = check([ambient, L7_ALLOW], get("/api/items"))
    assert outcome(decision) == ("DENIED", ZTUNNEL_DB, "ALLOW", None, None)


def test_a_deny_rule_of_l7_fields_only_denies_at_a_sidecar() -> None:
    deny = ap("no-admin", pods([to(paths=["/admin"])], "DENY"))
    objects = [injected(), deny]
    assert outcome(check(objects, get("/admin"))) == (
        "DENIED",
        SIDECAR_DB,
        "DENY",
        "shop/no-admin",
        0,
    )
    assert outcome(check(objects, get("/ok")))[0] == "ALLOWED"


def test_root_namespace_and_namespace_wide_policies_reach_a_sidecar() -> None:
    nothing = ap("deny-all", {}, ns="istio-system")
    assert outcome(check([injected(), nothing], get("/x"))) == (
        "DENIED",
        SIDECAR_DB,
        "ALLOW",
        None,
        None,
    )
    allowed = check([injected(), nothing, ALLOW_CART], get("/x"))
    assert outcome(allowed) == ("ALLOWED", SIDECAR_DB, "ALLOW", "shop/db", 0)


def test_a_sidecar_ignores_policies_attached_to_a_service() -> None:
    on_service = ap(
        "db-svc",
        {"targetRefs": [{"group": "", "kind": "Service", "name": "db"}], "rules": [{}]},
    )
    decision = check([injected(), service(), on_service, ALLOW_CART], get("/x", PROM))
    assert outcome(decision) == ("DENIED", SIDECAR_DB, "ALLOW", None, None)
    assert decision.hops[0].notes == (
        "policies attached to Service shop/db (shop/db-svc) are enforced only by a waypoint,"
        " and this call passes none (a sidecar ignores them)",
    )


def test_a_custom_policy_on_the_pods_is_a_condition_at_a_sidecar() -> None:
    custom = ap("ext", {**pods([to(paths=["/x"])], "CUSTOM"), "provider": {"name": "opa"}})
    decision = check([injected(), custom], get("/x"))
    assert decision.verdict == "ALLOWED"
    assert [(d.enforcer, d.provider, d.policy) for d in decision.delegations] == [
        (SIDECAR_DB, "opa", "shop/ext")
    ]
    assert not any("ztunnel" in n for n in decision.hops[0].notes)


def test_an_audit_policy_changes_nothing_at_a_sidecar_and_is_not_called_unsupported() -> None:
    audit = ap("audit", pods([{}], "AUDIT"))
    decision = check([injected(), audit], get("/x"))
    assert outcome(decision) == (
        "ALLOWED",
        SIDECAR_DB,
        "default",
        None,
        None,
    )
    assert decision.hops[0].notes == ()


# --- mixing sidecar and ambient namespaces -------------------------------------------------


def test_an_ambient_caller_is_seen_by_its_identity_at_a_sidecar() -> None:
    ambient = namespace("monitoring", **{"istio.io/dataplane-mode": "ambient"})
    allow = ap("db", pods([from_(sa("prometheus", "monitoring"))]))
    decision = check([injected(), ambient, allow], get("/metrics", PROM))
    assert outcome(decision) == ("ALLOWED", SIDECAR_DB, "ALLOW", "shop/db", 0)


def test_a_sidecar_caller_passes_the_waypoint_of_an_ambient_callee() -> None:
    shop = namespace(
        "shop", **{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}
    )
    sidecars = injected("monitoring")
    on_service = ap(
        "db-svc",
        {
            "targetRefs": [{"group": "", "kind": "Service", "name": "db"}],
            "rules": [{**from_(sa("prometheus", "monitoring")), **to(paths=["/metrics"])}],
        },
    )
    objects = [shop, sidecars, service(), waypoint(), on_service]
    decision = check(objects, get("/metrics", PROM))
    assert [(h.enforcer, h.allowed) for h in decision.hops] == [
        ("waypoint shop/waypoint", True),
        (ZTUNNEL_DB, True),
    ]
    assert outcome(check(objects, get("/admin", PROM)))[:3] == (
        "DENIED",
        "waypoint shop/waypoint",
        "ALLOW",
    )


def test_a_service_with_a_waypoint_in_front_of_sidecar_pods() -> None:
    shop = injected(**{"istio.io/use-waypoint": "waypoint"})
    allow_waypoint = ap("db", pods([from_(sa("waypoint"))]))
    decision = check([shop, service(), waypoint(), allow_waypoint], get("/x"))
    assert [(h.enforcer, h.allowed) for h in decision.hops] == [
        ("waypoint shop/waypoint", True),
        (SIDECAR_DB, True),
    ]
    assert (
        "the sidecar sees the waypoint's identity cluster.local/ns/shop/sa/waypoint, not the"
        " caller's" in decision.hops[1].notes
    )


def test_a_caller_off_the_mesh_has_no_identity_at_a_sidecar() -> None:
    decision = check([injected(), ALLOW_CART], Call(None, DB, "db", 8080, method="GET", path="/"))
    assert outcome(decision) == ("DENIED", SIDECAR_DB, "ALLOW", None, None)
