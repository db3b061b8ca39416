"""Table tests for meshops.semantics.routing: the explanation, word for word, and the JSON.

What ``meshops route`` shows a user: each reason line, the problems, the summary and
``--output json`` in full; and the edges of the Gateway API rules those lines explain
(listener and hostname specificity, the loss of each tie-breaker, allowedRoutes, the
HTTPRoute/GRPCRoute hostname conflict, CORS ``allowOrigins``, the request's parsing).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from meshops.semantics.routing import (
    Backend,
    Request,
    Routes,
    path_prefix_matches,
    replace_prefix_match,
)

from .test_routing import (
    NEW,
    OLD,
    V1,
    backend,
    evaluate,
    exact,
    gateway,
    grant,
    grpc_match,
    grpc_route,
    headers,
    listener,
    namespace,
    prefix,
    redirect_objects,
    regex,
    route,
    rule,
    service,
)
from .test_routing_filters import mirror, modifier

GATEWAY = "gateway gw/edge: the only one listening on port 80"
ANY_HOST = (
    "listener http (HTTP, port 80, any hostname): matches any host; the only one on the port"
)


def lines(objects: list[dict[str, Any]], url: str, **kw: Any) -> list[str]:
    return list(evaluate(objects, url, **kw).reasons)


# --- the JSON output ------------------------------------------------------------------------

CORS = {
    "type": "CORS",
    "cors": {
        "allowOrigins": ["https://*.example.com"],
        "allowMethods": ["GET", "PUT"],
        "allowHeaders": ["x-token", "x-b"],
        "exposeHeaders": ["x-trace", "x-span"],
        "allowCredentials": True,
        "maxAge": 60,
    },
}
REWRITE = {
    "type": "URLRewrite",
    "urlRewrite": {
        "hostname": "api.internal",
        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"},
    },
}


def everything() -> list[dict[str, Any]]:
    """One rule with every filter, two backends (one invalid), timeouts and a retry."""
    body = {
        "name": "main",
        "matches": [prefix("/api")],
        "filters": [
            modifier(set={"x-env": "prod"}),
            modifier("response", remove=["server"]),
            mirror("shadow", percent=10),
            CORS,
            REWRITE,
        ],
        "backendRefs": [
            backend("a", 8080, weight=3, filters=[modifier(add={"x-canary": "no"}), mirror("m")]),
            backend("b", 8080, namespace="other"),
        ],
        "timeouts": {"request": "10s", "backendRequest": "0s"},
        "retry": {"attempts": 2, "backoff": "1s", "codes": [502, 503]},
    }
    return [gateway(), route("web", "app", body, hostnames=["shop.example.com"])]


PREFLIGHT = [("Origin", "https://a.example.com"), ("access-control-request-method", "PUT")]
NOT_PERMITTED = (
    "RefNotPermitted: no ReferenceGrant in namespace 'other' lets HTTPRoutes from 'app'"
    " reference Service 'b'"
)
REMOVE_SERVER = {"phase": "response", "action": "remove", "name": "server", "value": None}
EVERYTHING_JSON = {
    "status": "routed",
    "http_status": None,
    "grpc_status": None,
    "summary": "routed to Service app/a:8080 (75%)",
    "request": {
        "url": "http://shop.example.com/api/items?id=7",
        "method": "OPTIONS",
        "headers": [list(h) for h in PREFLIGHT],
        "grpc": None,
    },
    "gateway": "gw/edge",
    "listener": "http",
    "route": {"kind": "HTTPRoute", "namespace": "app", "name": "web"},
    "rule": {"index": 0, "name": "main", "match": 0},
    "backends": [
        {
            "group": "",
            "kind": "Service",
            "namespace": "app",
            "name": "a",
            "port": 8080,
            "weight": 3,
            "share": 75.0,
            "problem": None,
            "header_changes": [
                {"phase": "request", "action": "add", "name": "x-canary", "value": "no"}
            ],
            "request_headers": [
                *[list(h) for h in PREFLIGHT],
                ["x-env", "prod"],
                ["x-canary", "no"],
            ],
            "response_changes": [REMOVE_SERVER],
            "notes": [],
        },
        {
            "group": "",
            "kind": "Service",
            "namespace": "other",
            "name": "b",
            "port": 8080,
            "weight": 1,
            "share": 25.0,
            "problem": NOT_PERMITTED,
            "header_changes": [],
            "request_headers": [*[list(h) for h in PREFLIGHT], ["x-env", "prod"]],
            "response_changes": [REMOVE_SERVER],
            "notes": [],
        },
    ],
    "error_share": 25.0,
    "error_status": "500",
    "redirect": None,
    "forwarded": {"host": "api.internal", "path": "/v2/items"},
    "header_changes": [
        {"phase": "request", "action": "set", "name": "x-env", "value": "prod"},
        REMOVE_SERVER,
    ],
    "mirrors": [
        {
            "group": "",
            "kind": "Service",
            "namespace": "app",
            "name": "shadow",
            "port": 80,
            "percent": 10.0,
            "backend": None,
            "problem": None,
        },
        {
            "group": "",
            "kind": "Service",
            "namespace": "app",
            "name": "m",
            "port": 80,
            "percent": 100.0,
            "backend": "Service app/a:8080",
            "problem": None,
        },
    ],
    "timeouts": {"request": "10s", "backend_request": "0s"},
    "retry": {"attempts": 2, "backoff": "1s", "codes": [502, 503]},
    "cors": {
        "allow_origins": ["https://*.example.com"],
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["x-token", "x-b"],
        "expose_headers": ["x-trace", "x-span"],
        "allow_credentials": True,
        "max_age": 60,
        "origin": "https://a.example.com",
        "origin_allowed": True,
        "preflight": True,
        "response_headers": [
            ["Access-Control-Allow-Origin", "https://a.example.com"],
            ["Access-Control-Allow-Credentials", "true"],
            ["Access-Control-Allow-Methods", "GET, PUT"],
            ["Access-Control-Allow-Headers", "x-token, x-b"],
            ["Access-Control-Max-Age", "60"],
        ],
    },
    "reasons": [
        GATEWAY,
        ANY_HOST,
        "HTTPRoute app/web: serves host 'shop.example.com' (hostname 'shop.example.com')",
        "rule 0 'main': match 0 (PathPrefix '/api') accepts the request",
        "CORS: a preflight from allowed origin 'https://a.example.com': the gateway answers it"
        " itself (200); no backend sees it",
        "URLRewrite: forwards host 'api.internal', path '/v2/items'",
        "backend Service app/a:8080: weight 3, 75%",
        "backend Service other/b:8080: weight 1, 25%",
        f"backend Service other/b:8080 is invalid ({NOT_PERMITTED}): its share gets 500",
        "backend Service app/a:8080: its own filters, when it is chosen: request add x-canary: no",
        "RequestMirror: 10% of requests copied to Service app/shadow:80 (its responses are"
        " ignored)",
        "RequestMirror (a filter of backend Service app/a:8080): 100% of requests copied to"
        " Service app/m:80 (its responses are ignored)",
        "timeouts: request 10s for the whole exchange, backendRequest 0s (disabled) for each try",
        "retry: up to 2 retries on 502, 503, at least 1s apart",
    ],
}

REDIRECT_JSON = {
    "status": "redirect",
    "http_status": 301,
    "grpc_status": None,
    "summary": "301: redirect to https://h.example/a?b=1",
    "request": {"url": "http://h.example/a?b=1", "method": "GET", "headers": [], "grpc": None},
    "gateway": "gw/edge",
    "listener": "http",
    "route": {"kind": "HTTPRoute", "namespace": "app", "name": "redir"},
    "rule": {"index": 0, "name": None, "match": 0},
    "backends": [],
    "error_share": 0.0,
    "error_status": "500",
    "redirect": {"status_code": 301, "location": "https://h.example/a?b=1"},
    "forwarded": None,
    "header_changes": [],
    "mirrors": [],
    "timeouts": None,
    "retry": None,
    "cors": None,
    "reasons": [
        GATEWAY,
        "listener http (HTTP, port 80, any hostname): matches any host; the only one on the port",
        "HTTPRoute app/redir: serves host 'h.example' (no hostnames: any host)",
        "rule 0: match 0 (PathPrefix '/') accepts the request",
        "RequestRedirect: 301 to https://h.example/a?b=1",
    ],
}

GRPC_UNAVAILABLE_JSON = {
    "status": "no-backend",
    "http_status": 200,
    "grpc_status": {"name": "UNAVAILABLE", "code": 14},
    "summary": "UNAVAILABLE: no valid backend",
    "request": {
        "url": "http://h.example/pkg.Cart/Add",
        "method": "POST",
        "headers": [["content-type", "application/grpc"]],
        "grpc": "pkg.Cart/Add",
    },
    "gateway": "gw/edge",
    "listener": "http",
    "route": {"kind": "GRPCRoute", "namespace": "app", "name": "g"},
    "rule": {"index": 0, "name": "x", "match": 0},
    "backends": [
        {
            "group": "",
            "kind": "Nope",
            "namespace": "app",
            "name": "a",
            "port": 80,
            "weight": 1,
            "share": 100.0,
            "problem": "InvalidKind: core/Nope is not a supported backend",
            "header_changes": [],
            "request_headers": [["content-type", "application/grpc"]],
            "response_changes": [],
            "notes": [],
        }
    ],
    "error_share": 100.0,
    "error_status": "UNAVAILABLE",
    "redirect": None,
    "forwarded": {"host": "h.example", "path": "/pkg.Cart/Add"},
    "header_changes": [],
    "mirrors": [],
    "timeouts": None,
    "retry": None,
    "cors": None,
    "reasons": [
        GATEWAY,
        ANY_HOST,
        "GRPCRoute app/g: serves host 'h.example' (no hostnames: any host)",
        "rule 0 'x': match 0 (service='pkg.Cart', method='Add') accepts the request",
        "backend Nope app/a:80: weight 1, 100%",
        "backend Nope app/a:80 is invalid (InvalidKind: core/Nope is not a supported backend):"
        " its share gets 500",
        "no backendRef is valid: requests get 500",
    ],
}

NO_LISTENER_JSON = {
    "status": "not-found",
    "http_status": 404,
    "grpc_status": None,
    "summary": "404: no route",
    "request": {"url": "http://h.example:81/", "method": "GET", "headers": [], "grpc": None},
    "gateway": "gw/edge",
    "listener": None,
    "route": None,
    "rule": None,
    "backends": [],
    "error_share": 0.0,
    "error_status": "500",
    "redirect": None,
    "forwarded": None,
    "header_changes": [],
    "mirrors": [],
    "timeouts": None,
    "retry": None,
    "cors": None,
    "reasons": [
        "gateway gw/edge: chosen",
        "Gateway gw/edge has no listener on port 81 (ports [80, 8080])",
    ],
}


@pytest.mark.parametrize(
    ("objects", "url", "kw", "expected"),
    [
        (
            everything(),
            "http://shop.example.com/api/items?id=7",
            {"method": "OPTIONS", "headers": PREFLIGHT},
            EVERYTHING_JSON,
        ),
        (
            redirect_objects({"scheme": "https", "statusCode": 301}),
            "http://h.example/a?b=1",
            {},
            REDIRECT_JSON,
        ),
        (
            [
                gateway(),
                grpc_route(
                    "g",
                    rule(
                        grpc_match("pkg.Cart", "Add"),
                        name="x",
                        backends=[backend("a", kind="Nope")],
                    ),
                ),
            ],
            "http://h.example/",
            {"grpc": ("pkg.Cart", "Add")},
            GRPC_UNAVAILABLE_JSON,
        ),
        (
            [gateway(listener(), listener("alt", 8080))],
            "http://h.example:81/",
            {"gateway_key": "gw/edge"},
            NO_LISTENER_JSON,
        ),
    ],
    ids=["every-field", "redirect", "grpc-unavailable", "gateway-without-the-port"],
)
def test_to_json_in_full(
    objects: list[dict[str, Any]], url: str, kw: dict[str, Any], expected: dict[str, Any]
) -> None:
    data = evaluate(objects, url, **kw).to_json()
    assert json.loads(json.dumps(data)) == expected
    assert list(data) == list(expected)
    assert isinstance(data["error_share"], float)  # 0.0, not 0, in the JSON too


# --- the listener and the gateway -----------------------------------------------------------


@pytest.mark.parametrize(
    ("listeners", "url", "expected"),
    [
        (
            [listener("a", hostname="*.a.example"), listener("b", hostname="x.a.example")],
            "http://x.a.example/",
            "listener b (HTTP, port 80, hostname 'x.a.example'): matches 'x.a.example';"
            " the most specific matching hostname (over a)",
        ),
        (
            [listener("a"), listener("b", hostname="*.a.example"), listener("c")],
            "http://x.a.example/",
            "listener b (HTTP, port 80, hostname '*.a.example'): matches 'x.a.example';"
            " the most specific matching hostname (over a, c)",
        ),
        (
            [listener("a", hostname="*.a.example"), listener("b", hostname="*.b.example")],
            "http://x.b.example/",
            "listener b (HTTP, port 80, hostname '*.b.example'): matches 'x.b.example';"
            " the only one on the port whose hostname matches",
        ),
        (
            [
                listener("wild", hostname="*.example.com"),
                listener("one", hostname="a.example.com"),
            ],
            "http://a.example.com/",
            "listener one (HTTP, port 80, hostname 'a.example.com'): matches 'a.example.com';"
            " the most specific matching hostname (over wild)",
        ),
        (
            [listener("a", hostname="x.a.example")],
            "http://x.a.example/",
            "listener a (HTTP, port 80, hostname 'x.a.example'): matches 'x.a.example';"
            " the only one on the port",
        ),
        (
            [listener("tls", 443, "HTTPS"), listener("pass", 443, "TLS", kinds=["TLSRoute"])],
            "http://h.example:443/",
            "no listener on port 443 takes http: tls (HTTPS), pass (TLS)",
        ),
        (
            [listener("a", hostname="*.a.example"), listener("b", hostname="b.example")],
            "http://example.com/",
            "no listener hostname on port 80 matches 'example.com': a (*.a.example),"
            " b (b.example)",
        ),
    ],
    ids=[
        "exact-over-wildcard",
        "wildcard-over-two-without-hostname",
        "only-matching-hostname",
        "exact-over-wildcard-of-the-same-length",
        "only-listener",
        "no-listener-takes-the-scheme",
        "no-listener-hostname-matches",
    ],
)
def test_listener_reason(listeners: list[dict[str, Any]], url: str, expected: str) -> None:
    assert lines([gateway(*listeners)], url)[1] == expected


def test_a_gateway_without_a_listener_for_the_scheme_is_not_chosen() -> None:
    """The one Gateway with a listener for http on the port is chosen, even if it misses."""
    objects = [
        gateway(listener(hostname="*.a.example"), name="a"),
        gateway(listener("tls", 80, "HTTPS"), name="b"),
    ]
    outcome = evaluate(objects, "http://x.other/")
    assert (outcome.gateway, outcome.listener) == ("gw/a", None)
    assert outcome.reasons == (
        "gateway gw/a: the only one listening on port 80",
        "no listener hostname on port 80 matches 'x.other': http (*.a.example)",
    )


@pytest.mark.parametrize(
    ("objects", "url", "gateway_key", "message"),
    [
        ([], "http://h.example/", "gw/edge", "gateway 'gw/edge' is not among the Gateways (none)"),
        (
            [gateway(name="a"), gateway(name="b")],
            "http://h.example/",
            None,
            "several Gateways take 'http://h.example/': gw/a, gw/b; choose one with gateway=",
        ),
    ],
    ids=["unknown-gateway-none-known", "several"],
)
def test_gateway_choice_errors(
    objects: list[dict[str, Any]], url: str, gateway_key: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        evaluate(objects, url, gateway_key=gateway_key)


def test_no_gateway_on_the_port_names_the_gateways() -> None:
    objects = [gateway(name="a"), gateway(name="b")]
    assert lines(objects, "http://h.example:81/") == [
        "no Gateway has a listener on port 81 (Gateways: gw/a, gw/b)"
    ]


# --- which route: the reasons in full -------------------------------------------------------


def deep(i: int) -> str:
    return "/" + "/".join("a" * i)


def test_losers_are_listed_five_at_most_then_counted() -> None:
    routes = [route(f"r{i}", "app", rule(prefix(deep(i)))) for i in range(8)]
    found = lines([gateway(), *routes], f"http://h.example{deep(7)}")
    assert found[2:] == [
        "HTTPRoute app/r7: serves host 'h.example' (no hostnames: any host)",
        f"rule 0: match 0 (PathPrefix '{deep(7)}') accepts the request",
        *[
            f"HTTPRoute app/r{i} rule 0 match 0 (PathPrefix '{deep(i)}') also matches but"
            " loses: the winner has a longer path value"
            for i in (6, 5, 4, 3, 2)
        ],
        "... and 2 more matches lose",
        "backend Service app/svc:80: weight 1, 100%",
    ]


@pytest.mark.parametrize(
    ("count", "more"),
    [(6, []), (7, ["... and 1 more matches lose"])],
    ids=["six-matches-no-count", "seven-matches-one-more"],
)
def test_losers_beyond_five_are_counted(count: int, more: list[str]) -> None:
    routes = [route(f"r{i}", "app", rule(prefix(deep(i)))) for i in range(count)]
    found = lines([gateway(), *routes], f"http://h.example{deep(7)}")
    assert found[4:-1] == [
        *[
            f"HTTPRoute app/r{i} rule 0 match 0 (PathPrefix '{deep(i)}') also matches but"
            " loses: the winner has a longer path value"
            for i in range(count - 2, count - 7, -1)
        ],
        *more,
    ]


@pytest.mark.parametrize(
    ("objects", "url", "kw", "expected"),
    [
        (
            [gateway(listener(hostname="*.example.com")), route("web", "app")],
            "http://a.example.com/",
            {},
            "HTTPRoute app/web: serves host 'a.example.com' (hostname '*.example.com')",
        ),
        (
            [gateway(), route("web", "app", hostnames=["*.example.com", "*.a.example.com"])],
            "http://b.a.example.com/",
            {},
            "HTTPRoute app/web: serves host 'b.a.example.com' (hostname '*.a.example.com')",
        ),
        (
            [gateway(), route("web", "app", hostnames=["*.example.com", "a.example.com"])],
            "http://a.example.com/",
            {},
            "HTTPRoute app/web: serves host 'a.example.com' (hostname 'a.example.com')",
        ),
    ],
    ids=["listener-hostname-when-route-has-none", "longest-wildcard", "exact-over-wildcard"],
)
def test_the_hostname_that_serves(
    objects: list[dict[str, Any]], url: str, kw: dict[str, Any], expected: str
) -> None:
    assert lines(objects, url, **kw)[2] == expected


def test_a_route_without_hostnames_ranks_with_its_listeners_hostname() -> None:
    """Without hostnames a route takes the listener's: it ties one naming that hostname."""
    objects = [
        gateway(listener(hostname="*.example.com")),
        route("b", "app", rule(backends=[backend("b")])),
        route("a", "app", rule(backends=[backend("a")]), hostnames=["*.example.com"]),
    ]
    found = lines(objects, "http://x.example.com/")
    assert found[4] == (
        "HTTPRoute app/b rule 0 match 0 (PathPrefix '/') also matches but loses: the winner"
        " has a route first in {namespace}/{name} order"
    )


