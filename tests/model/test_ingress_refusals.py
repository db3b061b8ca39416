"""model.ingress: each refusal's full message, and each limit at its edge.

Every refusal names the field and quotes the value; each limit the Gateway API CRDs
set (16 hostnames, 64 matches, 16 headers, 63-character labels, ...) is accepted at
the limit and refused one past it; header names compare case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from meshops.model.ingress import (
    LOG_LEVELS,
    Backend,
    GatewayConfig,
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
    check_hostname,
    check_route_name,
    hostnames_intersect,
)

from .test_ingress import PREFIX, B


def refuses(make: Callable[[], object], message: str) -> None:
    """``make`` raises ValueError with ``message``, in full."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()


def route(**given: Any) -> Route:
    """An HTTP route on the web ports, with ``given`` in place of its defaults."""
    fields: dict[str, Any] = {
        "name": "web",
        "protocol": Protocol.HTTP,
        "port": None,
        "backends": B,
    }
    return Route(**(fields | given))


def label(length: int) -> str:
    """A DNS label of ``length`` characters."""
    return "a" + "b" * (length - 1)


def hostname(length: int) -> str:
    """A hostname of ``length`` characters (at least 3), in labels of at most 63."""
    labels: list[str] = []
    left = length
    while left > 64:
        labels.append("a" * 63)
        left -= 64
    labels.append("b" * left)
    return ".".join(labels)


def modifier_pairs(count: int) -> tuple[tuple[str, str], ...]:
    return tuple((f"x-h{i}", "v") for i in range(count))


def header_matches(count: int) -> tuple[HeaderMatch, ...]:
    return tuple(HeaderMatch(f"x-h{i}", "v") for i in range(count))


def backends(count: int) -> tuple[Backend, ...]:
    return tuple(Backend("api", 8000 + i) for i in range(count))


# --- hostnames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wildcard"),
    [
        pytest.param("*.example.com", True, id="wildcard"),
        pytest.param("example.com", False, id="plain-without-wildcards"),
        pytest.param(hostname(253), True, id="253-chars"),
        pytest.param("1.example.com", True, id="a-numeric-label-among-others"),
        pytest.param("x1", False, id="digits-and-letters"),
    ],
)
def test_check_hostname_returns_a_hostname(name: str, wildcard: bool) -> None:
    assert check_hostname(name, "host", wildcard=wildcard) == name


WITH_WILDCARD = "must be a lowercase RFC 1123 hostname with an optional leading '*.'"
NO_WILDCARD = "must be a lowercase RFC 1123 hostname without wildcards"


@pytest.mark.parametrize(
    ("name", "wildcard", "message"),
    [
        pytest.param("UPPER.io", True, f"host: 'UPPER.io' {WITH_WILDCARD}", id="uppercase"),
        pytest.param(7, True, f"host: 7 {WITH_WILDCARD}", id="not-a-string"),
        pytest.param(None, True, f"host: None {WITH_WILDCARD}", id="none"),
        pytest.param(
            hostname(254), True, f"host: {hostname(254)!r} {WITH_WILDCARD}", id="254-chars"
        ),
        pytest.param("*.x.io", False, f"host: '*.x.io' {NO_WILDCARD}", id="wildcard-refused"),
        pytest.param("a.*.io", True, f"host: 'a.*.io' {WITH_WILDCARD}", id="inner-wildcard"),
        pytest.param(
            "10.0.0.1", True, "host: '10.0.0.1' is an IP address, not a hostname", id="ipv4"
        ),
        pytest.param("10", False, "host: '10' is an IP address, not a hostname", id="one-number"),
        pytest.param(
            "*.10.0.0.1",
            True,
            "host: '*.10.0.0.1' is an IP address, not a hostname",
            id="wildcard-over-an-address",
        ),
    ],
)
def test_check_hostname_refusal_names_field_and_value(
    name: object, wildcard: bool, message: str
) -> None:
    refuses(lambda: check_hostname(name, "host", wildcard=wildcard), message)


def test_check_hostname_allows_wildcards_by_default() -> None:
    assert check_hostname("*.a.io", "host") == "*.a.io"


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        # a wildcard covers whole labels only
        pytest.param("*.example.com", "xexample.com", False, id="wildcard-vs-label-suffix"),
        pytest.param("*.example.com", "*.xexample.com", False, id="wildcards-label-suffix"),
        pytest.param("*.example.com", "*.example.com", True, id="same-wildcard"),
        pytest.param("a.example.com", "*.a.example.com", False, id="name-vs-its-own-wildcard"),
    ],
)
def test_hostnames_intersect_on_whole_labels(a: str, b: str, meet: bool) -> None:
    assert hostnames_intersect(a, b) is meet
    assert hostnames_intersect(b, a) is meet


