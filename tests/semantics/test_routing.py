"""Table tests for meshops.semantics.routing: which listener, route, rule, backend serve a request.

The cases are written from the Gateway API v1.5.1 field descriptions (the CRDs in
``src/meshops/crds``): Listener and route hostname matching, listener precedence, route
attachment (parentRefs, allowedRoutes), HTTPRoute and GRPCRoute match precedence with each
tie-breaker, PathPrefix element matching, the ReplacePrefixMatch table, redirect Location
port rules, backend weights and ReferenceGrants, 404 and 500 cases, URL parsing, and the
objects ``meshops render examples/shop.yaml`` prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from meshops import platform_file
from meshops.cli.render import file_objects
from meshops.semantics.routing import (
    Backend,
    HeaderChange,
    Outcome,
    Request,
    Routes,
    hostname_matches,
    path_prefix_matches,
    replace_prefix_match,
)

ROOT = Path(__file__).parents[2]
GROUP = "gateway.networking.k8s.io"
V1 = f"{GROUP}/v1"

# --- object builders ------------------------------------------------------------------------


def listener(
    name: str = "http",
    port: int = 80,
    protocol: str = "HTTP",
    hostname: str | None = None,
    *,
    source: str = "All",
    selector: dict[str, Any] | None = None,
    kinds: list[str] | None = None,
) -> dict[str, Any]:
    namespaces: dict[str, Any] = {"from": source}
    if selector is not None:
        namespaces["selector"] = selector
    allowed: dict[str, Any] = {"namespaces": namespaces}
    if kinds is not None:
        allowed["kinds"] = [{"group": GROUP, "kind": k} for k in kinds]
    raw: dict[str, Any] = {"name": name, "port": port, "protocol": protocol}
    raw["allowedRoutes"] = allowed
    if hostname is not None:
        raw["hostname"] = hostname
    return raw


def gateway(*listeners: dict[str, Any], name: str = "edge", ns: str = "gw") -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"gatewayClassName": "istio", "listeners": list(listeners) or [listener()]},
    }


def backend(name: str = "svc", port: int = 80, **extra: Any) -> dict[str, Any]:
    return {"name": name, "port": port, **extra}


def rule(
    *matches: dict[str, Any],
    backends: list[dict[str, Any]] | None = None,
    filters: list[dict[str, Any]] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if name is not None:
        raw["name"] = name
    if matches:
        raw["matches"] = list(matches)
    if filters is not None:
        raw["filters"] = filters
    if backends is None and not any(f["type"] == "RequestRedirect" for f in filters or []):
        backends = [backend()]
    if backends:
        raw["backendRefs"] = backends
    return raw


def prefix(value: str, **extra: Any) -> dict[str, Any]:
    return {"path": {"type": "PathPrefix", "value": value}, **extra}


def exact(value: str, **extra: Any) -> dict[str, Any]:
    return {"path": {"type": "Exact", "value": value}, **extra}


def regex(value: str, **extra: Any) -> dict[str, Any]:
    return {"path": {"type": "RegularExpression", "value": value}, **extra}


def headers(**values: str) -> list[dict[str, str]]:
    return [{"name": k.replace("_", "-"), "value": v} for k, v in values.items()]


def route(
    name: str = "web",
    ns: str = "app",
    *rules: dict[str, Any],
    kind: str = "HTTPRoute",
    hostnames: list[str] | None = None,
    parents: list[dict[str, Any]] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if created is not None:
        metadata["creationTimestamp"] = created
    body: dict[str, Any] = {
        "parentRefs": parents if parents is not None else [{"name": "edge", "namespace": "gw"}]
    }
    if hostnames is not None:
        body["hostnames"] = hostnames
    body["rules"] = list(rules) or [rule()]
    return {"apiVersion": V1, "kind": kind, "metadata": metadata, "spec": body}


def grpc_match(service: str | None = None, method: str | None = None, **kw: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if service is not None or method is not None:
        raw["method"] = {
            k: v for k, v in (("service", service), ("method", method)) if v is not None
        } | {"type": kw.pop("type", "Exact")}
    return raw | kw


def grant(
    ns: str, from_ns: str, kind: str = "HTTPRoute", to_name: str | None = None
) -> dict[str, Any]:
    to: dict[str, Any] = {"group": "", "kind": "Service"}
    if to_name is not None:
        to["name"] = to_name
    return {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": f"from-{from_ns}", "namespace": ns},
        "spec": {"from": [{"group": GROUP, "kind": kind, "namespace": from_ns}], "to": [to]},
    }


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def service(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}}


def evaluate(
    objects: list[dict[str, Any]],
    url: str,
    *,
    gateway_key: str | None = None,
    **request: Any,
) -> Outcome:
    return Routes.from_objects(objects).route(
        Request.from_url(url, **request), gateway=gateway_key
    )


def served_by(outcome: Outcome) -> tuple[str | None, int | None, int | None]:
    return outcome.route, outcome.rule_index, outcome.match_index


def reasons(outcome: Outcome) -> str:
    return "\n".join(outcome.reasons)


# --- hostnames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("test.example.com", "test.example.com", True),
        ("test.example.com", "foo.example.com", False),
        ("*.example.com", "test.example.com", True),
        ("*.example.com", "foo.test.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "test.example.net", False),
        ("*.example.com", "badexample.com", False),
        ("*.example.com", "TEST.Example.com", True),
        ("*.foo.example.com", "bar.example.com", False),
    ],
    ids=[
        "precise-equal",
        "precise-other",
        "wildcard-one-label",
        "wildcard-many-labels",
        "wildcard-not-its-apex",
        "wildcard-other-domain",
        "wildcard-label-boundary",
        "host-case-insensitive",
        "deeper-wildcard-other-branch",
    ],
)
def test_hostname_matches(pattern: str, host: str, expected: bool) -> None:
    assert hostname_matches(pattern, host) is expected


# --- listener selection ---------------------------------------------------------------------


def per_listener_objects() -> list[dict[str, Any]]:
    """A Gateway whose listeners each carry one route to a backend named after the listener."""
    listeners = [
        listener("exact", 80, hostname="foo.example.com"),
        listener("wild", 80, hostname="*.example.com"),
        listener("wild-deeper", 80, hostname="*.bar.example.com"),
        listener("any", 80),
        listener("secure", 443, "HTTPS", hostname="*.example.com"),
        listener("passthrough", 8443, "TLS", hostname="*.example.com", kinds=["TLSRoute"]),
    ]
    routes = [
        route(li["name"], "app", rule(backends=[backend(li["name"])]), parents=[ref(li["name"])])
        for li in listeners[:5]
    ]
    tls = route("tls", "app", kind="TLSRoute", parents=[ref("passthrough")])
    tls["spec"]["rules"] = [{"backendRefs": [backend("tls", 8443)]}]
    return [gateway(*listeners), *routes, tls]


def ref(section: str, **extra: Any) -> dict[str, Any]:
    return {"name": "edge", "namespace": "gw", "sectionName": section, **extra}


@pytest.mark.parametrize(
    ("url", "status", "chosen"),
    [
        ("http://foo.example.com/", "routed", "exact"),
        ("http://x.example.com/", "routed", "wild"),
        ("http://a.b.example.com/", "routed", "wild"),
        ("http://x.bar.example.com/", "routed", "wild-deeper"),
        ("http://example.com/", "routed", "any"),
        ("http://other.net/", "routed", "any"),
        ("https://foo.example.com/", "routed", "secure"),
        ("https://x.example.com:8443/", "l4", "passthrough"),
        ("http://x.example.com:8443/", "not-found", None),
        ("https://example.com/", "not-found", None),
        ("http://x.example.com:9090/", "not-found", None),
    ],
    ids=[
        "exact-over-wildcards",
        "wildcard-over-empty",
        "wildcard-matches-many-labels",
        "more-dots-right-of-wildcard-wins",
        "wildcard-not-apex-falls-to-empty",
        "empty-hostname-matches-any",
        "https-takes-https-listener",
        "tls-listener-is-layer-4",
        "http-to-tls-port",
        "no-https-listener-hostname-matches",
        "no-listener-on-port",
    ],
)
def test_listener_selection(url: str, status: str, chosen: str | None) -> None:
    outcome = evaluate(per_listener_objects(), url)
    assert outcome.status == status, reasons(outcome)
    assert outcome.listener == chosen
    if status == "routed":
        assert [b.name for b in outcome.backends] == [chosen]


def test_layer4_lists_the_attached_routes() -> None:
    outcome = evaluate(per_listener_objects(), "https://x.example.com:8443/")
    assert "TLSRoute app/tls" in reasons(outcome)
    assert outcome.summary() == "layer 4: not evaluated"


def test_listener_isolation_no_fall_through_to_a_less_specific_listener() -> None:
    objects = [
        gateway(
            listener("exact", hostname="foo.example.com"),
            listener("wild", hostname="*.example.com"),
        ),
        route("only-exact", "app", rule(exact("/exact")), parents=[ref("exact")]),
        route("everything", "app", rule(backends=[backend("wild")]), parents=[ref("wild")]),
    ]
    outcome = evaluate(objects, "http://foo.example.com/other")
    assert outcome.status == "not-found"
    assert outcome.listener == "exact"
    assert "path '/other' is not '/exact'" in reasons(outcome)


# --- route attachment -----------------------------------------------------------------------


SELECT_TEAM = {"matchLabels": {"team": "web"}}


@pytest.mark.parametrize(
    ("listen", "parents", "extra", "attached", "why"),
    [
        (listener(source="Same"), None, [], False, "allowedRoutes from Same"),
        (listener(source="All"), None, [], True, ""),
        (
            listener(source="Selector", selector=SELECT_TEAM),
            None,
            [namespace("app", team="web")],
            True,
            "",
        ),
        (
            listener(source="Selector", selector=SELECT_TEAM),
            None,
            [namespace("app", team="db")],
            False,
            "selector does not select namespace 'app'",
        ),
        (
            listener(source="Selector", selector=SELECT_TEAM),
            None,
            [],
            False,
            "not among the objects",
        ),
        (
            listener(
                source="Selector",
                selector={
                    "matchExpressions": [
                        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["app"]}
                    ]
                },
            ),
            None,
            [],
            True,
            "",
        ),
        (
            listener(
                source="Selector",
                selector={
                    "matchExpressions": [
                        {"key": "team", "operator": "NotIn", "values": ["db"]},
                        {"key": "env", "operator": "Exists"},
                        {"key": "frozen", "operator": "DoesNotExist"},
                    ]
                },
            ),
            None,
            [namespace("app", env="prod")],
            True,
            "",
        ),
        (
            listener(
                source="Selector",
                selector={"matchExpressions": [{"key": "env", "operator": "Exists"}]},
            ),
            None,
            [namespace("app", team="web")],
            False,
            "selector does not select",
        ),
        (listener(kinds=["GRPCRoute"]), None, [], False, "not HTTPRoute"),
        (listener(), [ref("other")], [], False, "no listener with sectionName 'other'"),
        (
            listener(),
            [ref("http", port=8080)],
            [],
            False,
            "no listener with sectionName 'http' port 8080",
        ),
        (listener(), [{"name": "edge", "port": 80, "namespace": "gw"}], [], True, ""),
        (listener(), [{"name": "edge"}], [], False, "parent Gateway app/edge not found"),
        (
            listener(),
            [{"name": "edge", "namespace": "gw", "kind": "Service", "group": ""}],
            [],
            False,
            "not a Gateway",
        ),
    ],
    ids=[
        "same-refuses-other-namespace",
        "all",
        "selector-match-labels",
        "selector-label-differs",
        "selector-namespace-unknown",
        "selector-automatic-name-label",
        "selector-notin-exists-doesnotexist",
        "selector-exists-missing",
        "kinds-exclude-httproute",
        "section-name-unknown",
        "section-and-port-must-both-match",
        "port-only",
        "parent-namespace-defaults-to-route",
        "service-parent-not-evaluated",
    ],
)
def test_route_attachment(
    listen: dict[str, Any],
    parents: list[dict[str, Any]] | None,
    extra: list[dict[str, Any]],
    attached: bool,
    why: str,
) -> None:
    routes = Routes.from_objects([gateway(listen), route("web", "app", parents=parents), *extra])
    outcome = routes.route(Request.from_url("http://shop.example.com/"))
    assert (outcome.status == "routed") is attached, reasons(outcome)
    assert why in "\n".join([*routes.problems, *outcome.reasons])


@pytest.mark.parametrize(
    ("listener_host", "route_hosts", "url", "expected"),
    [
        ("test.example.com", None, "http://test.example.com/", "routed"),
        ("test.example.com", ["*.example.com"], "http://test.example.com/", "routed"),
        ("*.example.com", ["foo.test.example.com"], "http://foo.test.example.com/", "routed"),
        ("*.example.com", ["test.example.com"], "http://other.example.com/", "not-found"),
        ("*.example.com", ["example.com"], "http://example.com/", "not-found"),
        (
            "*.example.com",
            ["test.example.com", "test.example.net"],
            "http://test.example.com/",
            "routed",
        ),
        (None, ["test.example.net"], "http://test.example.net/", "routed"),
        (None, ["*.example.net"], "http://example.net/", "not-found"),
    ],
    ids=[
        "route-without-hostnames-takes-listener",
        "route-wildcard-narrowed-to-listener",
        "listener-wildcard-route-deeper-host",
        "route-hostname-limits-listener-wildcard",
        "route-apex-outside-listener-wildcard",
        "non-intersecting-hostname-ignored",
        "listener-without-hostname-takes-route",
        "route-wildcard-not-apex",
    ],
)
def test_route_hostnames_intersect_listener(
    listener_host: str | None, route_hosts: list[str] | None, url: str, expected: str
) -> None:
    objects = [
        gateway(listener(hostname=listener_host)),
        route("web", "app", hostnames=route_hosts),
    ]
    assert evaluate(objects, url).status == expected


def test_route_whose_hostnames_miss_the_listener_is_not_accepted() -> None:
    objects = [
        gateway(listener(hostname="*.example.com")),
        route("web", "app", hostnames=["example.com", "test.example.net"]),
    ]
    routes = Routes.from_objects(objects)
    assert any("none of its hostnames" in p for p in routes.problems), routes.problems


# --- HTTPRoute precedence -------------------------------------------------------------------

OLD = "2024-01-01T00:00:00Z"
NEW = "2024-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("routes", "url", "request_kw", "winner", "loss"),
    [
        (
            [
                route("a", "app", rule(prefix("/")), hostnames=["*.example.com"]),
                route("b", "app", rule(prefix("/")), hostnames=["foo.example.com"]),
            ],
            "http://foo.example.com/",
            {},
            ("app/b", 0, 0),
            "a longer non-wildcard hostname",
        ),
        (
            [
                route("a", "app", rule(prefix("/")), hostnames=["*.example.com"]),
                route("b", "app", rule(prefix("/")), hostnames=["*.foo.example.com"]),
            ],
            "http://x.foo.example.com/",
            {},
            ("app/b", 0, 0),
            "a longer matching hostname",
        ),
        (
            [
                route("a", "app", rule(exact("/foo/bar")), hostnames=["*.example.com"]),
                route("b", "app", rule(prefix("/")), hostnames=["foo.example.com"]),
            ],
            "http://foo.example.com/foo/bar",
            {},
            ("app/b", 0, 0),
            "a longer non-wildcard hostname",
        ),
        (
            [
                route("a", "app", rule(prefix("/foo", headers=headers(x_a="1", x_b="2")))),
                route("b", "app", rule(exact("/foo"))),
            ],
            "http://h.example/foo",
            {"headers": [("x-a", "1"), ("x-b", "2")]},
            ("app/b", 0, 0),
            "a more specific path match type",
        ),
        (
            [route("a", "app", rule(prefix("/foo"))), route("b", "app", rule(prefix("/foo/bar")))],
            "http://h.example/foo/bar/baz",
            {},
            ("app/b", 0, 0),
            "a longer path value",
        ),
        (
            [route("a", "app", rule(regex("/foo/.*"))), route("b", "app", rule(prefix("/")))],
            "http://h.example/foo/bar",
            {},
            ("app/b", 0, 0),
            "a more specific path match type",
        ),
        (
            [
                route("a", "app", rule(regex("/f.*"))),
                route("b", "app", rule(regex("/foo/.*"))),
            ],
            "http://h.example/foo/bar",
            {},
            ("app/b", 0, 0),
            "a longer path value",
        ),
        (
            [
                route("a", "app", rule(prefix("/", headers=headers(x_a="1", x_b="2")))),
                route("b", "app", rule(prefix("/", method="GET"))),
            ],
            "http://h.example/",
            {"headers": [("x-a", "1"), ("x-b", "2")]},
            ("app/b", 0, 0),
            "a method match",
        ),
        (
            [
                route("a", "app", rule(prefix("/", headers=headers(x_a="1")))),
                route("b", "app", rule(prefix("/", headers=headers(x_a="1", x_b="2")))),
            ],
            "http://h.example/",
            {"headers": [("x-a", "1"), ("x-b", "2")]},
            ("app/b", 0, 0),
            "more header matches",
        ),
        (
            [
                route("a", "app", rule(prefix("/", headers=headers(x_a="1")))),
                route("b", "app", rule(prefix("/", queryParams=[{"name": "q", "value": "1"}]))),
            ],
            "http://h.example/?q=1",
            {"headers": [("x-a", "1")]},
            ("app/a", 0, 0),
            "more header matches",
        ),
        (
            [
                route("a", "app", rule(prefix("/"))),
                route("b", "app", rule(prefix("/", queryParams=[{"name": "q", "value": "1"}]))),
            ],
            "http://h.example/?q=1",
            {},
            ("app/b", 0, 0),
            "more query param matches",
        ),
        (
            [
                route("a", "app", rule(prefix("/")), created=NEW),
                route("b", "app", rule(prefix("/")), created=OLD),
            ],
            "http://h.example/",
            {},
            ("app/b", 0, 0),
            "an older route",
        ),
        (
            [
                route("a", "app", rule(prefix("/"))),
                route("b", "app", rule(prefix("/")), created=OLD),
            ],
            "http://h.example/",
            {},
            ("app/b", 0, 0),
            "an older route",
        ),
        (
            [route("b", "app", rule(prefix("/"))), route("a", "app", rule(prefix("/")))],
            "http://h.example/",
            {},
            ("app/a", 0, 0),
            "a route first in {namespace}/{name} order",
        ),
        (
            [route("a", "zz", rule(prefix("/"))), route("z", "aa", rule(prefix("/")))],
            "http://h.example/",
            {},
            ("aa/z", 0, 0),
            "a route first in {namespace}/{name} order",
        ),
        (
            [
                route("a", "app", rule(prefix("/foo/")), created=OLD),
                route("b", "app", rule(prefix("/foo")), created=NEW),
            ],
            "http://h.example/foo/x",
            {},
            ("app/a", 0, 0),
            "an older route",
        ),
        (
            [route("a", "app", rule(prefix("/")), rule(prefix("/")))],
            "http://h.example/x",
            {},
            ("app/a", 0, 0),
            "an earlier rule",
        ),
        (
            [route("a", "app", rule(prefix("/")), rule(prefix("/x")))],
            "http://h.example/x",
            {},
            ("app/a", 1, 0),
            "a longer path value",
        ),
        (
            [route("a", "app", rule(prefix("/"), prefix("/"), exact("/x")))],
            "http://h.example/x",
            {},
            ("app/a", 0, 2),
            "a more specific path match type",
        ),
        (
            [route("a", "app", rule(prefix("/"), prefix("/")))],
            "http://h.example/x",
            {},
            ("app/a", 0, 0),
            "an earlier match",
        ),
    ],
    ids=[
        "non-wildcard-hostname-first",
        "longer-wildcard-hostname",
        "hostname-before-path",
        "exact-over-prefix-with-more-headers",
        "longest-prefix",
        "prefix-over-regex",
        "longer-regex",
        "method-over-headers",
        "more-headers",
        "headers-over-query",
        "more-query-params",
        "oldest-route",
        "no-timestamp-counts-younger",
        "name-order",
        "namespace-name-order",
        "trailing-slash-prefixes-tie",
        "first-rule-on-tie",
        "specific-later-rule-wins",
        "best-match-of-a-rule",
        "first-match-on-tie",
    ],
)
def test_http_precedence(
    routes: list[dict[str, Any]],
    url: str,
    request_kw: dict[str, Any],
    winner: tuple[str, int, int],
    loss: str,
) -> None:
    outcome = evaluate([gateway(), *routes], url, **request_kw)
    assert outcome.status == "routed", reasons(outcome)
    assert served_by(outcome) == winner
    assert f"loses: the winner has {loss}" in reasons(outcome)


def test_hostname_precedence_falls_through_when_the_specific_route_misses() -> None:
    objects = [
        gateway(),
        route("specific", "app", rule(prefix("/a")), hostnames=["foo.example.com"]),
        route("wild", "app", rule(prefix("/")), hostnames=["*.example.com"]),
    ]
    assert evaluate(objects, "http://foo.example.com/b").route == "app/wild"
    assert evaluate(objects, "http://foo.example.com/a").route == "app/specific"


# --- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "path", "matched"),
    [
        (prefix("/abc"), "/abc", True),
        (prefix("/abc"), "/abc/", True),
        (prefix("/abc"), "/abc/def", True),
        (prefix("/abc"), "/abcd", False),
        (prefix("/abc/"), "/abc", True),
        (prefix("/abc/"), "/abcd", False),
        (prefix("/"), "/anything/at/all", True),
        (exact("/abc"), "/abc", True),
        (exact("/abc"), "/abc/", False),
        (exact("/abc"), "/abc?x=1", True),
        (regex("/items/[0-9]+"), "/items/12", True),
        (regex("/items/[0-9]+"), "/items/12/x", False),
        (prefix("/foo/bar"), "/foo%2Fbar", False),
        (exact("/foo"), "/%66oo", True),
        (exact("/bar"), "/foo/../bar", True),
        (exact("/a/b"), "/a/./b", True),
        ({}, "/x", True),
    ],
    ids=[
        "prefix-itself",
        "prefix-trailing-slash",
        "prefix-child",
        "prefix-not-partial-element",
        "prefix-with-slash-matches-without",
        "prefix-with-slash-not-partial",
        "root-prefix",
        "exact",
        "exact-not-trailing-slash",
        "exact-ignores-query",
        "regex-full-match",
        "regex-not-partial",
        "encoded-slash-is-not-a-separator",
        "unreserved-percent-decoded",
        "dot-dot-removed",
        "dot-removed",
        "no-path-is-prefix-root",
    ],
)
def test_path_matching(match: dict[str, Any], path: str, matched: bool) -> None:
    outcome = evaluate([gateway(), route("web", "app", rule(match))], f"http://h.example{path}")
    assert (outcome.status == "routed") is matched, reasons(outcome)


@pytest.mark.parametrize(
    ("prefix_value", "path", "expected"),
    [
        ("/abc", "/abc", True),
        ("/abc", "/abc/", True),
        ("/abc", "/abc/def", True),
        ("/abc", "/abcd", False),
        ("/", "/", True),
        ("/abc/def", "/abc", False),
    ],
    ids=["same", "trailing-slash", "child", "partial-element", "root", "shorter-path"],
)
def test_path_prefix_matches(prefix_value: str, path: str, expected: bool) -> None:
    assert path_prefix_matches(prefix_value, path) is expected


@pytest.mark.parametrize(
    ("match", "request_kw", "url", "matched"),
    [
        (
            prefix("/", headers=headers(x_version="v2")),
            {"headers": [("X-Version", "v2")]},
            "/",
            True,
        ),
        (
            prefix("/", headers=headers(x_version="v2")),
            {"headers": [("x-version", "V2")]},
            "/",
            False,
        ),
        (prefix("/", headers=headers(x_version="v2")), {}, "/", False),
        (
            prefix("/", headers=[{"name": "x-v", "value": "v[0-9]", "type": "RegularExpression"}]),
            {"headers": [("x-v", "v7")]},
            "/",
            True,
        ),
        (
            prefix("/", headers=[{"name": "x-v", "value": "1"}, {"name": "X-V", "value": "2"}]),
            {"headers": [("x-v", "1")]},
            "/",
            True,
        ),
        (prefix("/", method="POST"), {"method": "post"}, "/", True),
        (prefix("/", method="POST"), {}, "/", False),
        (prefix("/", queryParams=[{"name": "q", "value": "a b"}]), {}, "/?q=a%20b", True),
        (prefix("/", queryParams=[{"name": "q", "value": "1"}]), {}, "/?q=1&q=2", True),
        (prefix("/", queryParams=[{"name": "q", "value": "2"}]), {}, "/?q=1&q=2", False),
        (prefix("/", queryParams=[{"name": "Q", "value": "1"}]), {}, "/?q=1", False),
    ],
    ids=[
        "header-name-any-case",
        "header-value-exact-case",
        "header-absent",
        "header-regex",
        "repeated-header-name-first-counts",
        "method",
        "method-differs",
        "query-decoded",
        "query-first-value",
        "query-not-second-value",
        "query-name-exact-case",
    ],
)
def test_header_method_query_matching(
    match: dict[str, Any], request_kw: dict[str, Any], url: str, matched: bool
) -> None:
    outcome = evaluate(
        [gateway(), route("web", "app", rule(match))], f"http://h.example{url}", **request_kw
    )
    assert (outcome.status == "routed") is matched, reasons(outcome)


def test_bad_regex_drops_the_rule_and_says_so() -> None:
    routes = Routes.from_objects(
        [gateway(), route("web", "app", rule(regex("/(")), rule(prefix("/ok")))]
    )
    assert any("regex '/(' is not one RE2" in p for p in routes.problems), routes.problems
    assert routes.route(Request.from_url("http://h.example/ok")).rule_index == 1


def test_regexes_are_run_as_envoy_runs_them_with_re2() -> None:
    # Python's re would compile the look-ahead; RE2, and so Envoy, refuses it
    routes = Routes.from_objects(
        [gateway(), route("web", "app", rule(regex("/(?=a).*")), rule(prefix("/")))]
    )
    assert any("regex '/(?=a).*' is not one RE2" in p for p in routes.problems), routes.problems
    assert routes.route(Request.from_url("http://h.example/abc")).rule_index == 1


# --- path modifiers, redirects, rewrites ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "prefix_value", "replacement", "expected"),
    [
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"),
        ("/foo/", "/foo", "", "/"),
        ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"),
        ("/foo", "/foo", "/", "/"),
        ("/abc", "/", "/xyz", "/xyz/abc"),
    ],
    ids=[
        "plain",
        "replacement-trailing-slash",
        "prefix-trailing-slash",
        "both-trailing-slash",
        "whole-path",
        "whole-path-trailing-slash",
        "empty-replacement",
        "empty-replacement-trailing-slash",
        "empty-replacement-whole-path",
        "root-replacement-trailing-slash",
        "root-replacement-whole-path",
        "root-prefix",
    ],
)
def test_replace_prefix_match(
    path: str, prefix_value: str, replacement: str, expected: str
) -> None:
    assert replace_prefix_match(path, prefix_value, replacement) == expected


def test_replace_prefix_match_refuses_a_prefix_that_does_not_match() -> None:
    with pytest.raises(ValueError, match=r"prefix '/foo' does not match path '/foobar'"):
        replace_prefix_match("/foobar", "/foo", "/x")


def redirect_objects(
    redirect: dict[str, Any], match: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    listeners = [
        listener("http", 80),
        listener("alt", 8080),
        listener("https", 443, "HTTPS"),
        listener("alt-tls", 8443, "HTTPS"),
    ]
    filters = [{"type": "RequestRedirect", "requestRedirect": redirect}]
    matches = (match,) if match is not None else ()
    return [gateway(*listeners), route("redir", "app", rule(*matches, filters=filters))]


@pytest.mark.parametrize(
    ("redirect", "match", "url", "code", "location"),
    [
        ({"scheme": "https"}, None, "http://h.example/a?b=1", 302, "https://h.example/a?b=1"),
        (
            {"scheme": "https", "statusCode": 301},
            None,
            "http://h.example/",
            301,
            "https://h.example/",
        ),
        ({"scheme": "https"}, None, "http://h.example:8080/a", 302, "https://h.example/a"),
        ({"scheme": "http"}, None, "https://h.example:8443/a", 302, "http://h.example/a"),
        (
            {"hostname": "new.example"},
            None,
            "http://h.example:8080/a",
            302,
            "http://new.example:8080/a",
        ),
        ({"hostname": "new.example"}, None, "https://h.example/a", 302, "https://new.example/a"),
        (
            {"scheme": "https", "port": 8443},
            None,
            "http://h.example/a",
            302,
            "https://h.example:8443/a",
        ),
        (
            {"scheme": "https", "port": 443},
            None,
            "http://h.example:8080/",
            302,
            "https://h.example/",
        ),
        ({"port": 80}, None, "https://h.example/a", 302, "https://h.example:80/a"),
        ({"port": 8080}, None, "http://h.example/a", 302, "http://h.example:8080/a"),
        (
            {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/new"}},
            None,
            "http://h.example/old/x?q=1",
            302,
            "http://h.example/new?q=1",
        ),
        (
            {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}},
            prefix("/old"),
            "http://h.example/old/x",
            302,
            "http://h.example/new/x",
        ),
        (
            {"statusCode": 308, "scheme": "https", "hostname": "b.example"},
            None,
            "http://a.example/",
            308,
            "https://b.example/",
        ),
    ],
    ids=[
        "scheme-https-drops-80-keeps-query",
        "status-code",
        "scheme-change-uses-well-known-port",
        "scheme-http-well-known-port",
        "no-scheme-keeps-listener-port",
        "no-scheme-https-443-omitted",
        "explicit-port-shown",
        "explicit-well-known-port-omitted",
        "port-80-on-https-shown",
        "explicit-port-no-scheme",
        "replace-full-path",
        "replace-prefix-match",
        "scheme-and-host",
    ],
)
def test_redirect_location(
    redirect: dict[str, Any], match: dict[str, Any] | None, url: str, code: int, location: str
) -> None:
    outcome = evaluate(redirect_objects(redirect, match), url)
    assert outcome.status == "redirect", reasons(outcome)
    assert outcome.redirect is not None
    assert (outcome.redirect.status_code, outcome.redirect.location) == (code, location)
    assert outcome.http_status == code
    assert outcome.backends == ()


@pytest.mark.parametrize(
    ("rewrite", "match", "url", "host", "path"),
    [
        ({"hostname": "internal.svc"}, None, "http://h.example/a", "internal.svc", "/a"),
        (
            {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/index"}},
            None,
            "http://h.example/a/b",
            "h.example",
            "/index",
        ),
        (
            {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}},
            prefix("/api"),
            "http://h.example/api/users",
            "h.example",
            "/v2/users",
        ),
        (
            {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": ""}},
            prefix("/api/"),
            "http://h.example/api/",
            "h.example",
            "/",
        ),
        ({}, None, "http://h.example/a", "h.example", "/a"),
    ],
    ids=["hostname", "full-path", "prefix", "prefix-to-root", "nothing"],
)
def test_url_rewrite(
    rewrite: dict[str, Any], match: dict[str, Any] | None, url: str, host: str, path: str
) -> None:
    filters = [{"type": "URLRewrite", "urlRewrite": rewrite}]
    matches = (match,) if match is not None else ()
    outcome = evaluate([gateway(), route("web", "app", rule(*matches, filters=filters))], url)
    assert outcome.status == "routed"
    assert (outcome.host, outcome.path) == (host, path)


def test_header_modifiers_are_shown() -> None:
    filters = [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [{"name": "x-set", "value": "1"}],
                "add": [{"name": "x-add", "value": "2"}],
                "remove": ["x-drop"],
            },
        },
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"set": [{"name": "x-served-by", "value": "web"}]},
        },
    ]
    outcome = evaluate(
        [gateway(), route("web", "app", rule(filters=filters))], "http://h.example/"
    )
    assert outcome.header_changes == (
        HeaderChange("request", "set", "x-set", "1"),
        HeaderChange("request", "add", "x-add", "2"),
        HeaderChange("request", "remove", "x-drop"),
        HeaderChange("response", "set", "x-served-by", "web"),
    )


# --- backends -------------------------------------------------------------------------------


def svc(
    name: str, weight: int | None = None, ns: str | None = None, **extra: Any
) -> dict[str, Any]:
    raw = backend(name, **extra)
    if weight is not None:
        raw["weight"] = weight
    if ns is not None:
        raw["namespace"] = ns
    return raw


@pytest.mark.parametrize(
    ("backends", "extra", "status", "shares", "problems"),
    [
        ([svc("a")], [], "routed", [100.0], [None]),
        ([svc("a", 1), svc("b", 3)], [], "routed", [25.0, 75.0], [None, None]),
        ([svc("a", 1), svc("b", 1), svc("c", 1)], [], "routed", [33.33, 33.33, 33.33], [None] * 3),
        ([svc("a", 0), svc("b", 5)], [], "routed", [0.0, 100.0], [None, None]),
        ([svc("a", 0), svc("b", 0)], [], "no-backend", [0.0, 0.0], [None, None]),
        ([svc("a", ns="other")], [], "no-backend", [100.0], ["RefNotPermitted"]),
        ([svc("a", ns="other")], [grant("other", "app")], "routed", [100.0], [None]),
        ([svc("a", ns="other")], [grant("other", "app", to_name="a")], "routed", [100.0], [None]),
        (
            [svc("a", ns="other")],
            [grant("other", "app", to_name="b")],
            "no-backend",
            [100.0],
            ["RefNotPermitted"],
        ),
        (
            [svc("a", ns="other")],
            [grant("other", "app", kind="GRPCRoute")],
            "no-backend",
            [100.0],
            ["RefNotPermitted"],
        ),
        (
            [svc("a", ns="other")],
            [grant("other", "elsewhere")],
            "no-backend",
            [100.0],
            ["RefNotPermitted"],
        ),
        (
            [svc("a", ns="other")],
            [grant("app", "other")],
            "no-backend",
            [100.0],
            ["RefNotPermitted"],
        ),
        ([svc("a"), svc("b", ns="other")], [], "routed", [50.0, 50.0], [None, "RefNotPermitted"]),
        (
            [svc("a"), svc("gone")],
            [service("a", "app")],
            "routed",
            [50.0, 50.0],
            [None, "BackendNotFound"],
        ),
        ([svc("a", kind="Pod")], [], "no-backend", [100.0], ["InvalidKind"]),
        (
            [svc("a", group="multicluster.x-k8s.io", kind="ServiceImport")],
            [],
            "routed",
            [100.0],
            [None],
        ),
    ],
    ids=[
        "default-weight",
        "weights",
        "thirds",
        "weight-zero-gets-nothing",
        "all-weights-zero-500",
        "cross-namespace-without-grant-500",
        "grant-any-service",
        "grant-named-service",
        "grant-other-service",
        "grant-other-route-kind",
        "grant-other-namespace",
        "grant-in-wrong-namespace",
        "half-invalid",
        "service-missing",
        "unsupported-kind",
        "service-import",
    ],
)
def test_backends(
    backends: list[dict[str, Any]],
    extra: list[dict[str, Any]],
    status: str,
    shares: list[float],
    problems: list[str | None],
) -> None:
    outcome = evaluate(
        [gateway(), route("web", "app", rule(backends=backends)), *extra], "http://h.example/"
    )
    assert outcome.status == status, reasons(outcome)
    assert [b.share for b in outcome.backends] == shares
    found = [None if b.problem is None else b.problem.split(":")[0] for b in outcome.backends]
    assert found == problems


def test_half_invalid_backends_send_half_the_requests_a_500() -> None:
    backends = [svc("a"), svc("b", ns="other")]
    outcome = evaluate(
        [gateway(), route("web", "app", rule(backends=backends))], "http://h.example/"
    )
    assert outcome.error_share == 50.0
    assert outcome.backends[0] == Backend("Service", "app", "a", 80, 1, 50.0)
    assert "its share gets 500" in reasons(outcome)


def test_rule_without_backends_is_a_500() -> None:
    filters = [
        {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["server"]}}
    ]
    outcome = evaluate(
        [gateway(), route("web", "app", rule(filters=filters, backends=[]))], "http://h.example/"
    )
    assert (outcome.status, outcome.http_status, outcome.summary()) == (
        "no-backend",
        500,
        "500: no valid backend",
    )


# --- GRPCRoute ------------------------------------------------------------------------------


def grpc_route(name: str, *rules: dict[str, Any], ns: str = "app", **kw: Any) -> dict[str, Any]:
    return route(name, ns, *rules, kind="GRPCRoute", **kw)


@pytest.mark.parametrize(
    ("routes", "call", "winner", "loss"),
    [
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart"))),
                grpc_route("b", rule(grpc_match("pkg.Cart", "Add"))),
            ],
            ("pkg.Cart", "Add"),
            "app/b",
            "a method match",
        ),
        (
            [
                grpc_route("a", rule(grpc_match(method="Add"))),
                grpc_route("b", rule(grpc_match("pkg.Cart"))),
            ],
            ("pkg.Cart", "Add"),
            "app/b",
            "a service match",
        ),
        (
            [grpc_route("a", rule()), grpc_route("b", rule(grpc_match(method="Add")))],
            ("pkg.Cart", "Add"),
            "app/b",
            "a method match",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg\\..*", type="RegularExpression"))),
                grpc_route("b", rule(grpc_match("pkg.Cart"))),
            ],
            ("pkg.Cart", "Add"),
            "app/b",
            "a service match",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart"))),
                grpc_route("b", rule(grpc_match("pkg.Cart", headers=headers(x_v="2")))),
            ],
            ("pkg.Cart", "Add"),
            "app/b",
            "more header matches",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart")), hostnames=["*.example.com"]),
                grpc_route("b", rule()),
            ],
            ("pkg.Cart", "Add"),
            "app/a",
            "a longer matching hostname",
        ),
        (
            [
                grpc_route("a", rule(grpc_match("pkg.Cart")), created=NEW),
                grpc_route("b", rule(grpc_match("pkg.Cart")), created=OLD),
            ],
            ("pkg.Cart", "Add"),
            "app/b",
            "an older route",
        ),
        (
            [
                grpc_route("b", rule(grpc_match("pkg.Cart"))),
                grpc_route("a", rule(grpc_match("pkg.Cart"))),
            ],
            ("pkg.Cart", "Add"),
            "app/a",
            "a route first in {namespace}/{name} order",
        ),
    ],
    ids=[
        "service-and-method-over-service",
        "service-over-method",
        "method-over-nothing",
        "exact-service-over-regex",
        "more-headers",
        "hostname-first",
        "oldest",
        "name-order",
    ],
)
def test_grpc_precedence(
    routes: list[dict[str, Any]], call: tuple[str, str], winner: str, loss: str
) -> None:
    outcome = evaluate(
        [gateway(), *routes], "http://api.example.com/", grpc=call, headers=[("x-v", "2")]
    )
    assert (outcome.status, outcome.route_kind, outcome.route) == (
        "routed",
        "GRPCRoute",
        winner,
    ), reasons(outcome)
    assert f"loses: the winner has {loss}" in reasons(outcome)


@pytest.mark.parametrize(
    ("call", "matched"),
    [
        (("pkg.Cart", "Add"), True),
        (("pkg.Cart", "Remove"), False),
        (("pkg.Shop", "Add"), False),
    ],
    ids=["both", "method-differs", "service-differs"],
)
def test_grpc_exact_match(call: tuple[str, str], matched: bool) -> None:
    objects = [gateway(), grpc_route("g", rule(grpc_match("pkg.Cart", "Add")))]
    assert (evaluate(objects, "http://h.example/", grpc=call).status == "routed") is matched


def test_grpc_route_does_not_serve_a_plain_request() -> None:
    outcome = evaluate(
        [gateway(), grpc_route("g", rule())], "http://h.example/pkg.Cart/Add", method="POST"
    )
    assert outcome.status == "not-found"
    assert "the request is not a gRPC call" in reasons(outcome)


def test_grpc_call_served_by_an_httproute_on_a_host_without_grpcroute() -> None:
    objects = [
        gateway(),
        route(
            "web",
            "app",
            rule(exact("/pkg.Cart/Add", method="POST")),
            hostnames=["web.example.com"],
        ),
        grpc_route("g", rule(), hostnames=["grpc.example.com"]),
    ]
    outcome = evaluate(objects, "http://web.example.com/", grpc=("pkg.Cart", "Add"))
    assert (outcome.route_kind, outcome.route) == ("HTTPRoute", "app/web")
    outcome = evaluate(objects, "http://grpc.example.com/", grpc=("pkg.Cart", "Add"))
    assert (outcome.route_kind, outcome.route) == ("GRPCRoute", "app/g")


@pytest.mark.parametrize(
    ("http_created", "grpc_created", "kept", "dropped"),
    [(OLD, NEW, "HTTPRoute", "GRPCRoute app/same"), (NEW, OLD, "GRPCRoute", "HTTPRoute app/same")],
    ids=["older-httproute-wins", "older-grpcroute-wins"],
)
def test_httproute_and_grpcroute_on_one_hostname_only_the_older_attaches(
    http_created: str, grpc_created: str, kept: str, dropped: str
) -> None:
    objects = [
        gateway(),
        route("same", "app", hostnames=["api.example.com"], created=http_created),
        grpc_route("same", rule(), hostnames=["*.example.com"], created=grpc_created),
    ]
    routes = Routes.from_objects(objects)
    assert any(p.startswith(f"{dropped}: not attached") for p in routes.problems), routes.problems
    outcome = routes.route(Request.from_url("http://api.example.com/", grpc=("pkg.S", "M")))
    assert outcome.route_kind == kept


# --- not found, several gateways --------------------------------------------------------------


@pytest.mark.parametrize(
    ("objects", "url", "reason"),
    [
        (
            [],
            "http://h.example/",
            "no Gateway has a listener on port 80 (Gateways: none)",
        ),
        ([gateway()], "http://h.example:81/", "no Gateway has a listener on port 81"),
        (
            [gateway(listener("tls", 443, "HTTPS"))],
            "http://h.example:443/",
            "no listener on port 443 takes http",
        ),
        (
            [gateway(listener(hostname="*.example.com"))],
            "http://example.com/",
            "no listener hostname on port 80 matches 'example.com'",
        ),
        (
            [gateway()],
            "http://h.example/",
            "no route attached to the listener serves host 'h.example' (0 attached)",
        ),
        (
            [gateway(), route("web", "app", rule(prefix("/api")))],
            "http://h.example/web",
            "HTTPRoute app/web rule 0: path '/web' is not under '/api'",
        ),
        (
            [gateway(listener(source="Same")), route("web", "app")],
            "http://h.example/",
            "HTTPRoute app/web: not attached to gw/edge listener http",
        ),
    ],
    ids=[
        "no-gateway",
        "no-port",
        "wrong-protocol",
        "no-listener-hostname",
        "no-route",
        "no-match",
        "route-refused-by-listener",
    ],
)
def test_not_found(objects: list[dict[str, Any]], url: str, reason: str) -> None:
    outcome = evaluate(objects, url)
    assert (outcome.status, outcome.http_status, outcome.summary()) == (
        "not-found",
        404,
        "404: no route",
    )
    assert reason in reasons(outcome)


def two_gateways() -> list[dict[str, Any]]:
    return [
        gateway(listener(hostname="*.a.example"), name="a", ns="gw"),
        gateway(listener(hostname="*.b.example"), name="b", ns="gw"),
        gateway(listener(), name="c", ns="other"),
        route("web", "app", parents=[{"name": "c", "namespace": "other"}]),
    ]


def test_several_gateways_need_a_choice() -> None:
    routes = Routes.from_objects(
        [*two_gateways()[:2], gateway(listener(hostname="*.a.example"), name="d")]
    )
    with pytest.raises(
        ValueError, match=r"several Gateways take 'http://x.a.example/': gw/a, gw/d"
    ):
        routes.route(Request.from_url("http://x.a.example/"))


def test_gateway_choice() -> None:
    routes = Routes.from_objects(two_gateways())
    assert routes.gateways == ("gw/a", "gw/b", "other/c")
    assert (
        routes.route(Request.from_url("http://x.c.example/"), gateway="other/c").status == "routed"
    )
    assert (
        routes.route(Request.from_url("http://x.c.example/"), gateway="gw/a").status == "not-found"
    )
    with pytest.raises(
        ValueError, match=r"gateway 'gw/zz' is not among the Gateways \(gw/a, gw/b, other/c\)"
    ):
        routes.route(Request.from_url("http://x.c.example/"), gateway="gw/zz")


def test_one_gateway_whose_listener_hostname_matches_is_chosen() -> None:
    objects = two_gateways()[:2]
    assert evaluate(objects, "http://x.b.example/").gateway == "gw/b"


# --- requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kw", "expected"),
    [
        ("http://h.example", {}, ("http", "h.example", 80, "/", (), "GET")),
        (
            "https://H.Example:8443/a?x=1&y=",
            {},
            ("https", "h.example", 8443, "/a", (("x", "1"), ("y", "")), "GET"),
        ),
        ("http://h.example/a/b/../c/./d", {}, ("http", "h.example", 80, "/a/c/d", (), "GET")),
        (
            "http://h.example/%41%2d%7e%2F%c3%a9",
            {},
            ("http", "h.example", 80, "/A-~%2F%C3%A9", (), "GET"),
        ),
        ("http://h.example/a\\b", {}, ("http", "h.example", 80, "/a/b", (), "GET")),
        ("http://h.example/a b", {}, ("http", "h.example", 80, "/a%20b", (), "GET")),
        ("http://h.example/..", {}, ("http", "h.example", 80, "/", (), "GET")),
        (
            "http://h.example/x#frag",
            {"method": "delete"},
            ("http", "h.example", 80, "/x", (), "DELETE"),
        ),
        (
            "http://10.0.0.1:8080/",
            {"headers": [("Host", "shop.example.com:8080")]},
            ("http", "shop.example.com", 8080, "/", (), "GET"),
        ),
        (
            "http://h.example",
            {"grpc": ("pkg.Cart", "Add")},
            ("http", "h.example", 80, "/pkg.Cart/Add", (), "POST"),
        ),
    ],
    ids=[
        "defaults",
        "port-and-query",
        "dot-segments",
        "percent-decoding-unreserved-only",
        "backslash",
        "space-encoded",
        "dot-dot-at-root",
        "fragment-dropped-method-upper",
        "host-header",
        "grpc",
    ],
)
def test_request_from_url(url: str, kw: dict[str, Any], expected: tuple[Any, ...]) -> None:
    r = Request.from_url(url, **kw)
    assert (r.scheme, r.host, r.port, r.path, r.query, r.method) == expected


def test_grpc_request_carries_its_content_type() -> None:
    r = Request.from_url("https://h.example/", grpc=("pkg.Cart", "Add"))
    assert r.header("Content-Type") == "application/grpc"
    assert r.grpc == ("pkg.Cart", "Add")


def test_repeated_headers_are_joined() -> None:
    r = Request.from_url("http://h.example/", headers=[("x-a", "1"), ("X-A", "2")])
    assert r.header("x-a") == "1,2"


@pytest.mark.parametrize(
    ("url", "kw", "message"),
    [
        ("ftp://h.example/", {}, "URL 'ftp://h.example/': scheme 'ftp' must be http or https"),
        ("h.example/path", {}, "URL 'h.example/path': scheme 'none' must be http or https"),
        ("http:///path", {}, "URL 'http:///path' has no host"),
        (
            "http://h.example:99999/",
            {},
            "URL 'http://h.example:99999/': the port must be a number 1-65535",
        ),
        ("http://h.example:abc/", {}, "URL 'http://h.example:abc/': the port must be a number"),
        ("http://h.example:0/", {}, "URL 'http://h.example:0/': port 0 must be 1-65535"),
        (
            "http://h.example/%zz",
            {},
            "URL 'http://h.example/%zz': '%zz' is not a percent-encoded byte",
        ),
        (
            "http://h.example/a%",
            {},
            "URL 'http://h.example/a%': '%' is not a percent-encoded byte",
        ),
        ("http://h.example/%00", {}, "URL 'http://h.example/%00': '%00' is refused"),
        (
            "http://exa mple.com/",
            {},
            "URL 'http://exa mple.com/': host 'exa mple.com' is not a valid hostname",
        ),
        ("http://*.example.com/", {}, "host '*.example.com' is not a valid hostname"),
        (
            "http://h.example/",
            {"headers": [("bad name", "x")]},
            "header name 'bad name' is not a valid",
        ),
        ("http://h.example/", {"method": "GE T"}, "method 'GE T' is not a valid HTTP method"),
        (
            "http://h.example/",
            {"grpc": ("pkg.S", "M"), "method": "GET"},
            "method 'GET': a gRPC call is a POST",
        ),
        ("http://h.example/", {"grpc": ("pkg.S", "")}, "gRPC method '' must be a non-empty name"),
        (
            "http://h.example/",
            {"grpc": ("a/b", "M")},
            "gRPC service 'a/b' must be a non-empty name",
        ),
        (
            "http://h.example/x",
            {"grpc": ("pkg.S", "M")},
            "a gRPC call's path is '/pkg.S/M', not '/x'",
        ),
    ],
    ids=[
        "scheme",
        "no-scheme",
        "no-host",
        "port-too-large",
        "port-not-number",
        "port-zero",
        "bad-percent",
        "truncated-percent",
        "nul",
        "space-in-host",
        "wildcard-host",
        "header-name",
        "method",
        "grpc-not-post",
        "grpc-empty-method",
        "grpc-slash-in-service",
        "grpc-path-conflict",
    ],
)
def test_request_errors(url: str, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Request.from_url(url, **kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"scheme": "ws"}, "scheme 'ws' must be 'http' or 'https'"),
        ({"port": 0}, "port 0 must be 1-65535"),
        ({"path": "x"}, "path 'x' must start with '/'"),
    ],
    ids=["scheme", "port", "path"],
)
def test_request_checks_its_fields(kw: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"scheme": "http", "host": "h", "port": 80, "path": "/"} | kw
    with pytest.raises(ValueError, match=message):
        Request(**fields)


# --- the rendered example -------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop() -> Routes:
    objects, problems = file_objects(platform_file.read_file(ROOT / "examples" / "shop.yaml"))
    assert problems == []
    return Routes.from_objects(objects)


@pytest.mark.parametrize(
    ("url", "status", "listener_name", "route_key", "rule_name", "result"),
    [
        (
            "https://shop.example.com/cart",
            "routed",
            "https-443",
            "shop/edge-frontend-https-443-e9ccc1",
            "shop",
            "routed to Service shop/frontend:8080 (100%)",
        ),
        (
            "https://grafana.example.com/d/x",
            "routed",
            "https-443",
            "monitoring/edge-grafana-https-443-2450f0",
            "grafana",
            "routed to Service monitoring/grafana:3000 (100%)",
        ),
        (
            "http://shop.example.com/cart?id=7",
            "redirect",
            "http-80",
            "ingress/edge-https-redirect",
            None,
            "301: redirect to https://shop.example.com/cart?id=7",
        ),
        (
            "https://www.example.com/a?b=c",
            "redirect",
            "https-443",
            "shop/edge-frontend-https-443-6716ee",
            "www",
            "301: redirect to https://shop.example.com/a?b=c",
        ),
        ("https://nothing.example.com/", "not-found", "https-443", None, None, "404: no route"),
        ("https://example.com/", "not-found", None, None, None, "404: no route"),
    ],
    ids=["shop", "grafana", "http-to-https", "www-to-shop", "unknown-host", "apex"],
)
def test_shop_example(
    shop: Routes,
    url: str,
    status: str,
    listener_name: str | None,
    route_key: str | None,
    rule_name: str | None,
    result: str,
) -> None:
    outcome = shop.route(Request.from_url(url))
    assert outcome.status == status, reasons(outcome)
    assert (outcome.listener, outcome.route, outcome.rule_name) == (
        listener_name,
        route_key,
        rule_name,
    )
    assert outcome.summary() == result
    if listener_name is not None:
        assert outcome.gateway == "ingress/edge"


def test_shop_example_sets_hsts_on_responses(shop: Routes) -> None:
    outcome = shop.route(Request.from_url("https://shop.example.com/"))
    assert outcome.header_changes == (
        HeaderChange("response", "set", "strict-transport-security", "max-age=31536000"),
    )


def test_to_json_is_json(shop: Routes) -> None:
    data = shop.route(Request.from_url("https://shop.example.com/cart")).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["route"] == {
        "kind": "HTTPRoute",
        "namespace": "shop",
        "name": "edge-frontend-https-443-e9ccc1",
    }
    assert data["rule"] == {"index": 0, "name": "shop", "match": 0}
    assert data["backends"] == [
        {
            "group": "",
            "kind": "Service",
            "namespace": "shop",
            "name": "frontend",
            "port": 8080,
            "weight": 1,
            "share": 100.0,
            "problem": None,
            "header_changes": [],
            "request_headers": [],
            "response_changes": [
                {
                    "phase": "response",
                    "action": "set",
                    "name": "strict-transport-security",
                    "value": "max-age=31536000",
                }
            ],
            "notes": [],
        }
    ]
    assert (data["mirrors"], data["timeouts"], data["retry"], data["cors"]) == (
        [],
        None,
        None,
        None,
    )
    assert (data["grpc_status"], data["error_status"]) == (None, "500")
    assert data["forwarded"] == {"host": "shop.example.com", "path": "/cart"}
    assert (data["status"], data["http_status"]) == ("routed", None)


def test_a_list_of_objects_is_read() -> None:
    objects = [{"apiVersion": "v1", "kind": "List", "items": [gateway(), route("web", "app")]}]
    assert evaluate(objects, "http://h.example/").status == "routed"


def test_istio_gateway_kind_is_not_a_gateway_api_gateway() -> None:
    istio = gateway() | {"apiVersion": "networking.istio.io/v1"}
    assert evaluate([istio, route("web", "app")], "http://h.example/").status == "not-found"


def test_many_routes_index_finds_the_right_one() -> None:
    objects: list[dict[str, Any]] = [gateway(listener(hostname="*.example.com"))]
    objects += [
        route(
            f"r{i}",
            "app",
            rule(prefix(f"/p{i % 10}"), backends=[backend(f"s{i}")]),
            hostnames=[f"h{i}.example.com"],
        )
        for i in range(3000)
    ]
    objects.append(
        route("wild", "app", rule(backends=[backend("wild")]), hostnames=["*.example.com"])
    )
    routes = Routes.from_objects(objects)
    assert [
        b.name for b in routes.route(Request.from_url("http://h1234.example.com/p4/x")).backends
    ] == ["s1234"]
    assert [
        b.name for b in routes.route(Request.from_url("http://h1234.example.com/p5")).backends
    ] == ["wild"]
    assert [
        b.name for b in routes.route(Request.from_url("http://a.b.example.com/")).backends
    ] == ["wild"]


def test_a_listener_selector_with_an_unknown_operator_selects_nothing_and_says_why() -> None:
    """The selector is read as :mod:`meshops.semantics.authz` reads a waypoint's."""
    listen = listener(
        source="Selector", selector={"matchExpressions": [{"key": "team", "operator": "Has"}]}
    )
    objects = [gateway(listen), route("web", "app"), namespace("app", team="web")]
    outcome = Routes.from_objects(objects).route(Request.from_url("http://shop.example.com/"))
    assert outcome.status != "routed"
    assert (
        "its selector selects no namespace: allowedRoutes.namespaces.selector"
        ".matchExpressions[0].operator 'Has' is not one of In, NotIn, Exists, DoesNotExist"
    ) in "\n".join(outcome.reasons)