@pytest.mark.parametrize(
    ("routes", "call", "expected"),
    [
        (
            [
                grpc_route("a", rule()),
                grpc_route("b", rule(grpc_match("pkg\\..*", type="RegularExpression"))),
            ],
            ("pkg.Cart", "Add"),
            "GRPCRoute app/a rule 0 (any gRPC call) also matches but loses: the winner has a"
            " service match (Exact > RegularExpression > none)",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart", type="RegularExpression"))),
                grpc_route("b", rule(grpc_match("pkg.Cart", "A.*", type="RegularExpression"))),
            ],
            ("pkg.Cart", "Add"),
            "GRPCRoute app/a rule 0 match 0 (service~'pkg.Cart') also matches but loses: the"
            " winner has a method match (Exact > RegularExpression > none)",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("p.*", type="RegularExpression"))),
                grpc_route("b", rule(grpc_match("pkg.*", type="RegularExpression"))),
            ],
            ("pkg.Cart", "Add"),
            "GRPCRoute app/a rule 0 match 0 (service~'p.*') also matches but loses: the winner"
            " has a longer service",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart", "A.*", type="RegularExpression"))),
                grpc_route("b", rule(grpc_match("pkg.Cart", "Ad.*", type="RegularExpression"))),
            ],
            ("pkg.Cart", "Add"),
            "GRPCRoute app/a rule 0 match 0 (service~'pkg.Cart', method~'A.*') also matches but"
            " loses: the winner has a longer method",
        ),
    ],
    ids=["regex-service-over-none", "regex-method-over-none", "longer-service", "longer-method"],
)
def test_grpc_loss_reasons(
    routes: list[dict[str, Any]], call: tuple[str, str], expected: str
) -> None:
    found = lines([gateway(), *routes], "http://h.example/", grpc=call)
    assert found[2].startswith("GRPCRoute app/b: serves host"), found
    assert found[4] == expected