@pytest.mark.parametrize(
    "name", [pytest.param("a", id="1-char"), pytest.param(label(63), id="63-chars")]
)
def test_check_route_name_returns_a_dns_label(name: str) -> None:
    assert check_route_name(name, "name") == name


ROUTE_NAME = "must be 1-63 lowercase letters, digits and '-'"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(label(64), f"name: route name {label(64)!r} {ROUTE_NAME}", id="64-chars"),
        pytest.param("", f"name: route name '' {ROUTE_NAME}", id="empty"),
        pytest.param(7, f"name: route name 7 {ROUTE_NAME}", id="not-a-string"),
        pytest.param("a-", f"name: route name 'a-' {ROUTE_NAME}", id="trailing-dash"),
    ],
)
def test_check_route_name_refusal(name: object, message: str) -> None:
    refuses(lambda: check_route_name(name, "name"), message)


# --- matches -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: PathMatch(PathMatchType.Exact, "/" + "a" * 1023), id="1024-chars"),
        # a regex is checked as a regex, not as a path
        pytest.param(
            lambda: PathMatch(PathMatchType.RegularExpression, "/a b"), id="regex-not-a-path"
        ),
        pytest.param(lambda: HeaderMatch("x" * 256, "v"), id="header-name-256-chars"),
        pytest.param(lambda: HeaderMatch("x", "v" * 4096), id="header-value-4096-chars"),
        pytest.param(lambda: HeaderMatch("x", "a\tb"), id="header-value-tab"),
        pytest.param(lambda: HeaderMatch("x", " ~"), id="header-value-space-and-tilde"),
        pytest.param(lambda: HeaderMatch("x", "\x80é\ud7ff\ue000"), id="header-value-non-ascii"),
        pytest.param(lambda: HeaderMatch("x", "("), id="exact-value-not-a-regex"),
        pytest.param(lambda: HeaderMatch("!#$%&'*+-.^_`|~", "v"), id="header-name-token-chars"),
        pytest.param(lambda: HTTPMatch(headers=header_matches(16)), id="16-header-matches"),
        pytest.param(lambda: GRPCMatch(headers=header_matches(16)), id="16-grpc-metadata"),
        pytest.param(lambda: GRPCMatch(service=".shop.v1.Cart"), id="grpc-leading-dot"),
        pytest.param(lambda: GRPCMatch(service="_s", method="_m1"), id="grpc-underscores"),
        pytest.param(
            lambda: GRPCMatch(service="s" * 1024, method="m" * 1024), id="grpc-1024-chars"
        ),
    ],
)
def test_match_accepted(make: Callable[[], object]) -> None:
    make()


