"""Table tests for meshops.semantics.authz: what the caller brings (its IP, its JWT), CUSTOM.

Each row cites the sentence of Istio's API it rests on: the doc comments of
``security/v1beta1/authorization_policy.proto`` and ``request_authentication.proto``
(istio/api), the conditions reference (istio.io, *Authorization Policy Conditions*),
*Use Layer 4 security policy* for what ztunnel enforces, and ztunnel's inbound code for
the address it sees behind a waypoint. Every row asserts the verdict together with the
hop, action, policy and rule that decided.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshops.semantics.authz import Call, Decision, Jwt, Policies, Workload

Obj = dict[str, Any]

CART = Workload("shop", "cart", {"app": "cart"})
WEB = Workload("shop", "web", {"app": "web"})
DB = Workload("shop", "db", {"app": "db"})
WAYPOINT = "waypoint shop/waypoint"
ZTUNNEL_DB = "ztunnel (pods app=db in shop)"
ZTUNNEL_CART = "ztunnel (pods app=cart in shop)"
ISSUER = "https://id.example.com"
ALICE = Jwt({"iss": ISSUER, "sub": "alice", "aud": ["shop"], "azp": "web-ui",
             "groups": ["dev", "admin"], "org": {"team": "payments"}})  # fmt: skip
BOB = Jwt({"iss": ISSUER, "sub": "bob"})


def ambient(name: str = "shop", **labels: str) -> Obj:
    labels = {"istio.io/dataplane-mode": "ambient", **labels}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def with_waypoint() -> Obj:
    return ambient(**{"istio.io/use-waypoint": "waypoint"})


def waypoint() -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "waypoint", "namespace": "shop"},
        "spec": {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


def ap(name: str, spec: Obj, ns: str = "shop") -> Obj:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def request_authentication(name: str, *issuers: str, ns: str = "shop") -> Obj:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "RequestAuthentication",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"jwtRules": [{"issuer": i, "jwksUri": f"{i}/jwks"} for i in issuers]},
    }


def pods(app: str, rules: list[Obj], action: str = "ALLOW") -> Obj:
    """A policy for ztunnel: on the pods labelled app=<app>."""
    return {"selector": {"matchLabels": {"app": app}}, "action": action, "rules": rules}


def svc(name: str, rules: list[Obj], action: str = "ALLOW") -> Obj:
    """A policy for the waypoint: attached to a Service."""
    return {
        "targetRefs": [{"group": "", "kind": "Service", "name": name}],
        "action": action,
        "rules": rules,
    }


def source(**fields: Any) -> Obj:
    return {"from": [{"source": fields}]}


def when(key: str, values: list[str] | None = None, not_values: list[str] | None = None) -> Obj:
    condition: Obj = {"key": key}
    if values is not None:
        condition["values"] = values
    if not_values is not None:
        condition["notValues"] = not_values
    return {"when": [condition]}


def outcome(decision: Decision) -> tuple[str, str | None, str | None, str | None, int | None]:
    """Verdict, deciding enforcer, action, policy and rule."""
    hop = decision.deciding
    assert hop is not None
    return decision.verdict, hop.enforcer, hop.action, hop.policy, hop.rule


def notes(decision: Decision) -> str:
    return "\n".join(note for hop in decision.hops for note in hop.notes)


# --- the caller's IP at ztunnel ----------------------------------------------------------
# authorization_policy.proto, Source.ip_blocks: "A list of IP blocks, populated from the
# source address of the IP packet. Single IP (e.g. `203.0.113.4`) and CIDR (e.g.
# `203.0.113.0/24`) are supported. This is the same as the `source.ip` attribute."
# Use Layer 4 security policy: ztunnel enforces ipBlocks and the source.ip condition;
# remoteIpBlocks is not among the L4 attributes, so an ALLOW rule using it is left out.

IP_ALLOW = ("ALLOWED", ZTUNNEL_DB, "ALLOW", "shop/db", 0)
IP_NO_RULE = ("DENIED", ZTUNNEL_DB, "ALLOW", None, None)
IP_AT_ZTUNNEL_CASES = [
    pytest.param(source(ipBlocks=["10.0.0.0/8"]), "10.1.2.3", IP_ALLOW, id="cidr-in"),
    pytest.param(source(ipBlocks=["10.0.0.0/8"]), "192.168.1.1", IP_NO_RULE, id="cidr-out"),
    pytest.param(source(ipBlocks=["203.0.113.4"]), "203.0.113.4", IP_ALLOW, id="single-ip"),
    pytest.param(source(ipBlocks=["203.0.113.4"]), "203.0.113.5", IP_NO_RULE, id="single-other"),
    # "Optional. A list of negative match of IP blocks."
    pytest.param(source(notIpBlocks=["10.0.0.0/8"]), "10.1.2.3", IP_NO_RULE, id="not-in"),
    pytest.param(source(notIpBlocks=["10.0.0.0/8"]), "192.168.0.1", IP_ALLOW, id="not-out"),
    pytest.param(source(ipBlocks=["2001:db8::/32"]), "2001:db8::7", IP_ALLOW, id="ipv6-in"),
    pytest.param(source(ipBlocks=["2001:db8::/32"]), "10.1.2.3", IP_NO_RULE, id="ipv6-v4-out"),
    # Conditions: source.ip "Source workload instance IP address, supports single IP or CIDR".
    pytest.param(when("source.ip", ["10.0.0.0/8"]), "10.9.9.9", IP_ALLOW, id="when-source-ip"),
    pytest.param(
        when("source.ip", not_values=["10.9.0.0/16"]), "10.9.9.9", IP_NO_RULE, id="when-not"
    ),
    # remoteIpBlocks is L7 (not in ztunnel's list): the ALLOW rule never matches there.
    pytest.param(source(remoteIpBlocks=["10.0.0.0/8"]), "10.1.2.3", IP_NO_RULE, id="remote-l7"),
    # No address given: "a block never matches, a not-block always does".
    pytest.param(source(ipBlocks=["10.0.0.0/8"]), None, IP_NO_RULE, id="no-ip-block"),
    pytest.param(source(notIpBlocks=["10.0.0.0/8"]), None, IP_ALLOW, id="no-ip-not-block"),
]


@pytest.mark.parametrize(("rule", "ip", "expected"), IP_AT_ZTUNNEL_CASES)
def test_caller_ip_at_ztunnel(rule: Obj, ip: str | None, expected: tuple[Any, ...]) -> None:
    policies = Policies.from_objects([ambient(), ap("db", pods("db", [rule]))])
    decision = policies.check(Call(CART, DB, None, 5432, source_ip=ip))
    assert outcome(decision) == expected
    if ip is None:
        assert "none is given (--source-ip)" in notes(decision)


def test_deny_by_ip_at_ztunnel() -> None:
    """A DENY rule on ipBlocks is L4, so ztunnel enforces it."""
    deny = ap("block", pods("db", [source(ipBlocks=["198.51.100.0/24"])], "DENY"))
    policies = Policies.from_objects([ambient(), deny])
    decision = policies.check(Call(CART, DB, "db", 5432, source_ip="198.51.100.20"))
    assert outcome(decision) == ("DENIED", ZTUNNEL_DB, "DENY", "shop/block", 0)
    other = policies.check(Call(CART, DB, "db", 5432, source_ip="203.0.113.1"))
    assert outcome(other) == ("ALLOWED", ZTUNNEL_DB, "default", None, None)


# --- the caller's IP at the waypoint, and at ztunnel behind it --------------------------
# remote_ip_blocks: "populated from `X-Forwarded-For` header or proxy protocol. To make use
# of this field, you must configure the `numTrustedProxies` field ... This is the same as
# the `remote.ip` attribute." With no trusted proxy configured, the remote address is the
# peer's own: the caller's. ztunnel's inbound (proxy/inbound.rs): "If the request is from
# our waypoint, trust the Forwarded header", so behind the waypoint ztunnel still sees the
# caller's address, while the identity it sees is the waypoint's.

WAYPOINT_IP_CASES = [
    pytest.param(source(ipBlocks=["10.0.0.0/8"]), "10.0.0.1", True, id="ip-blocks"),
    pytest.param(source(remoteIpBlocks=["10.0.0.0/8"]), "10.0.0.1", True, id="remote-ip-blocks"),
    pytest.param(source(remoteIpBlocks=["10.0.0.0/8"]), "172.16.0.1", False, id="remote-out"),
    pytest.param(source(notRemoteIpBlocks=["10.0.0.0/8"]), "10.0.0.1", False, id="not-remote"),
    pytest.param(when("remote.ip", ["10.0.0.1"]), "10.0.0.1", True, id="when-remote-ip"),
]


@pytest.mark.parametrize(("rule", "ip", "allowed"), WAYPOINT_IP_CASES)
def test_caller_ip_at_the_waypoint(rule: Obj, ip: str, allowed: bool) -> None:
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    call = Call(WEB, CART, "cart", 8080, method="GET", path="/", source_ip=ip)
    decision = Policies.from_objects(objects).check(call)
    if allowed:
        assert outcome(decision) == ("ALLOWED", ZTUNNEL_CART, "default", None, None)
        assert decision.hops[0].policy == "shop/cart"
    else:
        assert outcome(decision) == ("DENIED", WAYPOINT, "ALLOW", None, None)


def test_ztunnel_behind_the_waypoint_sees_the_callers_ip() -> None:
    objects = [
        with_waypoint(),
        waypoint(),
        ap("cart-pods", pods("cart", [source(ipBlocks=["10.0.0.0/8"])])),
    ]
    policies = Policies.from_objects(objects)
    inside = policies.check(Call(WEB, CART, "cart", 8080, method="GET", source_ip="10.2.3.4"))
    assert outcome(inside) == ("ALLOWED", ZTUNNEL_CART, "ALLOW", "shop/cart-pods", 0)
    outside = policies.check(Call(WEB, CART, "cart", 8080, method="GET", source_ip="192.0.2.1"))
    assert outcome(outside) == ("DENIED", ZTUNNEL_CART, "ALLOW", None, None)


def test_a_caller_off_the_mesh_is_matched_by_its_ip() -> None:
    """No identity (principals never match), but its address is still the packet's."""
    rules = [source(principals=["*"]), source(ipBlocks=["192.0.2.0/24"])]
    policies = Policies.from_objects([ambient(), ap("db", pods("db", rules))])
    decision = policies.check(Call(None, DB, None, 5432, source_ip="192.0.2.9"))
    assert outcome(decision) == ("ALLOWED", ZTUNNEL_DB, "ALLOW", "shop/db", 1)
    assert not policies.check(Call(None, DB, None, 5432)).allowed


