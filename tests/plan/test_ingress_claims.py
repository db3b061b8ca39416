"""plan.ingress: what each claim holds, who is named when it is met, what a refusal names.

A TCP listener is held whole, a TLS listener by each SNI hostname its routes name, an
HTTP listener by the requests its routes take (the oldest claim met is the one named),
and a hostname claimed whole by whoever claimed it first: a route or a claim meeting it
conflicts. Each conflict and problem names the requirer, its application and what it
asked; names that would collide differ by the requirer.
"""

from __future__ import annotations

from meshops.model import Problem
from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    GatewayProtocol,
    GRPCMatch,
    Protocol,
    Route,
)
from meshops.model.names import stable_hash
from meshops.plan.ingress import (
    Conflict,
    HostnameSet,
    IngressPlan,
    Listener,
    RouteSet,
    plan_ingress,
)

from .test_ingress import GW, by_kind, http, routes_set
from .test_ingress_gateway_api import CILIUM, claim
from .test_ingress_objects import grpc


def tcp(name: str, port: int = 6379) -> Route:
    return Route(name, Protocol.TCP, port, backends=(Backend(name, port),))


def tls(name: str, *hostnames: str) -> Route:
    return Route(name, Protocol.TLS, 8443, hostnames=hostnames, backends=(Backend(name, 8443),))


def plan(*sets: RouteSet | HostnameSet, gateway: GatewayConfig = GW) -> IngressPlan:
    routes = [s for s in sets if isinstance(s, RouteSet)]
    hostnames = [s for s in sets if isinstance(s, HostnameSet)]
    return plan_ingress(gateway, routes, hostname_sets=hostnames)


# --- conflicts --------------------------------------------------------------------------------


def test_a_tcp_listener_is_held_whole_by_its_first_route() -> None:
    found = plan(routes_set("x:1", "a", 1, tcp("a")), routes_set("x:2", "b", 2, tcp("b")))
    assert found.conflicts == [Conflict("x:2", "b", "b", "tcp-6379", "x:1", "a")]
    assert found.problems == []


def test_every_sni_hostname_of_a_tls_route_is_held_and_each_is_asked() -> None:
    found = plan(
        routes_set("x:1", "a", 1, tls("ta", "a.example.com", "b.example.com")),
        routes_set("x:2", "b", 2, tls("tb", "b.example.com")),
        routes_set("x:3", "c", 3, tls("tc", "c.example.com", "a.example.com")),
    )
    assert found.conflicts == [
        Conflict("x:2", "b", "tb", "tls-8443 SNI b.example.com", "x:1", "a"),
        Conflict("x:3", "c", "tc", "tls-8443 SNI a.example.com", "x:1", "a"),
    ]


def test_a_route_meets_the_hosts_the_other_kind_holds_whichever_kind_came_first() -> None:
    found = plan(
        routes_set("x:1", "a", 1, http("site", "/", port=9000, hostnames=("a.io",))),
        routes_set("x:2", "b", 2, grpc("rpc", port=9000, hostnames=("rpc.io",))),
        routes_set("x:3", "c", 3, http("web", "/", port=9000, hostnames=("rpc.io",))),
    )
    assert found.conflicts == [
        Conflict("x:3", "c", "web", "http-9000 host rpc.io (GRPCRoute there)", "x:2", "b"),
    ]


def test_the_oldest_claim_a_request_meets_is_named() -> None:
    found = plan(
        routes_set("x:1", "a", 1, http("a", "/a")),
        routes_set("x:2", "b", 2, http("b", "/b")),
        routes_set("x:3", "c", 3, http("c", "/")),
    )
    assert found.conflicts == [
        Conflict(
            "x:3", "c", "c", "http-80 * PathPrefix / (overlapping * PathPrefix /a)", "x:1", "a"
        )
    ]


def test_a_grpc_route_without_matches_holds_every_service() -> None:
    found = plan(
        routes_set("x:1", "a", 1, grpc("all")),
        routes_set("x:2", "b", 2, grpc("cart", GRPCMatch(service="pkg.Cart"))),
    )
    assert [str(c) for c in found.conflicts] == [
        "route 'cart' of b conflicts with a (x:1) on http-80 * gRPC pkg.Cart/* "
        "(overlapping * gRPC */*)"
    ]


def test_a_route_meeting_a_hostname_claimed_whole_conflicts() -> None:
    found = plan(
        claim("blog", "blog", 1, "blog.example.com"),
        routes_set("x:2", "b", 2, http("b", "/", hostnames=("*.example.com",))),
        routes_set("x:3", "c", 3, http("c", "/", hostnames=("shop.example.com",))),
        gateway=CILIUM,
    )
    assert found.conflicts == [
        Conflict(
            "x:2", "b", "b", "hostname blog.example.com (its listeners)", "gateway-route:1", "blog"
        )
    ]
    assert found.served == {"gateway-route:1": ("blog.example.com",), "x:2": (), "x:3": ("c",)}


def test_a_hostname_claim_meeting_a_routes_hostname_conflicts() -> None:
    found = plan(
        routes_set("x:1", "a", 1, tls("mq", "mq.example.com")),
        routes_set("x:2", "b", 2, http("b", "/", hostnames=("*.shop.example.com",))),
        claim("c", "c", 3, "mq.example.com", "www.shop.example.com"),
        claim("d", "d", 4, "blog.example.com"),
        gateway=CILIUM,
    )
    assert found.conflicts == [
        Conflict(
            "gateway-route:3",
            "c",
            "mq.example.com",
            "hostname mq.example.com (a TLS route's, mq.example.com)",
            "x:1",
            "a",
        ),
        Conflict(
            "gateway-route:3",
            "c",
            "www.shop.example.com",
            "hostname www.shop.example.com (a route's, *.shop.example.com)",
            "x:2",
            "b",
        ),
    ]
    assert found.hostnames == {"blog.example.com": "gateway-route:4"}


