"""Tests for meshops.semantics.authz: what the objects given say, and how they are read.

GatewayClass labels (``istio.io/waypoint-for`` on the class counts when the Gateway has
none), which ``targetRefs`` attach a policy to a Service (group ``""`` or ``core``),
calls to a Namespace absent from the objects, what a Service's ports and policies add
to a hop, and the one ValueError a malformed object raises, naming the object and the
field.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from meshops.semantics.authz import Call, Policies, Workload

from .test_authz import (
    CART,
    GET_CART,
    WEB,
    Obj,
    ambient,
    ap,
    check,
    from_,
    namespace,
    outcome,
    pods,
    sa,
    service,
    svc,
    waypoint,
    with_waypoint,
)

GATEWAY_API = "gateway.networking.k8s.io/v1"
WAYPOINT = "waypoint shop/waypoint"
ZTUNNEL_CART = "ztunnel (pods app=cart in shop)"


def gateway_class(
    waypoint_for: str | None, name: str = "istio-waypoint", api: str = GATEWAY_API
) -> Obj:
    labels = {} if waypoint_for is None else {"istio.io/waypoint-for": waypoint_for}
    return {
        "apiVersion": api,
        "kind": "GatewayClass",
        "metadata": {"name": name, "labels": labels},
    }


def labelled_waypoint(waypoint_for: str) -> Obj:
    gateway = waypoint()
    gateway["metadata"]["labels"] = {"istio.io/waypoint-for": waypoint_for}
    return gateway


# --- the waypoint's GatewayClass ---------------------------------------------------------

REFUSED_WORKLOAD = (
    "label istio.io/use-waypoint=waypoint on Namespace shop, but waypoint shop/waypoint is"
    " for workload traffic (istio.io/waypoint-for): Istio sends the call straight to the pods"
)

CLASS_CASES = [
    # (id, the GatewayClass, the Gateway, whether the call passes the waypoint)
    ("class-for-workload", gateway_class("workload"), waypoint(), False),
    ("class-for-all", gateway_class("all"), waypoint(), True),
    ("class-for-service", gateway_class("service"), waypoint(), True),
    ("class-unlabelled", gateway_class(None), waypoint(), True),
    ("gateway-label-wins", gateway_class("workload"), labelled_waypoint("service"), True),
    ("gateway-for-all", gateway_class("workload"), labelled_waypoint("all"), True),
    ("other-class", gateway_class("workload", name="other"), waypoint(), True),
    (
        "not-gateway-api",
        gateway_class("workload", api="example.com/v1"),
        waypoint(),
        True,
    ),
]


@pytest.mark.parametrize(
    ("klass", "gateway", "through"), [pytest.param(*c[1:], id=c[0]) for c in CLASS_CASES]
)
def test_the_gateway_class_says_what_traffic_its_waypoints_take(
    klass: Obj, gateway: Obj, through: bool
) -> None:
    """The class's istio.io/waypoint-for counts when the Gateway has none of its own."""
    decision = check([klass, with_waypoint(), gateway], GET_CART)
    if through:
        assert [h.enforcer for h in decision.hops] == [WAYPOINT, ZTUNNEL_CART]
    else:
        assert [h.enforcer for h in decision.hops] == [ZTUNNEL_CART]
        assert decision.hops[0].notes == (REFUSED_WORKLOAD,)


def test_objects_after_a_gateway_class_are_read() -> None:
    objects = [gateway_class(None), with_waypoint(), waypoint(), ap("cart", svc("cart", []))]
    assert outcome(check(objects, GET_CART)) == ("DENIED", WAYPOINT, "ALLOW", None, None)


# --- which targetRefs attach a policy to the called Service ------------------------------

