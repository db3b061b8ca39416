"""plan.ingress: every field a route's matches and filters render, conflicts in words.

What a requirer asks (model.ingress's Route) becomes the rule of an HTTPRoute or a
GRPCRoute field by field; a conflict names the listener, the hostname and the match
held, as the requirer is told it; a problem names the route (its field) or none.
"""

from __future__ import annotations

from typing import Any

from meshops.model import Problem
from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    GatewayProtocol,
    GRPCMatch,
    HeaderMatch,
    HeaderMatchType,
    HeaderModifier,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    PathModifier,
    PathModifierType,
    Protocol,
    RequestRedirect,
    Route,
    URLRewrite,
)
from meshops.model.mesh import Method
from meshops.plan.ingress import Listener, plan_ingress, web_route

from .test_ingress import GW, by_kind, routes_set

API = (Backend("api", 8080),)
API_REF = [{"kind": "Service", "group": "", "name": "api", "port": 8080}]
HEADERS = (HeaderMatch("X-B", "1"), HeaderMatch("x-a", "b.*", HeaderMatchType.RegularExpression))
RULE_MATCH = HTTPMatch(PathMatch(PathMatchType.PathPrefix, "/a"), Method.get, HEADERS)


def rules(kind: str, *routes: Route) -> list[dict[str, Any]]:
    plan = plan_ingress(GW, [routes_set("ingress-route:1", "api", 1, *routes)])
    assert plan.problems == [] and plan.conflicts == []
    return [rule for obj in by_kind(plan, kind) for rule in obj["spec"]["rules"]]


def test_a_match_and_each_filter_render_every_field() -> None:
    route = Route(
        "r",
        Protocol.HTTP,
        None,
        matches=(RULE_MATCH,),
        filters=(
            URLRewrite("in.example", PathModifier(PathModifierType.ReplaceFullPath, "/x")),
            HeaderModifier(set=(("x-s", "1"),), add=(("x-a", "2"),), remove=("x-r",)),
            HeaderModifier(set=(("x-t", "1"),), response=True),
        ),
        backends=API,
    )
    assert rules("HTTPRoute", route) == [
        {
            "name": "r",
            "matches": [
                {
                    "path": {"type": "PathPrefix", "value": "/a"},
                    "method": "GET",
                    "headers": [
                        {"type": "Exact", "name": "X-B", "value": "1"},
                        {"type": "RegularExpression", "name": "x-a", "value": "b.*"},
                    ],
                }
            ],
            "filters": [
                {
                    "type": "URLRewrite",
                    "urlRewrite": {
                        "hostname": "in.example",
                        "path": {"type": "ReplaceFullPath", "replaceFullPath": "/x"},
                    },
                },
                {
                    "type": "RequestHeaderModifier",
                    "requestHeaderModifier": {
                        "set": [{"name": "x-s", "value": "1"}],
                        "add": [{"name": "x-a", "value": "2"}],
                        "remove": ["x-r"],
                    },
                },
                {
                    "type": "ResponseHeaderModifier",
                    "responseHeaderModifier": {"set": [{"name": "x-t", "value": "1"}]},
                },
            ],
            "backendRefs": API_REF,
        }
    ]


def test_a_redirect_renders_every_field_it_sets() -> None:
    full = RequestRedirect(
        "https", "new.example", PathModifier(PathModifierType.ReplacePrefixMatch, "/n"), 8443, 302
    )
    bare = RequestRedirect(hostname="other.example")
    old = HTTPMatch(PathMatch(PathMatchType.PathPrefix, "/old"))
    older = HTTPMatch(PathMatch(PathMatchType.PathPrefix, "/older"))
    routes = (
        Route("full", Protocol.HTTP, None, matches=(old,), filters=(full,)),
        Route("bare", Protocol.HTTP, None, matches=(older,), filters=(bare,)),
    )
    assert [r["filters"] for r in rules("HTTPRoute", *routes)] == [
        [
            {
                "type": "RequestRedirect",
                "requestRedirect": {
                    "statusCode": 302,
                    "scheme": "https",
                    "hostname": "new.example",
                    "port": 8443,
                    "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/n"},
                },
            }
        ],
        [
            {
                "type": "RequestRedirect",
                "requestRedirect": {"statusCode": 301, "hostname": "other.example"},
            }
        ],
    ]


def grpc(
    name: str, *matches: GRPCMatch, port: int | None = None, hostnames: tuple[str, ...] = ()
) -> Route:
    return Route(name, Protocol.GRPC, port, hostnames=hostnames, matches=matches, backends=API)


def test_a_grpc_match_renders_what_it_names() -> None:
    routes = (
        grpc("method", GRPCMatch(method="Add")),
        grpc("service", GRPCMatch(service="pkg.Cart")),
        grpc("headers", GRPCMatch(headers=(HeaderMatch("x-v", "1"),))),
    )
    assert [r["matches"] for r in rules("GRPCRoute", *routes)] == [
        [{"method": {"type": "Exact", "method": "Add"}}],
        [{"method": {"type": "Exact", "service": "pkg.Cart"}}],
        [{"headers": [{"type": "Exact", "name": "x-v", "value": "1"}]}],
    ]


# --- ingress v2's route ----------------------------------------------------------------------