HEADER_NAME = "must be an HTTP token of 1-256 characters"
HEADER_VALUE = "must be 1-4096 visible characters"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: PathMatch("Exact", "/"),  # type: ignore[arg-type]
            "path.type: 'Exact' is not one of Exact, PathPrefix, ...",
            id="path-type-a-string",
        ),
        pytest.param(
            lambda: PathMatch(PathMatchType.Exact, ""),
            "path.value: '' must be a string of 1-1024 chars",
            id="path-empty",
        ),
        pytest.param(
            lambda: PathMatch(PathMatchType.Exact, "/" + "a" * 1024),
            f"path.value: {'/' + 'a' * 1024!r} must be a string of 1-1024 chars",
            id="path-1025-chars",
        ),
        pytest.param(
            lambda: PathMatch(PathMatchType.PathPrefix, 7),  # type: ignore[arg-type]
            "path.value: 7 must be a string of 1-1024 chars",
            id="path-not-a-string",
        ),
        pytest.param(
            lambda: PathMatch(PathMatchType.Exact, "^/v1"),
            "path.value: path '^/v1' must start with '/'",
            id="exact-path-checked-as-a-path",
        ),
        pytest.param(
            lambda: PathMatch(PathMatchType.RegularExpression, "("),
            "path.value: regex '(' is not one RE2 (Envoy) accepts: missing ): (",
            id="path-regex",
        ),
        pytest.param(
            lambda: HeaderMatch("bad header", "x"),
            f"headers: header name 'bad header' {HEADER_NAME}",
            id="header-name-not-a-token",
        ),
        pytest.param(
            lambda: HeaderMatch("", "x"), f"headers: header name '' {HEADER_NAME}", id="name-empty"
        ),
        pytest.param(
            lambda: HeaderMatch("x" * 257, "x"),
            f"headers: header name {'x' * 257!r} {HEADER_NAME}",
            id="header-name-257-chars",
        ),
        pytest.param(
            lambda: HeaderMatch(7, "x"),  # type: ignore[arg-type]
            f"headers: header name 7 {HEADER_NAME}",
            id="header-name-not-a-string",
        ),
        pytest.param(
            lambda: HeaderMatch("X-A", ""),
            f"headers['X-A']: header value '' {HEADER_VALUE}",
            id="header-value-empty",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "v" * 4097),
            f"headers['x']: header value {'v' * 4097!r} {HEADER_VALUE}",
            id="header-value-4097-chars",
        ),
        pytest.param(
            lambda: HeaderMatch("x", 7),  # type: ignore[arg-type]
            f"headers['x']: header value 7 {HEADER_VALUE}",
            id="header-value-not-a-string",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "a\x1fb"),
            f"headers['x']: header value 'a\\x1fb' {HEADER_VALUE}",
            id="header-value-unit-separator",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "\x00"),
            f"headers['x']: header value '\\x00' {HEADER_VALUE}",
            id="header-value-nul",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "a\x7f"),
            f"headers['x']: header value 'a\\x7f' {HEADER_VALUE}",
            id="header-value-delete",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "\udfff"),
            f"headers['x']: header value '\\udfff' {HEADER_VALUE}",
            id="header-value-last-surrogate",
        ),
        pytest.param(
            lambda: HeaderMatch("x", "\ud800"),
            f"headers['x']: header value '\\ud800' {HEADER_VALUE}",
            id="header-value-first-surrogate",
        ),
        pytest.param(
            lambda: HeaderMatch("x-v", "(", HeaderMatchType.RegularExpression),
            "headers['x-v']: regex '(' is not one RE2 (Envoy) accepts: missing ): (",
            id="header-regex",
        ),
        pytest.param(
            lambda: HTTPMatch(headers=header_matches(17)),
            "headers: 17 header matches, at most 16",
            id="17-header-matches",
        ),
        pytest.param(
            lambda: HTTPMatch(headers=(HeaderMatch("X-Env", "1"), HeaderMatch("x-eNV", "2"))),
            "headers: 'x-eNV' is matched twice",
            id="header-matched-twice-whatever-its-case",
        ),
        pytest.param(
            lambda: GRPCMatch(headers=header_matches(17)),
            "headers: 17 header matches, at most 16",
            id="17-grpc-metadata",
        ),
        pytest.param(
            lambda: GRPCMatch(headers=(HeaderMatch("k", "1"), HeaderMatch("K", "2"))),
            "headers: 'K' is matched twice",
            id="grpc-metadata-matched-twice",
        ),
        pytest.param(
            lambda: GRPCMatch(service="not a service"),
            "method.service: 'not a service' is not a gRPC service name",
            id="grpc-service",
        ),
        pytest.param(
            lambda: GRPCMatch(service="a..b"),
            "method.service: 'a..b' is not a gRPC service name",
            id="grpc-service-empty-part",
        ),
        pytest.param(
            lambda: GRPCMatch(method="Get/All"),
            "method.method: 'Get/All' is not a gRPC method name",
            id="grpc-method",
        ),
        pytest.param(
            lambda: GRPCMatch(method="a.b"),
            "method.method: 'a.b' is not a gRPC method name",
            id="grpc-method-dotted",
        ),
        pytest.param(
            lambda: GRPCMatch(service="s" * 1025),
            f"method.service: {'s' * 40!r}... is over 1024 characters",
            id="grpc-service-1025-chars",
        ),
        pytest.param(
            lambda: GRPCMatch(method="m" * 1025),
            f"method.method: {'m' * 40!r}... is over 1024 characters",
            id="grpc-method-1025-chars",
        ),
    ],
)
def test_match_refusal_names_field_and_value(make: Callable[[], object], message: str) -> None:
    refuses(make, message)


def test_a_regex_match_compiles_its_value_and_an_exact_one_does_not() -> None:
    path = PathMatch(PathMatchType.RegularExpression, "/v[0-9]+")
    assert path.regex is not None
    assert path.regex.pattern == "/v[0-9]+"
    assert path.regex.fullmatch("/v12")
    assert PathMatch(PathMatchType.PathPrefix, "/v1").regex is None
    header = HeaderMatch("x-v", "1\\.[0-9]", HeaderMatchType.RegularExpression)
    assert header.regex is not None
    assert header.regex.pattern == "1\\.[0-9]"
    assert header.regex.fullmatch("1.5")
    assert HeaderMatch("x-v", "1").regex is None


def test_an_http_match_without_a_path_matches_every_path() -> None:
    assert HTTPMatch().effective_path == PathMatch(PathMatchType.PathPrefix, "/")
    assert HTTPMatch(PREFIX).effective_path == PREFIX


def test_a_header_match_is_exact_by_default() -> None:
    assert HeaderMatch("x", "v").type is HeaderMatchType.Exact


