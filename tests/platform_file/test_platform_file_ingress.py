"""Tests for the platform file's ``ingress`` section (platform_file.ingress and the loader).

Good sections in, the exact :class:`~meshops.model.ingress.GatewayConfig` and
:class:`~meshops.plan.ingress.RouteSet` objects out (defaults, every match, filter and
backend form, cross-namespace backends, ``namespace/app`` references); bad sections in,
the exact ``file:line:column: path: rule`` line out, for each class of error: unknown keys
with suggestions, wrong types and values, filters and paths, apps and namespaces that do
not exist or are ambiguous, backends and ports, the domain model's own rules mapped back
to their keys, and what the plan refuses (a route claiming what an earlier route holds is
reported at its place, naming the earlier route's place). Also: every error of a file at
once, and that a file without ingress reads as before.
"""

from __future__ import annotations

import textwrap

import pytest

from meshops import platform_file
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
)
from meshops.model.mesh import Method
from meshops.plan.ingress import RouteSet

#: A platform (lines 1-24) whose ``spec.ingress`` the tests below fill in, from line 25.
HEAD = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: shop}
spec:
  namespaces:
    - {name: shop}
    - {name: monitoring}
    - {name: ingress, mesh: off}
  apps:
    - name: frontend
      namespace: shop
      ports: [{port: 8080, protocol: http}]
    - name: api
      namespace: shop
      ports: [{port: 8080, protocol: http}, {port: 9000, protocol: grpc}]
    - name: db
      namespace: shop
      ports: [{port: 5432}]
    - name: grafana
      namespace: monitoring
      ports: [{port: 3000, protocol: http}]
    - name: idle
      namespace: monitoring
  ingress:
"""
GATEWAY = GatewayConfig("shop", "ingress")


def with_ingress(body: str) -> str:
    """The platform with ``body`` (YAML, any indentation) as its ``spec.ingress``."""
    return HEAD + textwrap.indent(textwrap.dedent(body), "    ")


def read(body: str) -> platform_file.Ingress:
    ingress = platform_file.read(with_ingress(body), "p.yaml").ingress
    assert ingress is not None
    return ingress


def errors_of(body: str) -> list[str]:
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.read(with_ingress(body), "p.yaml")
    return [str(e) for e in raised.value.errors]


def one(name: str, app: str, namespace: str, order: int, route: Route) -> RouteSet:
    return RouteSet(name, app, namespace, order, (route,))


# -- good sections -----------------------------------------------------------------------------


def test_a_file_without_ingress_has_none() -> None:
    text = HEAD.removesuffix("  ingress:\n")
    declaration = platform_file.read(text, "p.yaml")
    assert declaration.ingress is None
    assert declaration.platform == platform_file.load(text, "p.yaml")


#: The waypoints of HEAD's namespaces on the mesh.
WAYPOINTS = {"shop": "waypoint", "monitoring": "waypoint"}


def test_the_smallest_section_takes_every_default() -> None:
    assert read("routes: [{app: frontend}]\n") == platform_file.Ingress(
        GATEWAY,
        (
            one(
                "frontend",
                "frontend",
                "shop",
                0,
                Route("frontend", Protocol.HTTP, None, backends=(Backend("frontend", 8080),)),
            ),
        ),
        WAYPOINTS,
    )


def test_an_empty_section_is_a_gateway_without_routes() -> None:
    assert read("{}\n") == platform_file.Ingress(GATEWAY, (), WAYPOINTS)


def test_every_gateway_setting() -> None:
    ingress = read(
        """\
        gateway: {name: edge, namespace: monitoring}
        hostname: "*.example.com"
        httpPort: 8080
        httpsPort: 8443
        tls: {secret: example-com-tls}
        logLevel: debug
        """
    )
    assert ingress.gateway == GatewayConfig(
        "edge",
        "monitoring",
        hostname="*.example.com",
        http_port=8080,
        https_port=8443,
        tls_secret="example-com-tls",
        log_level="debug",
    )


GOOD: list[tuple[str, str, Route]] = [
    (
        "http matches, every form",
        """\
        routes:
          - app: api
            name: web
            port: 8080
            hostnames: [shop.example.com, "*.shop.example.com"]
            matches:
              - path: {value: /api}
                method: GET
                headers: {x-env: prod}
              - path: {type: RegularExpression, value: "/v[0-9]+/.*"}
                headers:
                  - {name: x-canary, value: "^yes$", type: RegularExpression}
                  - {name: a, value: b}
              - {}
            backends: [{port: 8080}]
            backendScheme: https
        """,
        Route(
            "web",
            Protocol.HTTP,
            8080,
            hostnames=("shop.example.com", "*.shop.example.com"),
            matches=(
                HTTPMatch(
                    PathMatch(PathMatchType.PathPrefix, "/api"),
                    Method.get,
                    (HeaderMatch("x-env", "prod"),),
                ),
                HTTPMatch(
                    PathMatch(PathMatchType.RegularExpression, "/v[0-9]+/.*"),
                    headers=(
                        HeaderMatch("x-canary", "^yes$", HeaderMatchType.RegularExpression),
                        HeaderMatch("a", "b"),
                    ),
                ),
                HTTPMatch(),
            ),
            backends=(Backend("api", 8080),),
            backend_scheme="https",
        ),
    ),
    (
        "every filter, with and without type",
        """\
        routes:
          - app: frontend
            name: web
            matches: [{path: {type: PathPrefix, value: /old}}]
            filters:
              - urlRewrite: {hostname: www.example.com, path: {replacePrefixMatch: /new}}
              - type: RequestHeaderModifier
                requestHeaderModifier:
                  set: {x-a: "1"}
                  add: [{name: x-b, value: "2"}]
                  remove: [x-c]
              - responseHeaderModifier: {set: [{name: x-d, value: "3"}]}
        """,
        Route(
            "web",
            Protocol.HTTP,
            None,
            matches=(HTTPMatch(PathMatch(PathMatchType.PathPrefix, "/old")),),
            filters=(
                URLRewrite(
                    "www.example.com", PathModifier(PathModifierType.ReplacePrefixMatch, "/new")
                ),
                HeaderModifier(set=(("x-a", "1"),), add=(("x-b", "2"),), remove=("x-c",)),
                HeaderModifier(set=(("x-d", "3"),), response=True),
            ),
            backends=(Backend("frontend", 8080),),
        ),
    ),
    (
        "a redirect has no backends",
        """\
        routes:
          - app: frontend
            hostnames: [www.example.com]
            filters:
              - type: RequestRedirect
                requestRedirect:
                  scheme: https
                  hostname: shop.example.com
                  port: 8443
                  statusCode: 308
                  path: {type: ReplaceFullPath, replaceFullPath: /moved}
        """,
        Route(
            "frontend",
            Protocol.HTTP,
            None,
            hostnames=("www.example.com",),
            filters=(
                RequestRedirect(
                    "https",
                    "shop.example.com",
                    PathModifier(PathModifierType.ReplaceFullPath, "/moved"),
                    8443,
                    308,
                ),
            ),
        ),
    ),
    (
        "grpc",
        """\
        routes:
          - app: api
            name: rpc
            protocol: grpc
            port: 9000
            matches:
              - {service: shop.Cart, method: Get, headers: {x-a: b}}
              - {service: shop.Catalogue}
            backends: [{port: 9000}]
            backendScheme: h2c
        """,
        Route(
            "rpc",
            Protocol.GRPC,
            9000,
            matches=(
                GRPCMatch("shop.Cart", "Get", (HeaderMatch("x-a", "b"),)),
                GRPCMatch("shop.Catalogue"),
            ),
            backends=(Backend("api", 9000),),
            backend_scheme="h2c",
        ),
    ),
    (
        "tcp",
        "routes: [{app: db, protocol: tcp, port: 5432}]\n",
        Route("db", Protocol.TCP, 5432, backends=(Backend("db", 5432),)),
    ),
    (
        "tls passthrough",
        "routes: [{app: db, protocol: tls, port: 6443, hostnames: [db.example.com]}]\n",
        Route(
            "db",
            Protocol.TLS,
            6443,
            hostnames=("db.example.com",),
            backends=(Backend("db", 5432),),
        ),
    ),
    (
        "weighted backends, one in another namespace",
        """\
        routes:
          - app: shop/frontend
            backends:
              - {weight: 90}
              - {service: grafana, namespace: monitoring, port: 3000, weight: 10}
        """,
        Route(
            "frontend",
            Protocol.HTTP,
            None,
            backends=(
                Backend("frontend", 8080, weight=90),
                Backend("grafana", 3000, weight=10, namespace="monitoring"),
            ),
        ),
    ),
]


@pytest.mark.parametrize(("body", "route"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_one_route(body: str, route: Route) -> None:
    (route_set,) = read(body).route_sets
    assert route_set.routes == (route,)


def test_each_route_is_a_route_set_in_the_order_of_the_file() -> None:
    ingress = read(
        """\
        routes:
          - {app: grafana, hostnames: [grafana.example.com]}
          - {app: frontend, name: shop, hostnames: [shop.example.com]}
          - name: www
            app: frontend
            hostnames: [www.example.com]
            filters: [{requestRedirect: {hostname: shop.example.com}}]
        """
    )
    assert [(s.source, s.app, s.namespace, s.order) for s in ingress.route_sets] == [
        ("grafana", "grafana", "monitoring", 0),
        ("shop", "frontend", "shop", 1),
        ("www", "frontend", "shop", 2),
    ]
    assert [[r.name for r in s.routes] for s in ingress.route_sets] == [
        ["grafana"],
        ["shop"],
        ["www"],
    ]


# -- one error each, at its exact place ----------------------------------------------------------

ERRORS: list[tuple[str, str, str]] = [
    # keys
    (
        "kebab-case key",
        "http-port: 8080\n",
        "p.yaml:25:5: spec.ingress.http-port: unknown key 'http-port'; did you mean 'httpPort'?",
    ),
    (
        "route key typo",
        "routes: [{app: frontend, hostname: [a.example.com]}]\n",
        "p.yaml:25:30: spec.ingress.routes[0].hostname: unknown key 'hostname'; "
        "did you mean 'hostnames'?",
    ),
    (
        "missing app",
        "routes: [{name: web}]\n",
        "p.yaml:25:14: spec.ingress.routes[0].app: 'app' is required",
    ),
    (
        "header list entry typo",
        "routes: [{app: frontend, matches: [{headers: [{name: a, valeu: b}]}]}]\n",
        "p.yaml:25:61: spec.ingress.routes[0].matches[0].headers[0].valeu: unknown key 'valeu'; "
        "did you mean 'value'?",
    ),
    # types
    (
        "headers neither mapping nor list",
        "routes: [{app: frontend, matches: [{headers: x-a}]}]\n",
        "p.yaml:25:50: spec.ingress.routes[0].matches[0].headers: must be a mapping or a list, "
        "not the string 'x-a'",
    ),
    (
        "header value a number",
        "routes: [{app: frontend, matches: [{headers: {x-a: 1}}]}]\n",
        "p.yaml:25:56: spec.ingress.routes[0].matches[0].headers.x-a: must be a string, "
        "not the integer 1",
    ),
    (
        "gateway a string",
        "gateway: edge\n",
        "p.yaml:25:14: spec.ingress.gateway: must be a mapping, not the string 'edge'",
    ),
    (
        "path a string",
        "routes: [{app: frontend, matches: [{path: /api}]}]\n",
        "p.yaml:25:47: spec.ingress.routes[0].matches[0].path: must be a mapping, "
        "not the string '/api'",
    ),
    # values
    (
        "protocol in capitals",
        "routes: [{app: frontend, protocol: HTTP}]\n",
        "p.yaml:25:40: spec.ingress.routes[0].protocol: protocol 'HTTP' must be one of 'http', "
        "'grpc', 'tcp', 'tls'; did you mean 'http'?",
    ),
    (
        "log level",
        "logLevel: warn\n",
        "p.yaml:25:15: spec.ingress.logLevel: log level 'warn' must be one of 'trace', 'debug', "
        "'info', 'warning', 'error', 'critical', 'off'; did you mean 'warning'?",
    ),
    (
        "path type",
        "routes: [{app: frontend, matches: [{path: {type: Prefix, value: /}}]}]\n",
        "p.yaml:25:54: spec.ingress.routes[0].matches[0].path.type: type 'Prefix' must be one of "
        "'PathPrefix', 'Exact', 'RegularExpression'; did you mean 'PathPrefix'?",
    ),
    (
        "status code",
        "routes: [{app: frontend, filters: [{requestRedirect: {statusCode: 300}}]}]\n",
        "p.yaml:25:71: spec.ingress.routes[0].filters[0].requestRedirect.statusCode: "
        "statusCode 300 must be one of 301, 302, 303, 307, 308",
    ),
    (
        "weight",
        "routes: [{app: frontend, backends: [{weight: -1}]}]\n",
        "p.yaml:25:50: spec.ingress.routes[0].backends[0].weight: "
        "weight -1 must be an integer 0-1000000",
    ),
    (
        "hostname in capitals",
        "hostname: Shop.example.com\n",
        "p.yaml:25:15: spec.ingress.hostname: 'Shop.example.com' must be a lowercase RFC 1123 "
        "hostname with an optional leading '*.'",
    ),
    (
        "redirect to a wildcard",
        "routes: [{app: frontend, filters: [{requestRedirect: {hostname: '*.example.com'}}]}]\n",
        "p.yaml:25:69: spec.ingress.routes[0].filters[0].requestRedirect.hostname: "
        "'*.example.com' must be a lowercase RFC 1123 hostname without wildcards",
    ),
    (
        "route name",
        "routes: [{app: frontend, name: Web}]\n",
        "p.yaml:25:36: spec.ingress.routes[0].name: route name 'Web' must be 1-63 lowercase "
        "letters, digits and '-'",
    ),
    (
        "app reference",
        "routes: [{app: a/b/c}]\n",
        "p.yaml:25:20: spec.ingress.routes[0].app: app 'a/b/c' must be 'app' or 'namespace/app'",
    ),
    (
        "secret name",
        "tls: {secret: Shop_TLS}\n",
        "p.yaml:25:19: spec.ingress.tls.secret: name 'Shop_TLS' must be a DNS label: at most 63 "
        "lowercase letters, digits and '-', starting and ending with a letter or digit",
    ),
    # filters and paths
    (
        "no filter key",
        "routes: [{app: frontend, filters: [{}]}]\n",
        "p.yaml:25:40: spec.ingress.routes[0].filters[0]: a filter needs one of urlRewrite, "
        "requestRedirect, requestHeaderModifier, responseHeaderModifier",
    ),
    (
        "two filter keys",
        "routes: [{app: frontend, filters: [{urlRewrite: {hostname: a.b}, "
        "requestRedirect: {}}]}]\n",
        "p.yaml:25:40: spec.ingress.routes[0].filters[0]: a filter takes one of urlRewrite, "
        "requestRedirect, not several",
    ),
    (
        "filter type disagrees",
        "routes: [{app: frontend, filters: [{type: URLRewrite, requestRedirect: {}}]}]\n",
        "p.yaml:25:40: spec.ingress.routes[0].filters[0]: type 'URLRewrite' does not go with "
        "requestRedirect",
    ),
    (
        "path modifier with no path",
        "routes: [{app: frontend, filters: [{urlRewrite: {path: {}}}]}]\n",
        "p.yaml:25:54: spec.ingress.routes[0].filters[0].urlRewrite.path: a path needs "
        "replacePrefixMatch or replaceFullPath",
    ),
    (
        "path modifier type disagrees",
        "routes: [{app: frontend, filters: [{urlRewrite: {path: {type: ReplaceFullPath, "
        "replacePrefixMatch: /}}}]}]\n",
        "p.yaml:25:54: spec.ingress.routes[0].filters[0].urlRewrite.path: type 'ReplaceFullPath' "
        "does not go with replacePrefixMatch",
    ),
    # the gateway
    (
        "gateway namespace not declared",
        "gateway: {namespace: ingres}\n",
        "p.yaml:25:26: spec.ingress.gateway.namespace: namespace 'ingres' is not declared in "
        "namespaces; did you mean 'ingress'?",
    ),
    (
        "gateway name taken by the waypoint",
        "gateway: {name: waypoint, namespace: shop}\n",
        "p.yaml:25:21: spec.ingress.gateway.name: gateway name 'waypoint' is taken by the "
        "waypoint of namespace 'shop'",
    ),
    (
        "gateway name too long for Istio",
        f"gateway: {{name: {'g' * 58}}}\n",
        f"p.yaml:25:21: spec.ingress.gateway.name: gateway name {'g' * 58!r} is longer than 57 "
        "characters: Istio names the gateway's Service '<name>-istio', a DNS label",
    ),
    (
        "web ports equal",
        "httpPort: 443\n",
        "p.yaml:25:15: spec.ingress.httpPort: httpPort and httpsPort are both 443",
    ),
    # apps, names, backends, ports
    (
        "unknown app",
        "routes: [{app: frontent}]\n",
        "p.yaml:25:20: spec.ingress.routes[0].app: unknown app 'frontent'; "
        "did you mean 'frontend'?",
    ),
    (
        "app in another namespace",
        "routes: [{app: monitoring/frontend}]\n",
        "p.yaml:25:20: spec.ingress.routes[0].app: unknown app 'monitoring/frontend'; "
        "did you mean 'shop/frontend'?",
    ),
    (
        "two routes named alike",
        "routes: [{app: frontend, name: web}, {app: grafana, name: web}]\n",
        "p.yaml:25:63: spec.ingress.routes[1].name: route name 'web' is used by "
        "spec.ingress.routes[0] too: each route needs a name of its own",
    ),
    (
        "two routes named by default",
        "routes: [{app: frontend}, {app: frontend, hostnames: [a.example.com]}]\n",
        "p.yaml:25:31: spec.ingress.routes[1]: route name 'frontend' (by default, its app's "
        "name) is used by spec.ingress.routes[0] too: give this route a name",
    ),
    (
        "another app of the route's namespace as a backend",
        "routes: [{app: frontend, backends: [{service: api, port: 8080}]}]\n",
        "p.yaml:25:51: spec.ingress.routes[0].backends[0].service: service 'api' is in the "
        "route's namespace 'shop' but is not its app 'frontend': a route's backends there are "
        "its own app's (give 'api' a route of its own)",
    ),
    (
        "backend not an app",
        "routes: [{app: frontend, backends: [{service: prometheus, namespace: monitoring, "
        "port: 9090}]}]\n",
        "p.yaml:25:51: spec.ingress.routes[0].backends[0].service: unknown app "
        "'monitoring/prometheus' (a backend is an app of the file)",
    ),
    (
        "backend port not the app's",
        "routes: [{app: frontend, backends: [{port: 8081}]}]\n",
        "p.yaml:25:48: spec.ingress.routes[0].backends[0].port: port 8081 is not a port of app "
        "'frontend' (its ports: 8080)",
    ),
    (
        "app with two ports and no backends",
        "routes: [{app: api}]\n",
        "p.yaml:25:14: spec.ingress.routes[0].backends: app 'api' has ports 8080, 9000: say "
        "which with backends: [{port: ...}]",
    ),
    (
        "backend app with no ports",
        "routes: [{app: frontend, backends: [{service: idle, namespace: monitoring}]}]\n",
        "p.yaml:25:41: spec.ingress.routes[0].backends[0].port: app 'idle' declares no ports: "
        "declare the port it serves on",
    ),
    # matches for the wrong protocol
    (
        "service on an http route",
        "routes: [{app: frontend, matches: [{service: shop.Cart}]}]\n",
        "p.yaml:25:50: spec.ingress.routes[0].matches[0].service: service is for grpc routes: "
        "an http route matches path, method and headers",
    ),
    (
        "path on a grpc route",
        "routes: [{app: api, protocol: grpc, port: 9000, backends: [{port: 9000}], "
        "matches: [{path: {value: /}}]}]\n",
        "p.yaml:25:90: spec.ingress.routes[0].matches[0].path: path is for http routes: a grpc "
        "route matches service, method and headers",
    ),
    (
        "matches on a tcp route",
        "routes: [{app: db, protocol: tcp, port: 5432, matches: [{}]}]\n",
        "p.yaml:25:51: spec.ingress.routes[0].matches: a tcp route has no matches "
        "(it is chosen by its port)",
    ),
    (
        "http method in lower case",
        "routes: [{app: frontend, matches: [{method: get}]}]\n",
        "p.yaml:25:49: spec.ingress.routes[0].matches[0].method: method 'get' is not one of "
        "CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE; did you mean 'GET'?",
    ),
    # the model's own rules, at their keys
    (
        "path with a double slash",
        "routes: [{app: frontend, matches: [{path: {value: /a//b}}]}]\n",
        "p.yaml:25:55: spec.ingress.routes[0].matches[0].path.value: path '/a//b' must not "
        "contain '//'",
    ),
    (
        "regex with a look-ahead",
        "routes: [{app: frontend, matches: [{path: {type: RegularExpression, value: '/(?=a)'}}]}]"
        "\n",
        "p.yaml:25:80: spec.ingress.routes[0].matches[0].path.value: regex '/(?=a)' is not "
        "one RE2 (Envoy) accepts: invalid perl operator: (?=",
    ),
    (
        "regex over RE2's repetition limit",
        "routes: [{app: frontend, matches: [{path: {type: RegularExpression, "
        "value: '/a{99999999}'}}]}]\n",
        "p.yaml:25:80: spec.ingress.routes[0].matches[0].path.value: regex '/a{99999999}' is "
        "not one RE2 (Envoy) accepts: invalid repetition size: {99999999}",
    ),
    (
        "header regex over RE2's repetition limit",
        "routes: [{app: frontend, matches: [{headers: [{name: x-v, type: RegularExpression, "
        "value: 'a{1001}'}]}]}]\n",
        "p.yaml:25:51: spec.ingress.routes[0].matches[0].headers[0]: regex 'a{1001}' is "
        "not one RE2 (Envoy) accepts: invalid repetition size: {1001}",
    ),
    (
        "header name",
        "routes: [{app: frontend, matches: [{headers: {'x a': b}}]}]\n",
        "p.yaml:25:58: spec.ingress.routes[0].matches[0].headers['x a']: header name 'x a' must "
        "be an HTTP token of 1-256 characters",
    ),
    (
        "header matched twice",
        "routes: [{app: frontend, matches: [{headers: {x-a: b, X-A: c}}]}]\n",
        "p.yaml:25:41: spec.ingress.routes[0].matches[0].headers: 'X-A' is matched twice",
    ),
    (
        "grpc service name",
        "routes: [{app: api, protocol: grpc, port: 9000, backends: [{port: 9000}], "
        "matches: [{service: 'shop cart'}]}]\n",
        "p.yaml:25:99: spec.ingress.routes[0].matches[0].service: 'shop cart' is not a gRPC "
        "service name",
    ),
    (
        "header modifier with nothing to do",
        "routes: [{app: frontend, filters: [{responseHeaderModifier: {}}]}]\n",
        "p.yaml:25:41: spec.ingress.routes[0].filters[0].responseHeaderModifier: needs headers to "
        "set, add or remove",
    ),
    (
        "rewrite a prefix with two matches",
        "routes: [{app: frontend, matches: [{path: {value: /a}}, {path: {value: /b}}], "
        "filters: [{urlRewrite: {path: {replacePrefixMatch: /}}}]}]\n",
        "p.yaml:25:83: spec.ingress.routes[0].filters: ReplacePrefixMatch needs exactly one "
        "match, on a PathPrefix",
    ),
    (
        "a redirect with backends",
        "routes: [{app: frontend, filters: [{requestRedirect: {}}], backends: [{}]}]\n",
        "p.yaml:25:64: spec.ingress.routes[0].backends: a route that redirects sends nothing to "
        "backends",
    ),
    (
        "hostnames on a tcp route",
        "routes: [{app: db, protocol: tcp, port: 5432, hostnames: [db.example.com]}]\n",
        "p.yaml:25:51: spec.ingress.routes[0].hostnames: a TCP route has no hostnames "
        "(TCP carries none)",
    ),
    (
        "tls route without a port",
        "routes: [{app: db, protocol: tls, hostnames: [db.example.com]}]\n",
        "p.yaml:25:14: spec.ingress.routes[0].port: a TLS route needs a port",
    ),
    (
        "backendScheme",
        "routes: [{app: frontend, backendScheme: h2}]\n",
        "p.yaml:25:45: spec.ingress.routes[0].backendScheme: backendScheme 'h2' must be one of "
        "'http', 'https', 'h2c'; did you mean 'h2c'?",
    ),
    # the route against the gateway
    (
        "tcp on a web port",
        "routes: [{app: db, protocol: tcp, port: 80}]\n",
        "p.yaml:25:45: spec.ingress.routes[0].port: port 80 is the gateway's httpPort: a tcp "
        "route needs a port of its own",
    ),
    (
        "hostname the gateway does not answer",
        "hostname: '*.example.com'\nroutes: [{app: frontend, hostnames: [shop.example.org]}]\n",
        "p.yaml:26:42: spec.ingress.routes[0].hostnames[0]: hostname 'shop.example.org' is not "
        "one the gateway answers (spec.ingress.hostname is '*.example.com')",
    ),
]


@pytest.mark.parametrize(("body", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_one_error(body: str, expected: str) -> None:
    assert errors_of(body) == [expected]


def test_the_default_gateway_namespace_must_be_declared() -> None:
    text = with_ingress("routes: []\n").replace("    - {name: ingress, mesh: off}\n", "")
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.read(text, "p.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "p.yaml:23:3: spec.ingress.gateway.namespace: namespace 'ingress' (the default) is not "
        "declared in namespaces"
    ]


def test_an_app_name_in_two_namespaces_needs_its_namespace() -> None:
    text = with_ingress("routes: [{app: frontend}]\n").replace(
        "    - name: idle\n",
        "    - name: frontend\n      namespace: monitoring\n    - name: idle\n",
    )
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.read(text, "p.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "p.yaml:27:20: spec.ingress.routes[0].app: app 'frontend' is in more than one namespace "
        "(monitoring, shop): write 'monitoring/frontend' or another"
    ]


# -- what the plan refuses: conflicts between routes, at both places ------------------------------

CONFLICTS: list[tuple[str, str, list[str]]] = [
    (
        "the same path on the same host",
        """\
        routes:
          - app: frontend
            matches: [{path: {value: /shop}}]
          - app: grafana
            matches: [{path: {value: /shop}}]
        """,
        [
            "p.yaml:28:9: spec.ingress.routes[1]: route 'grafana' conflicts with route "
            "'frontend' (spec.ingress.routes[0], line 26) on http-80 * PathPrefix /shop; "
            "the route written first keeps it"
        ],
    ),
    (
        "a path under another app's '/'; two routes of one app never conflict",
        """\
        tls: {secret: shop-tls}
        hostname: shop.example.com
        routes:
          - {app: frontend, name: a}
          - {app: grafana, matches: [{path: {value: /grafana}}]}
          - {app: frontend, name: b, matches: [{path: {value: /}}]}
        """,
        [
            "p.yaml:29:9: spec.ingress.routes[1]: route 'grafana' conflicts with route 'a' "
            "(spec.ingress.routes[0], line 28) on https-443 shop.example.com PathPrefix /grafana "
            "(overlapping shop.example.com PathPrefix /); the route written first keeps it"
        ],
    ),
    (
        "an exact path, a method or a regex inside another app's prefix",
        """\
        routes:
          - {app: frontend, matches: [{path: {value: /shop}}]}
          - {app: grafana, matches: [{path: {type: Exact, value: /shop/admin}}]}
          - {app: api, backends: [{port: 8080}], matches: [{path: {value: /shop}, method: GET}]}
          - {app: db, backends: [{port: 5432}], matches: [{path: {type: RegularExpression,
              value: '/sh.p/.*'}}]}
        """,
        [
            "p.yaml:27:9: spec.ingress.routes[1]: route 'grafana' conflicts with route "
            "'frontend' (spec.ingress.routes[0], line 26) on http-80 * Exact /shop/admin "
            "(overlapping * PathPrefix /shop); the route written first keeps it",
            "p.yaml:28:9: spec.ingress.routes[2]: route 'api' conflicts with route "
            "'frontend' (spec.ingress.routes[0], line 26) on http-80 * PathPrefix /shop GET "
            "(overlapping * PathPrefix /shop); the route written first keeps it",
            "p.yaml:29:9: spec.ingress.routes[3]: route 'db' conflicts with route "
            "'frontend' (spec.ingress.routes[0], line 26) on http-80 * RegularExpression "
            "/sh.p/.* (overlapping * PathPrefix /shop); the route written first keeps it",
        ],
    ),
    (
        "'/' on a host an app of a wildcard host serves",
        """\
        routes:
          - {app: frontend, hostnames: ['*.example.com'], matches: [{path: {value: /shop}}]}
          - {app: grafana, hostnames: [grafana.example.com]}
        """,
        [
            "p.yaml:27:9: spec.ingress.routes[1]: route 'grafana' conflicts with route "
            "'frontend' (spec.ingress.routes[0], line 26) on http-80 grafana.example.com "
            "PathPrefix / (overlapping *.example.com PathPrefix /shop); the route written first "
            "keeps it"
        ],
    ),
    (
        "a tcp port and an http listener",
        """\
        routes:
          - {app: db, protocol: tcp, port: 5432}
          - {app: frontend, port: 5432}
          - {app: db, name: db-again, protocol: tcp, port: 5432}
        """,
        [
            "p.yaml:27:9: spec.ingress.routes[1]: route 'frontend' conflicts with route 'db' "
            "(spec.ingress.routes[0], line 26) on port 5432 (TCP, not HTTP); the route written "
            "first keeps it",
            "p.yaml:28:9: spec.ingress.routes[2]: route 'db-again' conflicts with route 'db' "
            "(spec.ingress.routes[0], line 26) on tcp-5432; the route written first keeps it",
        ],
    ),
    (
        "http and grpc on one host",
        """\
        routes:
          - {app: frontend, hostnames: [shop.example.com]}
          - {app: api, protocol: grpc, hostnames: [shop.example.com], backends: [{port: 9000}]}
        """,
        [
            "p.yaml:27:9: spec.ingress.routes[1]: route 'api' conflicts with route 'frontend' "
            "(spec.ingress.routes[0], line 26) on http-80 host shop.example.com (HTTPRoute "
            "there); the route written first keeps it"
        ],
    ),
    (
        "http on every host and grpc on one",
        """\
        routes:
          - {app: frontend, matches: [{path: {value: /shop}}]}
          - {app: api, protocol: grpc, hostnames: [rpc.example.com], backends: [{port: 9000}]}
        """,
        [
            "p.yaml:27:9: spec.ingress.routes[1]: route 'api' conflicts with route 'frontend' "
            "(spec.ingress.routes[0], line 26) on http-80 host rpc.example.com (HTTPRoute "
            "there); the route written first keeps it"
        ],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in CONFLICTS], ids=[c[0] for c in CONFLICTS]
)
def test_conflicts_name_both_routes(body: str, expected: list[str]) -> None:
    assert errors_of(body) == expected


def test_routes_that_do_not_overlap_do_not_conflict() -> None:
    """The control for the conflicts above: other paths, hosts or ports are fine."""
    ingress = read(
        """\
        routes:
          - {app: frontend, hostnames: [shop.example.com], matches: [{path: {value: /shop}}]}
          - {app: grafana, hostnames: [shop.example.com], matches: [{path: {value: /grafana}}]}
          - {app: api, protocol: grpc, hostnames: [rpc.example.com], backends: [{port: 9000}]}
          - {app: db, protocol: tcp, port: 5432}
        """
    )
    assert len(ingress.route_sets) == 4


# -- every error at once -------------------------------------------------------------------------


def test_every_schema_error_is_reported_in_file_order() -> None:
    assert errors_of(
        """\
        httpPort: 0
        routes:
          - {app: frontend, protocol: udp}
          - {app: frontend, nmae: x}
        """
    ) == [
        "p.yaml:25:15: spec.ingress.httpPort: port 0 must be an integer 1-65535",
        "p.yaml:27:35: spec.ingress.routes[0].protocol: protocol 'udp' must be one of 'http', "
        "'grpc', 'tcp', 'tls'",
        "p.yaml:28:25: spec.ingress.routes[1].nmae: unknown key 'nmae'; did you mean 'name'?",
    ]


def test_every_reference_and_model_error_is_reported_in_file_order() -> None:
    assert errors_of(
        """\
        gateway: {namespace: edge}
        routes:
          - {app: nobody}
          - {app: frontend, matches: [{path: {value: a}}]}
          - {app: api}
        """
    ) == [
        "p.yaml:25:26: spec.ingress.gateway.namespace: namespace 'edge' is not declared in "
        "namespaces",
        "p.yaml:27:15: spec.ingress.routes[0].app: unknown app 'nobody'",
        "p.yaml:28:50: spec.ingress.routes[1].matches[0].path.value: path 'a' must start with '/'",
        "p.yaml:29:9: spec.ingress.routes[2].backends: app 'api' has ports 8080, 9000: say which "
        "with backends: [{port: ...}]",
    ]


def test_plan_problems_of_the_mesh_and_the_ingress_come_together() -> None:
    text = with_ingress(
        """\
        routes:
          - {app: frontend}
          - {app: grafana, matches: [{path: {value: /grafana}}]}
          - {app: api, name: again, backends: [{port: 8080}]}
        """
    ).replace(
        "    - name: idle\n      namespace: monitoring\n",
        "    - name: idle\n      namespace: monitoring\n"
        "      ports: [{port: 80}]\n      accepts: [{from: [ghost]}]\n",
    )
    with pytest.raises(platform_file.PlatformFileError) as raised:
        platform_file.read(text, "p.yaml")
    assert [str(e) for e in raised.value.errors] == [
        "p.yaml:25:25: spec.apps[4].accepts[0].from[0]: unknown app 'monitoring/ghost'; "
        "did you mean 'monitoring/idle'?",
        "p.yaml:29:9: spec.ingress.routes[1]: route 'grafana' conflicts with route 'frontend' "
        "(spec.ingress.routes[0], line 28) on http-80 * PathPrefix /grafana (overlapping * "
        "PathPrefix /); the route written first keeps it",
        "p.yaml:30:9: spec.ingress.routes[2]: route 'again' conflicts with route 'frontend' "
        "(spec.ingress.routes[0], line 28) on http-80 * PathPrefix /; the route written first "
        "keeps it",
    ]