def test_a_grpc_rule_without_matches_says_it_matches_every_call() -> None:
    found = lines([gateway(), grpc_route("g", rule())], "http://h.example/", grpc=("p.S", "M"))
    assert found[2:4] == [
        "GRPCRoute app/g: serves host 'h.example' (no hostnames: any host)",
        "rule 0: no matches, so it matches every gRPC call",
    ]


def test_a_regex_path_counts_its_trailing_slash() -> None:
    """Only a PathPrefix drops its trailing '/' from its length: these regexes tie."""
    objects = [
        gateway(),
        route("b", "app", rule(regex("/xy."))),
        route("a", "app", rule(regex("/xy/"))),
    ]
    outcome = evaluate(objects, "http://h.example/xy/")
    assert outcome.route == "app/a"
    assert outcome.reasons[4].endswith(
        "loses: the winner has a route first in {namespace}/{name} order"
    )


# --- no match: what was tried ---------------------------------------------------------------


def test_no_match_lists_each_rule_and_why() -> None:
    objects = [
        gateway(),
        route(
            "web",
            "app",
            rule(prefix("/a")),
            rule(exact("/b", method="POST")),
            rule(prefix("/", headers=headers(x_v="1"))),
            rule(prefix("/", headers=headers(x_w="1"))),
        ),
    ]
    assert lines(objects, "http://h.example/z", headers=[("x-v", "2")]) == [
        GATEWAY,
        ANY_HOST,
        "1 route(s) serve host 'h.example'; no match accepts the request:",
        "  HTTPRoute app/web rule 0: path '/z' is not under '/a'",
        "  HTTPRoute app/web rule 1: path '/z' is not '/b'",
        "  HTTPRoute app/web rule 2: header x-v='1' not satisfied ('2')",
        "  HTTPRoute app/web rule 3: header x-w='1' not satisfied (absent)",
    ]