TARGET_CASES = [
    # (id, targetRefs, whether the policy applies at the waypoint)
    ("core-group-empty", [{"group": "", "kind": "Service", "name": "cart"}], True),
    ("core-group-named", [{"group": "core", "kind": "Service", "name": "cart"}], True),
    ("group-left-out", [{"kind": "Service", "name": "cart"}], True),
    ("other-group", [{"group": "example.com", "kind": "Service", "name": "cart"}], False),
    ("core-group-not-a-service", [{"group": "", "kind": "Gateway", "name": "cart"}], False),
    (
        "after-a-ref-of-another-group",
        [
            {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "cart"},
            {"group": "", "kind": "Service", "name": "cart"},
        ],
        True,
    ),
]


@pytest.mark.parametrize(
    ("refs", "applies"), [pytest.param(*c[1:], id=c[0]) for c in TARGET_CASES]
)
def test_a_service_target_ref_is_of_the_core_group(refs: list[Obj], applies: bool) -> None:
    """An ALLOW-nothing policy shows, by denying at the waypoint, whether it is attached."""
    policy = ap("p", {"targetRefs": refs, "rules": []})
    decision = check([with_waypoint(), waypoint(), policy], GET_CART)
    if applies:
        assert outcome(decision) == ("DENIED", WAYPOINT, "ALLOW", None, None)
        assert decision.hops[0].reason == "no rule of the ALLOW policies here (shop/p) matches"
    else:
        assert outcome(decision) == ("ALLOWED", ZTUNNEL_CART, "default", None, None)


# --- a destination Namespace that is not among the objects --------------------------------
# Pods labelled istio.io/dataplane-mode=ambient are on the mesh whatever their Namespace;
# with no Namespace object, no Namespace label names a waypoint or opts an ingress in.

AMBIENT_CART = Workload("shop", "cart", {"app": "cart", "istio.io/dataplane-mode": "ambient"})
ZTUNNEL_AMBIENT_CART = "ztunnel (pods app=cart,istio.io/dataplane-mode=ambient in shop)"
USES_WAYPOINT = {"istio.io/use-waypoint": "waypoint"}


def test_without_its_namespace_a_service_uses_no_waypoint_unless_labelled() -> None:
    objects = [waypoint(), service("cart"), ap("cart", svc("cart", []))]
    decision = check(objects, Call(WEB, AMBIENT_CART, "cart", 8080, method="GET"))
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_AMBIENT_CART, "default", None, None)
    labelled = [waypoint(), service("cart", USES_WAYPOINT), ap("cart", svc("cart", []))]
    decision = check(labelled, Call(WEB, AMBIENT_CART, "cart", 8080, method="GET"))
    assert outcome(decision) == ("DENIED", WAYPOINT, "ALLOW", None, None)


def test_without_its_namespace_an_ingress_call_skips_the_services_waypoint() -> None:
    edge = Workload("ingress", "edge-istio")
    call = Call(edge, AMBIENT_CART, "cart", 8080, method="GET", from_ingress=True)
    objects = [waypoint(), service("cart", USES_WAYPOINT), ap("cart", svc("cart", []))]
    decision = check(objects, call)
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_AMBIENT_CART, "default", None, None)
    assert decision.hops[0].notes[0] == (
        "an ingress gateway sends straight to the pods, skipping waypoint shop/waypoint"
        " (label the Service or its namespace istio.io/ingress-use-waypoint=true to send"
        " it through)"
    )


@pytest.mark.parametrize(("named", "through"), [("shop", True), ("lab", False)])
def test_without_its_namespace_a_selector_waypoint_matches_the_namespace_name(
    named: str, through: bool
) -> None:
    """A Namespace has the label kubernetes.io/metadata.name, even when not given."""
    selector = {"matchLabels": {"kubernetes.io/metadata.name": named}}
    gateway = waypoint(
        ns="mesh", allowedRoutes={"namespaces": {"from": "Selector", "selector": selector}}
    )
    labels = {**USES_WAYPOINT, "istio.io/use-waypoint-namespace": "mesh"}
    decision = check([gateway, service("cart", labels)], Call(WEB, AMBIENT_CART, "cart", 8080))
    if through:
        assert [h.enforcer for h in decision.hops] == [
            "waypoint mesh/waypoint",
            ZTUNNEL_AMBIENT_CART,
        ]
    else:
        assert decision.hops[0].notes == (
            "label istio.io/use-waypoint=waypoint on Service shop/cart, but waypoint"
            " mesh/waypoint does not allow namespace shop (allowedRoutes): Istio sends the"
            " call straight to the pods",
        )


