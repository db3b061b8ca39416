"""Tests for meshops.semantics.routing: how the Gateway API objects are read.

What the API server would have defaulted reads as its default (an HTTPRoute's rules and
matches, a parentRef's group and kind, a listener's allowedRoutes, a header match's
type, CORS ``maxAge``); a field of the wrong type reads as absent; ``List`` objects are
read item by item; a header match names a header once, whatever its case, a query
match names a parameter as written. Each default is the one written in the Gateway API
v1.5.1 CRDs (``src/meshops/crds``).
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.semantics.routing import HeaderChange, Outcome, Request, Retry, Routes

from .test_routing import (
    GROUP,
    backend,
    gateway,
    grpc_match,
    grpc_route,
    listener,
    prefix,
    regex,
    route,
    rule,
)

Obj = dict[str, Any]
HTTP = "listener http (HTTP, port 80, any hostname)"
V1_LIST = f"{GROUP}/v1"


def routes_of(objects: list[Obj]) -> Routes:
    return Routes.from_objects(objects)


def evaluate(objects: list[Obj], url: str = "http://h.example/", **request: Any) -> Outcome:
    return routes_of(objects).route(Request.from_url(url, **request))


def grpc(objects: list[Obj], service: str = "pkg.Cart", method: str = "Add") -> Outcome:
    return evaluate(objects, grpc=(service, method))


# --- Lists ----------------------------------------------------------------------------------


def test_typed_lists_are_read_item_by_item() -> None:
    objects = [
        {"apiVersion": V1_LIST, "kind": "GatewayList", "items": [gateway(), "junk"]},
        {"apiVersion": V1_LIST, "kind": "HTTPRouteList", "items": [route("web", "app")]},
    ]
    assert (evaluate(objects).status, evaluate(objects).route) == ("routed", "app/web")


def test_a_list_without_items_reads_as_nothing() -> None:
    objects = [gateway(), {"apiVersion": "v1", "kind": "List", "items": "x"}]
    assert evaluate(objects).status == "not-found"


# --- what the API server defaults -------------------------------------------------------


def test_a_route_without_a_namespace_is_in_default() -> None:
    web = route("web", "app")
    del web["metadata"]["namespace"]
    outcome = evaluate([gateway(), web])
    assert (outcome.route, outcome.backends[0].namespace) == ("default/web", "default")


def test_an_httproute_without_rules_has_the_default_rule() -> None:
    """spec.rules defaults to one rule matching PathPrefix /: here without backends."""
    web = route("web", "app")
    del web["spec"]["rules"]
    outcome = evaluate([gateway(), web], "http://h.example/any")
    assert (outcome.status, outcome.rule_index, outcome.match_index) == ("no-backend", 0, 0)


def test_a_grpcroute_without_rules_serves_nothing() -> None:
    """A GRPCRoute's rules have no default: a route without them matches no call."""
    cart = grpc_route("cart")
    del cart["spec"]["rules"]
    outcome = grpc([gateway(), cart])
    assert outcome.status == "not-found"
    assert outcome.reasons[2:] == (
        "1 route(s) serve host 'h.example'; no match accepts the request:",
        "  GRPCRoute app/cart: no rule (none given, or each ignored: see the problems)",
    )


def test_a_rule_without_matches_has_the_default_match() -> None:
    """HTTPRoute: matches default to PathPrefix / (match 0); GRPCRoute: none, any call."""
    http = evaluate([gateway(), route("web", "app", rule())], "http://h.example/x")
    assert (http.rule_index, http.match_index) == (0, 0)
    call = grpc([gateway(), grpc_route("cart", rule())])
    assert (call.status, call.rule_index, call.match_index) == ("routed", 0, None)


@pytest.mark.parametrize(("path", "served"), [("/", True), ("/x", False)])
def test_a_path_match_without_a_value_is_slash(path: str, served: bool) -> None:
    match = {"path": {"type": "Exact"}}
    outcome = evaluate([gateway(), route("web", "app", rule(match))], f"http://h.example{path}")
    assert (outcome.status == "routed") is served