def test_a_plain_request_to_a_grpc_route_is_said_not_grpc() -> None:
    found = lines([gateway(), grpc_route("g", rule())], "http://h.example/")
    assert found[2:] == [
        "1 route(s) serve host 'h.example'; no match accepts the request:",
        "  GRPCRoute app/g rule 0: the request is not a gRPC call",
    ]


def test_no_match_shows_eight_routes_and_twenty_lines_at_most() -> None:
    routes = [route(f"r{i}", "app", rule(exact(f"/{i}"))) for i in range(9)]
    found = lines([gateway(), *routes], "http://h.example/x")
    assert found[2:] == [
        "9 route(s) serve host 'h.example'; no match accepts the request:",
        *[f"  HTTPRoute app/r{i} rule 0: path '/x' is not '/{i}'" for i in range(8)],
    ]
    many = route("web", "app", *[rule(exact(f"/{i}")) for i in range(25)])
    found = lines([gateway(), many], "http://h.example/x")
    assert found[2:] == [
        "1 route(s) serve host 'h.example'; no match accepts the request:",
        *[f"  HTTPRoute app/web rule {i}: path '/x' is not '/{i}'" for i in range(19)],
    ]


def refused(count: int) -> list[dict[str, Any]]:
    return [route(f"r{i}", "app") for i in range(count)]