@pytest.mark.parametrize("bad", ["10.0.0.300", "example.com", "10.0.0.0/8", ""])
def test_bad_source_ip_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an IPv4 or IPv6 address"):
        Call(CART, DB, None, 5432, source_ip=bad)


def test_bad_ip_block_names_the_field() -> None:
    policy = ap("db", pods("db", [source(ipBlocks=["10.0.0.0/33"])]))
    with pytest.raises(ValueError, match=r"shop/db: spec.rules\[0\].from\[0\].source.ipBlocks"):
        Policies.from_objects([policy])


# --- the caller's JWT at the waypoint ----------------------------------------------------
# request_principals: "A list of request identities derived from the JWT. The request
# identity is in the format of `"<ISS>/<SUB>"` ... This field requires request
# authentication enabled and is the same as the `request.auth.principal` attribute."
# Conditions: request.auth.audiences ("The intended audience(s) for this authentication
# information", the aud claim), request.auth.presenter ("The authorized presenter of the
# credential", azp), request.auth.claims ("Claims from the origin JWT", nested as
# request.auth.claims[nested1][nested2]).

ALICE_PRINCIPAL = f"{ISSUER}/alice"
JWT_CASES = [
    pytest.param(source(requestPrincipals=[ALICE_PRINCIPAL]), ALICE, True, id="principal"),
    pytest.param(source(requestPrincipals=[ALICE_PRINCIPAL]), BOB, False, id="other-principal"),
    pytest.param(source(requestPrincipals=[ALICE_PRINCIPAL]), None, False, id="no-token"),
    pytest.param(source(requestPrincipals=["*"]), BOB, True, id="any-token"),
    pytest.param(source(requestPrincipals=["*"]), None, False, id="any-token-none-given"),
    pytest.param(source(requestPrincipals=[f"{ISSUER}/*"]), BOB, True, id="issuer-prefix"),
    # "Optional. A list of negative match of request identities."
    pytest.param(source(notRequestPrincipals=[ALICE_PRINCIPAL]), BOB, True, id="not-principal"),
    pytest.param(source(notRequestPrincipals=[ALICE_PRINCIPAL]), ALICE, False, id="not-alice"),
    pytest.param(when("request.auth.principal", [ALICE_PRINCIPAL]), ALICE, True, id="when-princ"),
    pytest.param(when("request.auth.audiences", ["shop"]), ALICE, True, id="audiences"),
    pytest.param(when("request.auth.audiences", ["other"]), ALICE, False, id="audiences-other"),
    pytest.param(when("request.auth.presenter", ["web-ui"]), ALICE, True, id="presenter"),
    pytest.param(when("request.auth.claims[groups]", ["admin"]), ALICE, True, id="list-claim"),
    pytest.param(when("request.auth.claims[groups]", ["ops"]), ALICE, False, id="list-claim-no"),
    pytest.param(
        when("request.auth.claims[groups]", not_values=["admin"]), ALICE, False, id="not-claim"
    ),
    pytest.param(when("request.auth.claims[org][team]", ["pay*"]), ALICE, True, id="nested"),
    pytest.param(when("request.auth.claims[groups]", ["admin"]), BOB, False, id="claim-absent"),
    pytest.param(when("request.auth.claims[groups]", ["admin"]), None, False, id="claim-no-jwt"),
]