def test_an_ingress_route_keeps_its_prefix_unless_told_and_says_its_scheme() -> None:
    plain = web_route("shop", "prod", 8080)
    assert (plain.filters, plain.backend_scheme) == ((), "http")
    stripped = web_route("shop", "prod", 8443, strip_prefix=True, scheme="https")
    rewrite = URLRewrite(path=PathModifier(PathModifierType.ReplacePrefixMatch, "/"))
    assert (stripped.filters, stripped.backend_scheme) == ((rewrite,), "https")


# --- conflicts and problems, in words ---------------------------------------------------------


def web(name: str, *matches: HTTPMatch | GRPCMatch, hostnames: tuple[str, ...] = ()) -> Route:
    protocol = Protocol.GRPC if isinstance(matches[0], GRPCMatch) else Protocol.HTTP
    return Route(name, protocol, None, hostnames=hostnames, matches=matches, backends=API)


def conflicts(older: Route, *newer: Route) -> list[str]:
    sets = [
        routes_set("ingress-route:1", "api", 1, older),
        routes_set("ingress-route:2", "web", 2, *newer),
    ]
    return [str(c) for c in plan_ingress(GW, sets).conflicts]


HELD = "conflicts with api (ingress-route:1) on http-80"


def test_a_conflict_names_the_match_held_in_words() -> None:
    assert conflicts(web("a", RULE_MATCH), web("b", RULE_MATCH)) == [
        f"route 'b' of web {HELD} * PathPrefix /a GET with headers x-a~b.*,x-b=1"
    ]
    held = GRPCMatch(service="pkg.Cart", headers=(HeaderMatch("x-v", "1"),))
    assert conflicts(web("a", held), web("b", held), web("c", GRPCMatch(method="Add"))) == [
        f"route 'b' of web {HELD} * gRPC pkg.Cart/* with headers x-v=1",
        f"route 'c' of web {HELD} * gRPC */Add (overlapping * gRPC pkg.Cart/* with headers x-v=1)",
    ]


def prefix(path: str) -> HTTPMatch:
    return HTTPMatch(PathMatch(PathMatchType.PathPrefix, path))


def test_a_prefix_meets_the_paths_held_below_it() -> None:
    exact = HTTPMatch(PathMatch(PathMatchType.Exact, "/a/b"))
    assert conflicts(web("a", exact), web("b", prefix("/a"))) == [
        f"route 'b' of web {HELD} * PathPrefix /a (overlapping * Exact /a/b)"
    ]


def test_any_host_meets_every_hostname_held() -> None:
    older = web("a", prefix("/a"), hostnames=("shop.example.com",))
    assert conflicts(older, web("b", prefix("/a"))) == [
        f"route 'b' of web {HELD} * PathPrefix /a (overlapping shop.example.com PathPrefix /a)"
    ]


def test_a_problem_names_its_route_or_their_list() -> None:
    tcp = Route("t", Protocol.TCP, 80, backends=API)
    dup = routes_set("ingress-route:2", "web", 2, web("a", prefix("/a")), web("a", prefix("/b")))
    assert plan_ingress(GW, [routes_set("ingress-route:1", "api", 1, tcp), dup]).problems == [
        Problem("ingress-route:1", "routes['t']", "port 80 is the gateway's web port", "api"),
        Problem("ingress-route:2", "routes", "two routes named 'a'", "web"),
    ]


def test_a_grpc_route_without_matches_renders_none() -> None:
    assert rules("GRPCRoute", Route("all", Protocol.GRPC, None, backends=API)) == [
        {"name": "all", "backendRefs": API_REF}
    ]


def test_over_https_a_redirect_gets_no_hsts_and_every_other_web_rule_does() -> None:
    gateway = GatewayConfig("ingress", "edge", tls_secret="ingress-tls", hsts_max_age=600)
    away = Route("away", Protocol.HTTP, None, filters=(RequestRedirect(hostname="x.example"),))
    api = Route("api", Protocol.HTTP, 8443, backends=API)
    plan = plan_ingress(gateway, [routes_set("ingress-route:1", "api", 1, away, api)])
    hsts = {"name": "Strict-Transport-Security", "value": "max-age=600"}
    assert [r["filters"] for o in by_kind(plan, "HTTPRoute") for r in o["spec"]["rules"]] == [
        [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}],
        [
            {
                "type": "RequestRedirect",
                "requestRedirect": {"statusCode": 301, "hostname": "x.example"},
            }
        ],
        [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [hsts]}}],
    ]


def test_every_web_listener_answers_only_the_external_hostname() -> None:
    gateway = GatewayConfig("ingress", "edge", hostname="shop.example.com")
    on_8080 = Route("other", Protocol.HTTP, 8080, backends=API)
    plan = plan_ingress(
        gateway, [routes_set("ingress-route:1", "api", 1, on_8080, web("a", prefix("/a")))]
    )
    assert plan.listeners == (
        Listener(80, GatewayProtocol.HTTP, "shop.example.com"),
        Listener(8080, GatewayProtocol.HTTP, "shop.example.com"),
    )
    assert [(x["name"], x["hostname"]) for x in plan.objects[0]["spec"]["listeners"]] == [
        ("http-80", "shop.example.com"),
        ("http-8080", "shop.example.com"),
    ]