# --- filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: URLRewrite(hostname="a.io"), id="rewrite-hostname-only"),
        pytest.param(
            lambda: URLRewrite(path=PathModifier(PathModifierType.ReplaceFullPath, "/x")),
            id="rewrite-path-only",
        ),
        pytest.param(lambda: RequestRedirect(), id="redirect-defaults"),
        pytest.param(lambda: RequestRedirect(scheme="http"), id="redirect-http"),
        pytest.param(lambda: RequestRedirect(scheme="https"), id="redirect-https"),
        pytest.param(lambda: RequestRedirect(hostname="a.io", port=1), id="redirect-host-port"),
        pytest.param(lambda: RequestRedirect(status_code=301), id="redirect-301"),
        pytest.param(lambda: RequestRedirect(status_code=302), id="redirect-302"),
        pytest.param(lambda: RequestRedirect(status_code=303), id="redirect-303"),
        pytest.param(lambda: RequestRedirect(status_code=307), id="redirect-307"),
        pytest.param(lambda: RequestRedirect(status_code=308), id="redirect-308"),
        pytest.param(lambda: HeaderModifier(set=(("x-a", "1"),)), id="set-only"),
        pytest.param(lambda: HeaderModifier(add=(("x-a", "1"),)), id="add-only"),
        pytest.param(lambda: HeaderModifier(remove=("x-a",)), id="remove-only"),
        pytest.param(lambda: HeaderModifier(set=modifier_pairs(16)), id="set-16"),
        pytest.param(lambda: HeaderModifier(add=modifier_pairs(16)), id="add-16"),
        pytest.param(
            lambda: HeaderModifier(remove=tuple(n for n, _ in modifier_pairs(16))), id="remove-16"
        ),
        # each list on its own: a header may be set and also removed
        pytest.param(
            lambda: HeaderModifier(set=(("x-a", "1"),), add=(("X-A", "2"),), remove=("x-a",)),
            id="one-name-in-each-list",
        ),
    ],
)
def test_filter_accepted(make: Callable[[], object]) -> None:
    make()


def test_a_redirect_is_permanent_by_default() -> None:
    assert RequestRedirect().status_code == 301


@pytest.mark.parametrize("response", [False, True])
def test_a_header_modifier_names_its_gateway_api_field(response: bool) -> None:
    field = "responseHeaderModifier" if response else "requestHeaderModifier"
    assert HeaderModifier(remove=("x",), response=response).field == field


def test_a_header_modifier_changes_requests_by_default() -> None:
    assert HeaderModifier(remove=("x",)).field == "requestHeaderModifier"


EACH_ONCE = "at most 16 headers, each once"
STATUS = "must be 301, 302, 303, 307 or 308"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: URLRewrite(), "urlRewrite: needs a hostname or a path", id="rewrite-nothing"
        ),
        pytest.param(
            lambda: URLRewrite(hostname="*.x.io"),
            f"urlRewrite.hostname: '*.x.io' {NO_WILDCARD}",
            id="rewrite-wildcard",
        ),
        pytest.param(
            lambda: URLRewrite(hostname="10.0.0.1"),
            "urlRewrite.hostname: '10.0.0.1' is an IP address, not a hostname",
            id="rewrite-address",
        ),
        pytest.param(
            lambda: RequestRedirect(scheme="HTTPS"),
            "requestRedirect.scheme: 'HTTPS' must be http or https",
            id="redirect-scheme-uppercase",
        ),
        pytest.param(
            lambda: RequestRedirect(scheme=""),
            "requestRedirect.scheme: '' must be http or https",
            id="redirect-scheme-empty",
        ),
        pytest.param(
            lambda: RequestRedirect(hostname="*.x.io"),
            f"requestRedirect.hostname: '*.x.io' {NO_WILDCARD}",
            id="redirect-wildcard",
        ),
        pytest.param(
            lambda: RequestRedirect(port=0),
            "requestRedirect.port: port 0 must be an integer 1-65535",
            id="redirect-port-0",
        ),
        pytest.param(
            lambda: RequestRedirect(status_code=300),
            f"requestRedirect.statusCode: 300 {STATUS}",
            id="redirect-300",
        ),
        pytest.param(
            lambda: RequestRedirect(status_code=304),
            f"requestRedirect.statusCode: 304 {STATUS}",
            id="redirect-304",
        ),
        pytest.param(
            lambda: RequestRedirect(status_code=309),
            f"requestRedirect.statusCode: 309 {STATUS}",
            id="redirect-309",
        ),
        pytest.param(
            lambda: RequestRedirect(status_code="301"),  # type: ignore[arg-type]
            f"requestRedirect.statusCode: '301' {STATUS}",
            id="redirect-status-a-string",
        ),
        pytest.param(
            lambda: HeaderModifier(response=True),
            "responseHeaderModifier: needs headers to set, add or remove",
            id="response-modifier-empty",
        ),
        pytest.param(
            lambda: HeaderModifier(set=(("a b", "1"),)),
            f"requestHeaderModifier.set: header name 'a b' {HEADER_NAME}",
            id="set-name",
        ),
        pytest.param(
            lambda: HeaderModifier(add=(("a b", "1"),), response=True),
            f"responseHeaderModifier.add: header name 'a b' {HEADER_NAME}",
            id="response-add-name",
        ),
        pytest.param(
            lambda: HeaderModifier(set=(("X-A", "a\nb"),)),
            f"requestHeaderModifier.set['X-A']: header value 'a\\nb' {HEADER_VALUE}",
            id="set-value",
        ),
        pytest.param(
            lambda: HeaderModifier(add=(("x-a", "1"), ("X-B", "")), response=True),
            f"responseHeaderModifier.add['X-B']: header value '' {HEADER_VALUE}",
            id="response-add-value",
        ),
        pytest.param(
            lambda: HeaderModifier(remove=("a b",)),
            f"requestHeaderModifier.remove: header name 'a b' {HEADER_NAME}",
            id="remove-name",
        ),
        pytest.param(
            lambda: HeaderModifier(set=modifier_pairs(17)),
            f"requestHeaderModifier.set: {EACH_ONCE}",
            id="set-17",
        ),
        pytest.param(
            lambda: HeaderModifier(add=modifier_pairs(17), response=True),
            f"responseHeaderModifier.add: {EACH_ONCE}",
            id="add-17",
        ),
        pytest.param(
            lambda: HeaderModifier(remove=tuple(n for n, _ in modifier_pairs(17))),
            f"requestHeaderModifier.remove: {EACH_ONCE}",
            id="remove-17",
        ),
        pytest.param(
            lambda: HeaderModifier(set=(("X-A", "1"), ("x-a", "2"))),
            f"requestHeaderModifier.set: {EACH_ONCE}",
            id="set-twice-whatever-the-case",
        ),
        pytest.param(
            lambda: HeaderModifier(add=(("x-a", "1"), ("X-a", "2"))),
            f"requestHeaderModifier.add: {EACH_ONCE}",
            id="add-twice-whatever-the-case",
        ),
        pytest.param(
            lambda: HeaderModifier(remove=("X-A", "x-A"), response=True),
            f"responseHeaderModifier.remove: {EACH_ONCE}",
            id="remove-twice-whatever-the-case",
        ),
    ],
)
def test_filter_refusal_names_field_and_value(make: Callable[[], object], message: str) -> None:
    refuses(make, message)