@pytest.mark.parametrize(("rule", "jwt", "allowed"), JWT_CASES)
def test_jwt_at_the_waypoint(rule: Obj, jwt: Jwt | None, allowed: bool) -> None:
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    call = Call(WEB, CART, "cart", 8080, method="GET", path="/", jwt=jwt)
    decision = Policies.from_objects(objects).check(call)
    if allowed:
        assert decision.allowed and decision.hops[0].policy == "shop/cart"
        assert (decision.hops[0].action, decision.hops[0].rule) == ("ALLOW", 0)
    else:
        assert outcome(decision) == ("DENIED", WAYPOINT, "ALLOW", None, None)
    if jwt is None:
        assert "RequestAuthentication validated, and this call presents none" in notes(decision)


def test_deny_requests_without_a_token() -> None:
    """The reference's own pattern: DENY notRequestPrincipals ["*"] requires a JWT."""
    deny = ap("need-jwt", svc("cart", [source(notRequestPrincipals=["*"])], "DENY"))
    policies = Policies.from_objects([with_waypoint(), waypoint(), deny])
    without = policies.check(Call(WEB, CART, "cart", 8080, method="GET"))
    assert outcome(without) == ("DENIED", WAYPOINT, "DENY", "shop/need-jwt", 0)
    assert policies.check(Call(WEB, CART, "cart", 8080, method="GET", jwt=BOB)).allowed


