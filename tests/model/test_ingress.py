"""model.ingress: routes, matches, filters, backends and the gateway validate on construction.

Tables of values each type must accept, and of values it must refuse with a message
naming the field and quoting the value — the same rules the Gateway API CRDs (and
their CEL rules) apply, so a route that constructs also renders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from meshops.model.ingress import (
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
    hostnames_intersect,
)

B = (Backend("api", 8080),)
PREFIX = PathMatch(PathMatchType.PathPrefix, "/api")


def strip() -> URLRewrite:
    return URLRewrite(path=PathModifier(PathModifierType.ReplacePrefixMatch, "/"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: PathMatch(PathMatchType.Exact, "/a/b.c~d"),
        lambda: PathMatch(PathMatchType.PathPrefix, "/"),
        lambda: PathMatch(PathMatchType.RegularExpression, r"^/v[0-9]+/.*"),
        lambda: HeaderMatch("X-Env", "prod"),
        lambda: HeaderMatch("x-v", "^1\\.[0-9]$", HeaderMatchType.RegularExpression),
        lambda: GRPCMatch(service="shop.v1.Cart", method="Get"),
        lambda: GRPCMatch(method="Ping"),
        lambda: Backend("api", 1, weight=0),
        lambda: Backend("api", 65535, weight=1_000_000, namespace="infra"),
        lambda: RequestRedirect(scheme="https", port=8443, status_code=308),
        lambda: HeaderModifier(set=(("X-A", "1"),), add=(("X-B", "2"),), remove=("X-C",)),
        lambda: Route(
            "web",
            Protocol.HTTP,
            None,
            matches=(HTTPMatch(PREFIX),),
            filters=(strip(),),
            backends=B,
        ),
        lambda: Route("moved", Protocol.HTTP, 80, filters=(RequestRedirect(scheme="https"),)),
        lambda: Route("db", Protocol.TCP, 5432, backends=B),
        lambda: Route("mq", Protocol.TLS, 5671, hostnames=("mq.example.com",), backends=B),
        lambda: Route(
            "rpc", Protocol.GRPC, 9090, filters=(HeaderModifier(remove=("x",)),), backends=B
        ),
        lambda: GatewayConfig("gw", "edge", hostname="*.example.com", tls_secret="gw-tls"),
    ],
)
def test_accepted(make: Callable[[], Any]) -> None:
    make()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: PathMatch(PathMatchType.PathPrefix, "api"),
            "path.value: path 'api' must start with '/'",
        ),
        (
            lambda: PathMatch(PathMatchType.Exact, "/a//b"),
            "path.value: path '/a//b' must not contain '//'",
        ),
        (lambda: PathMatch(PathMatchType.Exact, "/a/.."), "must not end with '/.' or '/..'"),
        (lambda: PathMatch(PathMatchType.Exact, "/a b"), "path '/a b' may hold only letters"),
        (lambda: PathMatch(PathMatchType.Exact, "/a?x=1"), "path '/a?x=1' may hold only"),
        (
            lambda: PathModifier(PathModifierType.ReplaceFullPath, "/a/../admin"),
            "path.value: path '/a/../admin' must not contain '/../'",
        ),
        (
            lambda: PathModifier(PathModifierType.ReplacePrefixMatch, "/a%2Fb"),
            "path.value: path '/a%2Fb' must not contain '%2F'",
        ),
        (
            lambda: PathMatch(PathMatchType.RegularExpression, "(["),
            "path.value: regex '([' is not one RE2 (Envoy) accepts: missing ]: [",
        ),
        (
            lambda: PathMatch(PathMatchType.RegularExpression, "(?=x)"),
            "path.value: regex '(?=x)' is not one RE2 (Envoy) accepts: invalid perl operator",
        ),
        # RE2's repetition limit, which Python's re does not have
        (
            lambda: PathMatch(PathMatchType.RegularExpression, "/a{99999999}"),
            "path.value: regex '/a{99999999}' is not one RE2 (Envoy) accepts: invalid "
            "repetition size: {99999999}",
        ),
        (
            lambda: HeaderMatch("x-v", "(a{100}){100}", HeaderMatchType.RegularExpression),
            "headers['x-v']: regex '(a{100}){100}' is not one RE2 (Envoy) accepts: invalid "
            "repetition size",
        ),
        # Python's \Z; RE2 spells it \z
        (
            lambda: HeaderMatch("x-v", "a\\Z", HeaderMatchType.RegularExpression),
            "headers['x-v']: regex 'a\\\\Z' is not one RE2 (Envoy) accepts: invalid escape",
        ),
        (lambda: HeaderMatch("bad header", "x"), "header name 'bad header' must be an HTTP token"),
        (
            lambda: HeaderMatch("x", "a\nb"),
            "header value 'a\\nb' must be 1-4096 visible characters",
        ),
        (lambda: HeaderMatch("x", "\ud800"), "must be 1-4096 visible characters"),
        (
            lambda: HTTPMatch(headers=(HeaderMatch("X", "1"), HeaderMatch("x", "2"))),
            "'x' is matched twice",
        ),
        (
            lambda: GRPCMatch(service="not a service"),
            "method.service: 'not a service' is not a gRPC",
        ),
        (
            lambda: GRPCMatch(method="Get/All"),
            "method.method: 'Get/All' is not a gRPC method name",
        ),
        (lambda: Backend("9lives", 80), "service '9lives' must be a Service name"),
        (lambda: Backend("api", 0), "port 0 must be an integer 1-65535"),
        (lambda: Backend("api", 80, weight=-1), "weight: -1 must be an integer 0-1000000"),
        (lambda: Backend("api", 80, weight=True), "weight: True must be an integer"),
        (
            lambda: RequestRedirect(scheme="ftp"),
            "requestRedirect.scheme: 'ftp' must be http or https",
        ),
        (lambda: RequestRedirect(status_code=300), "requestRedirect.statusCode: 300 must be 301"),
        (lambda: URLRewrite(), "urlRewrite: needs a hostname or a path"),
        (
            lambda: URLRewrite(hostname="*.x.io"),
            "urlRewrite.hostname: '*.x.io' must be a lowercase",
        ),
        (lambda: HeaderModifier(), "requestHeaderModifier: needs headers to set, add or remove"),
        (lambda: Route("Web", Protocol.HTTP, None, backends=B), "name: route name 'Web' must be"),
        (lambda: Route("web", Protocol.HTTP, 70000, backends=B), "port: port 70000 must be"),
        (lambda: Route("db", Protocol.TCP, None, backends=B), "port: a TCP route needs a port"),
        (
            lambda: Route("db", Protocol.TCP, 5432, hostnames=("a.io",), backends=B),
            "a TCP route has no hostnames",
        ),
        (
            lambda: Route("mq", Protocol.TLS, 5671, backends=B),
            "a TLS route is chosen by SNI and needs a hostname",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None),
            "backends: a route needs at least one backend",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None, backends=B * 2),
            "backends: api:8080 is listed twice",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None, hostnames=("a.io", "a.io"), backends=B),
            "repeats a hostname",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None, matches=(GRPCMatch(),), backends=B),
            "is not a HTTPMatch",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None, filters=(strip(),), backends=B),
            "ReplacePrefixMatch needs exactly one match, on a PathPrefix",
        ),
        (
            lambda: Route(
                "web", Protocol.HTTP, None, filters=(RequestRedirect(scheme="https"),), backends=B
            ),
            "a route that redirects sends nothing to backends",
        ),
        (
            lambda: Route("web", Protocol.HTTP, None, filters=(RequestRedirect(), strip())),
            "a redirect and a rewrite cannot go together",
        ),
        (
            lambda: Route("rpc", Protocol.GRPC, 9090, filters=(RequestRedirect(),)),
            "a gRPC route takes header modifiers only",
        ),
        (
            lambda: Route(
                "w",
                Protocol.HTTP,
                None,
                filters=(strip(), strip()),
                matches=(HTTPMatch(PREFIX),),
                backends=B,
            ),
            "each kind of filter may appear once",
        ),
        (
            lambda: Route("w", Protocol.HTTP, None, backend_scheme="ws", backends=B),
            "scheme: 'ws' must be http, https or h2c",
        ),
        (
            lambda: GatewayConfig("gw", "edge", http_port=443),
            "http-port and https-port are both 443",
        ),
        (
            lambda: GatewayConfig("gw", "edge", log_level="loud"),
            "log-level: 'loud' must be one of trace",
        ),
        (lambda: GatewayConfig("gw", "Edge"), "gateway namespace: 'Edge' must be a DNS label"),
        (lambda: GatewayConfig("gw", "edge", hostname="10.0.0.1"), "'10.0.0.1' is an IP address"),
    ],
)
def test_refused_naming_field_and_value(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_regex_python_warns_about_is_checked_without_warning() -> None:
    PathMatch(PathMatchType.RegularExpression, "[[]]")  # FutureWarning would be an error here


def test_a_regex_over_istios_program_size_is_refused_at_the_edge() -> None:
    # within RE2's own limits (each count at most 1000), too big for Istio's Envoy
    big = "/(" + "|".join(f"[a-z]{{{n}}}" for n in range(900, 1000, 2)) + ")"
    with pytest.raises(ValueError, match=r"RE2 program of \d+ instructions; Istio's Envoy"):
        PathMatch(PathMatchType.RegularExpression, big)
    PathMatch(PathMatchType.RegularExpression, "/[a-z]{900}")  # under it


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("a.example.com", "a.example.com", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "*.b.example.com", True),
        ("*.a.io", "*.b.io", False),
        ("a.io", "b.io", False),
    ],
)
def test_hostnames_intersect(a: str, b: str, meet: bool) -> None:
    assert hostnames_intersect(a, b) is meet
    assert hostnames_intersect(b, a) is meet


@pytest.mark.parametrize("bad", ["", "UPPER.io", "a..b", "*", "a.*.io", "-a.io", "x" * 254, 7])
def test_check_hostname_refuses(bad: object) -> None:
    with pytest.raises(ValueError, match="external-hostname"):
        check_hostname(bad, "external-hostname")