# --- backends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Backend(label(63), 80), id="service-63-chars"),
        pytest.param(lambda: Backend("a", 80), id="service-1-char"),
        pytest.param(lambda: Backend("a-1", 80, weight=None, namespace="b-2"), id="dashes"),
    ],
)
def test_backend_accepted(make: Callable[[], object]) -> None:
    make()


SERVICE = (
    "must be a Service name (RFC 1035 label: a letter, then up to 62 lowercase letters, "
    "digits and '-')"
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: Backend(label(64), 80),
            f"backends: service {label(64)!r} {SERVICE}",
            id="service-64-chars",
        ),
        pytest.param(
            lambda: Backend(7, 80),  # type: ignore[arg-type]
            f"backends: service 7 {SERVICE}",
            id="service-not-a-string",
        ),
        pytest.param(
            lambda: Backend("9lives", 80), f"backends: service '9lives' {SERVICE}", id="digit"
        ),
        pytest.param(
            lambda: Backend("api", 0),
            "backends['api'].port: port 0 must be an integer 1-65535",
            id="port-0",
        ),
        pytest.param(
            lambda: Backend("api", 80, weight=1_000_001),
            "backends['api'].weight: 1000001 must be an integer 0-1000000",
            id="weight-over-a-million",
        ),
        pytest.param(
            lambda: Backend("api", 80, weight=-1),
            "backends['api'].weight: -1 must be an integer 0-1000000",
            id="weight-negative",
        ),
        pytest.param(
            lambda: Backend("api", 80, weight=True),
            "backends['api'].weight: True must be an integer 0-1000000",
            id="weight-bool",
        ),
        pytest.param(
            lambda: Backend("api", 80, weight=1.0),  # type: ignore[arg-type]
            "backends['api'].weight: 1.0 must be an integer 0-1000000",
            id="weight-float",
        ),
        pytest.param(
            lambda: Backend("api", 80, namespace="Infra"),
            "backends['api'].namespace: 'Infra'",
            id="namespace-uppercase",
        ),
        pytest.param(
            lambda: Backend("api", 80, namespace=""),
            "backends['api'].namespace: ''",
            id="namespace-empty",
        ),
    ],
)
def test_backend_refusal_names_field_and_value(make: Callable[[], object], message: str) -> None:
    refuses(make, message)


# --- routes ------------------------------------------------------------------------


def strip() -> URLRewrite:
    return URLRewrite(path=PathModifier(PathModifierType.ReplacePrefixMatch, "/"))


