"""Tests for meshops.semantics.authz: how each value of a policy matches a request's.

Istio's string match (``pilot/pkg/security/authz/matcher``): ``*abc`` is a suffix,
``abc*`` a prefix, anything else exact and case-sensitive; ``*`` alone is any non-empty
value (the regex ``.+``), but for a header or a host it is Envoy's presence match, so an
empty value matches too. Hosts compare without case. Paths may be templates; IP blocks
are CIDR blocks, host bits allowed; ports are 0-65535. Which fields an enforcement point
can evaluate: the conditions reference (istio.io, *Authorization Policy Conditions*).
"""

from __future__ import annotations

import pytest

from meshops.semantics.authz import Call, Jwt, Workload

from .test_authz import (
    CART,
    WEB,
    Obj,
    ambient,
    ap,
    check,
    from_,
    pods,
    sa,
    svc,
    to,
    waypoint,
    with_waypoint,
)
from .test_authz_callers import when

WAYPOINT = "waypoint shop/waypoint"
ZTUNNEL_CART = "ztunnel (pods app=cart in shop)"
HOST = "cart.shop.svc.cluster.local"


def http(**kw: object) -> Call:
    """An HTTP call from web to the cart Service (GET /cart/42 unless told)."""
    given: dict[str, object] = {"method": "GET", "path": "/cart/42", **kw}
    return Call(WEB, CART, "cart", 8080, **given)  # type: ignore[arg-type]


X_USER = "request.headers[x-user]"


def user(value: str, name: str = "x-user") -> Call:
    """An HTTP call with the header ``name: value``."""
    return http(headers={name: value})


def allowed_at_waypoint(rule: Obj, call: Call) -> bool:
    """Whether an ALLOW policy of one rule, at the cart Service's waypoint, allows ``call``."""
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    hop = check(objects, call).hops[0]
    assert hop.enforcer == WAYPOINT
    if hop.allowed:
        assert (hop.policy, hop.rule) == ("shop/cart", 0)
    return hop.allowed


def allowed_at_ztunnel(rule: Obj, call: Call) -> bool:
    """Whether an ALLOW policy of one rule on the cart pods allows ``call`` at ztunnel."""
    (hop,) = check([ambient("shop"), ap("cart", pods("cart", [rule]))], call).hops
    assert hop.enforcer == ZTUNNEL_CART
    return hop.allowed


# --- strings: exact, prefix, suffix, any; case --------------------------------------------

STRING_CASES = [
    # (id, rule, call, allowed)
    ("method-is-case-sensitive", to(methods=["get"]), http(), False),
    ("path-is-case-sensitive", to(paths=["/Cart/42"]), http(), False),
    ("principal-is-case-sensitive", from_(sa("Web")), http(), False),
    ("principal-any", from_("*"), http(), True),
    ("prefix-is-the-text-before-the-star", to(paths=["/cart/*"]), http(path="/cartx"), False),
    ("prefix-of-the-whole-text", to(paths=["/cart/*"]), http(path="/cart/"), True),
    ("suffix-is-the-text-after-the-star", to(paths=["*/42"]), http(path="/cart42"), False),
    ("suffix-of-the-whole-text", to(paths=["*/42"]), http(path="/42"), True),
    ("host-exact-any-case", to(hosts=[HOST]), http(host="CART.Shop.svc.cluster.local"), True),
    ("host-prefix-any-case", to(hosts=["Cart.*"]), http(host="CART.SHOP"), True),
    ("host-prefix-miss", to(hosts=["cart.*"]), http(host="carts.shop"), False),
    ("host-suffix-no-case", to(hosts=["*.Shop.svc.cluster.local"]), http(host=HOST.upper()), True),
    ("host-suffix-miss", to(hosts=["*.shop.svc.cluster.local"]), http(host="x.shop.svc"), False),
    ("host-any-even-empty", to(hosts=["*"]), http(host=""), True),
    ("header-any-even-empty", when(X_USER, ["*"]), user(""), True),
    ("header-not-any-when-empty", when(X_USER, not_values=["*"]), user(""), False),
    ("header-name-any-case", when("request.headers[X-User]", ["al"]), user("al", "X-USER"), True),
    ("header-value-is-case-sensitive", when(X_USER, ["Alice"]), user("alice"), False),
    ("header-prefix", when(X_USER, ["al*"]), user("alice"), True),
    ("header-suffix", when(X_USER, ["*ce"]), user("alice"), True),
    ("header-exact-miss", when(X_USER, ["alic"]), user("alice"), False),
    ("template-segment-with-capitals", to(paths=["/X/{*}"]), http(path="/X/1"), True),
    ("template-is-the-whole-path", to(paths=["/cart/{*}"]), http(path="/shop/cart/42"), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "call", "allowed"), [pytest.param(*c[1:], id=c[0]) for c in STRING_CASES]
)
def test_string_values_at_the_waypoint(rule: Obj, call: Call, allowed: bool) -> None:
    assert allowed_at_waypoint(rule, call) is allowed