def refusal(i: int) -> str:
    return (
        f"HTTPRoute app/r{i}: not attached to gw/edge listener http (HTTP, port 80, any"
        " hostname): allowedRoutes from Same: namespace 'app' is not its own"
    )


def test_no_route_shows_eight_refusals_at_most() -> None:
    found = lines([gateway(listener(source="Same")), *refused(9)], "http://h.example/")
    assert found[2:] == [
        "no route attached to the listener serves host 'h.example' (0 attached)",
        *[refusal(i) for i in range(8)],
    ]


def test_no_match_shows_eight_refusals_at_most() -> None:
    same = listener(source="Same")
    own = route("own", "gw", rule(exact("/own")))
    found = lines([gateway(same), own, *refused(9)], "http://h.example/x")
    assert found[2:] == [
        "1 route(s) serve host 'h.example'; no match accepts the request:",
        "  HTTPRoute gw/own rule 0: path '/x' is not '/own'",
        *[refusal(i) for i in range(8)],
    ]


def test_no_route_for_the_host_counts_the_routes_attached() -> None:
    objects = [
        gateway(),
        route("a", "app", hostnames=["a.example"]),
        route("b", "app", hostnames=["b.example"]),
    ]
    assert lines(objects, "http://c.example/")[2:] == [
        "no route attached to the listener serves host 'c.example' (2 attached)"
    ]


def test_layer4_names_each_route() -> None:
    passthrough = listener("tls", 443, "TLS", kinds=["TLSRoute"])
    tls = [route(n, "app", kind="TLSRoute") for n in ("a", "b")]
    assert lines([gateway(passthrough), *tls], "https://h.example/")[2:] == [
        "TLS listener: layer 4, not evaluated (routes: TLSRoute app/a, TLSRoute app/b)"
    ]
    assert lines([gateway(passthrough)], "https://h.example/")[2:] == [
        "TLS listener: layer 4, not evaluated (routes: none attached)"
    ]


def test_a_tlsroute_is_kept_beside_an_httproute_on_its_hosts() -> None:
    """Only an HTTPRoute and a GRPCRoute exclude each other; a TLSRoute is layer 4."""
    both = listener("tls", 443, "TLS", kinds=["HTTPRoute", "TLSRoute"])
    objects = [
        gateway(both),
        route("web", "app", created=OLD),
        route("t", "app", kind="TLSRoute", created=NEW),
    ]
    assert lines(objects, "https://h.example/")[2:] == [
        "TLS listener: layer 4, not evaluated (routes: TLSRoute app/t)"
    ]


# --- attachment -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "extra", "problem"),
    [
        (
            listener(source="Selector", selector={"matchLabels": {"team": "web"}}),
            [namespace("app", team="db")],
            "allowedRoutes selector does not select namespace 'app'",
        ),
        (
            listener(source="Selector", selector={"matchLabels": {"team": "web"}}),
            [],
            "allowedRoutes selector does not select namespace 'app' (not among the objects:"
            " only its name label is known)",
        ),
        (
            listener(source="Everywhere", selector={"matchLabels": {"team": "web"}}),
            [namespace("app", team="web")],
            "allowedRoutes namespaces from 'Everywhere' is not understood",
        ),
    ],
    ids=["selector-namespace-known", "selector-namespace-unknown", "unknown-from-with-selector"],
)
def test_refusal_reasons(
    listen: dict[str, Any], extra: list[dict[str, Any]], problem: str
) -> None:
    routes = Routes.from_objects([gateway(listen), route("web", "app"), *extra])
    assert routes.problems == (
        "HTTPRoute app/web: not attached to gw/edge listener http (HTTP, port 80, any"
        f" hostname): {problem}",
    )
    assert routes.route(Request.from_url("http://h.example/")).status == "not-found"


def test_same_namespace_route_is_attached() -> None:
    objects = [gateway(listener(source="Same")), route("web", "gw")]
    assert evaluate(objects, "http://h.example/").route == "gw/web"


def test_a_route_refused_by_one_listener_still_attaches_to_the_next() -> None:
    objects = [
        gateway(listener("a", hostname="a.example"), listener("b", hostname="b.example")),
        route("web", "app", hostnames=["b.example"]),
    ]
    routes = Routes.from_objects(objects)
    assert routes.problems == (
        "HTTPRoute app/web: not attached to gw/edge listener a (HTTP, port 80, hostname"
        " 'a.example'): none of its hostnames ['b.example'] intersects 'a.example'",
    )
    outcome = routes.route(Request.from_url("http://b.example/"))
    assert (outcome.listener, outcome.route) == ("b", "app/web")


@pytest.mark.parametrize(
    ("route_hosts", "url", "status"),
    [
        (["*.a.example.com"], "http://x.a.example.com/", "routed"),
        (["*.a.example.com"], "http://x.example.com/", "not-found"),
        (["*.com"], "http://x.example.com/", "routed"),
    ],
    ids=["narrower-wildcard-kept", "narrower-wildcard-limits", "wider-wildcard-narrowed"],
)
def test_wildcard_route_hostnames_on_a_wildcard_listener(
    route_hosts: list[str], url: str, status: str
) -> None:
    objects = [
        gateway(listener(hostname="*.example.com")),
        route("web", "app", hostnames=route_hosts),
    ]
    assert evaluate(objects, url).status == status


