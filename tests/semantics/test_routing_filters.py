"""Table tests for meshops.semantics.routing: what applies once a rule is chosen.

Written from the Gateway API v1.5.1 field descriptions (the CRDs in
``src/meshops/crds``): ``backendRefs[].filters`` (applied only when that backend is
chosen), HTTPHeaderFilter ``set`` / ``add`` / ``remove``, HTTPRequestMirrorFilter
``percent`` / ``fraction``, HTTPRouteRule ``timeouts`` and ``retry``, HTTPCORSFilter, and
GRPCRoute ``backendRefs``' UNAVAILABLE; UNIMPLEMENTED for a gRPC call with no route is
Envoy's answer (and gRPC's own mapping of a 404). Each row names the sentence it rests on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshops.semantics.routing import (
    HeaderChange,
    Mirror,
    Outcome,
    Request,
    Retry,
    Routes,
    Timeouts,
    grpc_status_for_http,
)

GROUP = "gateway.networking.k8s.io"
V1 = f"{GROUP}/v1"
Obj = dict[str, Any]


def gateway() -> Obj:
    listener = {
        "name": "http",
        "port": 80,
        "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "All"}},
    }
    return {
        "apiVersion": V1,
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "gw"},
        "spec": {"gatewayClassName": "istio", "listeners": [listener]},
    }


def route(*rules: Obj, kind: str = "HTTPRoute", name: str = "web") -> Obj:
    return {
        "apiVersion": V1,
        "kind": kind,
        "metadata": {"name": name, "namespace": "app"},
        "spec": {"parentRefs": [{"name": "edge", "namespace": "gw"}], "rules": list(rules)},
    }


def ref(name: str, port: int = 80, **extra: Any) -> Obj:
    return {"name": name, "port": port, **extra}


def modifier(phase: str = "request", **fields: Any) -> Obj:
    kind = "RequestHeaderModifier" if phase == "request" else "ResponseHeaderModifier"
    key = "requestHeaderModifier" if phase == "request" else "responseHeaderModifier"
    body = {
        action: [{"name": n, "value": v} for n, v in values.items()]
        if action != "remove"
        else values
        for action, values in fields.items()
    }
    return {"type": kind, key: body}


def mirror(name: str, **extra: Any) -> Obj:
    return {"type": "RequestMirror", "requestMirror": {"backendRef": ref(name), **extra}}


def evaluate(objects: list[Obj], url: str = "http://a.example/", **request: Any) -> Outcome:
    return Routes.from_objects([gateway(), *objects]).route(Request.from_url(url, **request))


# --- backendRef filters ----------------------------------------------------------------
# HTTPBackendRef.filters: "Filters defined at this level should be executed if and only if
# the request is being forwarded to the backend defined here."
# HTTPHeaderFilter.set: "Set overwrites the request with the given header (name, value)";
# add: "It appends to any existing values associated with the header name" (my-header:
# foo, add bar,baz -> foo,bar,baz); remove: "the header names are case-insensitive".

BACKEND_FILTER_CASES = [
    pytest.param(
        [ref("a", filters=[modifier(set={"x-v": "a"})]), ref("b")],
        [("a", (("x-user", "ann"), ("x-v", "a"))), ("b", (("x-user", "ann"),))],
        id="own-set-only-for-its-backend",
    ),
    pytest.param(
        [ref("a", filters=[modifier(set={"x-user": "bob"})])],
        [("a", (("x-user", "bob"),))],
        id="set-overwrites",
    ),
    pytest.param(
        [ref("a", filters=[modifier(add={"x-user": "bar,baz"})])],
        [("a", (("x-user", "ann,bar,baz"),))],
        id="add-appends",
    ),
    pytest.param(
        [ref("a", filters=[modifier(remove=["X-USER"])])],
        [("a", ())],
        id="remove-any-case",
    ),
]


@pytest.mark.parametrize(("refs", "received"), BACKEND_FILTER_CASES)
def test_backend_filters_apply_to_their_backend(
    refs: list[Obj], received: list[tuple[str, tuple[tuple[str, str], ...]]]
) -> None:
    outcome = evaluate([route({"backendRefs": refs})], headers=[("x-user", "ann")])
    assert [(b.name, b.request_headers) for b in outcome.backends] == received
    assert outcome.header_changes == ()  # the rule's own filters: none


def test_rule_filters_come_first_then_the_backends_own() -> None:
    """The rule's filters apply to every request; a backend's own run after, for it alone."""
    rule = {
        "filters": [modifier(set={"x-env": "prod"}, remove=["x-debug"])],
        "backendRefs": [
            ref("a", filters=[modifier(set={"x-env": "canary"})]),
            ref("b", filters=[modifier("response", add={"x-served-by": "b"})]),
        ],
    }
    outcome = evaluate([route(rule)], headers=[("x-debug", "1")])
    a, b = outcome.backends
    assert a.request_headers == (("x-env", "canary"),)
    assert b.request_headers == (("x-env", "prod"),)
    assert a.response_changes == ()
    assert b.response_changes == (HeaderChange("response", "add", "x-served-by", "b"),)
    assert a.header_changes == (HeaderChange("request", "set", "x-env", "canary"),)
    assert "backend Service app/b:80: its own filters, when it is chosen: response add" in (
        "\n".join(outcome.reasons)
    )


def test_the_rules_response_changes_reach_the_client_from_every_backend() -> None:
    rule = {
        "filters": [modifier("response", set={"cache-control": "no-store"})],
        "backendRefs": [ref("a")],
    }
    (a,) = evaluate([route(rule)]).backends
    assert a.response_changes == (HeaderChange("response", "set", "cache-control", "no-store"),)


def test_backend_filters_not_evaluated_are_said() -> None:
    """Backend filters are "Support: Implementation-specific": a URLRewrite there is named."""
    rewrite = {"type": "URLRewrite", "urlRewrite": {"hostname": "b.internal"}}
    outcome = evaluate([route({"backendRefs": [ref("a", filters=[rewrite])]})])
    (a,) = outcome.backends
    assert a.notes == ("HTTPRoute app/web rule 0 backendRefs[0]: filter 'URLRewrite' on a"
                       " backendRef not evaluated",)  # fmt: skip
    assert outcome.host == "a.example"


# --- mirrors -------------------------------------------------------------------------------
# HTTPRequestMirrorFilter: "Requests are sent to the specified destination, but responses
# from that destination are ignored." percent: "the percentage of requests that should be
# mirrored"; fraction: "the fraction of requests that should be mirrored"; "If neither
# field is specified, 100% of requests will be mirrored."

MIRROR_CASES = [
    pytest.param({}, 100.0, id="neither-is-all"),
    pytest.param({"percent": 25}, 25.0, id="percent"),
    pytest.param({"fraction": {"numerator": 1, "denominator": 3}}, 33.33, id="fraction"),
    pytest.param({"fraction": {"numerator": 5}}, 5.0, id="fraction-default-100"),
    pytest.param({"percent": 0}, 0.0, id="zero"),
]


@pytest.mark.parametrize(("extra", "percent"), MIRROR_CASES)
def test_mirror_share(extra: Obj, percent: float) -> None:
    rule = {"filters": [mirror("shadow", **extra)], "backendRefs": [ref("a")]}
    outcome = evaluate([route(rule)])
    assert outcome.mirrors == (Mirror("Service", "app", "shadow", 80, percent),)
    assert f"{percent:g}% of requests copied to Service app/shadow:80" in "\n".join(
        outcome.reasons
    )


def test_a_backends_own_mirror_only_when_it_is_chosen() -> None:
    refs = [ref("a", filters=[mirror("shadow-a")]), ref("b", weight=0, filters=[mirror("x")])]
    outcome = evaluate([route({"backendRefs": refs})])
    assert outcome.mirrors == (
        Mirror("Service", "app", "shadow-a", 80, 100.0, backend="Service app/a:80"),
    )


def test_a_mirror_to_another_namespace_needs_a_reference_grant() -> None:
    """ReferenceGrant: a reference to another namespace's Service needs one there."""
    rule = {"filters": [mirror("shadow", **{})], "backendRefs": [ref("a")]}
    rule["filters"][0]["requestMirror"]["backendRef"]["namespace"] = "other"
    (copy,) = evaluate([route(rule)]).mirrors
    assert copy.problem is not None and copy.problem.startswith("RefNotPermitted")