def prefix_redirect() -> RequestRedirect:
    return RequestRedirect(path=PathModifier(PathModifierType.ReplacePrefixMatch, "/new"))


REQUEST_HEADERS = HeaderModifier(set=(("x-a", "1"),))
RESPONSE_HEADERS = HeaderModifier(set=(("x-a", "1"),), response=True)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: route(port=8080), id="http-on-a-port"),
        pytest.param(lambda: route(protocol=Protocol.GRPC), id="grpc-on-the-web-ports"),
        pytest.param(lambda: route(backend_scheme="https"), id="scheme-https"),
        pytest.param(lambda: route(backend_scheme="h2c"), id="scheme-h2c"),
        pytest.param(
            lambda: route(hostnames=tuple(f"h{i}.example.com" for i in range(16))),
            id="16-hostnames",
        ),
        pytest.param(lambda: route(hostnames=("*.example.com", "example.com")), id="wildcard"),
        pytest.param(
            lambda: route(protocol=Protocol.TLS, port=443, hostnames=("*.a.io",)), id="tls-sni"
        ),
        pytest.param(lambda: route(matches=(HTTPMatch(),) * 64), id="64-matches"),
        pytest.param(
            lambda: route(protocol=Protocol.GRPC, matches=(GRPCMatch(method="Get"),)),
            id="grpc-match",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS, RESPONSE_HEADERS)),
            id="request-and-response-headers",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.GRPC, filters=(REQUEST_HEADERS, RESPONSE_HEADERS)),
            id="grpc-header-modifiers",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS, strip()), matches=(HTTPMatch(PREFIX),)),
            id="headers-and-rewrite",
        ),
        pytest.param(
            lambda: route(
                filters=(prefix_redirect(), RESPONSE_HEADERS),
                matches=(HTTPMatch(PREFIX),),
                backends=(),
            ),
            id="redirect-replacing-the-prefix",
        ),
        pytest.param(
            lambda: route(
                filters=(URLRewrite(path=PathModifier(PathModifierType.ReplaceFullPath, "/x")),),
                matches=(HTTPMatch(), HTTPMatch(PREFIX)),
            ),
            id="full-path-rewrite-with-any-matches",
        ),
        pytest.param(
            lambda: route(
                filters=(
                    RequestRedirect(path=PathModifier(PathModifierType.ReplaceFullPath, "/x")),
                ),
                backends=(),
            ),
            id="full-path-redirect-without-matches",
        ),
        pytest.param(lambda: route(backends=backends(16)), id="16-backends"),
        pytest.param(
            lambda: route(backends=(Backend("api", 80), Backend("api", 80, namespace="other"))),
            id="same-service-in-another-namespace",
        ),
        pytest.param(
            lambda: route(backends=(Backend("api", 80), Backend("api", 81), Backend("web", 80))),
            id="same-service-another-port",
        ),
    ],
)
def test_route_accepted(make: Callable[[], object]) -> None:
    make()


def test_a_route_talks_plain_http_to_its_backends_by_default() -> None:
    assert route().backend_scheme == "http"
    assert route().kind == "HTTPRoute"