@pytest.mark.parametrize(
    ("parent", "attached"),
    [
        pytest.param({"name": "edge", "namespace": "gw"}, True, id="group-and-kind-defaulted"),
        pytest.param({"name": "edge", "namespace": "gw", "kind": "Service"}, False, id="kind"),
        pytest.param(
            {"name": "edge", "namespace": "gw", "group": "example.com"}, False, id="group"
        ),
    ],
)
def test_a_parent_ref_is_a_gateway_unless_it_says_otherwise(parent: Obj, attached: bool) -> None:
    routes = routes_of([gateway(), route("web", "app", parents=[parent])])
    outcome = routes.route(Request.from_url("http://h.example/"))
    assert (outcome.status == "routed") is attached
    if not attached:
        kind = parent.get("kind", "Gateway")
        assert routes.problems == (
            f"HTTPRoute app/web: parentRef {kind} 'edge' is not a Gateway: not evaluated",
        )


LISTENER = {"name": "http", "port": 80, "protocol": "HTTP"}
NOT_SAME = (
    f"HTTPRoute app/web: not attached to gw/edge {HTTP}: allowedRoutes from Same:"
    " namespace 'app' is not its own"
)
ATTACHMENT_CASES = [
    # (id, listener, whether a route in app, then one in gw, attaches, problem for app)
    ("no-allowed-routes", LISTENER, False, True, NOT_SAME),
    ("from-left-out", {**LISTENER, "allowedRoutes": {"namespaces": {}}}, False, True, NOT_SAME),
    (
        "selector-without-selector",
        {**LISTENER, "allowedRoutes": {"namespaces": {"from": "Selector"}}},
        False,
        False,
        f"HTTPRoute app/web: not attached to gw/edge {HTTP}: allowedRoutes from Selector"
        " sets no selector: it selects no namespace",
    ),
    (
        "kind-group-defaulted",
        {
            **LISTENER,
            "allowedRoutes": {"namespaces": {"from": "All"}, "kinds": [{"kind": "HTTPRoute"}]},
        },
        True,
        True,
        None,
    ),
    (
        "kind-of-another-group",
        {
            **LISTENER,
            "allowedRoutes": {
                "namespaces": {"from": "All"},
                "kinds": [{"group": "example.com", "kind": "HTTPRoute"}],
            },
        },
        False,
        False,
        f"HTTPRoute app/web: not attached to gw/edge {HTTP}: it allows [], not HTTPRoute",
    ),
    (
        "unknown-protocol-takes-no-kind",
        {
            **LISTENER,
            "protocol": "example.com/h3",
            "allowedRoutes": {"namespaces": {"from": "All"}},
        },
        False,
        False,
        "HTTPRoute app/web: not attached to gw/edge listener http (example.com/h3, port 80,"
        " any hostname): it allows [], not HTTPRoute",
    ),
]


@pytest.mark.parametrize(
    ("raw", "app", "gw", "problem"), [pytest.param(*c[1:], id=c[0]) for c in ATTACHMENT_CASES]
)
def test_what_a_listener_admits_by_default(
    raw: Obj, app: bool, gw: bool, problem: str | None
) -> None:
    routes = routes_of([gateway(raw), route("web", "app"), route("web", "gw", hostnames=["g"])])
    assert (routes.route(Request.from_url("http://h.example/")).status == "routed") is app
    assert (routes.route(Request.from_url("http://g/")).status == "routed") is gw
    assert (problem in routes.problems) if problem else not routes.problems


# --- matches: names, once each ------------------------------------------------------------


def header(name: str, value: str) -> Obj:
    return {"name": name, "value": value}


MATCH_CASES = [
    # (id, the match, the request's headers, query, whether it is served)
    (
        "header-named-twice-any-case",
        {"headers": [header("X-Env", "a"), header("x-env", "b")]},
        {"x-env": "a"},
        "",
        True,
    ),
    (
        "header-after-a-repeat-counts",
        {"headers": [header("X-Env", "a"), header("x-env", "b"), header("x-v", "1")]},
        {"x-env": "a", "x-v": "2"},
        "",
        False,
    ),
    (
        "query-names-are-case-sensitive",
        {"queryParams": [header("a", "1"), header("A", "2")]},
        {},
        "?a=1",
        False,
    ),
    (
        "query-both-names",
        {"queryParams": [header("a", "1"), header("A", "2")]},
        {},
        "?a=1&A=2",
        True,
    ),
    ("query-named-twice", {"queryParams": [header("a", "1"), header("a", "2")]}, {}, "?a=1", True),
    (
        "header-type-defaults-to-exact",
        {"headers": [header("x-env", "a.*")]},
        {"x-env": "ab"},
        "",
        False,
    ),
    (
        "header-value-wrong-type-is-empty",
        {"headers": [{"name": "x-env", "value": 7}]},
        {"x-env": ""},
        "",
        True,
    ),
]