def test_request_principals_at_ztunnel_are_left_out() -> None:
    """At ztunnel requestPrincipals is not an L4 attribute: the ALLOW rule is left out."""
    policy = ap("db", pods("db", [source(requestPrincipals=["*"])]))
    decision = Policies.from_objects([ambient(), policy]).check(
        Call(CART, DB, None, 5432, jwt=ALICE)
    )
    assert outcome(decision) == ("DENIED", ZTUNNEL_DB, "ALLOW", None, None)
    assert "uses L7 fields (requestPrincipals)" in notes(decision)


# request_authentication.proto: "A request that does not contain any authentication
# credentials will be accepted but will not have any authenticated identity."
RA_CASES = [
    pytest.param([request_authentication("jwt", ISSUER)], "RequestAuthentication shop/jwt"),
    pytest.param(
        [request_authentication("mesh", ISSUER, ns="istio-system")],
        "RequestAuthentication istio-system/mesh",
        id="root-namespace",
    ),
    pytest.param(
        [request_authentication("jwt", "https://other.example")],
        "no RequestAuthentication among the objects",
        id="other-issuer",
    ),
    pytest.param([], "no RequestAuthentication among the objects", id="none"),
]


@pytest.mark.parametrize(("more", "said"), RA_CASES)
def test_which_request_authentication_accepts_the_token(more: list[Obj], said: str) -> None:
    objects = [with_waypoint(), waypoint(), *more]
    call = Call(WEB, CART, "cart", 8080, method="GET", jwt=ALICE)
    decision = Policies.from_objects(objects).check(call)
    assert said in notes(decision)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "alice"}, "'iss'"),
        ({"iss": ISSUER}, "'sub'"),
        ({"iss": "", "sub": "alice"}, "'iss'"),
        ({"iss": 7, "sub": "alice"}, "'iss'"),
    ],
)
def test_a_jwt_needs_issuer_and_subject(claims: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"JWT claim {message}"):
        Jwt(claims)


def test_a_jwt_holds_a_read_only_copy_of_its_claims() -> None:
    """Changing the mapping it was made from, later, changes nothing of the token."""
    claims: dict[str, Any] = {"iss": ISSUER, "sub": "carol", "groups": ["ops"]}
    token = Jwt(claims)
    claims["sub"] = "mallory"
    claims["groups"] = ["admin"]
    assert (token.principal, token.claim(["groups"])) == (f"{ISSUER}/carol", ("ops",))
    with pytest.raises(TypeError):
        token.claims["sub"] = "mallory"  # pyright: ignore[reportIndexIssue]
    assert token.to_dict() == {
        "principal": f"{ISSUER}/carol",
        "claims": {"iss": ISSUER, "sub": "carol", "groups": ["ops"]},
    }