# --- what the Service and the missing waypoint say ---------------------------------------


def test_a_missing_waypoint_denies_in_json_too() -> None:
    data = check([with_waypoint()], GET_CART).to_dict()
    assert (data["verdict"], data["allowed"]) == ("DENIED", False)
    assert (data["hops"][0]["action"], data["hops"][0]["allowed"]) == ("missing", False)


def test_a_named_target_port_is_taken_as_the_service_port_and_said() -> None:
    objects = [
        ambient("shop"),
        service("cart", ports=[{"port": 80, "targetPort": "http"}]),
        ap("cart", pods("cart", [{"to": [{"operation": {"ports": ["80"]}}]}])),
    ]
    decision = check(objects, Call(WEB, CART, "cart", 80))
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_CART, "ALLOW", "shop/cart", 0)
    assert decision.hops[0].notes == ("targetPort 'http' is named: the pod port is taken as 80",)


SERVICE_POLICIES = [ap("b", svc("cart", [from_(sa("web"))])), ap("a", svc("cart", []))]


@pytest.mark.parametrize(
    ("shop", "enforcer", "after"),
    [
        pytest.param(ambient("shop"), ZTUNNEL_CART, "", id="ztunnel"),
        pytest.param(
            namespace("shop", **{"istio-injection": "enabled"}),
            "sidecar (pods app=cart in shop)",
            " (a sidecar ignores them)",
            id="sidecar",
        ),
    ],
)
def test_policies_attached_to_the_service_are_named_when_no_waypoint_enforces_them(
    shop: Obj, enforcer: str, after: str
) -> None:
    decision = check([shop, *SERVICE_POLICIES], Call(WEB, CART, "cart", 8080))
    assert outcome(decision) == ("ALLOWED", enforcer, "default", None, None)
    assert decision.hops[0].notes == (
        "policies attached to Service shop/cart (shop/a, shop/b) are enforced only by a"
        f" waypoint, and this call passes none{after}",
    )


def test_pods_without_labels_are_named_by_their_namespace() -> None:
    decision = check([ambient("shop")], Call(WEB, Workload("shop", "cart"), "cart", 8080))
    assert decision.hops[0].enforcer == "ztunnel (pods in shop)"
    assert decision.explanation == (
        "ALLOWED: ztunnel (pods in shop): no ALLOW policy applies here: allowed by default"
    )


# --- a malformed object: one ValueError naming the object and the field -------------------


def with_labels(obj: Obj, labels: Any) -> Obj:
    return {**obj, "metadata": {**obj["metadata"], "labels": labels}}


BAD_OBJECT_CASES = [
    pytest.param(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": ["shop"]},
        "object 0 (Namespace): metadata must be a mapping, got ['shop']",
        id="metadata",
    ),
    pytest.param(
        with_labels(namespace("shop"), {"team": 7}),
        "Namespace shop: metadata.labels.team must be a string, got 7",
        id="namespace-labels",
    ),
    pytest.param(
        with_labels(gateway_class(None), ["istio.io/waypoint-for"]),
        "GatewayClass istio-waypoint: metadata.labels must be a mapping,"
        " got ['istio.io/waypoint-for']",
        id="gateway-class-labels",
    ),
    pytest.param(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cart"}},
        "Service cart: metadata.namespace must be a non-empty string, got None",
        id="service-namespace",
    ),
    pytest.param(
        {**service("cart"), "spec": {"ports": [{"port": "http"}]}},
        "Service shop/cart: spec.ports[0].port must be an integer, got 'http'",
        id="service-port",
    ),
    pytest.param(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "RequestAuthentication",
            "metadata": {"name": "jwt", "namespace": "shop"},
            "spec": ["jwtRules"],
        },
        "RequestAuthentication shop/jwt: spec must be a mapping, got ['jwtRules']",
        id="request-authentication-spec",
    ),
]