def test_a_redirect_sends_no_mirror() -> None:
    redirect = {"type": "RequestRedirect", "requestRedirect": {"statusCode": 301}}
    outcome = evaluate([route({"filters": [redirect, mirror("shadow")]})])
    assert outcome.status == "redirect" and outcome.mirrors == ()


# --- timeouts and retries -----------------------------------------------------------------
# HTTPRouteTimeouts.request: "the maximum duration for a gateway to respond to an HTTP
# request"; backendRequest: "a timeout for an individual request from the gateway to a
# backend"; "Setting a timeout to the zero duration (e.g. "0s") SHOULD disable the timeout
# completely." HTTPRouteRetry (experimental): attempts, backoff, codes.

TIMEOUT_CASES = [
    pytest.param({}, None, None, id="unset"),
    pytest.param(
        {"timeouts": {"request": "10s"}},
        Timeouts("10s", None),
        "timeouts: request 10s for the whole exchange",
        id="request",
    ),
    pytest.param(
        {"timeouts": {"request": "10s", "backendRequest": "2s"}},
        Timeouts("10s", "2s"),
        "timeouts: request 10s for the whole exchange, backendRequest 2s for each try",
        id="both",
    ),
    pytest.param(
        {"timeouts": {"request": "0s"}},
        Timeouts("0s", None),
        "timeouts: request 0s (disabled) for the whole exchange",
        id="zero-disables",
    ),
]


