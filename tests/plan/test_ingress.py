"""plan.ingress: the Gateway, routes, grants and policies for route sets; conflicts per route.

Tables of inputs and the objects or decisions they must give, every rendered object
checked against the upstream Gateway API and Istio CRDs, and a property test that any
valid input plans without raising into objects the CRDs accept.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops.k8s import Api, make_client
from meshops.k8s.kinds import kind_of
from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    GRPCMatch,
    HeaderMatch,
    HeaderModifier,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    Protocol,
    RequestRedirect,
    Route,
)
from meshops.model.mesh import Method
from meshops.model.names import label_value, stable_hash
from meshops.plan.ingress import (
    ROUTE_SOURCE_LABEL,
    IngressPlan,
    RouteSet,
    plan_ingress,
    tls_secret,
    web_route,
    web_url,
)

CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)
GW = GatewayConfig("ingress", "edge")
GW_TLS = GatewayConfig("ingress", "edge", hostname="shop.example.com", tls_secret="ingress-tls")
GW_PRINCIPAL = "cluster.local/ns/edge/sa/ingress-istio"
SOURCE_3 = label_value("ingress:3")


def web(app: str, namespace: str, order: int, port: int = 8080, **kw: Any) -> RouteSet:
    return RouteSet(
        f"ingress:{order}", app, namespace, order, (web_route(app, namespace, port, **kw),)
    )


def http(
    name: str, path: str, *, port: int | None = None, service: str = "api", **kw: Any
) -> Route:
    return Route(
        name,
        Protocol.HTTP,
        port,
        matches=(HTTPMatch(path=PathMatch(PathMatchType.PathPrefix, path)),),
        backends=(Backend(service, 8080),),
        **kw,
    )


def routes_set(
    source: str, app: str, order: int, *routes: Route, namespace: str = "prod"
) -> RouteSet:
    return RouteSet(source, app, namespace, order, routes)


def by_kind(plan: IngressPlan, kind: str) -> list[dict[str, Any]]:
    return [o for o in plan.objects if o["kind"] == kind]


def validate(objects: list[dict[str, Any]], make_fake: Any) -> None:
    namespaces = sorted({o["metadata"]["namespace"] for o in objects})
    fake = make_fake(*CRDS, namespaces=namespaces)
    api = Api(make_client(fake.transport, field_manager="t"), field_manager="t")
    for obj in objects:
        api.apply(obj, kind_of(obj))  # raises meshops.k8s.errors.Invalid on a 422


# -- one ingress v2 requirer, exactly ----------------------------------------------------------

EXPECTED_PLAIN = [
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "ingress", "namespace": "edge"},
        "spec": {
            "gatewayClassName": "istio",
            "infrastructure": {"annotations": {"sidecar.istio.io/logLevel": "info"}},
            "listeners": [
                {
                    "name": "http-80",
                    "port": 80,
                    "protocol": "HTTP",
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/metadata.name",
                                        "operator": "In",
                                        "values": ["edge", "prod"],
                                    }
                                ]
                            },
                        }
                    },
                }
            ],
        },
    },
    {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "ingress-shop-http-80",
            "namespace": "prod",
            "labels": {ROUTE_SOURCE_LABEL: SOURCE_3},
        },
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "ingress",
                    "namespace": "edge",
                    "sectionName": "http-80",
                }
            ],
            "rules": [
                {
                    "name": "ingress",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/prod-shop"}}],
                    "filters": [
                        {
                            "type": "URLRewrite",
                            "urlRewrite": {
                                "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}
                            },
                        }
                    ],
                    "backendRefs": [
                        {"kind": "Service", "group": "", "name": "shop", "port": 8080}
                    ],
                }
            ],
        },
    },
    {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": "ingress-shop-ingress-3",
            "namespace": "prod",
            "labels": {ROUTE_SOURCE_LABEL: SOURCE_3},
        },
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "shop"}},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": [GW_PRINCIPAL]}}],
                    "to": [{"operation": {"ports": ["8080"]}}],
                }
            ],
        },
    },
]


def test_one_ingress_requirer_gets_a_gateway_a_route_and_a_policy_for_the_gateway_only() -> None:
    plan = plan_ingress(GW, [web("shop", "prod", 3, strip_prefix=True)])
    assert plan.objects == EXPECTED_PLAIN
    assert plan.problems == [] and plan.conflicts == []
    assert plan.served == {"ingress:3": ("ingress",)}


def test_no_requirers_still_gives_a_gateway_listening_on_the_http_port() -> None:
    plan = plan_ingress(GatewayConfig("gw", "edge", http_port=8000, log_level="debug"), [])
    [gateway] = plan.objects
    assert [(x["name"], x["port"]) for x in gateway["spec"]["listeners"]] == [("http-8000", 8000)]
    assert gateway["spec"]["infrastructure"]["annotations"] == {
        "sidecar.istio.io/logLevel": "debug"
    }


def test_with_tls_web_routes_move_to_https_and_http_redirects_permanently() -> None:
    plan = plan_ingress(GW_TLS, [web("shop", "prod", 3)])
    gateway, redirect, route = plan.objects[:3]
    listeners = {x["name"]: x for x in gateway["spec"]["listeners"]}
    assert sorted(listeners) == ["http-80", "https-443"]
    assert listeners["https-443"]["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "group": "", "name": "ingress-tls"}],
    }
    assert all(x["hostname"] == "shop.example.com" for x in listeners.values())
    assert redirect["metadata"] == {"name": "ingress-https-redirect", "namespace": "edge"}
    assert redirect["spec"]["parentRefs"][0]["sectionName"] == "http-80"
    assert redirect["spec"]["rules"] == [
        {
            "filters": [
                {
                    "type": "RequestRedirect",
                    "requestRedirect": {"scheme": "https", "statusCode": 301},
                }
            ]
        }
    ]
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https-443"


def test_redirect_names_the_https_port_when_it_is_not_443() -> None:
    gw = GatewayConfig("gw", "edge", https_port=8443, tls_secret="s")
    redirect = by_kind(plan_ingress(gw, []), "HTTPRoute")[0]
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"]["port"] == 8443


@pytest.mark.parametrize(
    ("gateway", "host", "url"),
    [
        (GW, "10.1.2.3", "http://10.1.2.3/prod-shop"),
        (GW_TLS, "shop.example.com", "https://shop.example.com/prod-shop"),
        (
            GatewayConfig("g", "e", https_port=8443, tls_secret="s"),
            "h.io",
            "https://h.io:8443/prod-shop",
        ),
        (GatewayConfig("g", "e", http_port=8080), "h.io", "http://h.io:8080/prod-shop"),
        (GW, "fd00::1", "http://[fd00::1]/prod-shop"),
        (GW, "[fd00::1]", "http://[fd00::1]/prod-shop"),
        (GW, "*.example.com", None),
        (GW, "", None),
    ],
)
def test_web_url(gateway: GatewayConfig, host: str, url: str | None) -> None:
    assert web_url(gateway, host, "prod", "shop") == url


def test_other_ports_get_their_own_listener_https_when_the_gateway_has_tls() -> None:
    api = Route(
        "api",
        Protocol.GRPC,
        9090,
        matches=(GRPCMatch(service="shop.Cart", method="Get"),),
        backends=(Backend("shop", 9090),),
    )
    for gateway, protocol in ((GW, "HTTP"), (GW_TLS, "HTTPS")):
        plan = plan_ingress(gateway, [routes_set("istio-ingress-route:4", "shop", 4, api)])
        listeners = {x["name"]: x["protocol"] for x in plan.objects[0]["spec"]["listeners"]}
        assert listeners[f"{protocol.lower()}-9090"] == protocol
        [grpc] = by_kind(plan, "GRPCRoute")
        assert grpc["spec"]["rules"][0]["matches"] == [
            {"method": {"type": "Exact", "service": "shop.Cart", "method": "Get"}}
        ]


def test_grpc_and_h2c_and_https_backends_get_a_destination_rule_for_the_gateway_only() -> None:
    plain = http("plain", "/plain", service="web")
    grpc = Route("rpc", Protocol.GRPC, 9090, backends=(Backend("shop", 9090),))
    h2c = http("h2", "/stream", service="stream", backend_scheme="h2c")
    tls = http("secure", "/vault", service="vault", backend_scheme="https")
    plan = plan_ingress(
        GW,
        [
            routes_set("istio-ingress-route:3", "web", 3, plain),
            routes_set("istio-ingress-route:4", "shop", 4, grpc),
            routes_set("istio-ingress-route:5", "vault", 5, tls),
            routes_set("istio-ingress-route:6", "stream", 6, h2c, namespace="media"),
        ],
    )

    def rule(ns: str, service: str, port: int, setting: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": f"ingress-{ns}-{service}", "namespace": "edge"},
            "spec": {
                "host": f"{service}.{ns}.svc.cluster.local",
                "exportTo": ["."],
                "trafficPolicy": {"portLevelSettings": [{"port": {"number": port}, **setting}]},
            },
        }

    h2 = {"connectionPool": {"http": {"h2UpgradePolicy": "UPGRADE"}}}
    assert by_kind(plan, "DestinationRule") == [
        rule("media", "stream", 8080, h2),
        rule("prod", "shop", 9090, h2),
        rule("prod", "vault", 8080, {"tls": {"mode": "SIMPLE"}}),
    ]


def test_a_backend_in_another_namespace_gets_a_reference_grant_there() -> None:
    route = Route(
        "shared",
        Protocol.HTTP,
        None,
        backends=(
            Backend("auth", 80, weight=90, namespace="infra"),
            Backend("api", 8080, weight=10),
        ),
    )
    plan = plan_ingress(GW, [routes_set("platform", "shop", 0, route)])
    [grant] = by_kind(plan, "ReferenceGrant")
    assert grant["metadata"] == {"name": "ingress-prod-httproute", "namespace": "infra"}
    assert grant["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "prod"}],
        "to": [{"group": "", "kind": "Service", "name": "auth"}],
    }
    [http_route] = by_kind(plan, "HTTPRoute")
    assert http_route["spec"]["rules"][0]["backendRefs"] == [
        {
            "kind": "Service",
            "group": "",
            "name": "auth",
            "port": 80,
            "namespace": "infra",
            "weight": 90,
        },
        {"kind": "Service", "group": "", "name": "api", "port": 8080, "weight": 10},
    ]
    policies = {
        (
            o["metadata"]["namespace"],
            o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        )
        for o in by_kind(plan, "AuthorizationPolicy")
    }
    assert policies == {("infra", "auth"), ("prod", "shop")}


# -- conflicts ---------------------------------------------------------------------------------


def test_the_older_relation_keeps_a_contested_route_and_both_keep_their_others() -> None:
    older = routes_set(
        "istio-ingress-route:2", "blog", 2, http("pages", "/p"), http("feed", "/feed")
    )
    newer = routes_set("istio-ingress-route:7", "wiki", 7, http("pages", "/p"), http("wiki", "/w"))
    for sets in ([older, newer], [newer, older]):  # the order they are given in does not matter
        plan = plan_ingress(GW, sets)
        assert plan.served == {
            "istio-ingress-route:2": ("pages", "feed"),
            "istio-ingress-route:7": ("wiki",),
        }
        [conflict] = plan.conflicts
        assert (conflict.app, conflict.route, conflict.holder_app) == ("wiki", "pages", "blog")
        assert str(conflict) == (
            "route 'pages' of wiki conflicts with blog (istio-ingress-route:2) on "
            "http-80 * PathPrefix /p"
        )
        assert plan.problems == []
        rules = {
            o["metadata"]["name"]: [r["name"] for r in o["spec"]["rules"]]
            for o in by_kind(plan, "HTTPRoute")
        }
        assert rules == {
            "ingress-blog-http-80": ["pages", "feed"],
            "ingress-wiki-http-80": ["wiki"],
        }


def match(
    path: str = "/",
    kind: PathMatchType = PathMatchType.PathPrefix,
    method: Method | None = None,
    **headers: str,
) -> HTTPMatch:
    found = tuple(HeaderMatch(n.replace("_", "-"), v) for n, v in headers.items())
    return HTTPMatch(PathMatch(kind, path), method, found)


SHOP = match("/shop-web")


@pytest.mark.parametrize(
    ("newer", "hostnames", "conflicts"),
    [
        # what an older requirer's PathPrefix /shop-web serves is its own
        (match("/shop-web"), (), True),
        (match("/shop-web/"), (), True),
        (match("/shop-web/admin"), (), True),
        (match("/shop-web", PathMatchType.Exact), (), True),
        (match("/shop-web/admin", PathMatchType.Exact), (), True),
        (match("/shop-web", method=Method.get), (), True),
        (match("/shop-web", x_env="prod"), (), True),
        (match("/shop-web/.*", PathMatchType.RegularExpression), (), True),
        (match("/shop-w[a-z]b", PathMatchType.RegularExpression), (), True),
        (match(".*admin", PathMatchType.RegularExpression), (), True),
        (match("/"), (), True),
        (HTTPMatch(), (), True),
        # on any host, a host of its own included
        (match("/"), ("shop.example.com",), True),
        (match("/shop-web/admin"), ("*.example.com",), True),
        # what it does not serve is free
        (match("/shop-webx"), (), False),
        (match("/shop"), (), False),
        (match("/cart"), (), False),
        (match("/shop-web-2", PathMatchType.Exact), (), False),
        (match("/cart/[0-9]+", PathMatchType.RegularExpression), (), False),
        (match("/shop-web2/.*", PathMatchType.RegularExpression), (), False),
    ],
)
def test_a_newer_requirer_takes_no_request_an_older_one_serves(
    newer: HTTPMatch, hostnames: tuple[str, ...], conflicts: bool
) -> None:
    a = Route("a", Protocol.HTTP, None, matches=(SHOP,), backends=(Backend("a", 1),))
    b = Route(
        "b",
        Protocol.HTTP,
        None,
        hostnames=hostnames,
        matches=(newer,),
        backends=(Backend("b", 1),),
    )
    plan = plan_ingress(GW, [routes_set("x:2", "b", 2, b), routes_set("x:1", "a", 1, a)])
    assert bool(plan.conflicts) is conflicts
    assert plan.served == {"x:1": ("a",), "x:2": () if conflicts else ("b",)}


@pytest.mark.parametrize(
    ("older", "newer", "conflicts"),
    [
        # a condition both name, with values no request has together, keeps them apart
        (match("/a", method=Method.get), match("/a", method=Method.post), False),
        (match("/a", x_v="1"), match("/a", X_V="2"), False),
        (match("/a", X_V="1"), match("/a", x_v="1"), True),
        (match("/a", x_v="1"), match("/a", x_w="2"), True),
        # a newer "/" on the hostname another requirer serves
        (match("/shop"), match("/"), True),
    ],
)
def test_conditions_that_keep_two_requirers_apart(
    older: HTTPMatch, newer: HTTPMatch, conflicts: bool
) -> None:
    a = Route("a", Protocol.HTTP, None, matches=(older,), backends=(Backend("a", 1),))
    b = Route("b", Protocol.HTTP, None, matches=(newer,), backends=(Backend("b", 1),))
    plan = plan_ingress(GW, [routes_set("x:1", "a", 1, a), routes_set("x:2", "b", 2, b)])
    assert bool(plan.conflicts) is conflicts


@pytest.mark.parametrize(
    ("older", "newer", "conflicts"),
    [
        # a wildcard route and a route of one of its hosts serve the same requests
        ("*.example.com", "shop.example.com", True),
        ("shop.example.com", "*.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("shop.example.com", "cart.example.com", False),
    ],
)
def test_wildcard_hostnames_overlap_the_hosts_they_cover(
    older: str, newer: str, conflicts: bool
) -> None:
    a = http("a", "/shop", hostnames=(older,))
    b = http("b", "/", hostnames=(newer,))
    plan = plan_ingress(GW, [routes_set("x:1", "a", 1, a), routes_set("x:2", "b", 2, b)])
    assert bool(plan.conflicts) is conflicts


def test_a_refused_route_names_the_older_claimant_and_what_it_overlaps() -> None:
    older = routes_set("istio-ingress-route:2", "blog", 2, http("pages", "/p"))
    newer = routes_set(
        "istio-ingress-route:7", "wiki", 7, http("admin", "/p/admin"), http("wiki", "/w")
    )
    plan = plan_ingress(GW, [older, newer])
    [conflict] = plan.conflicts
    assert str(conflict) == (
        "route 'admin' of wiki conflicts with blog (istio-ingress-route:2) on "
        "http-80 * PathPrefix /p/admin (overlapping * PathPrefix /p)"
    )
    assert plan.served == {"istio-ingress-route:2": ("pages",), "istio-ingress-route:7": ("wiki",)}


def test_routes_of_one_application_never_conflict() -> None:
    # two requirers of one app (its two relations; two routes of one app in a file)
    site = routes_set("ingress:1", "shop", 1, http("site", "/"))
    api = routes_set("istio-ingress-route:2", "shop", 2, http("api", "/api"), http("again", "/"))
    other = routes_set("istio-ingress-route:3", "blog", 3, http("blog", "/blog"))
    plan = plan_ingress(GW, [site, api, other])
    assert plan.served == {
        "ingress:1": ("site",),
        "istio-ingress-route:2": ("api", "again"),
        "istio-ingress-route:3": (),
    }
    assert [(c.app, c.holder_app) for c in plan.conflicts] == [("blog", "shop")]
    # an app of the same name in another namespace is another application
    elsewhere = routes_set("istio-ingress-route:4", "shop", 4, http("x", "/x"), namespace="dev")
    plan = plan_ingress(GW, [site, elsewhere])
    assert plan.served["istio-ingress-route:4"] == ()


def test_grpc_requirers_own_the_services_and_methods_they_serve() -> None:
    def grpc(name: str, service: str | None, method: str | None = None) -> Route:
        return Route(
            name,
            Protocol.GRPC,
            9090,
            matches=(GRPCMatch(service=service, method=method),),
            backends=(Backend(name, 9090),),
        )

    plan = plan_ingress(
        GW,
        [
            routes_set("x:1", "a", 1, grpc("a", "shop.Cart")),
            routes_set("x:2", "b", 2, grpc("b", "shop.Cart", "Get")),
            routes_set("x:3", "c", 3, grpc("c", "shop.Users")),
            routes_set("x:4", "d", 4, grpc("d", None, "Get")),
        ],
    )
    assert plan.served == {"x:1": ("a",), "x:2": (), "x:3": ("c",), "x:4": ()}
    assert [c.claim for c in plan.conflicts] == [
        "http-9090 * gRPC shop.Cart/Get (overlapping * gRPC shop.Cart/*)",
        "http-9090 * gRPC */Get (overlapping * gRPC shop.Cart/*)",
    ]


def test_hostnames_split_claims() -> None:
    a = http("a", "/", hostnames=("a.example.com",))
    b = http("b", "/", hostnames=("b.example.com",))
    c = http("c", "/", hostnames=("a.example.com", "c.example.com"))
    plan = plan_ingress(
        GW,
        [routes_set("x:1", "a", 1, a), routes_set("x:2", "b", 2, b), routes_set("x:3", "c", 3, c)],
    )
    assert [(c.app, c.holder_app) for c in plan.conflicts] == [("c", "a")]


def test_a_port_used_for_tcp_cannot_carry_http_for_a_newer_requirer() -> None:
    db = Route("db", Protocol.TCP, 5432, backends=(Backend("pg", 5432),))
    web_on_5432 = http("web", "/", port=5432)
    plan = plan_ingress(
        GW, [routes_set("x:1", "pg", 1, db), routes_set("x:2", "shop", 2, web_on_5432)]
    )
    [conflict] = plan.conflicts
    assert conflict.claim == "port 5432 (TCP, not HTTP)"
    assert plan.served == {"x:1": ("db",), "x:2": ()}
    [tcp] = by_kind(plan, "TCPRoute")
    assert tcp["apiVersion"] == "gateway.networking.k8s.io/v1alpha2"
    assert tcp["metadata"]["name"] == "ingress-pg-db"
    assert tcp["spec"]["rules"] == [
        {
            "name": "db",
            "backendRefs": [{"kind": "Service", "group": "", "name": "pg", "port": 5432}],
        }
    ]


def test_one_tcp_route_per_tcp_listener_and_one_tls_route_per_sni_name() -> None:
    tcp_a = Route("a", Protocol.TCP, 6379, backends=(Backend("a", 6379),))
    tcp_b = Route("b", Protocol.TCP, 6379, backends=(Backend("b", 6379),))
    tls_a = Route(
        "ta", Protocol.TLS, 8443, hostnames=("a.example.com",), backends=(Backend("a", 8443),)
    )
    tls_b = Route(
        "tb", Protocol.TLS, 8443, hostnames=("b.example.com",), backends=(Backend("b", 8443),)
    )
    tls_c = Route(
        "tc", Protocol.TLS, 8443, hostnames=("a.example.com",), backends=(Backend("c", 8443),)
    )
    plan = plan_ingress(
        GW,
        [
            routes_set("x:1", "a", 1, tcp_a, tls_a),
            routes_set("x:2", "b", 2, tcp_b, tls_b),
            routes_set("x:3", "c", 3, tls_c),
        ],
    )
    assert plan.served == {"x:1": ("a", "ta"), "x:2": ("tb",), "x:3": ()}
    listener = next(x for x in plan.objects[0]["spec"]["listeners"] if x["name"] == "tls-8443")
    assert listener["tls"] == {"mode": "Passthrough"} and "hostname" not in listener


def test_http_and_grpc_routes_cannot_share_a_listener_and_hostname() -> None:
    web_route_ = http("site", "/", port=9000)
    rpc = Route("rpc", Protocol.GRPC, 9000, backends=(Backend("b", 9000),))
    plan = plan_ingress(
        GW, [routes_set("x:1", "a", 1, web_route_), routes_set("x:2", "b", 2, rpc)]
    )
    [conflict] = plan.conflicts
    assert conflict.claim == "http-9000 host * (HTTPRoute there)"
    # on other hostnames they can
    rpc_elsewhere = Route(
        "rpc", Protocol.GRPC, 9000, hostnames=("rpc.io",), backends=(Backend("b", 9000),)
    )
    site_elsewhere = http("site", "/", port=9000, hostnames=("www.io",))
    plan = plan_ingress(
        GW, [routes_set("x:1", "a", 1, site_elsewhere), routes_set("x:2", "b", 2, rpc_elsewhere)]
    )
    assert plan.conflicts == []
    # a route with no hostname answers every host, those of the other kind included
    plan = plan_ingress(
        GW, [routes_set("x:1", "a", 1, web_route_), routes_set("x:2", "b", 2, rpc_elsewhere)]
    )
    [conflict] = plan.conflicts
    assert conflict.claim == "http-9000 host rpc.io (HTTPRoute there)"


def test_a_wildcard_sni_name_and_the_names_it_covers_are_one_claim() -> None:
    def tls(name: str, hostname: str) -> Route:
        return Route(
            name, Protocol.TLS, 8443, hostnames=(hostname,), backends=(Backend(name, 8443),)
        )

    plan = plan_ingress(
        GW,
        [
            routes_set("x:1", "a", 1, tls("a", "*.example.com")),
            routes_set("x:2", "b", 2, tls("b", "mq.example.com")),
            routes_set("x:3", "c", 3, tls("c", "mq.example.org")),
        ],
    )
    assert plan.served == {"x:1": ("a",), "x:2": (), "x:3": ("c",)}
    [conflict] = plan.conflicts
    assert conflict.claim == "tls-8443 SNI mq.example.com (overlapping *.example.com)"


# -- bad input refuses the whole set ------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateway", "routes", "message"),
    [
        (
            GW,
            (Route("db", Protocol.TCP, 80, backends=(Backend("pg", 5432),)),),
            "port 80 is the gateway's web port",
        ),
        (
            GW,
            (
                http("a", "/", port=7000),
                Route("db", Protocol.TCP, 7000, backends=(Backend("pg", 1),)),
            ),
            "port 7000: TCP here, HTTP for its route 'a'",
        ),
        (GW, (http("a", "/a"), http("a", "/b")), "two routes named 'a'"),
        (
            GW_TLS,
            (http("a", "/", hostnames=("other.org",)),),
            "hostname 'other.org' is not served by this gateway "
            "(external-hostname 'shop.example.com')",
        ),
    ],
)
def test_bad_input_refuses_that_requirer_only(
    gateway: GatewayConfig, routes: tuple[Route, ...], message: str
) -> None:
    good = web("shop", "prod", 1)
    bad = RouteSet("istio-ingress-route:9", "bad", "prod", 9, routes)
    plan = plan_ingress(gateway, [good, bad])
    assert message in [p.message for p in plan.problems]
    assert all(p.source == "istio-ingress-route:9" and p.app == "bad" for p in plan.problems)
    assert plan.refused_sources == {"istio-ingress-route:9"}
    assert plan.served == {"ingress:1": ("ingress",), "istio-ingress-route:9": ()}
    # nothing of the refused requirer is in the plan: the good one's objects are all there is
    assert plan.objects == plan_ingress(gateway, [good]).objects


def test_route_names_that_would_collide_get_a_hash() -> None:
    a = routes_set("ingress:1", "shop", 1, http("api", "/a"))
    b = routes_set("istio-ingress-route:2", "shop", 2, http("api", "/b"))
    names = [o["metadata"]["name"] for o in by_kind(plan_ingress(GW, [a, b]), "HTTPRoute")]
    assert names[0] == "ingress-shop-http-80" and names[1].startswith("ingress-shop-http-80-")
    assert len(set(names)) == 2


def test_routes_group_into_objects_of_at_most_16_rules_per_listener_and_hostnames() -> None:
    many = [http(f"r{i}", f"/p{i}") for i in range(20)]
    other_host = http("host", "/", hostnames=("a.example.com",))
    other_port = http("port", "/", port=8080)
    plan = plan_ingress(GW, [routes_set("x:1", "shop", 1, *many, other_host, other_port)])
    rules = {
        o["metadata"]["name"]: [r["name"] for r in o["spec"]["rules"]]
        for o in by_kind(plan, "HTTPRoute")
    }
    assert rules == {
        "ingress-shop-http-80": [f"r{i}" for i in range(16)],
        "ingress-shop-http-80-2": [f"r{i}" for i in range(16, 20)],
        "ingress-shop-http-80-" + stable_hash("a.example.com", length=6): ["host"],
        "ingress-shop-http-8080": ["port"],
    }


def test_the_plan_is_the_same_whatever_order_sets_arrive_in() -> None:
    sets = [web(f"app{i}", f"ns{i % 3}", i) for i in range(12)]
    reference = plan_ingress(GW_TLS, sets).objects
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(sets)
        assert plan_ingress(GW_TLS, sets).objects == reference


def test_in_a_namespace_with_a_waypoint_the_gateway_policy_lets_the_waypoint_in() -> None:
    plan = plan_ingress(GW, [web("shop", "prod", 3)], waypoints={"prod": "beacon-waypoint"})
    [policy] = by_kind(plan, "AuthorizationPolicy")
    assert policy["spec"]["rules"] == [
        {
            "from": [{"source": {"principals": [GW_PRINCIPAL]}}],
            "to": [{"operation": {"ports": ["8080"]}}],
        },
        {"from": [{"source": {"principals": ["cluster.local/ns/prod/sa/beacon-waypoint"]}}]},
    ]
    other = plan_ingress(GW, [web("shop", "prod", 3)], waypoints={"dev": "waypoint"})
    assert len(by_kind(other, "AuthorizationPolicy")[0]["spec"]["rules"]) == 1


def test_tls_secret() -> None:
    assert tls_secret("gw-tls", "edge", "CERT\nCHAIN\n", "KEY\n") == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "gw-tls", "namespace": "edge"},
        "data": {"tls.crt": "Q0VSVApDSEFJTgo=", "tls.key": "S0VZCg=="},
    }


# -- every object the upstream CRDs accept -----------------------------------------------------


def test_a_rich_plan_validates_against_the_upstream_crds(make_fake: Any) -> None:
    rich = Route(
        "rich",
        Protocol.HTTP,
        8080,
        hostnames=("api.example.com",),
        matches=(
            HTTPMatch(
                PathMatch(PathMatchType.RegularExpression, "^/v[0-9]+/"),
                Method.get,
                (HeaderMatch("X-Env", "prod"),),
            ),
            HTTPMatch(PathMatch(PathMatchType.Exact, "/health")),
        ),
        filters=(
            HeaderModifier(set=(("X-Via", "meshops"),), remove=("X-Debug",)),
            HeaderModifier(add=(("X-R", "1"),), response=True),
        ),
        backends=(Backend("api", 8080, weight=3), Backend("api-canary", 8080, weight=1)),
    )
    moved = Route(
        "moved",
        Protocol.HTTP,
        8080,
        matches=(HTTPMatch(PathMatch(PathMatchType.PathPrefix, "/old")),),
        filters=(RequestRedirect(scheme="https", hostname="new.example.com", status_code=308),),
    )
    rpc = Route(
        "rpc",
        Protocol.GRPC,
        9090,
        matches=(
            GRPCMatch(service="a.B"),
            GRPCMatch(method="Ping", headers=(HeaderMatch("x-t", "1"),)),
        ),
        backends=(Backend("api", 9090),),
    )
    tcp = Route("pg", Protocol.TCP, 5432, backends=(Backend("pg", 5432, namespace="data"),))
    tls = Route(
        "mq", Protocol.TLS, 5671, hostnames=("mq.example.com",), backends=(Backend("mq", 5671),)
    )
    sets = [
        web("shop", "prod", 1, strip_prefix=True, scheme="h2c"),
        routes_set("istio-ingress-route:2", "api", 2, rich, moved, rpc, tcp, tls),
    ]
    for gateway in (
        GW,
        GatewayConfig("gw", "edge", hostname="api.example.com", tls_secret="s"),
        GatewayConfig("gw", "edge", hostname="*.example.com", tls_secret="s"),
    ):
        plan = plan_ingress(gateway, sets)
        assert plan.problems == [] and plan.conflicts == []
        validate(plan.objects, make_fake)


_names = st.sampled_from(["a", "b", "shop", "api"])
_paths = st.sampled_from(["/", "/a", "/a/b", "/api"])


@st.composite
def _routes(draw: st.DrawFn) -> Route:
    protocol = draw(st.sampled_from(list(Protocol)))
    port = draw(st.sampled_from([None, 80, 443, 8080, 9090]))
    if protocol in (Protocol.TCP, Protocol.TLS):
        port = draw(st.sampled_from([80, 5432, 8443]))
    backends = tuple(
        Backend(s, p, weight=w)
        for s, p, w in draw(
            st.lists(
                st.tuples(_names, st.sampled_from([80, 8080]), st.none() | st.integers(0, 100)),
                min_size=1,
                max_size=3,
                unique_by=lambda t: (t[0], t[1]),
            )
        )
    )
    hostnames: tuple[str, ...] = tuple(
        draw(
            st.lists(
                st.sampled_from(["a.example.com", "*.example.com", "b.org"]),
                unique=True,
                max_size=2,
            )
        )
    )
    matches: tuple[Any, ...] = ()
    if protocol is Protocol.HTTP:
        matches = tuple(
            HTTPMatch(PathMatch(t, p))
            for t, p in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from([PathMatchType.Exact, PathMatchType.PathPrefix]), _paths
                    ),
                    max_size=3,
                )
            )
        )
    elif protocol is Protocol.GRPC:
        matches = tuple(
            GRPCMatch(service=s)
            for s in draw(st.lists(st.sampled_from(["a.B", "c.D"]), max_size=2))
        )
    if protocol is Protocol.TCP:
        hostnames = ()
    elif protocol is Protocol.TLS and not hostnames:
        hostnames = ("a.example.com",)
    return Route(
        draw(_names), protocol, port, hostnames=hostnames, matches=matches, backends=backends
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sets=st.lists(st.lists(_routes(), max_size=3), max_size=4),
    gateway=st.sampled_from([GW, GW_TLS, GatewayConfig("gw", "edge", hostname="*.example.com")]),
)
def test_any_input_plans_without_raising_into_objects_the_crds_accept(
    sets: list[list[Route]], gateway: GatewayConfig, make_fake: Any
) -> None:
    route_sets = [
        RouteSet(f"r:{i}", f"app{i}", f"ns{i % 2}", i, tuple(rs)) for i, rs in enumerate(sets)
    ]
    plan = plan_ingress(gateway, route_sets)
    for route_set in route_sets:
        served = plan.served[route_set.source]
        assert set(served) <= {r.name for r in route_set.routes}
    validate(plan.objects, make_fake)
