"""plan.ingress ownership, proved with the routing evaluator: the first claimant keeps it.

Hypothesis draws route sets from several requirers (paths exact, by prefix or by regex;
methods; headers; specific and wildcard hostnames), plans them as they arrive, oldest
first, and asks :mod:`meshops.semantics.routing` (the Gateway API's precedence over the
rendered objects) who serves each request of a small universe of requests, before and
after each requirer arrives. No request an older requirer served may be served by the
newer one, nor by anyone else than before.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshops.model.ingress import (
    Backend,
    GatewayConfig,
    HeaderMatch,
    HeaderMatchType,
    HTTPMatch,
    PathMatch,
    PathMatchType,
    Protocol,
    Route,
)
from meshops.model.mesh import Method
from meshops.model.names import label_value
from meshops.plan.ingress import ROUTE_SOURCE_LABEL, RouteSet, plan_ingress
from meshops.semantics.routing import Request, Routes

GATEWAYS = (
    GatewayConfig("ingress", "edge"),
    GatewayConfig("ingress", "edge", hostname="*.example.com"),
)
SEGMENTS = ("a", "b", "ab")
PATHS = sorted(
    {"/"}
    | {
        "/" + "/".join(parts) + tail
        for n in (1, 2)
        for parts in itertools.product(SEGMENTS, repeat=n)
        for tail in ("", "/")
    }
)
REGEXES = ("/a/.*", "/a.*", "/(a|b)", "/ab?/b", ".*/b", "/b/[ab]+", "/[ab]{2}/?", "/b")
HOSTS = ("a.example.com", "b.example.com", "x.a.example.com")
HOSTNAMES = ((), ("a.example.com",), ("*.example.com",), ("b.example.com",), ("*.a.example.com",))
HEADERS = ((), (("x-v", "1"),), (("x-v", "2"),))
REQUESTS = [
    Request.from_url(f"http://{host}{path}", method=method, headers=headers)
    for host in HOSTS
    for path in PATHS
    for method in ("GET", "POST")
    for headers in HEADERS
]

_paths = st.one_of(
    st.builds(
        PathMatch,
        st.sampled_from([PathMatchType.Exact, PathMatchType.PathPrefix]),
        st.sampled_from(PATHS),
    ),
    st.builds(PathMatch, st.just(PathMatchType.RegularExpression), st.sampled_from(REGEXES)),
)
_headers = st.sampled_from(
    [
        (),
        (HeaderMatch("x-v", "1"),),
        (HeaderMatch("X-V", "2"),),
        (HeaderMatch("x-v", "[12]", HeaderMatchType.RegularExpression),),
    ]
)
_matches = st.builds(
    HTTPMatch, st.none() | _paths, st.sampled_from([None, Method.get, Method.post]), _headers
)


@st.composite
def _route_sets(draw: st.DrawFn) -> list[RouteSet]:
    sets: list[RouteSet] = []
    for i in range(draw(st.integers(2, 4))):
        app = f"app{i}"
        routes = tuple(
            Route(
                f"r{j}",
                Protocol.HTTP,
                None,
                hostnames=draw(st.sampled_from(HOSTNAMES)),
                matches=tuple(draw(st.lists(_matches, max_size=2))),
                backends=(Backend(app, 8080),),
            )
            for j in range(draw(st.integers(1, 3)))
        )
        sets.append(RouteSet(f"istio-ingress-route:{i + 1}", app, "prod", i + 1, routes))
    return sets


def _served(gateway: GatewayConfig, sets: list[RouteSet]) -> dict[int, tuple[str, Any]]:
    """Who serves each request (by index): the requirer's source, and the rule."""
    objects = plan_ingress(gateway, sets).objects
    source = {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}": o["metadata"]["labels"][
            ROUTE_SOURCE_LABEL
        ]
        for o in objects
        if o["kind"] == "HTTPRoute" and "labels" in o["metadata"]
    }
    routes = Routes.from_objects(objects)
    found: dict[int, tuple[str, Any]] = {}
    for n, request in enumerate(REQUESTS):
        outcome = routes.route(request)
        if outcome.route is not None and outcome.route in source:
            found[n] = (source[outcome.route], (outcome.route, outcome.rule_index))
    return found


@settings(max_examples=30, deadline=None)
@given(sets=_route_sets(), gateway=st.sampled_from(GATEWAYS))
def test_no_request_an_older_requirer_serves_goes_to_a_newer_one(
    sets: list[RouteSet], gateway: GatewayConfig
) -> None:
    before = _served(gateway, sets[:1])
    for k in range(2, len(sets) + 1):
        after = _served(gateway, sets[:k])
        newer = label_value(sets[k - 1].source)
        for n, (holder, rule) in before.items():
            assert after.get(n) == (holder, rule), (
                f"{REQUESTS[n].url}: served by {holder} {rule} before {newer} arrived, "
                f"then by {after.get(n)}"
            )
            assert after[n][0] != newer
        before = after