@pytest.mark.parametrize(("obj", "message"), BAD_OBJECT_CASES)
def test_a_malformed_object_is_named_with_its_field(obj: Obj, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Policies.from_objects([obj])


# --- every field of a malformed object, named in full ------------------------------------


def rule(data: Obj) -> Obj:
    return ap("p", pods("db", [data]))


def policy(**spec: Any) -> Obj:
    return ap("p", spec)


def source(**fields: Any) -> Obj:
    return rule({"from": [{"source": fields}]})


def operation(**fields: Any) -> Obj:
    return rule({"to": [{"operation": fields}]})


def condition(**fields: Any) -> Obj:
    return rule({"when": [fields]})


def request_authentication(spec: Any) -> Obj:
    meta = {"name": "jwt", "namespace": "shop"}
    return {"apiVersion": API, "kind": "RequestAuthentication", "metadata": meta, "spec": spec}


def service_with(spec: Any) -> Obj:
    return {**service("cart"), "spec": spec}


def gateway_with(spec: Any) -> Obj:
    return {**waypoint(), "spec": spec}


def hbone_with(**listener: Any) -> Obj:
    return waypoint(**listener)


API = "security.istio.io/v1"
AP = "AuthorizationPolicy shop/p: spec"
RULE = f"{AP}.rules[0]"
CLAIM = "must be request.auth.claims[<name>]..."
GATEWAY = "Gateway shop/waypoint: spec"
NAMESPACES = f"{GATEWAY}.listeners[0].allowedRoutes.namespaces"
BAD_FIELD_CASES = [
    ("rules", policy(rules="x"), f"{AP}.rules must be a list, got 'x'"),
    ("rule", policy(rules=["x"]), f"{RULE} must be a mapping, got 'x'"),
    ("rule-field", rule({"form": []}), f"{RULE} has unknown field 'form'"),
    ("from", rule({"from": "x"}), f"{RULE}.from must be a list, got 'x'"),
    ("from-item", rule({"from": ["x"]}), f"{RULE}.from[0] must be a mapping, got 'x'"),
    ("from-field", rule({"from": [{"sauce": {}}]}), f"{RULE}.from[0] has unknown field 'sauce'"),
    (
        "source",
        rule({"from": [{"source": "x"}]}),
        f"{RULE}.from[0].source must be a mapping, got 'x'",
    ),
    (
        "source-field",
        source(principal=["x"]),
        f"{RULE}.from[0].source has unknown field 'principal'",
    ),
    (
        "source-values",
        source(principals="x"),
        f"{RULE}.from[0].source.principals must be a list, got 'x'",
    ),
    (
        "source-value",
        source(principals=[""]),
        f"{RULE}.from[0].source.principals[0] must be a non-empty string, got ''",
    ),
    (
        "ip-block",
        source(ipBlocks=["10.0.0.300"]),
        f"{RULE}.from[0].source.ipBlocks[0]: '10.0.0.300' is not an IP address or CIDR block",
    ),
    ("to", rule({"to": "x"}), f"{RULE}.to must be a list, got 'x'"),
    ("to-item", rule({"to": ["x"]}), f"{RULE}.to[0] must be a mapping, got 'x'"),
    ("to-field", rule({"to": [{"op": {}}]}), f"{RULE}.to[0] has unknown field 'op'"),
    (
        "operation",
        rule({"to": [{"operation": "x"}]}),
        f"{RULE}.to[0].operation must be a mapping, got 'x'",
    ),
    ("operation-field", operation(path=["/"]), f"{RULE}.to[0].operation has unknown field 'path'"),
    (
        "operation-values",
        operation(notPaths="/"),
        f"{RULE}.to[0].operation.notPaths must be a list, got '/'",
    ),
    (
        "port",
        operation(ports=["65536"]),
        f"{RULE}.to[0].operation.ports[0]: port '65536' must be a string of digits 0-65535",
    ),
    (
        "template",
        operation(paths=["/{*}/4*"]),
        f"{RULE}.to[0].operation.paths[0]: path template '/{{*}}/4*' has '*', '{{' or '}}'"
        " outside a whole-segment {*} or {**}",
    ),
    (
        "template-after",
        operation(paths=["/{**}/x/{*}"]),
        f"{RULE}.to[0].operation.paths[0]: path template '/{{**}}/x/{{*}}' has an operator"
        " after {**}",
    ),
    ("when", rule({"when": "x"}), f"{RULE}.when must be a list, got 'x'"),
    ("when-item", rule({"when": ["x"]}), f"{RULE}.when[0] must be a mapping, got 'x'"),
    (
        "when-field",
        condition(key="source.ip", value=["x"]),
        f"{RULE}.when[0] has unknown field 'value'",
    ),
    (
        "when-key",
        condition(values=["x"]),
        f"{RULE}.when[0].key must be a non-empty string, got None",
    ),
    (
        "when-values",
        condition(key="source.ip", values="x"),
        f"{RULE}.when[0].values must be a list, got 'x'",
    ),
    (
        "when-no-values",
        condition(key="source.ip"),
        f"{RULE}.when[0] (key 'source.ip') needs values or notValues",
    ),
    (
        "when-ip",
        condition(key="source.ip", notValues=["nope"]),
        f"{RULE}.when[0].notValues[0]: 'nope' is not an IP address or CIDR block",
    ),
    (
        "header-unclosed",
        condition(key="request.headers[x", values=["1"]),
        f"{RULE}.when[0].key 'request.headers[x' must be request.headers[<name>]",
    ),
    (
        "header-unnamed",
        condition(key="request.headers[]", values=["1"]),
        f"{RULE}.when[0].key 'request.headers[]' must be request.headers[<name>]",
    ),
    (
        "claim-unclosed",
        condition(key="request.auth.claims[a", values=["1"]),
        f"{RULE}.when[0].key 'request.auth.claims[a' {CLAIM}",
    ),
    (
        "claim-unnamed",
        condition(key="request.auth.claims[]", values=["1"]),
        f"{RULE}.when[0].key 'request.auth.claims[]' {CLAIM}",
    ),
    (
        "claim-inner-unnamed",
        condition(key="request.auth.claims[a][]", values=["1"]),
        f"{RULE}.when[0].key 'request.auth.claims[a][]' {CLAIM}",
    ),
    (
        "claim-stray-close",
        condition(key="request.auth.claims[a]b]", values=["1"]),
        f"{RULE}.when[0].key 'request.auth.claims[a]b]' {CLAIM}",
    ),
    (
        "claim-stray-open",
        condition(key="request.auth.claims[a[b]", values=["1"]),
        f"{RULE}.when[0].key 'request.auth.claims[a[b]' {CLAIM}",
    ),
    ("spec-field", policy(rule=[]), f"{AP} has unknown field 'rule'"),
    (
        "action",
        policy(action="REJECT"),
        f"{AP}.action 'REJECT' is not one of ALLOW, DENY, AUDIT, CUSTOM",
    ),
    (
        "provider",
        policy(action="CUSTOM", provider="opa"),
        f"{AP}.provider must be a mapping, got 'opa'",
    ),
    (
        "provider-name",
        policy(action="CUSTOM", provider={"name": 7}),
        f"{AP}.provider.name must be a non-empty string, got 7",
    ),
    ("selector", policy(selector="app=db"), f"{AP}.selector must be a mapping, got 'app=db'"),
    (
        "match-labels",
        policy(selector={"matchLabels": {"app": 7}}),
        f"{AP}.selector.matchLabels.app must be a string, got 7",
    ),
    ("target-refs", policy(targetRefs="x"), f"{AP}.targetRefs must be a list, got 'x'"),
    (
        "target-refs-item",
        policy(targetRefs=["x"]),
        f"{AP}.targetRefs[0] must be a mapping, got 'x'",
    ),
    ("target-ref", policy(targetRef="x"), f"{AP}.targetRef must be a mapping, got 'x'"),
    (
        "target-ref-group",
        policy(targetRef={"group": 7, "kind": "Service", "name": "db"}),
        f"{AP}.targetRef.group must be a string, got 7",
    ),
    (
        "target-ref-kind",
        policy(targetRefs=[{"name": "db"}]),
        f"{AP}.targetRefs[0].kind must be a non-empty string, got None",
    ),
    (
        "target-ref-name",
        policy(targetRefs=[{"kind": "Service"}]),
        f"{AP}.targetRefs[0].name must be a non-empty string, got None",
    ),
    (
        "jwt-rules",
        request_authentication({"jwtRules": "x"}),
        "RequestAuthentication shop/jwt: spec.jwtRules must be a list, got 'x'",
    ),
    (
        "jwt-rule",
        request_authentication({"jwtRules": ["x"]}),
        "RequestAuthentication shop/jwt: spec.jwtRules[0] must be a mapping, got 'x'",
    ),
    (
        "issuer",
        request_authentication({"jwtRules": [{"jwksUri": "x"}]}),
        "RequestAuthentication shop/jwt: spec.jwtRules[0].issuer must be a non-empty string,"
        " got None",
    ),
    ("service-spec", service_with("x"), "Service shop/cart: spec must be a mapping, got 'x'"),
    (
        "service-ports",
        service_with({"ports": "x"}),
        "Service shop/cart: spec.ports must be a list, got 'x'",
    ),
    (
        "service-port-item",
        service_with({"ports": ["x"]}),
        "Service shop/cart: spec.ports[0] must be a mapping, got 'x'",
    ),
    (
        "service-target-port",
        service_with({"ports": [{"port": 80, "targetPort": [80]}]}),
        "Service shop/cart: spec.ports[0].targetPort must be a number or a name, got [80]",
    ),
    (
        "service-labels",
        with_labels(service("cart"), "x"),
        "Service shop/cart: metadata.labels must be a mapping, got 'x'",
    ),
    ("gateway-spec", gateway_with("x"), f"{GATEWAY} must be a mapping, got 'x'"),
    (
        "gateway-class",
        gateway_with({"listeners": []}),
        f"{GATEWAY}.gatewayClassName must be a non-empty string, got None",
    ),
    (
        "gateway-labels",
        with_labels(waypoint(), {"a": 1}),
        "Gateway shop/waypoint: metadata.labels.a must be a string, got 1",
    ),
    (
        "listeners",
        gateway_with({"gatewayClassName": "istio-waypoint", "listeners": "x"}),
        f"{GATEWAY}.listeners must be a list, got 'x'",
    ),
    (
        "listener",
        gateway_with({"gatewayClassName": "istio-waypoint", "listeners": ["x"]}),
        f"{GATEWAY}.listeners[0] must be a mapping, got 'x'",
    ),
    (
        "allowed-routes",
        hbone_with(allowedRoutes="x"),
        f"{GATEWAY}.listeners[0].allowedRoutes must be a mapping, got 'x'",
    ),
    (
        "allowed-namespaces",
        hbone_with(allowedRoutes={"namespaces": "x"}),
        f"{NAMESPACES} must be a mapping, got 'x'",
    ),
    (
        "allowed-from",
        hbone_with(allowedRoutes={"namespaces": {"from": "Any"}}),
        f"{NAMESPACES}.from 'Any' is not one of All, Same, Selector",
    ),
    (
        "allowed-selector",
        hbone_with(allowedRoutes={"namespaces": {"from": "Selector"}}),
        f"{NAMESPACES}.selector must be set when from is Selector",
    ),
]


@pytest.mark.parametrize(
    ("obj", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_FIELD_CASES]
)
def test_each_malformed_field_is_named_in_full(obj: Obj, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Policies.from_objects([obj])