@pytest.mark.parametrize(("extra", "timeouts", "reason"), TIMEOUT_CASES)
def test_timeouts(extra: Obj, timeouts: Timeouts | None, reason: str | None) -> None:
    outcome = evaluate([route({"backendRefs": [ref("a")], **extra})])
    assert outcome.timeouts == timeouts
    if reason is None:
        assert not any(r.startswith("timeouts:") for r in outcome.reasons)
    else:
        assert reason in outcome.reasons


def test_retry() -> None:
    retry = {"attempts": 3, "backoff": "100ms", "codes": [500, 503]}
    outcome = evaluate([route({"backendRefs": [ref("a")], "retry": retry})])
    assert outcome.retry == Retry(3, "100ms", (500, 503))
    assert "retry: up to 3 retries on 500, 503, at least 100ms apart" in outcome.reasons
    assert outcome.to_json()["retry"] == {"attempts": 3, "backoff": "100ms", "codes": [500, 503]}


# --- CORS ------------------------------------------------------------------------------------
# HTTPCORSFilter.allowOrigins: "If the request `Origin` matches the configured allowed
# origins, the gateway must return the given `Origin` and sets value of the header
# `Access-Control-Allow-Origin` same as the `Origin` header"; "`*` is a greedy match to the
# _left_, including any number of DNS labels"; "if not included, port `80` is assumed for
# `http` scheme origins, and port `443` is assumed for `https` origins"; "If the request
# `Origin` does not match ... doesn't set the relevant cross-origin response headers."
# allowCredentials: "the gateway will include the `Access-Control-Allow-Credentials`
# response header with value true"; maxAge: "When the `MaxAge` field is unspecified, the
# gateway sets the response header "Access-Control-Max-Age: 5" by default."

CORS = {
    "type": "CORS",
    "cors": {
        "allowOrigins": ["https://*.example.com", "http://local.test:8080"],
        "allowMethods": ["GET", "PUT"],
        "allowHeaders": ["x-token"],
        "exposeHeaders": ["x-trace"],
        "allowCredentials": True,
    },
}
ALLOWED = [
    ("Access-Control-Allow-Origin", "https://a.b.example.com"),
    ("Access-Control-Allow-Credentials", "true"),
]
CORS_CASES = [
    pytest.param(
        "https://a.b.example.com",
        "GET",
        True,
        False,
        [*ALLOWED, ("Access-Control-Expose-Headers", "x-trace")],
        id="wildcard-many-labels",
    ),
    pytest.param("https://a.b.example.com:443", "GET", True, False, None, id="default-port"),
    pytest.param("https://example.com", "GET", False, False, [], id="wildcard-not-bare"),
    pytest.param("http://a.example.com", "GET", False, False, [], id="other-scheme"),
    pytest.param("http://local.test:8080", "GET", True, False, None, id="explicit-port"),
    pytest.param("http://local.test", "GET", False, False, [], id="port-80-differs"),
    pytest.param(
        "https://a.b.example.com",
        "OPTIONS",
        True,
        True,
        [
            *ALLOWED,
            ("Access-Control-Allow-Methods", "GET, PUT"),
            ("Access-Control-Allow-Headers", "x-token"),
            ("Access-Control-Max-Age", "5"),
        ],
        id="preflight",
    ),
]