# --- addresses and ports, at ztunnel --------------------------------------------------------

ADDRESS_CASES = [
    ("block-with-host-bits", from_(ipBlocks=["10.1.2.3/8"]), "10.9.9.9", True),
    ("block-miss", from_(ipBlocks=["10.1.2.3/16"]), "10.9.9.9", False),
    ("address", from_(ipBlocks=["10.9.9.9"]), "10.9.9.9", True),
    ("other-family", from_(ipBlocks=["::/0"]), "10.9.9.9", False),
    ("not-block", from_(notIpBlocks=["10.0.0.0/8"]), "10.9.9.9", False),
    ("condition", when("source.ip", ["10.9.0.0/16"]), "10.9.9.9", True),
]


@pytest.mark.parametrize(
    ("rule", "ip", "allowed"), [pytest.param(*c[1:], id=c[0]) for c in ADDRESS_CASES]
)
def test_ip_blocks_at_ztunnel(rule: Obj, ip: str, allowed: bool) -> None:
    call = Call(WEB, CART, None, 8080, source_ip=ip)
    assert allowed_at_ztunnel(rule, call) is allowed


def test_the_highest_port_is_a_port() -> None:
    call = Call(WEB, CART, None, 65535)
    assert allowed_at_ztunnel(to(ports=["65535"]), call)
    assert allowed_at_ztunnel(when("destination.port", ["065535"]), call)
    assert not allowed_at_ztunnel(to(ports=["65534"]), call)


# --- which conditions each point can evaluate -------------------------------------------
# request.headers, request.auth.*: HTTP only, so not at ztunnel nor on a TCP call at the
# waypoint, where an ALLOW rule needing them never allows. An unknown request.auth key
# names nothing a call carries; an unknown key of another kind too, but it is no HTTP
# field: a TCP call at the waypoint evaluates it (as absent).

TCP = Call(WEB, CART, "cart", 8080)
AT_POINT_CASES = [
    # (id, rule, at the waypoint over HTTP, ... over TCP, at ztunnel)
    ("header", when("request.headers[x-user]", not_values=["bob"]), True, False, False),
    ("claim", when("request.auth.claims[groups]", not_values=["admin"]), True, False, False),
    ("nested-claim", when("request.auth.claims[org][team]", not_values=["x"]), True, False, False),
    ("other-auth-key", when("request.auth.role", not_values=["admin"]), True, False, False),
    ("other-auth-key-valued", when("request.auth.role", ["admin"]), False, False, False),
    ("unknown-key", when("experimental.role", not_values=["admin"]), True, True, False),
    ("source-principal", when("source.principal", [sa("web")]), True, True, True),
]


@pytest.mark.parametrize(
    ("rule", "over_http", "over_tcp", "at_ztunnel"),
    [pytest.param(*c[1:], id=c[0]) for c in AT_POINT_CASES],
)
def test_where_each_condition_is_evaluated(
    rule: Obj, over_http: bool, over_tcp: bool, at_ztunnel: bool
) -> None:
    assert allowed_at_waypoint(rule, http()) is over_http
    assert allowed_at_waypoint(rule, TCP) is over_tcp
    assert allowed_at_ztunnel(rule, Call(WEB, CART, None, 8080, method="GET")) is at_ztunnel


ALICE = Jwt({"iss": "https://id.example.com", "sub": "alice", "groups": ["dev", "admin"],
             "org": {"team": "payments"}})  # fmt: skip