def test_a_wildcard_of_another_domain_does_not_intersect() -> None:
    objects = [
        gateway(listener(hostname="*.example.com")),
        route("web", "app", hostnames=["*.myexample.com"]),
    ]
    assert Routes.from_objects(objects).problems == (
        "HTTPRoute app/web: not attached to gw/edge listener http (HTTP, port 80, hostname"
        " '*.example.com'): none of its hostnames ['*.myexample.com'] intersects"
        " '*.example.com'",
    )


@pytest.mark.parametrize(
    ("http_hosts", "grpc_hosts"),
    [(None, ["api.example.com"]), (["api.example.com"], None), (None, None)],
    ids=["http-any-host", "grpc-any-host", "both-any-host"],
)
def test_a_route_without_hostnames_conflicts_with_the_other_kind(
    http_hosts: list[str] | None, grpc_hosts: list[str] | None
) -> None:
    objects = [
        gateway(),
        route("web", "app", hostnames=http_hosts, created=OLD),
        grpc_route("g", rule(), hostnames=grpc_hosts, created=NEW),
    ]
    assert Routes.from_objects(objects).problems == (
        "GRPCRoute app/g: not attached to gw/edge listener http (HTTP, port 80, any hostname):"
        " its hostnames intersect those of the older HTTPRoute app/web",
    )


def test_listener_sets_are_said_not_evaluated() -> None:
    objects = [
        gateway(),
        {"apiVersion": V1, "kind": "ListenerSet", "metadata": {"name": "ls", "namespace": "n"}},
        {
            "apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
            "kind": "XListenerSet",
            "metadata": {"name": "xs", "namespace": "n"},
        },
    ]
    assert Routes.from_objects(objects).problems == (
        "ListenerSet n/ls: not evaluated",
        "XListenerSet n/xs: not evaluated",
    )


# --- backends -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "extra", "problem"),
    [
        (backend("a", kind="Pod"), [], "InvalidKind: core/Pod is not a supported backend"),
        (
            backend("a", group="example.com", kind="Thing"),
            [],
            "InvalidKind: example.com/Thing is not a supported backend",
        ),
        ({"name": "a"}, [], "a Service backendRef needs a port"),
        ({"name": "a", "group": "multicluster.x-k8s.io", "kind": "ServiceImport"}, [], None),
        (backend("gone"), [service("a", "app")], "BackendNotFound: no Service app/gone"),
        (
            backend("a", namespace="other", group="multicluster.x-k8s.io", kind="ServiceImport"),
            [
                grant("other", "app")
                | {
                    "spec": {
                        "from": [
                            {
                                "group": "gateway.networking.k8s.io",
                                "kind": "HTTPRoute",
                                "namespace": "app",
                            }
                        ],
                        "to": [{"group": "multicluster.x-k8s.io", "kind": "ServiceImport"}],
                    }
                }
            ],
            None,
        ),
        (
            backend("a", namespace="other"),
            [
                grant("other", "app")
                | {
                    "spec": {
                        "from": [
                            {
                                "group": "gateway.networking.k8s.io",
                                "kind": "HTTPRoute",
                                "namespace": "app",
                            }
                        ],
                        "to": [{"group": "multicluster.x-k8s.io", "kind": "Service"}],
                    }
                }
            ],
            "RefNotPermitted: no ReferenceGrant in namespace 'other' lets HTTPRoutes from 'app'"
            " reference Service 'a'",
        ),
    ],
    ids=[
        "core-kind",
        "other-group-kind",
        "service-without-port",
        "service-import-without-port",
        "service-missing",
        "grant-to-service-import",
        "grant-to-another-groups-kind",
    ],
)
def test_backend_problem(
    ref: dict[str, Any], extra: list[dict[str, Any]], problem: str | None
) -> None:
    outcome = evaluate(
        [gateway(), route("web", "app", rule(backends=[ref])), *extra], "http://h.example/"
    )
    (found,) = outcome.backends
    assert found.problem == problem


def test_a_backend_without_a_port_is_named_without_one() -> None:
    ref = {"name": "a", "group": "multicluster.x-k8s.io", "kind": "ServiceImport"}
    outcome = evaluate([gateway(), route("web", "app", rule(backends=[ref]))], "http://h.example/")
    (found,) = outcome.backends
    assert str(found) == "ServiceImport app/a"
    assert outcome.summary() == "routed to ServiceImport app/a (100%)"
    assert outcome.to_json()["backends"] == [
        {
            "group": "multicluster.x-k8s.io",
            "kind": "ServiceImport",
            "namespace": "app",
            "name": "a",
            "port": None,
            "weight": 1,
            "share": 100.0,
            "problem": None,
            "header_changes": [],
            "request_headers": [],
            "response_changes": [],
            "notes": [],
        }
    ]


def test_summary_names_only_the_valid_backends_with_traffic() -> None:
    refs = [
        backend("a", weight=1),
        backend("b", weight=3),
        backend("c", weight=0),
        backend("d", namespace="other"),
    ]
    outcome = evaluate([gateway(), route("web", "app", rule(backends=refs))], "http://h.example/")
    assert outcome.summary() == "routed to Service app/a:80 (20%), Service app/b:80 (60%)"
    assert outcome.error_share == 20.0


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([], ["the rule has no backendRefs: requests get 500"]),
        (
            [backend("a", weight=0)],
            [
                "backend Service app/a:80: weight 0, 0%",
                "every backendRef has weight 0: requests get 500",
            ],
        ),
        (
            [backend("a", kind="Pod")],
            [
                "backend Pod app/a:80: weight 1, 100%",
                "backend Pod app/a:80 is invalid (InvalidKind: core/Pod is not a supported"
                " backend): its share gets 500",
                "no backendRef is valid: requests get 500",
            ],
        ),
    ],
    ids=["none", "weight-zero", "invalid"],
)
def test_no_backend_reasons(refs: list[dict[str, Any]], expected: list[str]) -> None:
    body = rule(backends=refs)
    found = lines([gateway(), route("web", "app", body)], "http://h.example/")
    assert found[4:] == expected