def test_a_jwt_makes_the_call_http() -> None:
    assert Call(WEB, CART, "cart", 8080, jwt=ALICE).http
    assert not Call(WEB, CART, "cart", 8080, source_ip="10.0.0.1").http


# --- CUSTOM: delegated to the extension provider, before DENY and ALLOW ------------------
# authorization_policy.proto: "the CUSTOM action is evaluated first, then the DENY action,
# and finally the ALLOW action ... 1. If there are any CUSTOM policies that match the
# request, evaluate and deny the request if the evaluation result is deny." And: "A
# request is allowed if and only if all the actions return allow, in other words, the
# extension cannot bypass the authorization decision made by ALLOW and DENY action."

CUSTOM = ap(
    "ext",
    {
        "targetRefs": [{"group": "", "kind": "Service", "name": "cart"}],
        "action": "CUSTOM",
        "provider": {"name": "opa"},
        "rules": [{"to": [{"operation": {"paths": ["/admin/*"]}}]}],
    },
)
DENY_ADMIN = ap("no", svc("cart", [{"to": [{"operation": {"paths": ["/admin/*"]}}]}], "DENY"))
ALLOW_WEB = ap("web", svc("cart", [source(principals=["cluster.local/ns/shop/sa/web"])]))
CUSTOM_CASES = [
    pytest.param(
        [],
        "/admin/x",
        True,
        "DENY then ALLOW policies decide: allowed (no ALLOW policy",
        id="alone",
    ),
    pytest.param(
        [DENY_ADMIN],
        "/admin/x",
        False,
        "DENY then ALLOW policies decide: denied (rule 0 of DENY policy shop/no matches)",
        id="then-deny",
    ),
    pytest.param(
        [ALLOW_WEB],
        "/admin/x",
        True,
        "DENY then ALLOW policies decide: allowed (rule 0 of ALLOW policy shop/web matches)",
        id="then-allow",
    ),
    pytest.param([], "/cart", True, None, id="no-match-no-delegation"),
]


@pytest.mark.parametrize(("more", "path", "allowed", "then"), CUSTOM_CASES)
def test_custom_delegations(more: list[Obj], path: str, allowed: bool, then: str | None) -> None:
    objects = [with_waypoint(), waypoint(), CUSTOM, *more]
    decision = Policies.from_objects(objects).check(
        Call(WEB, CART, "cart", 8080, method="GET", path=path)
    )
    assert decision.allowed is allowed
    if then is None:
        assert decision.delegations == ()
        assert "CUSTOM policy shop/ext applies here, but no rule of it matches" in notes(decision)
        return
    (delegation,) = decision.delegations
    assert (delegation.enforcer, delegation.provider, delegation.policy, delegation.rule) == (
        WAYPOINT,
        "opa",
        "shop/ext",
        0,
    )
    assert delegation.then.startswith(then)
    assert decision.hops[0].delegations == (delegation,)
    assert delegation.explain() == (
        f"extension provider 'opa' decides first (CUSTOM policy shop/ext rule 0, at {WAYPOINT}):"
        " if it denies, the call is DENIED there, before any DENY or ALLOW policy;"
        f" if it allows, {delegation.then}"
    )
    assert decision.hops[0].notes == ()  # the CUSTOM policy matched
    data = json.loads(decision.to_json())
    assert data["delegations"][0] == {
        "enforcer": WAYPOINT,
        "provider": "opa",
        "policy": "shop/ext",
        "rule": 0,
        "if_denied": "DENIED at this point, before any DENY or ALLOW policy",
        "if_allowed": delegation.then,
        "explanation": delegation.explain(),
    }
    assert (data["verdict"], data["allowed"]) == (decision.verdict, allowed)
    assert (data["explanation"], data["conditions"]) == (
        decision.explanation,
        list(decision.conditions),
    )
    assert data["deciding_hop"] == decision.hops.index(decision.deciding)
    assert data["hops"][0]["delegations"] == data["delegations"]