CLAIM_CASES = [
    ("list-claim", when("request.auth.claims[groups]", ["admin"]), True),
    ("list-claim-miss", when("request.auth.claims[groups]", ["ops"]), False),
    ("nested-claim", when("request.auth.claims[org][team]", ["pay*"]), True),
    ("claim-is-case-sensitive", when("request.auth.claims[org][team]", ["Payments"]), False),
    ("missing-claim", when("request.auth.claims[email]", ["*"]), False),
]


@pytest.mark.parametrize(("rule", "allowed"), [pytest.param(*c[1:], id=c[0]) for c in CLAIM_CASES])
def test_claims_at_the_waypoint(rule: Obj, allowed: bool) -> None:
    assert allowed_at_waypoint(rule, http(jwt=ALICE)) is allowed


def test_a_star_needs_a_claim_that_is_not_empty() -> None:
    """A claim's ``*`` is Istio's regex ``.+``: an empty claim does not match it."""
    token = Jwt({"iss": "https://id.example.com", "sub": "ann", "email": ""})
    assert not allowed_at_waypoint(when("request.auth.claims[email]", ["*"]), http(jwt=token))
    assert allowed_at_waypoint(when("request.auth.claims[sub]", ["*"]), http(jwt=token))


# --- who may use a waypoint: its first HBONE listener on port 15008 -------------------------
# The waypoint is in namespace mesh; Services in shop and in mesh itself are labelled to
# use it. allowedRoutes says the namespaces whose Services may.

MESH_CART = Workload("mesh", "cart", {"app": "cart"})
USES_MESH_WAYPOINT = {
    "istio.io/use-waypoint": "waypoint",
    "istio.io/use-waypoint-namespace": "mesh",
}


def waypoint_with(*listeners: Obj) -> Obj:
    gateway = waypoint(ns="mesh")
    gateway["spec"]["listeners"] = list(listeners)
    return gateway


def hbone(port: int = 15008, protocol: str = "HBONE", **namespaces: object) -> Obj:
    listener: Obj = {"name": f"l{port}", "port": port, "protocol": protocol}
    if namespaces:
        listener["allowedRoutes"] = {"namespaces": namespaces}
    return listener


ALL = {"from": "All"}
LISTENER_CASES = [
    # (id, listeners, whether a Service in shop, then one in mesh, uses the waypoint)
    ("hbone-from-all", [hbone(**ALL)], True, True),
    ("no-allowed-routes", [hbone()], False, True),
    ("from-left-out", [hbone(selector={"matchLabels": {"team": "shop"}})], False, True),
    ("from-same", [hbone(**{"from": "Same"})], False, True),
    ("after-another-listener", [hbone(80, "HTTP"), hbone(**ALL)], True, True),
    ("first-hbone-listener-counts", [hbone(), hbone(**ALL)], False, True),
    ("hbone-on-another-port", [hbone(15009, **ALL)], False, True),
    ("another-protocol-on-15008", [hbone(protocol="TCP", **ALL)], False, True),
    ("no-listener", [], False, True),
    (
        "selector",
        [hbone(**{"from": "Selector", "selector": {"matchLabels": {"team": "shop"}}})],
        True,
        False,  # Istio asks the selector of the waypoint's own namespace too
    ),
]


@pytest.mark.parametrize(
    ("listeners", "shop", "mesh"), [pytest.param(*c[1:], id=c[0]) for c in LISTENER_CASES]
)
def test_who_may_use_a_waypoint(listeners: list[Obj], shop: bool, mesh: bool) -> None:
    objects = [
        ambient("shop", team="shop", **USES_MESH_WAYPOINT),
        ambient("mesh", team="mesh", **USES_MESH_WAYPOINT),
        waypoint_with(*listeners),
    ]
    for destination, through in ((CART, shop), (MESH_CART, mesh)):
        decision = check(objects, Call(WEB, destination, "cart", 8080))
        ztunnel = f"ztunnel (pods app=cart in {destination.namespace})"
        expected = ["waypoint mesh/waypoint", ztunnel] if through else [ztunnel]
        assert [h.enforcer for h in decision.hops] == expected


def test_a_service_port_without_target_port_is_its_pod_port() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {"ports": [{"port": 80}]},
    }
    objects = [ambient("shop"), service, ap("cart", pods("cart", [to(ports=["80"])]))]
    decision = check(objects, Call(WEB, CART, "cart", 80))
    assert (decision.verdict, decision.hops[0].notes) == ("ALLOWED", ())