@pytest.mark.parametrize(
    ("match", "headers", "query", "served"), [pytest.param(*c[1:], id=c[0]) for c in MATCH_CASES]
)
def test_header_and_query_matches_name_each_once(
    match: Obj, headers: dict[str, str], query: str, served: bool
) -> None:
    objects = [gateway(), route("web", "app", rule(match))]
    outcome = evaluate(objects, f"http://h.example/{query}", headers=list(headers.items()))
    assert (outcome.status == "routed") is served


def test_grpc_header_matches_name_each_once_any_case() -> None:
    match = grpc_match("pkg.Cart", headers=[header("X-Env", "a"), header("x-env", "b")])
    outcome = evaluate(
        [gateway(), grpc_route("cart", rule(match))],
        grpc=("pkg.Cart", "Add"),
        headers=[("x-env", "a")],
    )
    assert outcome.status == "routed"


def test_a_grpc_method_match_type_defaults_to_exact() -> None:
    match = {"method": {"service": "pkg.Cart"}}
    objects = [gateway(), grpc_route("cart", rule(match))]
    assert grpc(objects).status == "routed"
    assert grpc(objects, "pkg.CartX").status == "not-found"


BAD_REGEX_CASES = [
    pytest.param(
        regex("/("), "path: regex '/(' is not one RE2 (Envoy) accepts: missing ): /(", id="path"
    ),
    pytest.param(
        {"headers": [{"name": "x-a", "type": "RegularExpression", "value": "("}]},
        "x-a: regex '(' is not one RE2 (Envoy) accepts: missing ): (",
        id="header",
    ),
]


@pytest.mark.parametrize(("match", "problem"), BAD_REGEX_CASES)
def test_a_bad_regex_is_named_with_its_field(match: Obj, problem: str) -> None:
    routes = routes_of([gateway(), route("web", "app", rule(match))])
    assert routes.problems == (f"HTTPRoute app/web rule 0: {problem}; rule ignored",)


def test_a_bad_grpc_method_regex_is_named_with_its_field() -> None:
    match = grpc_match("pkg.(", type="RegularExpression")
    routes = routes_of([gateway(), grpc_route("cart", rule(match))])
    assert routes.problems == (
        "GRPCRoute app/cart rule 0: method.service: regex 'pkg.(' is not one RE2 (Envoy)"
        " accepts: missing ): pkg.(; rule ignored",
    )


# --- filters ----------------------------------------------------------------------------


def test_an_unknown_filter_is_said_and_the_rest_applies() -> None:
    filters = [
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {"set": [header("x-r", "1")]},
        },
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [header("x-q", "2")]}},
        {"type": "ExtensionRef", "extensionRef": {"group": "x", "kind": "Y", "name": "z"}},
    ]
    outcome = evaluate([gateway(), route("web", "app", rule(filters=filters))])
    assert outcome.header_changes == (
        HeaderChange("response", "set", "x-r", "1"),
        HeaderChange("request", "add", "x-q", "2"),
    )
    assert "HTTPRoute app/web rule 0: filter 'ExtensionRef' not evaluated" in outcome.reasons


@pytest.mark.parametrize(("given", "max_age"), [({"maxAge": 600}, 600), ({"maxAge": "600"}, 5)])
def test_cors_max_age_is_read_and_else_five(given: Obj, max_age: int) -> None:
    cors = {"type": "CORS", "cors": {"allowOrigins": ["https://a.example"], **given}}
    outcome = evaluate([gateway(), route("web", "app", rule(filters=[cors]))])
    assert outcome.cors is not None and outcome.cors.max_age == max_age


def test_a_mirror_fraction_without_numerator_mirrors_nothing() -> None:
    mirror = {
        "type": "RequestMirror",
        "requestMirror": {"backendRef": backend("shadow"), "fraction": {"denominator": 10}},
    }
    (copy,) = evaluate([gateway(), route("web", "app", rule(filters=[mirror]))]).mirrors
    assert copy.percent == 0.0