def test_a_backends_own_filters_are_listed_in_order() -> None:
    own = [
        modifier(remove=["x-debug"], set={"x-a": "1"}),
        modifier("response", add={"x-b": "2"}),
    ]
    refs = [backend("a", filters=own)]
    found = lines([gateway(), route("web", "app", rule(backends=refs))], "http://h.example/")
    assert found[4:] == [
        "backend Service app/a:80: weight 1, 100%",
        "backend Service app/a:80: its own filters, when it is chosen: request set x-a: 1;"
        " request remove x-debug; response add x-b: 2",
    ]


@pytest.mark.parametrize(
    ("request_headers", "filters", "received"),
    [
        ([("x-a", "1"), ("X-A", "2")], [], (("x-a", "1,2"),)),
        ([("x-a", "1")], [modifier(set={"x-a": ""})], (("x-a", ""),)),
        ([], [modifier(add={"x-a": ""})], (("x-a", ""),)),
    ],
    ids=["repeated-names-joined", "set-to-empty", "add-empty"],
)
def test_headers_a_backend_receives(
    request_headers: list[tuple[str, str]], filters: list[dict[str, Any]], received: Any
) -> None:
    body = rule(filters=filters) if filters else rule()
    outcome = evaluate(
        [gateway(), route("web", "app", body)], "http://h.example/", headers=request_headers
    )
    assert outcome.backends[0].request_headers == received


# --- mirrors, rewrites, policies ------------------------------------------------------------


def test_mirror_reasons_and_json() -> None:
    unported = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "np"}}}
    imported = {
        "type": "RequestMirror",
        "requestMirror": {
            "backendRef": {
                "name": "si",
                "group": "multicluster.x-k8s.io",
                "kind": "ServiceImport",
                "port": 81,
            },
        },
    }
    body = rule(filters=[unported, imported, mirror("shadow")])
    outcome = evaluate(
        [gateway(), route("web", "app", body), service("svc", "app"), service("shadow", "app")],
        "http://h.example/",
    )
    assert [str(m) for m in outcome.mirrors] == [
        "Service app/np",
        "ServiceImport app/si:81",
        "Service app/shadow:80",
    ]
    assert list(outcome.reasons[-3:]) == [
        "RequestMirror: no copy goes to Service app/np: a Service backendRef needs a port",
        "RequestMirror: 100% of requests copied to ServiceImport app/si:81 (its responses are"
        " ignored)",
        "RequestMirror: 100% of requests copied to Service app/shadow:80 (its responses are"
        " ignored)",
    ]
    assert outcome.to_json()["mirrors"][1] == {
        "group": "multicluster.x-k8s.io",
        "kind": "ServiceImport",
        "namespace": "app",
        "name": "si",
        "port": 81,
        "percent": 100.0,
        "backend": None,
        "problem": None,
    }


def test_a_backends_mirror_without_grant_is_said() -> None:
    refs = [backend("a", filters=[mirror("shadow") | {}])]
    refs[0]["filters"][0]["requestMirror"]["backendRef"]["namespace"] = "other"
    found = lines([gateway(), route("web", "app", rule(backends=refs))], "http://h.example/")
    assert found[-1] == (
        "RequestMirror (a filter of backend Service app/a:80): no copy goes to Service"
        " other/shadow:80: RefNotPermitted: no ReferenceGrant in namespace 'other' lets"
        " HTTPRoutes from 'app' reference Service 'shadow'"
    )


def test_replace_prefix_match_on_an_exact_match_leaves_the_path() -> None:
    prefix_rewrite = {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}
    rewrite = {"type": "URLRewrite", "urlRewrite": {"path": prefix_rewrite}}
    outcome = evaluate(
        [gateway(), route("web", "app", rule(exact("/old"), filters=[rewrite]))],
        "http://h.example/old",
    )
    assert (outcome.host, outcome.path) == ("h.example", "/old")
    assert outcome.reasons[4:6] == (
        "ReplacePrefixMatch needs a PathPrefix match: path left as is",
        "URLRewrite: forwards host 'h.example', path '/old'",
    )
    redirect = {"type": "RequestRedirect", "requestRedirect": {"path": prefix_rewrite}}
    outcome = evaluate(
        [gateway(), route("web", "app", rule(exact("/old"), filters=[redirect]))],
        "http://h.example/old",
    )
    assert outcome.redirect is not None and outcome.redirect.location == "http://h.example/old"
    assert outcome.reasons[4:] == (
        "ReplacePrefixMatch needs a PathPrefix match: path left as is",
        "RequestRedirect: 302 to http://h.example/old",
    )


def test_a_retry_with_nothing_set_says_so() -> None:
    found = lines([gateway(), route("web", "app", rule() | {"retry": {}})], "http://h.example/")
    assert found[-1] == "retry: up to implementation-specific retries on no codes listed"


def test_timeouts_backend_request_alone() -> None:
    body = rule() | {"timeouts": {"backendRequest": "1m0s"}}
    found = lines([gateway(), route("web", "app", body)], "http://h.example/")
    assert found[-1] == "timeouts: backendRequest 1m0s for each try"


# --- CORS -----------------------------------------------------------------------------------


def cors_outcome(origins: list[str], origin: str | None, method: str = "GET", **cors: Any) -> Any:
    ask = cors.pop("ask", False)
    spec = {"allowOrigins": origins, **cors}
    body = rule(filters=[{"type": "CORS", "cors": spec}])
    asked = [] if origin is None else [("Origin", origin)]
    if method == "OPTIONS" or ask:
        asked.append(("Access-Control-Request-Method", "GET"))
    return evaluate(
        [gateway(), route("web", "app", body)], "http://h.example/", method=method, headers=asked
    )


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        (["*"], "https://anything.test", True),
        (["https://*"], "https://anything.test", True),
        (["https://*example.com"], "https://example.com", False),
        (["https://*example.com"], "https://myexample.com", True),
        (["https://*.example.com"], "https://evil.example.net", False),
        (["https://*.example.com"], "http://a.example.com:443", False),
        (["https://*.example.com"], "null", False),
        (["https://a.example.com/"], "https://a.example.com/", False),
        (["ftp://a.example.com"], "ftp://a.example.com", False),
        (["https://[::1]:8443"], "https://[::1]:8443", True),
        (["https://A.Example.com"], "HTTPS://a.example.COM", True),
    ],
    ids=[
        "star-alone-any-origin",
        "star-host-any-host",
        "star-is-at-least-one-character",
        "star-without-dot",
        "suffix-must-match",
        "scheme-differs-same-port",
        "opaque-origin",
        "a-path-is-not-an-origin",
        "only-http-and-https",
        "ipv6-with-port",
        "case-insensitive",
    ],
)
def test_cors_allow_origins(origins: list[str], origin: str, allowed: bool) -> None:
    cors = cors_outcome(origins, origin).cors
    assert cors is not None and cors.origin_allowed is allowed