@pytest.mark.parametrize(("origin", "method", "allowed", "preflight", "headers"), CORS_CASES)
def test_cors(
    origin: str, method: str, allowed: bool, preflight: bool, headers: list[Any] | None
) -> None:
    asked = [("origin", origin)] + (
        [("access-control-request-method", "PUT")] if preflight else []
    )
    outcome = evaluate(
        [route({"filters": [CORS], "backendRefs": [ref("a")]})], method=method, headers=asked
    )
    cors = outcome.cors
    assert cors is not None
    assert (cors.origin, cors.origin_allowed, cors.preflight) == (origin, allowed, preflight)
    if headers is not None:
        assert list(cors.response_headers) == headers
    assert cors.response_headers[:1] == (
        (("Access-Control-Allow-Origin", origin),) if allowed else ()
    )


def test_cors_without_an_origin_adds_nothing() -> None:
    outcome = evaluate([route({"filters": [CORS], "backendRefs": [ref("a")]})])
    assert outcome.cors is not None
    assert (outcome.cors.origin_allowed, outcome.cors.response_headers) == (None, ())
    data = outcome.to_json()["cors"]
    assert isinstance(data, dict) and data["max_age"] == 5 and data["allow_credentials"] is True


# --- gRPC statuses -------------------------------------------------------------------------
# GRPCRoute backendRefs: "If *all* entries in BackendRefs are invalid, and there are also
# no filters specified in this route rule, *all* traffic which matches this rule MUST
# receive an `UNAVAILABLE` status" and "the proportion of requests that would otherwise
# have been routed to an invalid backend MUST receive an `UNAVAILABLE` status". A gRPC
# call no route serves gets Envoy's UNIMPLEMENTED, gRPC's reading of a 404.

GRPC: dict[str, Any] = {"grpc": ("shop.Cart", "Get")}
GRPC_CASES = [
    pytest.param([], "not-found", "UNIMPLEMENTED", "UNIMPLEMENTED: no route", id="no-route"),
    pytest.param(
        [route({"backendRefs": [ref("a", kind="Nope")]}, kind="GRPCRoute")],
        "no-backend",
        "UNAVAILABLE",
        "UNAVAILABLE: no valid backend",
        id="grpcroute-no-valid-backend",
    ),
    pytest.param(
        [route({"matches": [{"method": {"service": "shop.Other"}}]}, kind="GRPCRoute")],
        "not-found",
        "UNIMPLEMENTED",
        "UNIMPLEMENTED: no route",
        id="no-rule-matches",
    ),
    pytest.param(
        [route({"backendRefs": [ref("a")]}, kind="GRPCRoute")],
        "routed",
        None,
        "routed to Service app/a:80 (100%)",
        id="routed",
    ),
    pytest.param(
        [route({"backendRefs": [ref("a", kind="Nope")]})],
        "no-backend",
        "UNKNOWN",
        "UNKNOWN: no valid backend",
        id="httproute-500-reads-unknown",
    ),
]


@pytest.mark.parametrize(("objects", "status", "grpc", "summary"), GRPC_CASES)
def test_grpc_statuses(objects: list[Obj], status: str, grpc: str | None, summary: str) -> None:
    outcome = evaluate(objects, **GRPC)
    assert (outcome.status, outcome.grpc_status, outcome.summary()) == (status, grpc, summary)
    data = json.loads(json.dumps(outcome.to_json()))
    if grpc is None:
        assert (data["grpc_status"], outcome.http_status) == (None, None)
    else:
        codes = {"UNIMPLEMENTED": 12, "UNAVAILABLE": 14, "UNKNOWN": 2}
        assert data["grpc_status"] == {"name": grpc, "code": codes[grpc]}
        assert data["http_status"] == 200  # the status travels in grpc-status


def test_grpc_share_of_invalid_backends_is_unavailable() -> None:
    refs = [ref("a"), ref("b", kind="Nope")]
    outcome = evaluate([route({"backendRefs": refs}, kind="GRPCRoute")], **GRPC)
    assert (outcome.error_share, outcome.error_status) == (50.0, "UNAVAILABLE")
    plain = evaluate([route({"backendRefs": refs})])
    assert (plain.error_share, plain.error_status, plain.grpc_status) == (50.0, "500", None)


@pytest.mark.parametrize(
    ("http", "grpc"),
    [(404, "UNIMPLEMENTED"), (503, "UNAVAILABLE"), (403, "PERMISSION_DENIED"), (500, "UNKNOWN")],
)
def test_grpc_reading_of_http_statuses(http: int, grpc: str) -> None:
    """The table of grpc/grpc doc/http-grpc-status-mapping.md, HTTP to gRPC statuses."""
    assert grpc_status_for_http(http) == grpc