def test_ztunnel_ignores_custom() -> None:
    """No CUSTOM policy is enforced by ztunnel (Use Layer 4 security policy)."""
    custom = ap("ext", {**pods("db", [{}]), "action": "CUSTOM", "provider": {"name": "opa"}})
    decision = Policies.from_objects([ambient(), custom]).check(Call(CART, DB, "db", 5432))
    assert decision.allowed and decision.delegations == ()
    assert decision.hops[0].notes == (
        "shop/ext ignored: ztunnel does not support the CUSTOM action",
    )


# --- calls that pass no Service: straight to a pod address -------------------------------
# Use Layer 7 features: only a call to a Service is sent to its waypoint; a call to a pod
# address reaches ztunnel alone, which enforces the L4 attributes only.


def test_direct_call_skips_the_waypoints_policies() -> None:
    objects = [
        with_waypoint(),
        waypoint(),
        ap("cart", svc("cart", [source(principals=["cluster.local/ns/shop/sa/nobody"])])),
    ]
    policies = Policies.from_objects(objects)
    through = policies.check(Call(WEB, CART, "cart", 8080, method="GET"))
    assert outcome(through) == ("DENIED", WAYPOINT, "ALLOW", None, None)
    direct = policies.check(Call(WEB, CART, None, 8080, method="GET"))
    assert outcome(direct) == ("ALLOWED", ZTUNNEL_CART, "default", None, None)
    assert [h.enforcer for h in direct.hops] == [ZTUNNEL_CART]


# --- what a call does not carry, said exactly -----------------------------------------

IP_AND_JWT_RULES = [
    {"to": [{"operation": {"ports": ["5432"]}}]},
    {
        "from": [
            {"source": {"ipBlocks": ["10.0.0.0/8"], "requestPrincipals": ["*"]}},
            {"source": {"ipBlocks": ["192.168.0.0/16"]}},
        ],
        "when": [{"key": "source.ip", "values": ["10.0.0.0/8"]}],
    },
]
NO_IP = (
    "rule 1 of shop/{app} reads the caller's IP (ipBlocks, source.ip) and none is given"
    " (--source-ip): a block never matches, a not-block always does"
)
NO_JWT = (
    "rule 1 of shop/cart reads a JWT (requestPrincipals): Istio sets it only from a token"
    " that a RequestAuthentication validated, and this call presents none"
    " (--jwt-claims or --jwt-file)"
)


def test_a_call_without_an_ip_or_a_jwt_is_told_which_rule_reads_them_and_which_fields() -> None:
    """One note per rule and per thing missing; each field named once, in rule order."""
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", IP_AND_JWT_RULES))]
    policies = Policies.from_objects(objects)
    bare = policies.check(Call(WEB, CART, "cart", 8080, method="GET", path="/"))
    assert bare.hops[0].notes == (NO_IP.format(app="cart"), NO_JWT)
    with_ip = policies.check(
        Call(WEB, CART, "cart", 8080, method="GET", path="/", source_ip="10.1.2.3")
    )
    assert with_ip.hops[0].notes == (NO_JWT,)
    with_jwt = policies.check(Call(WEB, CART, "cart", 8080, method="GET", path="/", jwt=ALICE))
    assert NO_IP.format(app="cart") in with_jwt.hops[0].notes
    assert "reads a JWT" not in notes(with_jwt)


def test_at_ztunnel_a_missing_jwt_is_not_noted_since_ztunnel_reads_none() -> None:
    """At ztunnel the JWT fields are left out (L7), an HTTP call's too: only the IP is noted."""
    policies = Policies.from_objects([ambient(), ap("db", pods("db", IP_AND_JWT_RULES))])
    decision = policies.check(Call(CART, DB, None, 5432, method="GET", path="/"))
    assert decision.hops[0].enforcer == ZTUNNEL_DB
    assert NO_IP.format(app="db") in decision.hops[0].notes
    assert "reads a JWT" not in notes(decision)
    given = policies.check(Call(CART, DB, None, 5432, source_ip="10.1.2.3"))
    assert "reads the caller's IP" not in notes(given)


def test_the_jwt_note_names_the_request_authentications_or_where_none_was_found() -> None:
    objects = [with_waypoint(), waypoint(), ap("cart", svc("cart", [{}]))]
    call = Call(WEB, CART, "cart", 8080, method="GET", path="/", jwt=ALICE)
    unaccepted = Policies.from_objects(objects).check(call)
    assert unaccepted.hops[0].notes[0] == (
        f"the JWT of issuer {ISSUER!r} is taken as valid, but no RequestAuthentication among"
        " the objects (in shop or istio-system) accepts that issuer: without one Istio reads"
        " no request.auth.* from it"
    )
    both = [
        request_authentication("a", ISSUER),
        request_authentication("b", ISSUER, ns="istio-system"),
    ]
    accepted = Policies.from_objects([*objects, *both]).check(call)
    assert accepted.hops[0].notes[0] == (
        f"the JWT of issuer {ISSUER!r} is taken as valid:"
        " RequestAuthentication shop/a, istio-system/b accepts that issuer"
    )