ONE_PREFIX = "filters: ReplacePrefixMatch needs exactly one match, on a PathPrefix"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: route(name="Web"),
            f"name: route name 'Web' {ROUTE_NAME}",
            id="name",
        ),
        pytest.param(
            lambda: route(protocol="HTTP"),
            "protocol: 'HTTP' must be HTTP, GRPC, TCP or TLS",
            id="protocol-a-string",
        ),
        pytest.param(
            lambda: route(port=0), "port: port 0 must be an integer 1-65535", id="port-0"
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TLS, hostnames=("a.io",)),
            "port: a TLS route needs a port",
            id="tls-without-a-port",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TCP),
            "port: a TCP route needs a port",
            id="tcp-without-a-port",
        ),
        pytest.param(
            lambda: route(backend_scheme="HTTP"),
            "scheme: 'HTTP' must be http, https or h2c",
            id="scheme-uppercase",
        ),
        pytest.param(
            lambda: route(hostnames=tuple(f"h{i}.example.com" for i in range(17))),
            "hostnames: 17 given, at most 16",
            id="17-hostnames",
        ),
        pytest.param(
            lambda: route(hostnames=("a.io", "A.io")),
            f"hostnames[1]: 'A.io' {WITH_WILDCARD}",
            id="hostname-by-index",
        ),
        pytest.param(
            lambda: route(hostnames=("a.io", "b.io", "a.io")),
            "hostnames: ['a.io', 'b.io', 'a.io'] repeats a hostname",
            id="hostname-twice",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TCP, port=5432, hostnames=("a.io",)),
            "hostnames: a TCP route has no hostnames (TCP carries none)",
            id="tcp-hostnames",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TLS, port=443),
            "hostnames: a TLS route is chosen by SNI and needs a hostname",
            id="tls-without-hostnames",
        ),
        pytest.param(
            lambda: route(matches=(HTTPMatch(),) * 65),
            "matches: 65 given, at most 64",
            id="65-matches",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TCP, port=5432, matches=(HTTPMatch(),)),
            "matches[0]: a TCP route has no matches",
            id="tcp-matches",
        ),
        pytest.param(
            lambda: route(
                protocol=Protocol.TLS, port=443, hostnames=("a.io",), matches=(HTTPMatch(),)
            ),
            "matches[0]: a TLS route has no matches",
            id="tls-matches",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.GRPC, matches=(GRPCMatch(), HTTPMatch())),
            "matches[1]: HTTPMatch(path=None, method=None, headers=()) is not a GRPCMatch",
            id="grpc-route-http-match",
        ),
        pytest.param(
            lambda: route(matches=(HTTPMatch(), GRPCMatch())),
            "matches[1]: GRPCMatch(service=None, method=None, headers=()) is not a HTTPMatch",
            id="http-route-grpc-match",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS,) * 17),
            "filters: 17 given, at most 16",
            id="17-filters",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS,) * 16),
            "filters: each kind of filter may appear once",
            id="16-filters-of-one-kind",
        ),
        pytest.param(
            lambda: route(filters=(RESPONSE_HEADERS, REQUEST_HEADERS, RESPONSE_HEADERS)),
            "filters: each kind of filter may appear once",
            id="response-headers-twice",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.TCP, port=5432, filters=(REQUEST_HEADERS,)),
            "filters: a TCP route has no filters",
            id="tcp-filters",
        ),
        pytest.param(
            lambda: route(
                protocol=Protocol.TLS, port=443, hostnames=("a.io",), filters=(REQUEST_HEADERS,)
            ),
            "filters: a TLS route has no filters",
            id="tls-filters",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.GRPC, filters=(URLRewrite(hostname="a.io"),)),
            "filters: a gRPC route takes header modifiers only, no redirect or rewrite",
            id="grpc-rewrite",
        ),
        pytest.param(
            lambda: route(protocol=Protocol.GRPC, filters=(RequestRedirect(),), backends=()),
            "filters: a gRPC route takes header modifiers only, no redirect or rewrite",
            id="grpc-redirect",
        ),
        pytest.param(
            lambda: route(filters=(URLRewrite(hostname="a.io"), RequestRedirect()), backends=()),
            "filters: a redirect and a rewrite cannot go together",
            id="rewrite-then-redirect",
        ),
        pytest.param(lambda: route(filters=(strip(),)), ONE_PREFIX, id="strip-without-matches"),
        pytest.param(
            lambda: route(filters=(strip(),), matches=(HTTPMatch(),)),
            ONE_PREFIX,
            id="strip-on-a-match-without-a-path",
        ),
        pytest.param(
            lambda: route(
                filters=(strip(),), matches=(HTTPMatch(PathMatch(PathMatchType.Exact, "/a")),)
            ),
            ONE_PREFIX,
            id="strip-on-an-exact-path",
        ),
        pytest.param(
            lambda: route(filters=(strip(),), matches=(HTTPMatch(PREFIX), HTTPMatch(PREFIX))),
            ONE_PREFIX,
            id="strip-on-two-matches",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS, prefix_redirect()), backends=()),
            ONE_PREFIX,
            id="redirect-replacing-a-prefix-without-matches",
        ),
        pytest.param(
            lambda: route(backends=backends(17)),
            "backends: 17 given, at most 16",
            id="17-backends",
        ),
        pytest.param(
            lambda: route(filters=(RequestRedirect(),), backends=backends(17)),
            "backends: 17 given, at most 16",
            id="17-backends-of-a-redirect",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS, RequestRedirect(scheme="https"))),
            "backends: a route that redirects sends nothing to backends",
            id="redirect-with-backends",
        ),
        pytest.param(
            lambda: route(filters=(REQUEST_HEADERS,), backends=()),
            "backends: a route needs at least one backend",
            id="no-backends",
        ),
        pytest.param(
            lambda: route(
                backends=(
                    Backend("api", 80, namespace="a"),
                    Backend("web", 80, namespace="a"),
                    Backend("api", 80, namespace="a"),
                )
            ),
            "backends: api:80 is listed twice",
            id="backend-twice-in-a-namespace",
        ),
    ],
)
def test_route_refusal_names_field_and_value(make: Callable[[], object], message: str) -> None:
    refuses(make, message)


