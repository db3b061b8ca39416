"""Table tests for meshops.semantics.authz: Istio AuthorizationPolicies in ambient mode.

Each table is written from Istio's documented semantics (the Authorization Policy and
Conditions references, "Use Layer 4 security policy", "Use Layer 7 features", waypoint
attachment) and asserts the verdict together with the hop, action, policy and rule that
decided, so a wrong reason fails as surely as a wrong verdict. The last tables run the
evaluator over the objects ``meshops render examples/shop.yaml`` prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshops.cli.render import file_objects
from meshops.platform_file import read_file
from meshops.semantics.authz import Call, Decision, Policies, Workload

Obj = dict[str, Any]

CART = Workload("shop", "cart", {"app": "cart"})
WEB = Workload("shop", "web", {"app": "web"})
DB = Workload("shop", "db", {"app": "db"})
PROM = Workload("monitoring", "prometheus", {"app": "prometheus"})
EDGE = Workload("ingress", "edge-istio")
WAYPOINT_SA = "cluster.local/ns/shop/sa/waypoint"
ZTUNNEL_DB = "ztunnel (pods app=db in shop)"


def namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def ambient(name: str, **labels: str) -> Obj:
    return namespace(name, **{"istio.io/dataplane-mode": "ambient", **labels})


def with_waypoint(name: str = "shop", **labels: str) -> Obj:
    return ambient(name, **{"istio.io/use-waypoint": "waypoint", **labels})


def waypoint(name: str = "waypoint", ns: str = "shop", **listener: Any) -> Obj:
    hbone = {"name": "mesh", "port": 15008, "protocol": "HBONE", **listener}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"gatewayClassName": "istio-waypoint", "listeners": [hbone]},
    }


def service(
    name: str, labels: dict[str, str] | None = None, ports: list[Obj] | None = None
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop", "labels": labels or {}},
        "spec": {"ports": ports or []},
    }


def ap(name: str, spec: object, ns: str = "shop") -> Obj:
    obj: Obj = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": ns},
    }
    if spec is not None:
        obj["spec"] = spec
    return obj


def pods(app: str, rules: list[Obj] | None, action: str = "ALLOW") -> Obj:
    """A policy spec for ztunnel: pods labelled app=<app>."""
    spec: Obj = {"selector": {"matchLabels": {"app": app}}, "action": action}
    if rules is not None:
        spec["rules"] = rules
    return spec


def svc(name: str, rules: list[Obj], action: str = "ALLOW") -> Obj:
    """A policy spec for the waypoint: attached to a Service."""
    return {
        "targetRefs": [{"group": "", "kind": "Service", "name": name}],
        "action": action,
        "rules": rules,
    }


def from_(*principals: str, **source: Any) -> Obj:
    if principals:
        source["principals"] = list(principals)
    return {"from": [{"source": source}]}


def to(**operation: Any) -> Obj:
    return {"to": [{"operation": operation}]}


def sa(name: str, ns: str = "shop") -> str:
    return f"cluster.local/ns/{ns}/sa/{name}"


def outcome(decision: Decision) -> tuple[str, str | None, str | None, str | None, int | None]:
    """Verdict, deciding enforcer, action, policy and rule."""
    hop = decision.deciding
    if hop is None:
        return decision.verdict, None, None, None, None
    return decision.verdict, hop.enforcer, hop.action, hop.policy, hop.rule


def check(objects: list[Obj], call: Call, **kw: Any) -> Decision:
    return Policies.from_objects(objects, **kw).check(call)


# --- evaluation order at one enforcement point (ztunnel, L4 only) ------------------------

CART_TO_DB = Call(CART, DB, "db", 5432)

ORDER_CASES = [
    pytest.param([], "ALLOWED", "default", None, None, id="no-policy-allows"),
    pytest.param(
        [ap("nothing", pods("db", None))], "DENIED", "ALLOW", None, None, id="allow-no-rules"
    ),
    pytest.param(
        [ap("nothing", pods("db", []))], "DENIED", "ALLOW", None, None, id="allow-empty-rules"
    ),
    pytest.param(
        [ap("ns-nothing", {})], "DENIED", "ALLOW", None, None, id="namespace-allow-nothing"
    ),
    pytest.param(
        [ap("all", pods("db", [{}]))], "ALLOWED", "ALLOW", "shop/all", 0, id="empty-rule-all"
    ),
    pytest.param(
        [ap("all", pods("db", [{}])), ap("no", pods("db", [from_(sa("cart"))], "DENY"))],
        "DENIED",
        "DENY",
        "shop/no",
        0,
        id="deny-beats-allow",
    ),
    pytest.param(
        [ap("no", pods("db", None, "DENY"))], "ALLOWED", "default", None, None, id="deny-no-rules"
    ),
    pytest.param(
        [ap("no", pods("db", [from_(sa("web"))], "DENY")), ap("all", pods("db", [{}]))],
        "ALLOWED",
        "ALLOW",
        "shop/all",
        0,
        id="deny-not-matching",
    ),
    pytest.param(
        [ap("db", pods("db", [from_(sa("web")), from_(sa("cart"))]))],
        "ALLOWED",
        "ALLOW",
        "shop/db",
        1,
        id="second-rule-decides",
    ),
    pytest.param(
        [ap("a", pods("db", [from_(sa("web"))])), ap("b", pods("db", [from_(sa("cart"))]))],
        "ALLOWED",
        "ALLOW",
        "shop/b",
        0,
        id="any-allow-policy",
    ),
    pytest.param(
        [ap("log", pods("db", [{}], "AUDIT")), ap("nothing", pods("db", []))],
        "DENIED",
        "ALLOW",
        None,
        None,
        id="audit-does-not-allow",
    ),
    pytest.param(
        [ap("log", pods("db", [{}], "AUDIT"))], "ALLOWED", "default", None, None, id="audit-only"
    ),
    pytest.param(
        [ap("other", pods("web", []))], "ALLOWED", "default", None, None, id="selector-no-match"
    ),
    pytest.param(
        [ap("deny-all", {}, ns="istio-system")],
        "DENIED",
        "ALLOW",
        None,
        None,
        id="root-allow-nothing-mesh-wide",
    ),
    pytest.param(
        [ap("deny-all", {}, ns="istio-system"), ap("db", pods("db", [from_(sa("cart"))]))],
        "ALLOWED",
        "ALLOW",
        "shop/db",
        0,
        id="root-allow-nothing-and-local-allow",
    ),
    pytest.param(
        [ap("db-nothing", pods("db", []), ns="istio-system")],
        "DENIED",
        "ALLOW",
        None,
        None,
        id="root-selector-every-namespace",
    ),
    pytest.param(
        [ap("nothing", {}, ns="monitoring")], "ALLOWED", "default", None, None, id="other-ns"
    ),
]


@pytest.mark.parametrize(("policies", "verdict", "action", "policy", "rule"), ORDER_CASES)
def test_evaluation_order(
    policies: list[Obj], verdict: str, action: str, policy: str | None, rule: int | None
) -> None:
    decision = check([ambient("shop"), ambient("monitoring"), *policies], CART_TO_DB)
    assert outcome(decision) == (verdict, ZTUNNEL_DB, action, policy, rule)


def test_denied_reason_names_the_allow_policies() -> None:
    decision = check([ambient("shop"), ap("deny-all", {}, ns="istio-system")], CART_TO_DB)
    assert decision.explanation == (
        f"DENIED by {ZTUNNEL_DB}: no rule of the ALLOW policies here"
        " (istio-system/deny-all) matches"
    )


def test_root_namespace_is_configurable() -> None:
    objects = [ambient("shop"), ap("deny-all", {}, ns="mesh-root")]
    assert check(objects, CART_TO_DB).verdict == "ALLOWED"
    assert check(objects, CART_TO_DB, root_namespace="mesh-root").verdict == "DENIED"


# --- matching a source, an operation, a condition -----------------------------------------

MATCH_CASES = [
    # (id, rule, call, allowed)
    ("principal-exact", from_(sa("cart")), CART_TO_DB, True),
    ("principal-other", from_(sa("web")), CART_TO_DB, False),
    ("principal-prefix", from_("cluster.local/ns/shop/*"), CART_TO_DB, True),
    ("principal-prefix-miss", from_("cluster.local/ns/other/*"), CART_TO_DB, False),
    ("principal-suffix", from_("*/sa/cart"), CART_TO_DB, True),
    ("principal-suffix-miss", from_("*/sa/car"), CART_TO_DB, False),
    ("principal-presence", from_("*"), CART_TO_DB, True),
    ("principal-presence-off-mesh", from_("*"), Call(None, DB, "db", 5432), False),
    ("principal-off-mesh", from_(sa("cart")), Call(None, DB, "db", 5432), False),
    ("not-principals-caller", from_(notPrincipals=[sa("cart")]), CART_TO_DB, False),
    ("not-principals-other", from_(notPrincipals=[sa("web")]), CART_TO_DB, True),
    ("not-principals-off-mesh", from_(notPrincipals=["*"]), Call(None, DB, "db", 5432), True),
    ("principal-or", from_(sa("web"), sa("cart")), CART_TO_DB, True),
    ("namespaces", from_(namespaces=["shop"]), CART_TO_DB, True),
    ("namespaces-other", from_(namespaces=["monitoring"]), CART_TO_DB, False),
    ("not-namespaces", from_(notNamespaces=["shop"]), CART_TO_DB, False),
    ("namespaces-off-mesh", from_(namespaces=["*"]), Call(None, DB, "db", 5432), False),
    ("fields-and", from_(sa("cart"), namespaces=["monitoring"]), CART_TO_DB, False),
    ("service-accounts", from_(serviceAccounts=["shop/cart"]), CART_TO_DB, True),
    ("service-accounts-bare", from_(serviceAccounts=["cart"]), CART_TO_DB, True),
    ("service-accounts-other", from_(serviceAccounts=["monitoring/cart"]), CART_TO_DB, False),
    ("trust-domains", from_(trustDomains=["cluster.local"]), CART_TO_DB, True),
    ("ip-blocks-unknown", from_(ipBlocks=["10.0.0.0/8"]), CART_TO_DB, False),
    ("not-ip-blocks-unknown", from_(notIpBlocks=["10.0.0.0/8"]), CART_TO_DB, True),
    ("port-string", to(ports=["5432"]), CART_TO_DB, True),
    ("port-other", to(ports=["5433"]), CART_TO_DB, False),
    ("not-ports", to(notPorts=["5432"]), CART_TO_DB, False),
    ("not-ports-other", to(notPorts=["80"]), CART_TO_DB, True),
    ("from-and-to", {**from_(sa("cart")), **to(ports=["80"])}, CART_TO_DB, False),
    (
        "to-or",
        {"to": [{"operation": {"ports": ["80"]}}, {"operation": {"ports": ["5432"]}}]},
        CART_TO_DB,
        True,
    ),
    (
        "when-namespace",
        {"when": [{"key": "source.namespace", "values": ["shop"]}]},
        CART_TO_DB,
        True,
    ),
    (
        "when-principal-not",
        {"when": [{"key": "source.principal", "notValues": [sa("cart")]}]},
        CART_TO_DB,
        False,
    ),
    ("when-port", {"when": [{"key": "destination.port", "values": ["5432"]}]}, CART_TO_DB, True),
    (
        "when-and",
        {
            "when": [
                {"key": "source.namespace", "values": ["shop"]},
                {"key": "destination.port", "values": ["80"]},
            ]
        },
        CART_TO_DB,
        False,
    ),
    (
        "when-source-ip-unknown",
        {"when": [{"key": "source.ip", "values": ["10.0.0.1"]}]},
        CART_TO_DB,
        False,
    ),
]


@pytest.mark.parametrize(
    ("rule", "call", "allowed"), [pytest.param(*c[1:], id=c[0]) for c in MATCH_CASES]
)
def test_l4_matching_at_ztunnel(rule: Obj, call: Call, allowed: bool) -> None:
    decision = check([ambient("shop"), ap("db", pods("db", [rule]))], call)
    expected = ("ALLOWED", "shop/db", 0) if allowed else ("DENIED", None, None)
    assert (decision.verdict, decision.hops[0].policy, decision.hops[0].rule) == expected


# --- L7 at the waypoint, and what ztunnel makes of it ------------------------------------

GET_CART = Call(WEB, CART, "cart", 8080, method="GET", path="/cart/42")

WAYPOINT_CASES = [
    # (id, operation or rule, call, allowed)
    ("method", to(methods=["GET"]), GET_CART, True),
    ("method-other", to(methods=["POST"]), GET_CART, False),
    ("not-methods", to(notMethods=["GET"]), GET_CART, False),
    ("path-exact", to(paths=["/cart/42"]), GET_CART, True),
    ("path-prefix", to(paths=["/cart/*"]), GET_CART, True),
    ("path-prefix-miss", to(paths=["/carts/*"]), GET_CART, False),
    ("path-suffix", to(paths=["*/42"]), GET_CART, True),
    ("not-paths", to(notPaths=["/cart/*"]), GET_CART, False),
    ("not-paths-other", to(notPaths=["/admin/*"]), GET_CART, True),
    (
        "path-query-ignored",
        to(paths=["/cart/42"]),
        Call(WEB, CART, "cart", 8080, path="/cart/42?x=1"),
        True,
    ),
    ("template-one", to(paths=["/cart/{*}"]), GET_CART, True),
    (
        "template-one-deeper",
        to(paths=["/cart/{*}"]),
        Call(WEB, CART, "cart", 8080, path="/cart/4/2"),
        False,
    ),
    (
        "template-one-empty",
        to(paths=["/cart/{*}"]),
        Call(WEB, CART, "cart", 8080, path="/cart/"),
        False,
    ),
    (
        "template-many",
        to(paths=["/cart/{**}"]),
        Call(WEB, CART, "cart", 8080, path="/cart/4/2"),
        True,
    ),
    ("template-mid", to(paths=["/{*}/42"]), GET_CART, True),
    ("template-literal-star", to(paths=["/{*}/4*"]), GET_CART, None),
    ("host-default", to(hosts=["cart.shop.svc.cluster.local"]), GET_CART, True),
    ("host-case", to(hosts=["Cart.Shop.SVC.cluster.local"]), GET_CART, True),
    ("host-suffix", to(hosts=["*.shop.svc.cluster.local"]), GET_CART, True),
    (
        "host-with-port-exact",
        to(hosts=["cart.shop.svc.cluster.local"]),
        Call(WEB, CART, "cart", 8080, host="cart.shop.svc.cluster.local:8080"),
        False,
    ),
    (
        "host-with-port-prefix",
        to(hosts=["cart.shop.svc.cluster.local:*"]),
        Call(WEB, CART, "cart", 8080, host="cart.shop.svc.cluster.local:8080"),
        True,
    ),
    ("port-service", to(ports=["8080"]), GET_CART, True),
    (
        "header",
        {"when": [{"key": "request.headers[X-User]", "values": ["alice"]}]},
        Call(WEB, CART, "cart", 8080, headers={"x-user": "alice"}),
        True,
    ),
    (
        "header-absent",
        {"when": [{"key": "request.headers[X-User]", "values": ["*"]}]},
        GET_CART,
        False,
    ),
    (
        "header-not-absent",
        {"when": [{"key": "request.headers[X-User]", "notValues": ["bob"]}]},
        GET_CART,
        True,
    ),
    ("jwt-absent", from_(requestPrincipals=["*"]), GET_CART, False),
    ("not-jwt-absent", from_(notRequestPrincipals=["*"]), GET_CART, True),
    (
        "unknown-condition",
        {"when": [{"key": "request.auth.claims[iss]", "values": ["*"]}]},
        GET_CART,
        False,
    ),
    ("tcp-allow-needs-http", to(methods=["GET"]), Call(WEB, CART, "cart", 8080), False),
]


@pytest.mark.parametrize(
    ("rule", "call", "allowed"), [pytest.param(*c[1:], id=c[0]) for c in WAYPOINT_CASES]
)
def test_l7_matching_at_waypoint(rule: Obj, call: Call, allowed: bool | None) -> None:
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    if allowed is None:  # not a valid path template
        with pytest.raises(ValueError, match=r"shop/cart.*paths\[0\].*'/\{\*\}/4\*'"):
            Policies.from_objects(objects)
        return
    hop = check(objects, call).hops[0]
    assert hop.enforcer == "waypoint shop/waypoint"
    expected = (True, "shop/cart", 0) if allowed else (False, None, None)
    assert (hop.allowed, hop.policy, hop.rule) == expected


def test_tcp_call_at_waypoint_deny_ignores_http_fields() -> None:
    """For a non-HTTP call, HTTP attributes of a DENY rule count as matching."""
    deny = ap("no-post", svc("cart", [to(methods=["POST"], ports=["8080"])], "DENY"))
    objects = [with_waypoint(), waypoint(), deny]
    decision = check(objects, Call(WEB, CART, "cart", 8080))
    assert outcome(decision) == ("DENIED", "waypoint shop/waypoint", "DENY", "shop/no-post", 0)
    assert (
        "HTTP fields (methods) of rule 0 of shop/no-post count as matching"
        in (decision.hops[0].notes[0])
    )
    assert check(objects, Call(WEB, CART, "cart", 8080, method="GET")).verdict == "ALLOWED"


L7_AT_ZTUNNEL_CASES = [
    # The same L7 rule, targeted at the pods by selector: ztunnel can only see L4.
    pytest.param(
        pods("cart", [{**from_(sa("web")), **to(methods=["GET"])}]),
        "DENIED",
        "ALLOW",
        None,
        "rule 0 of shop/p left out: it uses L7 fields (methods)",
        id="allow-rule-with-l7-left-out",
    ),
    pytest.param(
        pods("cart", [to(methods=["GET"], ports=["8080"])]),
        "DENIED",
        "ALLOW",
        None,
        "rule 0 of shop/p left out: it uses L7 fields (methods)",
        id="allow-rule-l4-and-l7-left-out",
    ),
    pytest.param(
        pods("cart", [{**from_(sa("web")), **to(methods=["GET"])}, from_(sa("web"))]),
        "ALLOWED",
        "ALLOW",
        "shop/p",
        "rule 0 of shop/p left out",
        id="allow-l4-rule-still-counts",
    ),
    pytest.param(
        pods("cart", [to(methods=["POST"], ports=["8080"])], "DENY"),
        "DENIED",
        "DENY",
        "shop/p",
        "L7 fields (methods) of rule 0 of shop/p ignored",
        id="deny-l7-dropped-l4-enforced",
    ),
    pytest.param(
        pods("cart", [to(methods=["POST"])], "DENY"),
        "ALLOWED",
        "default",
        None,
        "never matches",
        id="deny-only-l7-no-effect",
    ),
    pytest.param(
        pods("cart", [{"when": [{"key": "request.headers[x-a]", "values": ["1"]}]}], "DENY"),
        "ALLOWED",
        "default",
        None,
        "request.headers[x-a]",
        id="deny-l7-condition-no-effect",
    ),
    pytest.param(
        {"action": "CUSTOM", "provider": {"name": "opa"}, "rules": [{}]},
        "ALLOWED",
        "default",
        None,
        "shop/p ignored: ztunnel does not support the CUSTOM action",
        id="custom-ignored",
    ),
]


@pytest.mark.parametrize(("spec", "verdict", "action", "policy", "note"), L7_AT_ZTUNNEL_CASES)
def test_l7_rules_at_ztunnel(
    spec: Obj, verdict: str, action: str, policy: str | None, note: str
) -> None:
    call = Call(WEB, CART, None, 8080, method="GET", path="/")
    decision = check([ambient("shop"), ap("p", spec)], call)
    (hop,) = decision.hops
    assert (decision.verdict, hop.action, hop.policy) == (verdict, action, policy)
    assert any(note in n for n in hop.notes), hop.notes


# --- where traffic goes: waypoint, ztunnel, and the identity each sees ------------------

CART_DB_VIA_WAYPOINT = Call(CART, DB, "db", 5432)
L4_POLICIES = [
    ap("db-svc", svc("db", [from_(sa("cart"))])),
    ap("db-pods", pods("db", [from_(sa("cart"))])),
]


def test_ztunnel_sees_the_waypoint_identity() -> None:
    decision = check([with_waypoint(), waypoint(), *L4_POLICIES], CART_DB_VIA_WAYPOINT)
    assert [h.enforcer for h in decision.hops] == ["waypoint shop/waypoint", ZTUNNEL_DB]
    assert decision.hops[0].policy == "shop/db-svc"
    assert outcome(decision) == ("DENIED", ZTUNNEL_DB, "ALLOW", None, None)
    assert f"ztunnel sees the waypoint's identity {WAYPOINT_SA}" in decision.hops[1].notes[0]


def test_pods_allowing_the_waypoint_pass_calls_through_it() -> None:
    allow = ap("db-pods", pods("db", [from_(sa("cart")), from_(WAYPOINT_SA)]))
    decision = check([with_waypoint(), waypoint(), L4_POLICIES[0], allow], CART_DB_VIA_WAYPOINT)
    assert decision.allowed
    assert [(h.policy, h.rule) for h in decision.hops] == [("shop/db-svc", 0), ("shop/db-pods", 1)]
    assert decision.deciding == decision.hops[-1]


def test_pod_address_skips_the_waypoint() -> None:
    decision = check([with_waypoint(), waypoint(), *L4_POLICIES], Call(CART, DB, None, 5432))
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_DB, "ALLOW", "shop/db-pods", 0)


def test_waypoint_denial_stops_the_call() -> None:
    decision = check([with_waypoint(), waypoint(), *L4_POLICIES], Call(WEB, DB, "db", 5432))
    assert len(decision.hops) == 1
    assert outcome(decision) == ("DENIED", "waypoint shop/waypoint", "ALLOW", None, None)


def test_service_policies_without_a_waypoint_are_not_enforced() -> None:
    decision = check([ambient("shop"), L4_POLICIES[0]], Call(WEB, DB, "db", 5432))
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_DB, "default", None, None)
    assert (
        "policies attached to Service shop/db (shop/db-svc) are enforced only by a waypoint"
        in (decision.hops[0].notes[0])
    )


INGRESS_CALL = Call(EDGE, CART, "cart", 8080, method="GET", path="/", from_ingress=True)
INGRESS_CASES = [
    pytest.param([with_waypoint()], False, id="ingress-skips-waypoint"),
    pytest.param(
        [with_waypoint(**{"istio.io/ingress-use-waypoint": "true"})], True, id="namespace-opts-in"
    ),
    pytest.param(
        [with_waypoint(), service("cart", {"istio.io/ingress-use-waypoint": "true"})],
        True,
        id="service-opts-in",
    ),
    pytest.param(
        [
            with_waypoint(**{"istio.io/ingress-use-waypoint": "true"}),
            service("cart", {"istio.io/ingress-use-waypoint": "false"}),
        ],
        False,
        id="service-label-wins",
    ),
]


@pytest.mark.parametrize(("objects", "through_waypoint"), INGRESS_CASES)
def test_ingress_and_the_waypoint(objects: list[Obj], through_waypoint: bool) -> None:
    """An allow-nothing policy on the Service denies the call if, and only if, it passes."""
    deny_all_at_waypoint = ap("cart", svc("cart", []))
    decision = check([*objects, waypoint(), deny_all_at_waypoint], INGRESS_CALL)
    if through_waypoint:
        assert outcome(decision) == ("DENIED", "waypoint shop/waypoint", "ALLOW", None, None)
    else:
        ztunnel = "ztunnel (pods app=cart in shop)"
        assert outcome(decision) == ("ALLOWED", ztunnel, "default", None, None)
        assert "an ingress gateway sends straight to the pods" in decision.hops[0].notes[0]


WAYPOINT_USE_CASES = [
    # (id, objects, call, enforcers)
    pytest.param([with_waypoint(), waypoint()], GET_CART, 2, id="namespace-label"),
    pytest.param([ambient("shop"), waypoint()], GET_CART, 1, id="no-label"),
    pytest.param(
        [ambient("shop"), waypoint(), service("cart", {"istio.io/use-waypoint": "waypoint"})],
        GET_CART,
        2,
        id="service-label",
    ),
    pytest.param(
        [with_waypoint(), waypoint(), service("cart", {"istio.io/use-waypoint": "none"})],
        GET_CART,
        1,
        id="service-opts-out",
    ),
    pytest.param([with_waypoint(), waypoint()], Call(None, CART, "cart", 8080), 1, id="off-mesh"),
    pytest.param(
        [
            with_waypoint(**{"istio.io/use-waypoint-namespace": "mesh"}),
            waypoint(ns="mesh", allowedRoutes={"namespaces": {"from": "All"}}),
        ],
        GET_CART,
        2,
        id="other-namespace-all",
    ),
    pytest.param(
        [
            with_waypoint(**{"istio.io/use-waypoint-namespace": "mesh"}),
            waypoint(
                ns="mesh",
                allowedRoutes={
                    "namespaces": {
                        "from": "Selector",
                        "selector": {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/metadata.name",
                                    "operator": "In",
                                    "values": ["shop"],
                                }
                            ]
                        },
                    }
                },
            ),
        ],
        GET_CART,
        2,
        id="other-namespace-selector",
    ),
    pytest.param(
        [with_waypoint(**{"istio.io/use-waypoint-namespace": "mesh"}), waypoint(ns="mesh")],
        GET_CART,
        1,
        id="other-namespace-same-refused",
    ),
]


@pytest.mark.parametrize(("objects", "call", "hops"), WAYPOINT_USE_CASES)
def test_which_calls_use_a_waypoint(objects: list[Obj], call: Call, hops: int) -> None:
    decision = check(objects, call)
    assert len(decision.hops) == hops
    assert decision.hops[-1].enforcer == "ztunnel (pods app=cart in shop)"
    if hops == 2:
        assert decision.hops[0].enforcer.startswith("waypoint ")


def test_waypoint_for_workload_traffic_is_not_used() -> None:
    gateway = waypoint()
    gateway["metadata"]["labels"] = {"istio.io/waypoint-for": "workload"}
    decision = check([with_waypoint(), gateway], GET_CART)
    assert len(decision.hops) == 1
    assert "waypoint shop/waypoint is for workload traffic" in decision.hops[0].notes[0]


def test_missing_waypoint_denies() -> None:
    decision = check([with_waypoint()], GET_CART)
    assert outcome(decision) == ("DENIED", "waypoint shop/waypoint", "missing", None, None)
    assert decision.explanation == (
        "DENIED by waypoint shop/waypoint: label istio.io/use-waypoint=waypoint on Namespace"
        " shop, but no Gateway shop/waypoint is among the objects"
    )


ATTACHMENT_CASES = [
    pytest.param(
        {
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint"}
            ]
        },
        "shop",
        True,
        id="gateway",
    ),
    pytest.param(
        {
            "targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "other"}
            ]
        },
        "shop",
        False,
        id="other-gateway",
    ),
    pytest.param(
        {
            "targetRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "GatewayClass",
                    "name": "istio-waypoint",
                }
            ]
        },
        "istio-system",
        True,
        id="gatewayclass-root",
    ),
    pytest.param(
        {
            "targetRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "GatewayClass",
                    "name": "istio-waypoint",
                }
            ]
        },
        "shop",
        False,
        id="gatewayclass-not-root",
    ),
    pytest.param(
        {"targetRef": {"group": "", "kind": "Service", "name": "cart"}},
        "shop",
        True,
        id="legacy-targetref",
    ),
    pytest.param(
        {"targetRefs": [{"group": "", "kind": "Service", "name": "web"}]},
        "shop",
        False,
        id="other-service",
    ),
    pytest.param({}, "shop", False, id="namespace-wide-not-at-waypoint"),
]


@pytest.mark.parametrize(("refs", "ns", "applies"), ATTACHMENT_CASES)
def test_policies_attached_to_the_waypoint(refs: Obj, ns: str, applies: bool) -> None:
    """An ALLOW-nothing policy shows, by denying at the waypoint, where it is attached."""
    decision = check(
        [with_waypoint(), waypoint(), ap("p", {**refs, "rules": []}, ns=ns)], GET_CART
    )
    waypoint_hop = decision.hops[0]
    assert waypoint_hop.enforcer == "waypoint shop/waypoint"
    assert waypoint_hop.allowed is not applies
    if applies:
        assert waypoint_hop.reason == f"no rule of the ALLOW policies here ({ns}/p) matches"


def test_ports_at_waypoint_are_service_ports_and_at_ztunnel_pod_ports() -> None:
    objects = [
        with_waypoint(),
        waypoint(),
        service("cart", ports=[{"port": 80, "targetPort": 8080}]),
        ap("svc", svc("cart", [to(ports=["80"])])),
        ap("pods", pods("cart", [{**from_(WAYPOINT_SA), **to(ports=["8080"])}])),
    ]
    decision = check(objects, Call(WEB, CART, "cart", 80, method="GET"))
    assert decision.allowed
    assert [(h.policy, h.rule) for h in decision.hops] == [("shop/svc", 0), ("shop/pods", 0)]


OFF_MESH_CASES = [
    pytest.param([namespace("shop")], CART, "Namespace shop is not on the ambient mesh", id="ns"),
    pytest.param([], CART, "Namespace shop is not among the objects", id="no-namespace-object"),
    pytest.param(
        [ambient("shop")],
        Workload("shop", "cart", {"istio.io/dataplane-mode": "none"}),
        "labelled istio.io/dataplane-mode=none",
        id="pods-opt-out",
    ),
]


@pytest.mark.parametrize(("objects", "pods_", "why"), OFF_MESH_CASES)
def test_destination_off_the_mesh_is_not_enforced(
    objects: list[Obj], pods_: Workload, why: str
) -> None:
    decision = check([*objects, ap("nothing", {})], Call(WEB, pods_, "cart", 8080))
    assert (decision.verdict, decision.hops, decision.deciding) == ("ALLOWED", (), None)
    assert why in decision.explanation


def test_pods_labelled_ambient_in_a_plain_namespace_are_on_the_mesh() -> None:
    pods_ = Workload("shop", "db", {"app": "db", "istio.io/dataplane-mode": "ambient"})
    decision = check([namespace("shop"), ap("nothing", {})], Call(CART, pods_, "db", 5432))
    assert decision.verdict == "DENIED"


# --- CUSTOM: the external provider decides, so the verdict is conditional ----------------

CUSTOM = {
    "targetRefs": [{"group": "", "kind": "Service", "name": "cart"}],
    "action": "CUSTOM",
    "provider": {"name": "opa"},
    "rules": [to(paths=["/admin/*"])],
}
CUSTOM_CASES = [
    pytest.param([], "/admin/x", "ALLOWED", 1, id="matching-is-conditional"),
    pytest.param([], "/cart", "ALLOWED", 0, id="not-matching"),
    pytest.param(
        [ap("no", svc("cart", [to(paths=["/admin/*"])], "DENY"))],
        "/admin/x",
        "DENIED",
        1,
        id="deny-still-denies",
    ),
]


@pytest.mark.parametrize(("more", "path", "verdict", "conditions"), CUSTOM_CASES)
def test_custom_policies(more: list[Obj], path: str, verdict: str, conditions: int) -> None:
    objects = [with_waypoint(), waypoint(), ap("ext", CUSTOM), *more]
    decision = check(objects, Call(WEB, CART, "cart", 8080, method="GET", path=path))
    assert decision.verdict == verdict
    assert len(decision.conditions) == conditions
    if conditions:
        assert decision.conditions[0] == (
            "ext-authz provider 'opa' allows the call"
            " (CUSTOM policy shop/ext rule 0 matches at waypoint shop/waypoint)"
        )
        assert "CUSTOM provider check" in decision.explanation


# --- bad objects: one ValueError naming the object and the field ------------------------

BAD_CASES = [
    pytest.param([ap("p", {"action": "REJECT"})], r"shop/p: spec.action 'REJECT'", id="action"),
    pytest.param(
        [ap("p", ["rules"])], r"shop/p: spec must be a mapping, got \['rules'\]", id="spec"
    ),
    pytest.param(
        [ap("p", pods("db", [to(ports=[5432])]))], r"shop/p.*ports\[0\].*5432", id="int-port"
    ),
    pytest.param(
        [ap("p", pods("db", [to(ports=["http"])]))], r"ports\[0\]: port 'http'", id="port"
    ),
    pytest.param(
        [ap("p", pods("db", [from_(principal=["x"])]))], r"unknown field 'principal'", id="field"
    ),
    pytest.param(
        [ap("p", pods("db", [{"form": []}]))], r"rules\[0\] has unknown field 'form'", id="rule"
    ),
    pytest.param(
        [ap("p", pods("db", [{"when": [{"key": "source.ip"}]}]))], r"needs values", id="when"
    ),
    pytest.param(
        [ap("p", {**svc("db", []), "selector": {"matchLabels": {"app": "db"}}})],
        r"shop/p: spec sets both selector and targetRefs",
        id="selector-and-targetrefs",
    ),
    pytest.param(
        [ap("p", pods("db", [to(paths=["/{**}/x/{*}"])]))],
        r"operator after \{\*\*\}",
        id="template",
    ),
    pytest.param(
        [
            waypoint(
                allowedRoutes={
                    "namespaces": {
                        "from": "Selector",
                        "selector": {"matchExpressions": [{"key": "a", "operator": "Has"}]},
                    }
                }
            )
        ],
        r"Gateway shop/waypoint: spec.listeners\[0\].*matchExpressions\[0\].operator 'Has'",
        id="gateway-selector",
    ),
    pytest.param(["Namespace"], r"object 0 must be a mapping, got 'Namespace'", id="object"),
    pytest.param(
        [{"kind": "Namespace", "apiVersion": "v1", "metadata": {}}], r"metadata.name", id="name"
    ),
]


@pytest.mark.parametrize(("objects", "message"), BAD_CASES)
def test_bad_objects_raise_one_value_error(objects: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policies.from_objects(objects)


@pytest.mark.parametrize("port", [0, 70000, True])
def test_bad_call_port(port: int) -> None:
    with pytest.raises(ValueError, match=f"port {port!r} must be 1-65535"):
        Call(CART, DB, "db", port)


def test_values_are_frozen_and_hashable() -> None:
    labels = {"app": "db"}
    pods_ = Workload("shop", "db", labels)
    labels["app"] = "changed"
    assert pods_.labels == {"app": "db"}
    assert pods_ == Workload("shop", "db", {"app": "db"})
    assert len({pods_, Call(CART, pods_, "db", 5432, headers={"a": "b"})}) == 2
    with pytest.raises(TypeError):
        pods_.labels["app"] = "x"  # type: ignore[index]


def test_other_kinds_are_ignored() -> None:
    objects = [
        ambient("shop"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
    ]
    assert check(objects, CART_TO_DB).verdict == "ALLOWED"


# --- the objects meshops renders for examples/shop.yaml ----------------------------------

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def shop() -> Policies:
    objects, problems = file_objects(read_file(REPO / "examples" / "shop.yaml"))
    assert problems == []
    return Policies.from_objects(objects)


def app(ns: str, name: str, account: str | None = None) -> Workload:
    return Workload(ns, account or name, {"app.kubernetes.io/name": name})


FRONTEND = app("shop", "frontend")
SHOP_CART = app("shop", "cart", "cart-sa")
SHOP_DB = app("shop", "cart-db")
SHOP_PROM = app("monitoring", "prometheus")
GRAFANA = app("monitoring", "grafana")
SHOP_WAYPOINT = "waypoint shop/waypoint"
DB_ZTUNNEL = "ztunnel (pods app.kubernetes.io/name=cart-db in shop)"

SHOP_CASES = [
    pytest.param(
        Call(FRONTEND, SHOP_CART, "cart", 8080, method="DELETE", path="/cart/7"),
        ("ALLOWED", "ztunnel (pods app.kubernetes.io/name=cart in shop)", "default", None, None),
        ("shop/shop-cart-svc", 0),
        id="frontend-deletes-cart-item",
    ),
    pytest.param(
        Call(FRONTEND, SHOP_CART, "cart", 8080, method="PUT", path="/cart/7"),
        ("DENIED", SHOP_WAYPOINT, "ALLOW", None, None),
        None,
        id="frontend-put-not-allowed",
    ),
    pytest.param(
        Call(SHOP_PROM, SHOP_CART, "cart", 8080, method="GET", path="/metrics"),
        ("ALLOWED", "ztunnel (pods app.kubernetes.io/name=cart in shop)", "default", None, None),
        ("shop/shop-cart-svc", 1),
        id="prometheus-scrapes-cart",
    ),
    pytest.param(
        Call(SHOP_PROM, SHOP_CART, "cart", 8080, method="GET", path="/cart"),
        ("DENIED", SHOP_WAYPOINT, "ALLOW", None, None),
        None,
        id="prometheus-not-cart-api",
    ),
    pytest.param(
        Call(SHOP_CART, SHOP_DB, "cart-db", 5432),
        ("ALLOWED", DB_ZTUNNEL, "ALLOW", "shop/shop-cart-db-pods", 1),
        ("shop/shop-cart-db-svc", 0),
        id="cart-to-db-through-waypoint",
    ),
    pytest.param(
        Call(SHOP_CART, SHOP_DB, None, 5432),
        ("ALLOWED", DB_ZTUNNEL, "ALLOW", "shop/shop-cart-db-pods", 0),
        None,
        id="cart-to-db-pod-address",
    ),
    pytest.param(
        Call(FRONTEND, SHOP_DB, None, 5432),
        ("DENIED", DB_ZTUNNEL, "ALLOW", None, None),
        None,
        id="frontend-to-db-pod-address",
    ),
    pytest.param(
        Call(FRONTEND, SHOP_DB, "cart-db", 5432),
        ("DENIED", SHOP_WAYPOINT, "ALLOW", None, None),
        None,
        id="frontend-to-db-service",
    ),
    pytest.param(
        Call(EDGE, FRONTEND, "frontend", 8080, method="GET", path="/", from_ingress=True),
        (
            "ALLOWED",
            "ztunnel (pods app.kubernetes.io/name=frontend in shop)",
            "ALLOW",
            "shop/edge-frontend-shop",
            0,
        ),
        None,
        id="ingress-to-frontend",
    ),
    pytest.param(
        Call(EDGE, GRAFANA, "grafana", 3000, method="GET", path="/", from_ingress=True),
        (
            "ALLOWED",
            "ztunnel (pods app.kubernetes.io/name=grafana in monitoring)",
            "ALLOW",
            "monitoring/edge-grafana-grafana",
            0,
        ),
        None,
        id="ingress-to-grafana",
    ),
    pytest.param(
        Call(EDGE, GRAFANA, "grafana", 9999, from_ingress=True),
        (
            "DENIED",
            "ztunnel (pods app.kubernetes.io/name=grafana in monitoring)",
            "ALLOW",
            None,
            None,
        ),
        None,
        id="ingress-to-grafana-wrong-port",
    ),
    pytest.param(
        Call(GRAFANA, SHOP_PROM, "prometheus", 9090, method="POST", path="/api/v1/query"),
        (
            "ALLOWED",
            "ztunnel (pods app.kubernetes.io/name=prometheus in monitoring)",
            "default",
            None,
            None,
        ),
        ("monitoring/shop-prometheus-svc", 0),
        id="grafana-queries-prometheus",
    ),
    pytest.param(
        Call(FRONTEND, SHOP_PROM, "prometheus", 9090, method="GET", path="/api/v1/query"),
        ("DENIED", "waypoint monitoring/waypoint", "ALLOW", None, None),
        None,
        id="frontend-not-prometheus",
    ),
    pytest.param(
        Call(FRONTEND, app("ingress", "edge", "edge-istio"), "edge", 443),
        ("ALLOWED", None, None, None, None),
        None,
        id="ingress-namespace-off-mesh",
    ),
]


@pytest.mark.parametrize(("call", "expected", "at_waypoint"), SHOP_CASES)
def test_rendered_shop(
    shop: Policies, call: Call, expected: tuple[Any, ...], at_waypoint: tuple[str, int] | None
) -> None:
    decision = shop.check(call)
    assert outcome(decision) == expected
    if at_waypoint is not None:
        assert (decision.hops[0].policy, decision.hops[0].rule) == at_waypoint


def test_rendered_shop_hardened_with_root_allow_nothing(shop: Policies) -> None:
    objects, _ = file_objects(read_file(REPO / "examples" / "shop.yaml"))
    hardened = Policies.from_objects([*objects, ap("allow-nothing", {}, ns="istio-system")])
    call = Call(SHOP_CART, SHOP_DB, "cart-db", 5432)
    assert shop.check(call).allowed and hardened.check(call).allowed
    scrape = Call(SHOP_PROM, SHOP_CART, "cart", 8080, method="GET", path="/metrics")
    assert outcome(hardened.check(scrape)) == (
        "DENIED",
        "ztunnel (pods app.kubernetes.io/name=cart in shop)",
        "ALLOW",
        None,
        None,
    )


def test_decision_as_json(shop: Policies) -> None:
    decision = shop.check(Call(SHOP_CART, SHOP_DB, "cart-db", 5432))
    data = json.loads(decision.to_json())
    assert data["verdict"] == "ALLOWED" and data["deciding_hop"] == 1
    assert [h["enforcer"] for h in data["hops"]] == [SHOP_WAYPOINT, DB_ZTUNNEL]
    assert data["hops"][1] == {
        "enforcer": DB_ZTUNNEL,
        "allowed": True,
        "action": "ALLOW",
        "policy": "shop/shop-cart-db-pods",
        "rule": 1,
        "reason": "rule 1 of ALLOW policy shop/shop-cart-db-pods matches",
        "notes": [
            f"ztunnel sees the waypoint's identity {WAYPOINT_SA}, not the caller's",
        ],
        "delegations": [],
    }
    assert data["delegations"] == []


# --- what the mutation figures showed no test held ------------------------------------

WEB_TO_CART_PODS = Call(WEB, CART, None, 8080, method="GET", path="/")

DENY_LEFT_EMPTY_CASES = [
    pytest.param(
        {
            "from": [{"source": {"requestPrincipals": ["*"]}}],
            "to": [{"operation": {"ports": ["8080"]}}],
        },
        id="from-only-l7",
    ),
    pytest.param(
        {
            **from_(sa("web")),
            "when": [{"key": "request.headers[x-a]", "values": ["1"]}],
        },
        id="when-only-l7",
    ),
    pytest.param(
        {**from_(sa("web")), "to": [{"operation": {"methods": ["GET"]}}]},
        id="to-only-l7",
    ),
]


@pytest.mark.parametrize("rule", DENY_LEFT_EMPTY_CASES)
def test_a_deny_rule_whose_entry_holds_only_l7_fields_never_matches_at_ztunnel(rule: Obj) -> None:
    """At ztunnel, a from/to entry or condition left with nothing to check never matches."""
    decision = check([ambient("shop"), ap("p", pods("cart", [rule], "DENY"))], WEB_TO_CART_PODS)
    (hop,) = decision.hops
    assert (decision.verdict, hop.action, hop.policy) == ("ALLOWED", "default", None)


def test_the_same_deny_rule_at_the_waypoint_denies() -> None:
    rule = {**from_(sa("web")), "to": [{"operation": {"methods": ["GET"]}}]}
    objects = [with_waypoint(), waypoint(), ap("p", svc("cart", [rule], "DENY"))]
    decision = check(objects, Call(WEB, CART, "cart", 8080, method="GET", path="/"))
    assert outcome(decision) == ("DENIED", "waypoint shop/waypoint", "DENY", "shop/p", 0)


def test_a_deny_reason_names_the_rule_and_the_policy() -> None:
    objects = [
        ambient("shop"),
        ap("all", pods("db", [{}])),
        ap("no", pods("db", [from_(sa("web")), from_(sa("cart"))], "DENY")),
    ]
    decision = check(objects, CART_TO_DB)
    assert decision.hops[0].reason == "rule 1 of DENY policy shop/no matches"
    assert decision.explanation == (
        f"DENIED by {ZTUNNEL_DB}: rule 1 of DENY policy shop/no matches"
    )


def test_an_allow_reason_names_the_rule_and_the_policy() -> None:
    decision = check([ambient("shop"), ap("db", pods("db", [from_(sa("cart"))]))], CART_TO_DB)
    assert decision.hops[0].reason == "rule 0 of ALLOW policy shop/db matches"


def test_no_allow_policy_is_allowed_by_default_and_says_so() -> None:
    decision = check([ambient("shop")], CART_TO_DB)
    assert decision.hops[0].reason == "no ALLOW policy applies here: allowed by default"


def test_a_custom_policy_on_the_pods_is_no_condition_at_ztunnel() -> None:
    custom = {
        "selector": {"matchLabels": {"app": "cart"}},
        "action": "CUSTOM",
        "provider": {"name": "opa"},
        "rules": [{}],
    }
    decision = check([ambient("shop"), ap("ext", custom)], WEB_TO_CART_PODS)
    assert decision.verdict == "ALLOWED"
    assert decision.conditions == ()
    assert "shop/ext ignored: ztunnel does not support the CUSTOM action" in (
        decision.hops[0].notes
    )


def test_an_audit_policy_is_ignored_at_ztunnel_and_says_so() -> None:
    audit = pods("cart", [{}], "AUDIT")
    decision = check([ambient("shop"), ap("log", audit)], WEB_TO_CART_PODS)
    assert "shop/log ignored: ztunnel does not support the AUDIT action" in decision.hops[0].notes


def expression(key: str, operator: str, *values: str) -> Obj:
    found: Obj = {"key": key, "operator": operator}
    if values:
        found["values"] = list(values)
    return found


SELECTOR_CASES = [
    # (id, expression, takes namespace shop {tier: front}, takes namespace lab {})
    ("in", expression("tier", "In", "front", "back"), True, False),
    ("not-in", expression("tier", "NotIn", "back"), True, True),
    ("not-in-the-value", expression("tier", "NotIn", "front"), False, True),
    ("exists", expression("tier", "Exists"), True, False),
    ("does-not-exist", expression("tier", "DoesNotExist"), False, True),
]


@pytest.mark.parametrize(
    ("expr", "shop", "lab"), [pytest.param(*c[1:], id=c[0]) for c in SELECTOR_CASES]
)
def test_selector_expressions_choose_the_namespaces_a_waypoint_serves(
    expr: Obj, shop: bool, lab: bool
) -> None:
    """A waypoint in another namespace serves those its allowedRoutes selector selects."""
    gateway = waypoint(
        ns="mesh",
        allowedRoutes={
            "namespaces": {"from": "Selector", "selector": {"matchExpressions": [expr]}}
        },
    )
    uses_mesh = {"istio.io/use-waypoint-namespace": "mesh"}
    objects = [
        with_waypoint("shop", tier="front", **uses_mesh),
        with_waypoint("lab", **uses_mesh),
        gateway,
    ]
    for ns, served in (("shop", shop), ("lab", lab)):
        cart = Workload(ns, "cart", {"app": "cart"})
        decision = check(objects, Call(WEB, cart, "cart", 8080, method="GET", path="/"))
        assert len(decision.hops) == (2 if served else 1), (ns, decision.explanation)