def test_a_custom_policy_naming_no_provider_says_so() -> None:
    unnamed = ap("ext", {k: v for k, v in CUSTOM["spec"].items() if k != "provider"})
    call = Call(WEB, CART, "cart", 8080, method="GET", path="/admin/x")
    (delegation,) = (
        Policies.from_objects([with_waypoint(), waypoint(), unnamed]).check(call).delegations
    )
    assert delegation.provider is None
    assert str(delegation) == (
        "ext-authz provider (none named) allows the call"
        f" (CUSTOM policy shop/ext rule 0 matches at {WAYPOINT})"
    )
    assert delegation.explain().startswith(
        "extension provider (none named) decides first"
        f" (CUSTOM policy shop/ext rule 0, at {WAYPOINT}):"
    )


def test_an_allowed_explanation_names_each_hop_and_the_provider_checks_it_rests_on() -> None:
    objects = [with_waypoint(), waypoint(), CUSTOM]
    call = Call(WEB, CART, "cart", 8080, method="GET", path="/admin/x")
    decision = Policies.from_objects(objects).check(call)
    assert decision.explanation == (
        f"ALLOWED: {WAYPOINT}: no ALLOW policy applies here: allowed by default;"
        f" then {ZTUNNEL_CART}: no ALLOW policy applies here: allowed by default"
        " (provided 1 CUSTOM provider check(s) allow it)"
    )


# --- the call itself: its port, its headers, its path ------------------------------------


@pytest.mark.parametrize("port", [1, 65535])
def test_a_call_port_may_be_1_to_65535(port: int) -> None:
    policies = Policies.from_objects([ambient(), ap("db", pods("db", [{}]))])
    assert policies.check(Call(CART, DB, None, port)).allowed


def test_a_call_port_above_65535_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^port 65536 must be 1-65535$"):
        Call(CART, DB, None, 65536)


def test_a_workloads_principal_is_in_the_cluster_local_trust_domain_unless_told() -> None:
    assert Workload("shop", "cart").principal() == "cluster.local/ns/shop/sa/cart"
    assert Workload("shop", "cart").principal("example.org") == "example.org/ns/shop/sa/cart"


def test_a_call_holds_a_read_only_copy_of_its_headers() -> None:
    headers = {"x-user": "alice"}
    call = Call(WEB, CART, "cart", 8080, headers=headers)
    headers["x-user"] = "mallory"
    assert call.headers == {"x-user": "alice"}
    with pytest.raises(TypeError):
        call.headers["x-user"] = "mallory"  # pyright: ignore[reportIndexIssue]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/cart/42?next=/a?b=1", id="question-mark-in-the-query"),
        pytest.param("/cart/42#top", id="fragment"),
        pytest.param("/cart/42#a#b", id="hash-in-the-fragment"),
        pytest.param("/cart/42?x=1#top", id="query-and-fragment"),
    ],
)
def test_the_path_matched_ends_before_the_query_or_the_fragment(path: str) -> None:
    exact = svc("cart", [{"to": [{"operation": {"paths": ["/cart/42"]}}]}])
    policies = Policies.from_objects([with_waypoint(), waypoint(), ap("cart", exact)])
    decision = policies.check(Call(WEB, CART, "cart", 8080, method="GET", path=path))
    assert (decision.hops[0].policy, decision.hops[0].rule) == ("shop/cart", 0)


# --- what ztunnel and the waypoint leave out, said exactly --------------------------------


@pytest.mark.parametrize(
    ("rule", "call"),
    [
        pytest.param(
            source(requestPrincipals=["*"]),
            Call(WEB, CART, None, 8080, method="GET", jwt=ALICE),
            id="from-request-principals-with-a-token",
        ),
        pytest.param(
            when("request.headers[x-a]", ["1"]),
            Call(WEB, CART, None, 8080, headers={"x-a": "1"}),
            id="when-header-sent",
        ),
    ],
)
def test_at_ztunnel_a_deny_rule_of_l7_fields_only_denies_nothing_even_when_they_hold(
    rule: Obj, call: Call
) -> None:
    """A from entry or a condition left with nothing to check is skipped (#61126)."""
    policies = Policies.from_objects([ambient(), ap("p", pods("cart", [rule], "DENY"))])
    assert outcome(policies.check(call)) == ("ALLOWED", ZTUNNEL_CART, "default", None, None)