# --- problems: what a requirer meets of its own -------------------------------------------


def test_a_route_meeting_its_own_requirers_claim_is_a_problem_naming_that_claim() -> None:
    found = plan(
        routes_set("x:1", "a", 1, tcp("a"), tcp("b")),
        claim("blog", "blog", 2, "blog.example.com"),
        routes_set("gateway-route:2", "blog", 3, http("r", "/", hostnames=("blog.example.com",))),
        gateway=CILIUM,
    )
    assert found.problems == [
        Problem("x:1", "routes['b']", "tcp-6379: held by its route 'a'", "a"),
        Problem(
            "gateway-route:2",
            "routes['r']",
            "hostname blog.example.com (its listeners): held by its own claim",
            "blog",
        ),
    ]
    assert found.conflicts == []
    assert found.served["x:1"] == ("a",)


def test_each_refused_hostname_is_a_problem_of_its_claimant_and_the_rest_are_claimed() -> None:
    too_long = ".".join(["b" * 61, *["a" * 60] * 3])  # 244 characters; "gw-https-" + 244: 253
    longer = "c" + too_long
    gateway = GatewayConfig(
        "gw", "edge", hostname="apps.example.com", gateway_class="c", istio=False
    )
    found = plan(
        claim("a", "a", 1, longer, "apps.example.com", "a.example.com"),
        claim("b", "b", 2, "b.example.com", "b.example.com", too_long),
        gateway=gateway,
    )
    field = "hostname"
    assert found.problems == [
        Problem(
            "gateway-route:1",
            field,
            f"hostname {longer}: its listener names would pass 253 characters",
            "a",
        ),
        Problem(
            "gateway-route:1",
            field,
            "hostname apps.example.com (external-hostname apps.example.com) is the gateway's own",
            "a",
        ),
        Problem("gateway-route:2", field, "hostname b.example.com is claimed twice", "b"),
    ]
    assert found.served == {
        "gateway-route:1": ("a.example.com",),
        "gateway-route:2": ("b.example.com", too_long),
    }


def test_a_claim_past_the_gateways_limit_is_a_problem_and_later_hostnames_are_asked_too() -> None:
    sets = [claim(f"a{i}", f"a{i}", i, f"h{i}.example.com") for i in range(31)]
    last = claim("z", "z", 40, "h40.example.com", "h0.example.com")
    found = plan(*sets, last, gateway=CILIUM)
    full = "hostname h40.example.com: the Gateway is full (at most 64 listeners: 31 hostnames "
    assert found.problems == [Problem("gateway-route:40", "hostname", full + "of their own)", "z")]
    # a hostname held already is a conflict, full or not
    assert [c.claim for c in found.conflicts] == ["hostname h0.example.com"]


# --- what is rendered of claims -------------------------------------------------------------


def test_both_listeners_of_a_claimed_hostname_admit_only_its_namespace() -> None:
    found = plan_ingress(
        CILIUM,
        [],
        hostname_sets=[claim("blog", "blog-ns", 1, "blog.io")],
        hostname_secrets={"blog.io": "blog-tls"},
    )
    only = {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["blog-ns"]}
                ]
            },
        }
    }
    listeners = found.objects[0]["spec"]["listeners"]
    assert [(x["name"], x["allowedRoutes"] == only) for x in listeners] == [
        ("http-80", False),
        ("gw-http-blog-io", True),
        ("gw-https-blog-io", True),
    ]
    assert found.listeners == (
        Listener(80, GatewayProtocol.HTTP),
        Listener(80, GatewayProtocol.HTTP, "blog.io", "gw-http-blog-io"),
        Listener(443, GatewayProtocol.HTTPS, "blog.io", "gw-https-blog-io"),
    )


def test_the_gateways_own_listener_comes_first_on_its_port_whatever_the_names() -> None:
    gateway = GatewayConfig("0gw", "edge", gateway_class="c", istio=False)
    found = plan(claim("a", "a", 1, "a.io"), gateway=gateway)
    assert [x.name for x in found.listeners] == ["http-80", "0gw-http-a-io"]


# --- names that would collide -------------------------------------------------------------


def test_names_that_would_collide_take_the_requirer_in() -> None:
    # requirers of one application, in one namespace, on one listener
    a = routes_set("ingress:1", "shop", 1, http("api", "/a"))
    b = routes_set("ingress-1", "shop", 2, http("api", "/b"))
    c = routes_set("ingress:3", "shop", 3, grpc("rpc", GRPCMatch(service="pkg.Cart"), port=9000))
    found = plan(a, b, c)
    kinds = ("HTTPRoute", "GRPCRoute")
    assert [o["metadata"]["name"] for kind in kinds for o in by_kind(found, kind)] == [
        "ingress-shop-http-80",
        "ingress-shop-http-80-ingress-1-1",
        "ingress-shop-http-9000-grpc",
    ]
    # ':' is not in a name: when dropping it collides, the name is hashed
    hashed = stable_hash("ingress", "shop", "ingress:1")
    assert [o["metadata"]["name"] for o in by_kind(found, "AuthorizationPolicy")] == [
        "ingress-shop-ingress-1",
        f"ingress-shop-ingress-1-{hashed}",
        "ingress-shop-ingress-3",
    ]