# --- the gateway -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: GatewayConfig(label(63), label(63)), id="63-char-labels"),
        pytest.param(lambda: GatewayConfig("g", "e"), id="1-char-labels"),
        pytest.param(lambda: GatewayConfig("gw", "edge", hostname="a.io"), id="hostname"),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", http_port=8080, https_port=80), id="ports"
        ),
        pytest.param(lambda: GatewayConfig("gw", "edge", tls_secret="t"), id="tls-secret"),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", gateway_class=hostname(253)), id="class-253-chars"
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", gateway_class="example.net.gw-1"),
            id="class-dotted",
        ),
        pytest.param(lambda: GatewayConfig("gw", "edge", hsts_max_age=0), id="hsts-0"),
        pytest.param(lambda: GatewayConfig("gw", "edge", hsts_max_age=31536000), id="hsts-year"),
    ]
    + [
        pytest.param(lambda level=level: GatewayConfig("gw", "edge", log_level=level), id=level)
        for level in LOG_LEVELS
    ],
)
def test_gateway_accepted(make: Callable[[], object]) -> None:
    make()


LOG_LEVEL = "must be one of trace, debug, info, warning, error, critical, off"
CLASS = "must be a GatewayClass name (lowercase letters, digits, '-' and '.')"
HSTS = "must be an integer of seconds, 0 or more"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: GatewayConfig(label(64), "edge"),
            f"gateway name: {label(64)!r} must be a DNS label",
            id="name-64-chars",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", label(64)),
            f"gateway namespace: {label(64)!r} must be a DNS label",
            id="namespace-64-chars",
        ),
        pytest.param(
            lambda: GatewayConfig("Gw", "edge"),
            "gateway name: 'Gw' must be a DNS label",
            id="name-uppercase",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "a.b"),
            "gateway namespace: 'a.b' must be a DNS label",
            id="namespace-dotted",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", hostname="*"),
            f"external-hostname: '*' {WITH_WILDCARD}",
            id="hostname",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", http_port=0),
            "http-port: port 0 must be an integer 1-65535",
            id="http-port",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", https_port=65536),
            "https-port: port 65536 must be an integer 1-65535",
            id="https-port",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", http_port=8443, https_port=8443),
            "http-port and https-port are both 8443",
            id="one-port-for-both",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", log_level="INFO"),
            f"log-level: 'INFO' {LOG_LEVEL}",
            id="log-level-uppercase",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", tls_secret="Gw-tls"),
            "tls secret: 'Gw-tls' must be a DNS label",
            id="tls-secret",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", tls_secret=""),
            "tls secret: '' must be a DNS label",
            id="tls-secret-empty",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", gateway_class=hostname(254)),
            f"gateway-class: {hostname(254)!r} {CLASS}",
            id="class-254-chars",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", gateway_class="istio.io/gw"),
            f"gateway-class: 'istio.io/gw' {CLASS}",
            id="class-slash",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", hsts_max_age=-1),
            f"hsts-max-age: -1 {HSTS}",
            id="hsts-negative",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", hsts_max_age=True),
            f"hsts-max-age: True {HSTS}",
            id="hsts-bool",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", hsts_max_age=1.5),  # type: ignore[arg-type]
            f"hsts-max-age: 1.5 {HSTS}",
            id="hsts-float",
        ),
        pytest.param(
            lambda: GatewayConfig("gw", "edge", hsts_max_age="60"),  # type: ignore[arg-type]
            f"hsts-max-age: '60' {HSTS}",
            id="hsts-string",
        ),
    ],
)
def test_gateway_refusal_names_field_and_value(make: Callable[[], object], message: str) -> None:
    refuses(make, message)


def test_a_gateway_defaults_to_plain_web_ports_under_istio() -> None:
    gateway = GatewayConfig("gw", "edge")
    assert (gateway.hostname, gateway.http_port, gateway.https_port) == (None, 80, 443)
    assert (gateway.log_level, gateway.gateway_class) == ("info", "istio")
    assert (gateway.istio, gateway.redirect_http, gateway.hsts_max_age) == (True, True, None)
    assert gateway.tls is False
    assert gateway.service_account == "gw-istio"


@pytest.mark.parametrize(
    ("tls_secret", "redirect_http", "age", "hsts"),
    [
        pytest.param("gw-tls", True, 600, 600, id="tls-redirecting"),
        pytest.param("gw-tls", True, 0, None, id="age-0-sets-none"),
        pytest.param("gw-tls", True, None, None, id="no-age"),
        pytest.param("gw-tls", False, 600, None, id="http-served-too"),
        pytest.param(None, True, 600, None, id="no-tls"),
    ],
)
def test_hsts_only_with_tls_redirecting_http_and_an_age(
    tls_secret: str | None, redirect_http: bool, age: int | None, hsts: int | None
) -> None:
    gateway = GatewayConfig(
        "gw", "edge", tls_secret=tls_secret, redirect_http=redirect_http, hsts_max_age=age
    )
    assert gateway.hsts == hsts
    assert gateway.tls is (tls_secret is not None)