def test_at_ztunnel_the_l7_fields_of_a_deny_rule_are_named_once_per_rule() -> None:
    rules = [
        source(principals=["cluster.local/ns/shop/sa/nobody"]),
        {"to": [{"operation": {"methods": ["POST"], "paths": ["/admin/*"], "ports": ["8080"]}}]},
    ]
    policies = Policies.from_objects([ambient(), ap("p", pods("cart", rules, "DENY"))])
    decision = policies.check(Call(WEB, CART, None, 8080, method="GET", path="/"))
    assert outcome(decision) == ("DENIED", ZTUNNEL_CART, "DENY", "shop/p", 1)
    assert decision.hops[0].notes == (
        "L7 fields (methods, paths) of rule 1 of shop/p ignored: ztunnel enforces L4 only"
        " (a from/to entry or condition left with nothing to check never matches)",
    )


def test_at_the_waypoint_an_allow_rule_needing_http_fields_cannot_match_a_tcp_call() -> None:
    rule = {"to": [{"operation": {"methods": ["GET"]}}]}
    policies = Policies.from_objects(
        [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    )
    decision = policies.check(Call(WEB, CART, "cart", 8080))
    assert outcome(decision) == ("DENIED", WAYPOINT, "ALLOW", None, None)
    assert decision.hops[0].notes == (
        "rule 0 of shop/cart cannot match: it needs HTTP fields (methods), not an HTTP call",
    )


def test_a_missing_jwt_note_names_each_field_of_the_rule_that_reads_one() -> None:
    rule = {**source(requestPrincipals=["*"]), **when("request.auth.claims[groups]", ["admin"])}
    policies = Policies.from_objects(
        [with_waypoint(), waypoint(), ap("cart", svc("cart", [rule]))]
    )
    decision = policies.check(Call(WEB, CART, "cart", 8080, method="GET"))
    assert decision.hops[0].notes == (
        "rule 0 of shop/cart reads a JWT (requestPrincipals, request.auth.claims[groups]):"
        " Istio sets it only from a token that a RequestAuthentication validated, and this"
        " call presents none (--jwt-claims or --jwt-file)",
    )


def test_a_denial_by_no_allow_rule_names_every_allow_policy_there() -> None:
    nobody = pods("db", [source(principals=["cluster.local/ns/shop/sa/nobody"])])
    policies = Policies.from_objects([ambient(), ap("b", nobody), ap("a", nobody)])
    decision = policies.check(Call(CART, DB, None, 5432))
    assert decision.explanation == (
        f"DENIED by {ZTUNNEL_DB}: no rule of the ALLOW policies here (shop/a, shop/b) matches"
    )


def test_at_a_sidecar_the_jwt_note_comes_first() -> None:
    """Before the note on the Service's policies, which a sidecar ignores."""
    objects = [ambient(**{"istio-injection": "enabled"}), ap("cart", svc("cart", []))]
    decision = Policies.from_objects(objects).check(
        Call(WEB, CART, "cart", 8080, method="GET", jwt=ALICE)
    )
    assert outcome(decision) == (
        "ALLOWED",
        "sidecar (pods app=cart in shop)",
        "default",
        None,
        None,
    )
    assert decision.hops[0].notes == (
        f"the JWT of issuer {ISSUER!r} is taken as valid, but no RequestAuthentication among"
        " the objects (in shop or istio-system) accepts that issuer: without one Istio reads"
        " no request.auth.* from it",
        "policies attached to Service shop/cart (shop/cart) are enforced only by a waypoint,"
        " and this call passes none (a sidecar ignores them)",
    )


# --- the decision as JSON ----------------------------------------------------------------


def test_a_decision_with_no_hop_has_no_deciding_hop_in_json() -> None:
    decision = Policies.from_objects([]).check(Call(WEB, CART, "cart", 8080))
    data = json.loads(decision.to_json())
    assert (data["verdict"], data["hops"], data["deciding_hop"]) == ("ALLOWED", [], None)


def test_the_json_document_is_indented_by_two_spaces() -> None:
    decision = Policies.from_objects([]).check(Call(WEB, CART, "cart", 8080))
    assert decision.to_json().splitlines()[:3] == [
        "{",
        '  "verdict": "ALLOWED",',
        '  "allowed": true,',
    ]