@pytest.mark.parametrize(
    ("origin", "method", "cors", "preflight", "headers", "reason"),
    [
        (
            None,
            "GET",
            {},
            False,
            [],
            "CORS: no Origin header, not a cross-origin request: no CORS headers",
        ),
        (
            "https://b.test",
            "OPTIONS",
            {},
            True,
            [],
            "CORS: origin 'https://b.test' is not among ['https://a.test']: no CORS headers, so"
            " the browser refuses the response",
        ),
        (
            "https://a.test",
            "GET",
            {"ask": True},
            False,
            [("Access-Control-Allow-Origin", "https://a.test")],
            "CORS: origin 'https://a.test' is allowed: CORS headers added to the response",
        ),
        (
            "https://a.test",
            "OPTIONS",
            {},
            True,
            [("Access-Control-Allow-Origin", "https://a.test"), ("Access-Control-Max-Age", "5")],
            "CORS: a preflight from allowed origin 'https://a.test': the gateway answers it"
            " itself (200); no backend sees it",
        ),
        (
            "https://a.test",
            "GET",
            {"exposeHeaders": ["x-trace", "x-span"]},
            False,
            [
                ("Access-Control-Allow-Origin", "https://a.test"),
                ("Access-Control-Expose-Headers", "x-trace, x-span"),
            ],
            "CORS: origin 'https://a.test' is allowed: CORS headers added to the response",
        ),
    ],
    ids=[
        "no-origin",
        "refused-preflight",
        "get-with-request-method-is-no-preflight",
        "bare-preflight",
        "exposed-headers-listed",
    ],
)
def test_cors_answers(
    origin: str | None,
    method: str,
    cors: dict[str, Any],
    preflight: bool,
    headers: list[tuple[str, str]],
    reason: str,
) -> None:
    outcome = cors_outcome(["https://a.test"], origin, method, **cors)
    assert outcome.cors is not None
    assert (outcome.cors.preflight, list(outcome.cors.response_headers)) == (preflight, headers)
    assert outcome.reasons[4] == reason


# --- requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kw", "expected"),
    [
        ("http://10.0.0.1/", {"headers": [("Host", "[::1]:8080")]}, ("[::1]", ())),
        ("http://10.0.0.1/", {"headers": [("HOST", "[::1]")]}, ("[::1]", ())),
        (
            "http://10.0.0.1/",
            {"headers": [("host", "shop.example"), ("x-a", "1")]},
            ("shop.example", (("x-a", "1"),)),
        ),
        (
            "http://h.example/",
            {"grpc": ("p.S", "M"), "headers": [("x-a", "1")]},
            ("h.example", (("x-a", "1"), ("content-type", "application/grpc"))),
        ),
        (
            "http://h.example/",
            {"grpc": ("p.S", "M"), "headers": [("Content-Type", "application/grpc+proto")]},
            ("h.example", (("Content-Type", "application/grpc+proto"),)),
        ),
    ],
    ids=[
        "ipv6-host-header-port",
        "ipv6-host-header",
        "host-header-not-forwarded",
        "grpc-content-type-added",
        "grpc-content-type-kept",
    ],
)
def test_request_host_and_headers(url: str, kw: dict[str, Any], expected: Any) -> None:
    r = Request.from_url(url, **kw)
    assert (r.host, r.headers) == expected


@pytest.mark.parametrize(
    ("url", "kw", "path", "port"),
    [
        ("http://h.example:1/a/b/.", {}, "/a/b/", 1),
        ("http://h.example:65535/a/b/..", {}, "/a/", 65535),
        ("http:cart", {"headers": [("Host", "h.example")]}, "/cart", 80),
    ],
    ids=[
        "trailing-dot-keeps-slash",
        "trailing-dot-dot-keeps-slash",
        "relative-path-made-absolute",
    ],
)
def test_request_path_and_port(url: str, kw: dict[str, Any], path: str, port: int) -> None:
    r = Request.from_url(url, **kw)
    assert (r.path, r.port) == (path, port)


@pytest.mark.parametrize(
    ("url", "kw", "message"),
    [
        ("http://[bad/", {}, "URL 'http://[bad/' is not valid: Invalid IPv6 URL"),
        (
            "http://h.example/x",
            {"grpc": ("pkg.S", "M")},
            "URL 'http://h.example/x': a gRPC call's path is '/pkg.S/M', not '/x'",
        ),
        (
            "http://h.example/",
            {"grpc": ("pkg S", "M")},
            "gRPC service 'pkg S' must be a non-empty name without '/'",
        ),
    ],
    ids=["not-a-url", "grpc-path", "grpc-name-with-space"],
)
def test_request_error_messages(url: str, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Request.from_url(url, **kw)


@pytest.mark.parametrize(("port", "ok"), [(1, True), (65535, True), (65536, False)])
def test_request_port_bounds(port: int, ok: bool) -> None:
    if ok:
        assert Request("http", "h", port, "/").port == port
    else:
        with pytest.raises(ValueError, match="port 65536 must be 1-65535"):
            Request("http", "h", port, "/")


def test_path_prefix_and_replacement_keep_their_letters() -> None:
    assert path_prefix_matches("/BOX", "/BO") is False
    assert replace_prefix_match("/foo/bar", "/foo", "/BOX") == "/BOX/bar"


def test_backend_str() -> None:
    assert str(Backend("Service", "app", "a", None, 1, 100.0)) == "Service app/a"