@pytest.mark.parametrize(
    ("ref", "kind", "problem"),
    [
        pytest.param(backend("shadow"), "Service", None, id="kind-defaulted"),
        pytest.param(
            backend("shadow", kind="ConfigMap"),
            "ConfigMap",
            "InvalidKind: core/ConfigMap is not a supported backend",
            id="kind",
        ),
        pytest.param(
            backend("shadow", group="example.com", kind="Service"),
            "Service",
            "InvalidKind: example.com/Service is not a supported backend",
            id="group",
        ),
    ],
)
def test_a_mirror_backend_is_a_core_service_unless_it_says_otherwise(
    ref: Obj, kind: str, problem: str | None
) -> None:
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": ref}}
    (copy,) = evaluate([gateway(), route("web", "app", rule(filters=[mirror]))]).mirrors
    assert (copy.kind, copy.problem) == (kind, problem)


def test_a_replace_full_path_without_a_value_is_slash() -> None:
    rewrite = {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath"}}}
    outcome = evaluate([gateway(), route("web", "app", rule(filters=[rewrite]))], "http://h/a/b")
    assert outcome.path == "/"


def test_a_grpc_rule_has_no_timeouts_nor_retry() -> None:
    """Only an HTTPRoute rule has ``timeouts`` and ``retry``."""
    raw = {**rule(), "timeouts": {"request": "5s"}, "retry": {"attempts": 2}}
    http = evaluate([gateway(), route("web", "app", raw)])
    assert (http.timeouts is None, http.retry) == (False, Retry(2, None, ()))
    call = grpc([gateway(), grpc_route("cart", raw)])
    assert (call.status, call.timeouts, call.retry) == ("routed", None, None)


# --- a field of the wrong type reads as absent ----------------------------------------------


def test_a_retry_reads_only_integer_codes() -> None:
    raw = {**rule(), "retry": {"attempts": 2, "codes": [503, "502", True]}}
    assert evaluate([gateway(), route("web", "app", raw)]).retry == Retry(2, None, (503,))
    raw = {**rule(), "retry": {"attempts": 2, "codes": 503}}
    assert evaluate([gateway(), route("web", "app", raw)]).retry == Retry(2, None, ())


WRONG_TYPE_CASES = [
    # (id, the backendRef, its weight and port as read)
    ("weight-text", backend(weight="5"), 1, 80),
    ("weight-bool", backend(weight=True), 1, 80),
    ("port-text", backend(port="80"), 1, None),
]


@pytest.mark.parametrize(
    ("ref", "weight", "port"), [pytest.param(*c[1:], id=c[0]) for c in WRONG_TYPE_CASES]
)
def test_a_backend_field_of_the_wrong_type_reads_as_absent(
    ref: Obj, weight: int, port: int | None
) -> None:
    (found,) = evaluate([gateway(), route("web", "app", rule(backends=[ref]))]).backends
    assert (found.weight, found.port) == (weight, port)


def test_a_rule_name_or_hostname_of_the_wrong_type_reads_as_absent() -> None:
    objects = [
        gateway(listener(hostname=7)),  # type: ignore[arg-type]
        route("web", "app", rule(name="")),
    ]
    outcome = evaluate(objects)
    assert (outcome.status, outcome.rule_name) == ("routed", None)
    assert outcome.reasons[1].startswith(HTTP)


def test_an_unreadable_creation_timestamp_is_said() -> None:
    routes = routes_of([gateway(), route("web", "app", created="yesterday")])
    assert routes.problems == ("app/web: creationTimestamp 'yesterday' ignored",)


def test_a_listener_without_a_port_takes_no_request() -> None:
    raw = {"name": "http", "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}
    outcome = evaluate([gateway(raw), route("web", "app")], "http://h.example:1/")
    assert outcome.reasons == ("no Gateway has a listener on port 1 (Gateways: gw/edge)",)


def test_a_match_is_described_with_each_of_its_parts() -> None:
    headers = [header("x-a", "1"), {"name": "x-b", "type": "RegularExpression", "value": "b.*"}]
    match = {
        **prefix("/a"),
        "method": "GET",
        "headers": headers,
        "queryParams": [header("q", "1")],
    }
    objects = [gateway(), route("web", "app", rule(match))]
    outcome = evaluate(
        objects, "http://h.example/a?q=1", method="GET", headers=[("x-a", "1"), ("x-b", "bb")]
    )
    assert outcome.reasons[3] == (
        "rule 0: match 0 (PathPrefix '/a', method GET, header x-a='1', header x-b~'b.*',"
        " query q='1') accepts the request"
    )
