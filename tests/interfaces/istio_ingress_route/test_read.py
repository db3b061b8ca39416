"""read_config: a requirer's ``config`` string in, domain routes or problems out.

Valid configurations become the expected :class:`meshops.model.ingress.Route` values
(HTTP, gRPC, TCP, TLS; matches, filters, header modifiers, weighted backends). A table
of hostile configurations, each differing from a valid one in one place, must yield no
routes and a problem naming the source, the app, the exact field path and the value;
several faults are all reported.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshops.interfaces import istio_ingress_route as iir
from meshops.model import Method
from meshops.model import ingress as m

from .route_charms import MODEL, web_config

SOURCE = "istio-ingress-route:7"
WEB = {"port": 80, "protocol": "HTTP"}
GRPC = {"port": 80, "protocol": "GRPC"}
BACKEND = {"service": "web", "port": 8080, "weight": None}


def read(raw: str | None) -> iir.ConfigRead:
    return iir.read_config(raw, source=SOURCE, app="web")


def valid() -> dict[str, Any]:
    """A configuration using every feature, as our requirer writes it (no shared dicts)."""
    data = {
        "model": MODEL,
        "listeners": [WEB, GRPC],
        "http_routes": [
            {
                "name": "api",
                "listener": WEB,
                "backends": [BACKEND, {"service": "web-canary", "port": 8080, "weight": 5}],
                "hostnames": ["shop.example.com", "*.shop.example.com"],
                "matches": [
                    {"headers": None, "path": {"type": "PathPrefix", "value": "/api"}},
                    {
                        "headers": {"X-Tenant": "blue"},
                        "path": {"type": "RegularExpression", "value": "/v[0-9]+/.*"},
                        "method": "POST",
                    },
                ],
                "filters": [
                    {
                        "urlRewrite": {"hostname": "api.internal", "path": None},
                        "type": "URLRewrite",
                    }
                ],
                "header_filters": [
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {
                            "set": [{"name": "X-Via", "value": "gateway"}],
                            "remove": ["X-Debug"],
                        },
                    },
                    {
                        "type": "ResponseHeaderModifier",
                        "responseHeaderModifier": {"add": [{"name": "X-Served", "value": "1"}]},
                    },
                ],
            }
        ],
        "grpc_routes": [
            {
                "name": "orders",
                "listener": GRPC,
                "backends": [BACKEND],
                "matches": [
                    {"headers": {"x-env": "prod"}, "method": {"service": "shop.Orders"}},
                    {"method": {"service": "shop.Orders", "method": "Get"}},
                ],
            }
        ],
        "tcp_routes": [
            {
                "name": "db",
                "listener": {"port": 5432, "protocol": "TCP"},
                "backends": [{"service": "db", "port": 5432}],
            }
        ],
        "tls_routes": [
            {
                "name": "mq",
                "listener": {"port": 5671, "protocol": "TLS"},
                "backends": [{"service": "mq", "port": 5671}],
                "hostnames": ["mq.example.com"],
            },
            {
                "name": "mq-admin",
                "listener": {"port": 5671, "protocol": "TLS"},
                "backends": [{"service": "mq", "port": 15671}],
                "hostnames": ["admin.mq.example.com"],
            },
        ],
    }
    return json.loads(json.dumps(data))


EXPECTED = (
    m.Route(
        "api",
        m.Protocol.HTTP,
        80,
        hostnames=("shop.example.com", "*.shop.example.com"),
        matches=(
            m.HTTPMatch(path=m.PathMatch(m.PathMatchType.PathPrefix, "/api")),
            m.HTTPMatch(
                path=m.PathMatch(m.PathMatchType.RegularExpression, "/v[0-9]+/.*"),
                method=Method.post,
                headers=(m.HeaderMatch("X-Tenant", "blue"),),
            ),
        ),
        filters=(
            m.URLRewrite(hostname="api.internal"),
            m.HeaderModifier(set=(("X-Via", "gateway"),), remove=("X-Debug",)),
            m.HeaderModifier(add=(("X-Served", "1"),), response=True),
        ),
        backends=(m.Backend("web", 8080), m.Backend("web-canary", 8080, weight=5)),
    ),
    m.Route(
        "orders",
        m.Protocol.GRPC,
        80,
        matches=(
            m.GRPCMatch(service="shop.Orders", headers=(m.HeaderMatch("x-env", "prod"),)),
            m.GRPCMatch(service="shop.Orders", method="Get"),
        ),
        backends=(m.Backend("web", 8080),),
    ),
    m.Route("db", m.Protocol.TCP, 5432, backends=(m.Backend("db", 5432),)),
    m.Route(
        "mq",
        m.Protocol.TLS,
        5671,
        hostnames=("mq.example.com",),
        backends=(m.Backend("mq", 5671),),
    ),
    m.Route(
        "mq-admin",
        m.Protocol.TLS,
        5671,
        hostnames=("admin.mq.example.com",),
        backends=(m.Backend("mq", 15671),),
    ),
)


def test_absent_config_is_neither_routes_nor_problems() -> None:
    assert read(None) == iir.ConfigRead(None, (), ())


def test_every_feature_becomes_the_expected_routes() -> None:
    result = read(json.dumps(valid()))
    assert result.problems == ()
    assert result.routes == EXPECTED
    assert result.config is not None
    assert result.config.model == MODEL
    # read_config returns a plain tuple too
    config, routes, problems = result
    assert (config, routes, problems) == (result.config, EXPECTED, ())


def test_the_ecosystem_example_config_becomes_routes() -> None:
    result = read(web_config(iir).model_dump_json())
    assert result.problems == ()
    assert [(r.name, r.kind, r.port) for r in result.routes] == [
        ("api", "HTTPRoute", 80),
        ("old", "HTTPRoute", 80),
        ("orders", "GRPCRoute", 9090),
    ]
    redirect = result.routes[1].filters[0]
    assert redirect == m.RequestRedirect(
        scheme="https",
        path=m.PathModifier(m.PathModifierType.ReplaceFullPath, "/new"),
        status_code=302,
    )
    assert result.routes[0].backends == (
        m.Backend("web", 8080, weight=90),
        m.Backend("web-canary", 8080, weight=10),
    )


def test_minimal_config_is_no_routes_and_no_problems() -> None:
    result = read('{"model": "shop"}')
    assert (result.routes, result.problems) == ((), ())
    assert result.config == iir.IstioIngressRouteConfig(model="shop")


def test_http_and_grpc_listeners_may_share_a_port() -> None:
    result = read(json.dumps(valid()))  # WEB and GRPC are both on port 80
    assert {r.port for r in result.routes if r.protocol in (m.Protocol.HTTP, m.Protocol.GRPC)} == {
        80
    }


@pytest.mark.parametrize("regex", ["[[:alpha:]]+", "[[]]", "/a|/b", ".*"])
def test_regular_expressions_re2_reads_are_accepted(regex: str) -> None:
    data = valid()
    data["http_routes"][0]["matches"][1]["path"]["value"] = regex
    (route, *_) = read(json.dumps(data)).routes
    assert route.matches[1] == m.HTTPMatch(
        path=m.PathMatch(m.PathMatchType.RegularExpression, regex),
        method=Method.post,
        headers=(m.HeaderMatch("X-Tenant", "blue"),),
    )


def test_unknown_keys_are_ignored_anywhere() -> None:
    data = valid()
    data["future"] = [1, 2]
    data["http_routes"][0]["timeouts"] = {"request": "10s"}
    data["listeners"][0]["tls"] = "yes"
    assert read(json.dumps(data)).routes == EXPECTED


def at(data: Any, path: str) -> tuple[Any, str | int]:
    """The container holding the value at a dotted path like ``http_routes.0.name``."""
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if part.isdigit() else data[part]
    return data, int(last) if last.isdigit() else last


def mutated(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(valid())
    parent, key = at(data, path)
    if value is DELETE:
        del parent[key]
    else:
        parent[key] = value
    return data


DELETE = object()


def tcp_route(name: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "listener": {"port": port, "protocol": "TCP"},
        "backends": [{"service": name, "port": port}],
    }


# (where to change valid(), the new value, the field of the problem, text in its message)
HOSTILE: list[tuple[str, Any, str, str]] = [
    ("model", "Shop", "config.model", "'Shop'"),
    ("model", DELETE, "config.model", "is required"),
    ("model", 7, "config.model", "got 7"),
    ("listeners", {"port": 80}, "config.listeners", "JSON array"),
    ("listeners.0.port", 0, "config.listeners[0].port", "got 0"),
    ("listeners.0.port", 65536, "config.listeners[0].port", "got 65536"),
    ("listeners.0.port", True, "config.listeners[0].port", "valid integer"),
    ("listeners.0.port", "80", "config.listeners[0].port", "'80'"),
    ("listeners.0.port", 80.0, "config.listeners[0].port", "80.0"),
    ("listeners.0.protocol", "TCP", "config.listeners[0].protocol", "'TCP'"),
    ("listeners.0.protocol", "http", "config.listeners[0].protocol", "'http'"),
    ("http_routes.0.name", "API", "config.http_routes[0].name", "'API'"),
    ("http_routes.0.name", "a" * 64, "config.http_routes[0].name", "aaaa"),
    ("http_routes.0.name", "db", "config.tcp_routes[0].name", "'db'"),
    ("http_routes.0.name", None, "config.http_routes[0].name", "None"),
    (
        "http_routes.0.listener",
        {"port": 81, "protocol": "HTTP"},
        "config.http_routes[0].listener",
        "http-81",
    ),
    ("http_routes.0.backends", DELETE, "config.http_routes[0].backends", "is required"),
    ("http_routes.0.backends", [], "config.http_routes[0].backends", "at least one backend"),
    ("http_routes.0.backends.0.weight", 0, "config.http_routes[0].backends[0].weight", "got 0"),
    (
        "http_routes.0.backends.0.weight",
        101,
        "config.http_routes[0].backends[0].weight",
        "got 101",
    ),
    ("http_routes.0.backends.0.port", -1, "config.http_routes[0].backends[0].port", "got -1"),
    (
        "http_routes.0.backends.0.service",
        "Web",
        "config.http_routes[0].backends[0].service",
        "'Web'",
    ),
    (
        "http_routes.0.backends.0.service",
        "1web",
        "config.http_routes[0].backends[0].service",
        "'1web'",
    ),
    (
        "http_routes.0.backends.0.service",
        "w" * 64,
        "config.http_routes[0].backends[0].service",
        "www",
    ),
    (
        "http_routes.0.backends.1.service",
        "web",
        "config.http_routes[0].backends",
        "web:8080 is listed twice",
    ),
    ("http_routes.0.hostnames.1", "*", "config.http_routes[0].hostnames[1]", "'*'"),
    ("http_routes.0.hostnames.1", "10.0.0.1", "config.http_routes[0].hostnames[1]", "IP"),
    (
        "http_routes.0.hostnames.1",
        "shop.example.com",
        "config.http_routes[0].hostnames",
        "repeats",
    ),
    (
        "http_routes.0.hostnames",
        "shop.example.com",
        "config.http_routes[0].hostnames",
        "JSON array",
    ),
    (
        "http_routes.0.matches.0.path.value",
        "api",
        "config.http_routes[0].matches[0].path.value",
        "'api'",
    ),
    (
        "http_routes.0.matches.0.path.value",
        "/a//b",
        "config.http_routes[0].matches[0].path.value",
        "'/a//b'",
    ),
    (
        "http_routes.0.matches.0.path.value",
        "",
        "config.http_routes[0].matches[0].path.value",
        "''",
    ),
    (
        "http_routes.0.matches.0.path.type",
        "Prefix",
        "config.http_routes[0].matches[0].path.type",
        "'Prefix'",
    ),
    (
        "http_routes.0.matches.1.path.value",
        "(",
        "config.http_routes[0].matches[1].path.value",
        "'('",
    ),
    (
        "http_routes.0.matches.1.path.value",
        "(?=a)",
        "config.http_routes[0].matches[1].path.value",
        "regex '(?=a)' is not one RE2 (Envoy) accepts: invalid perl operator",
    ),
    (
        "http_routes.0.matches.1.path.value",
        "/a{99999999}",
        "config.http_routes[0].matches[1].path.value",
        "regex '/a{99999999}' is not one RE2 (Envoy) accepts: invalid repetition size",
    ),
    ("http_routes.0.matches.1.method", "get", "config.http_routes[0].matches[1].method", "'get'"),
    (
        "http_routes.0.matches.1.headers",
        {"X A": "1"},
        "config.http_routes[0].matches[1].headers",
        "'X A'",
    ),
    (
        "http_routes.0.matches.1.headers",
        {"X-A": "\n"},
        "config.http_routes[0].matches[1].headers['X-A']",
        "'\\n'",
    ),
    (
        "http_routes.0.matches.1.headers",
        {"X-A": 1},
        "config.http_routes[0].matches[1].headers['X-A']",
        "got 1",
    ),
    (
        "http_routes.0.matches.1.headers",
        {"headers": 1},
        "config.http_routes[0].matches[1].headers['headers']",
        "got 1",
    ),
    (
        "http_routes.0.matches.1.headers",
        {"x-a": "1", "X-A": "2"},
        "config.http_routes[0].matches[1].headers",
        "matched twice",
    ),
    ("http_routes.0.matches.1", [], "config.http_routes[0].matches[1]", "JSON object"),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {}},
        "config.http_routes[0].filters[0].urlRewrite",
        "needs a hostname or a path",
    ),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {"hostname": "*.x.com"}},
        "config.http_routes[0].filters[0].urlRewrite.hostname",
        "'*.x.com'",
    ),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {"path": {"replaceFullPath": "x"}}},
        "config.http_routes[0].filters[0].urlRewrite.path.replaceFullPath",
        "'x'",
    ),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {"path": {"replacePrefixMatch": "/x"}}},
        "config.http_routes[0].filters",
        "ReplacePrefixMatch needs exactly one match",
    ),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {"path": {"type": "ReplaceFullPath", "replacePrefixMatch": "/x"}}},
        "config.http_routes[0].filters[0].urlRewrite.path.type",
        "'ReplaceFullPath'",
    ),
    (
        "http_routes.0.filters.0",
        {"urlRewrite": {"hostname": "a"}, "type": "RequestRedirect"},
        "config.http_routes[0].filters[0].type",
        "'RequestRedirect'",
    ),
    (
        "http_routes.0.filters.0",
        {"mirror": {}},
        "config.http_routes[0].filters[0]",
        "exactly one of urlRewrite or requestRedirect",
    ),
    (
        "http_routes.0.filters.0",
        {"requestRedirect": {"scheme": "ftp"}},
        "config.http_routes[0].filters[0].requestRedirect.scheme",
        "'ftp'",
    ),
    (
        "http_routes.0.filters.0",
        {"requestRedirect": {"statusCode": 200}},
        "config.http_routes[0].filters[0].requestRedirect.statusCode",
        "200",
    ),
    (
        "http_routes.0.filters.0",
        {"requestRedirect": {"port": 0}},
        "config.http_routes[0].filters[0].requestRedirect.port",
        "got 0",
    ),
    (
        "http_routes.0.filters.0",
        {"requestRedirect": {}},
        "config.http_routes[0].backends",
        "redirects",
    ),
    (
        "http_routes.0.header_filters.0.requestHeaderModifier",
        {},
        "config.http_routes[0].header_filters[0].requestHeaderModifier",
        "needs headers",
    ),
    (
        "http_routes.0.header_filters.0.requestHeaderModifier.remove",
        ["X A"],
        "config.http_routes[0].header_filters[0].requestHeaderModifier.remove",
        "'X A'",
    ),
    (
        "http_routes.0.header_filters.1.type",
        "RequestHeaderModifier",
        "config.http_routes[0].header_filters[1].type",
        "'RequestHeaderModifier'",
    ),
    (
        "http_routes.0.header_filters.1",
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["X-B"]}},
        "config.http_routes[0].filters",
        "each kind of filter",
    ),
    (
        "grpc_routes.0.matches.0.method.service",
        "shop/Orders",
        "config.grpc_routes[0].matches[0].method.service",
        "'shop/Orders'",
    ),
    (
        "grpc_routes.0.matches.0.method.service",
        "",
        "config.grpc_routes[0].matches[0].method.service",
        "''",
    ),
    (
        "grpc_routes.0.matches.1.method.method",
        "Get/All",
        "config.grpc_routes[0].matches[1].method.method",
        "'Get/All'",
    ),
    (
        "grpc_routes.0.matches.1.method",
        {"method": "Get"},
        "config.grpc_routes[0].matches[1].method.service",
        "is required",
    ),
    (
        "grpc_routes.0.filters",
        [{"requestRedirect": {}}],
        "config.grpc_routes[0].filters",
        "header modifiers only",
    ),
    (
        "grpc_routes.0.filters",
        [{"urlRewrite": {"hostname": "a"}}],
        "config.grpc_routes[0].filters[0].requestRedirect",
        "is required",
    ),
    (
        "grpc_routes.0.listener",
        {"port": 9090, "protocol": "GRPC"},
        "config.grpc_routes[0].listener",
        "grpc-9090",
    ),
    ("tcp_routes.0.listener.port", 80, "config.tcp_routes[0].listener", "port 80"),
    ("tcp_routes.0.listener.port", 5671, "config.tls_routes[0].listener", "port 5671"),
    ("tcp_routes.0.listener.protocol", "UDP", "config.tcp_routes[0].listener.protocol", "'UDP'"),
    ("tcp_routes.0.listener.protocol", "TLS", "config.tcp_routes[0].listener.protocol", "'TLS'"),
    ("tcp_routes.0.backends", [], "config.tcp_routes[0].backends", "at least one backend"),
    (
        "tcp_routes",
        [tcp_route("db", 5432), tcp_route("db-replica", 5432)],
        "config.tcp_routes[1].listener",
        "already serves the TCP route config.tcp_routes[0]",
    ),
    ("tls_routes.0.hostnames", [], "config.tls_routes[0].hostnames", "needs a hostname"),
    ("tls_routes.0.hostnames", DELETE, "config.tls_routes[0].hostnames", "is required"),
    (
        "tls_routes.0.hostnames",
        ["*.mq.example.com"],
        "config.tls_routes[1].hostnames",
        "'admin.mq.example.com' overlaps '*.mq.example.com'",
    ),
    ("tls_routes.1.name", "mq", "config.tls_routes[1].name", "config.tls_routes[0]"),
    ("tls_routes", [{"name": "x"}], "config.tls_routes[0].listener", "is required"),
    ("tcp_routes", "db", "config.tcp_routes", "JSON array"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "text"), HOSTILE, ids=[f"{p}={v!r}"[:60] for p, v, _, _ in HOSTILE]
)
def test_one_bad_field_voids_the_config_and_is_named(
    path: str, value: Any, field: str, text: str
) -> None:
    result = read(json.dumps(mutated(path, value)))
    assert (result.config, result.routes) == (None, ())
    assert result.problems, "a hostile config must be reported"
    assert all(p.source == SOURCE and p.app == "web" for p in result.problems)
    found = [p for p in result.problems if p.field == field]
    assert found, [str(p) for p in result.problems]
    assert any(text in p.message for p in found), [str(p) for p in found]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("null", "got null"),
        ("[]", "got an array []"),
        ('"config"', "got a string 'config'"),
        ("1e999", "got a number inf"),
        ("[" * 100_000 + "]" * 100_000, "recursion limit"),
        ('{"model": "\\ud800"}', "not valid JSON"),  # a lone surrogate, escaped
        ('{"model": "\ud800"}', "not valid UTF-8"),  # a lone surrogate, raw
        ("1" * 5000, "not valid JSON"),
        (" " * (iir.MAX_CONFIG_BYTES + 1), "refused unread"),
        ("é" * (iir.MAX_CONFIG_BYTES // 2 + 1), "refused unread"),
    ],
)
def test_unreadable_config_is_one_problem_about_config(raw: str, text: str) -> None:
    result = read(raw)
    assert result.routes == ()
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.source, problem.field, problem.app) == (SOURCE, "config", "web")
    assert text in problem.message
    assert len(problem.message) <= 300


def test_every_fault_is_reported() -> None:
    data = mutated("listeners.0.port", 0)
    data["http_routes"][0]["name"] = "API"
    data["tcp_routes"][0]["backends"][0]["service"] = "DB"
    problems = read(json.dumps(data)).problems
    assert [p.field for p in problems] == ["config.listeners[0].port"]  # shape first
    data["listeners"][0]["port"] = 80
    problems = read(json.dumps(data)).problems
    assert [p.field for p in problems] == [
        "config.http_routes[0].name",
        "config.tcp_routes[0].backends[0].service",
    ]


def test_problems_are_capped() -> None:
    data = valid()
    data["listeners"] = [{"port": 0, "protocol": "HTTP"}] * 500
    problems = read(json.dumps(data)).problems
    assert len(problems) == iir.MAX_PROBLEMS
    assert problems[-1].message == f"and {500 - iir.MAX_PROBLEMS + 1} more problems"


def test_problem_text_names_source_app_field_and_value() -> None:
    problems = read(json.dumps(mutated("http_routes.0.matches.0.path.value", "api"))).problems
    assert [str(p) for p in problems] == [
        "istio-ingress-route:7 (web): config.http_routes[0].matches[0].path.value: "
        "path 'api' must start with '/'"
    ]


def test_tcp_routes_on_different_ports_are_fine() -> None:
    data = mutated("tcp_routes", [tcp_route("db", 5432), tcp_route("db-replica", 5433)])
    routes = read(json.dumps(data)).routes
    assert [(r.name, r.port) for r in routes if r.protocol is m.Protocol.TCP] == [
        ("db", 5432),
        ("db-replica", 5433),
    ]


labels = st.lists(st.sampled_from(["a", "b", "mq"]), min_size=1, max_size=3).map(".".join)
sni_names = st.tuples(st.booleans(), labels).map(lambda w: f"*.{w[1]}" if w[0] else w[1])


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.lists(sni_names, min_size=1, max_size=3, unique=True), min_size=2, max_size=4))
def test_tls_routes_on_one_port_must_not_overlap(hostnames: list[list[str]]) -> None:
    """Refused exactly when two routes' names intersect, as the model defines it."""
    routes = [
        {
            "name": f"r{i}",
            "listener": {"port": 443, "protocol": "TLS"},
            "backends": [{"service": "mq", "port": 5671}],
            "hostnames": names,
        }
        for i, names in enumerate(hostnames)
    ]
    overlap = any(
        m.hostnames_intersect(a, b)
        for i, mine in enumerate(hostnames)
        for theirs in hostnames[:i]
        for a in mine
        for b in theirs
    )
    result = read(json.dumps({"model": MODEL, "tls_routes": routes}))
    assert bool(result.problems) == overlap, [str(p) for p in result.problems]
    assert all("SNI" in p.message for p in result.problems)
    # on different ports, the same names are fine
    for i, route in enumerate(routes):
        route["listener"]["port"] = 1000 + i
    assert read(json.dumps({"model": MODEL, "tls_routes": routes})).problems == ()
