"""Tests for ``meshops route``: which route, rule and backends serve a request at the ingress.

The text for people (exact, on the shop example and on an inline file with weighted
backends and a URL rewrite), the JSON for programs, each exit status (0 routed or
redirected, 1 for 404, 500 and layer 4, 2 for a wrong file or command line) and each
user error's one-line message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshops.cli import EXIT_INVALID, EXIT_OK, main
from meshops.cli.route import outcome_lines
from meshops.semantics.routing import Backend, Outcome, Request

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "shop.yaml")
SHOP_ROUTE = "HTTPRoute shop/edge-frontend-https-443-e9ccc1"
WWW_ROUTE = "HTTPRoute shop/edge-frontend-https-443-6716ee"
LISTENER_443 = (
    "    listener https-443 (HTTPS, port 443, hostname '*.example.com'): "
    "matches {host!r}; the only one on the port"
)

API = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: web}
spec:
  namespaces:
    - {name: web, mesh: ambient}
  apps:
    - name: api
      namespace: web
      ports: [{port: 8080, protocol: http}, {port: 8081, protocol: http}]
    - name: db
      namespace: web
      ports: [{port: 5432, protocol: tcp}]
  ingress:
    gateway: {namespace: web}
    hostname: api.example.org
    routes:
      - app: api
        name: api
        matches:
          - path: {type: PathPrefix, value: /api}
        filters:
          - urlRewrite: {hostname: api.internal, path: {replacePrefixMatch: /v2}}
          - requestHeaderModifier:
              set: {x-env: prod}
              remove: [x-debug]
        backends:
          - {port: 8080, weight: 90}
          - {port: 8081, weight: 10}
      - app: db
        protocol: tcp
        port: 5432
"""

NO_INGRESS = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: p}
spec:
  namespaces: [{name: shop}]
  apps: [{name: web, namespace: shop, ports: [{port: 8080, protocol: http}]}]
"""


def route(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``meshops route ARGS``; return its exit status, stdout and stderr."""
    status = main(["route", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def api_file(tmp_path: Path) -> str:
    """The inline platform file: weighted backends, a URL rewrite, a TCP route."""
    path = tmp_path / "api.yaml"
    path.write_text(API)
    return str(path)


# --- the shop example, as text --------------------------------------------------------------


def test_a_routed_request_shows_backend_and_header_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert route(capsys, EXAMPLE, "https://shop.example.com/") == (
        EXIT_OK,
        f"""\
200: {SHOP_ROUTE}, rule "shop" (0), match 0
  request   GET https://shop.example.com/
  gateway   ingress/edge, listener https-443
  backend   Service shop/frontend:8080  weight 1  100%
  headers   response  set strict-transport-security: max-age=31536000
  why:
    gateway ingress/edge: the only one listening on port 443
{LISTENER_443.format(host="shop.example.com")}
    {SHOP_ROUTE}: serves host 'shop.example.com' (hostname 'shop.example.com')
    rule 0 'shop': match 0 (PathPrefix '/') accepts the request
    backend Service shop/frontend:8080: weight 1, 100%
""",
        "",
    )


def test_plain_http_is_redirected_to_https(capsys: pytest.CaptureFixture[str]) -> None:
    assert route(capsys, EXAMPLE, "http://shop.example.com/x") == (
        EXIT_OK,
        """\
301: redirect to https://shop.example.com/x
  request   GET http://shop.example.com/x
  gateway   ingress/edge, listener http-80
  route     HTTPRoute ingress/edge-https-redirect, rule 0, match 0
  why:
    gateway ingress/edge: the only one listening on port 80
    listener http-80 (HTTP, port 80, hostname '*.example.com'): matches 'shop.example.com'; \
the only one on the port
    HTTPRoute ingress/edge-https-redirect: serves host 'shop.example.com' \
(hostname '*.example.com')
    rule 0: match 0 (PathPrefix '/') accepts the request
    RequestRedirect: 301 to https://shop.example.com/x
""",
        "",
    )


def test_www_is_redirected_to_the_shop(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = route(capsys, EXAMPLE, "https://www.example.com/a?q=1")
    assert (status, err) == (EXIT_OK, "")
    assert out.splitlines()[:4] == [
        "301: redirect to https://shop.example.com/a?q=1",
        "  request   GET https://www.example.com/a?q=1",
        "  gateway   ingress/edge, listener https-443",
        f'  route     {WWW_ROUTE}, rule "www" (0), match 0',
    ]


def test_an_unknown_host_has_no_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert route(capsys, EXAMPLE, "https://nope.example.com/") == (
        1,
        f"""\
404: no route
  request   GET https://nope.example.com/
  gateway   ingress/edge, listener https-443
  why:
    gateway ingress/edge: the only one listening on port 443
{LISTENER_443.format(host="nope.example.com")}
    no route attached to the listener serves host 'nope.example.com' (3 attached)
""",
        "",
    )


def test_grafana_is_served_by_its_own_route(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(capsys, EXAMPLE, "https://grafana.example.com/d/1")
    assert status == EXIT_OK
    assert out.splitlines()[:4] == [
        '200: HTTPRoute monitoring/edge-grafana-https-443-2450f0, rule "grafana" (0), match 0',
        "  request   GET https://grafana.example.com/d/1",
        "  gateway   ingress/edge, listener https-443",
        "  backend   Service monitoring/grafana:3000  weight 1  100%",
    ]


def test_a_grpc_call_is_a_post_to_service_and_method(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = route(capsys, EXAMPLE, "https://shop.example.com/", "--grpc", "a.B/C")
    assert status == EXIT_OK
    assert out.splitlines()[:3] == [
        f'200: {SHOP_ROUTE}, rule "shop" (0), match 0',
        "  request   POST https://shop.example.com/a.B/C  (gRPC a.B/C)",
        "            content-type: application/grpc",
    ]


def test_headers_are_shown_and_host_names_the_virtual_host(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = route(
        capsys, EXAMPLE, "https://shop.example.com/", "-H", "Host: www.example.com", "-H", "x-a:1"
    )
    assert status == EXIT_OK
    assert out.splitlines()[:3] == [
        "301: redirect to https://shop.example.com/",
        "  request   GET https://www.example.com/",
        "            x-a: 1",
    ]


def test_the_mesh_waypoints_are_not_ingress_gateways(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = route(capsys, EXAMPLE, "http://shop.example.com:15008/")
    assert status == 1
    assert out.splitlines()[-1] == (
        "    no Gateway has a listener on port 15008 (Gateways: ingress/edge)"
    )


def test_a_port_the_gateway_does_not_listen_on(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(capsys, EXAMPLE, "https://shop.example.com:8443/")
    assert status == 1
    assert out.splitlines()[0] == "404: no route"


def test_the_gateway_can_be_named(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(
        capsys, EXAMPLE, "https://shop.example.com/", "--gateway", "ingress/edge"
    )
    assert status == EXIT_OK
    assert "    gateway ingress/edge: chosen" in out.splitlines()


# --- JSON -----------------------------------------------------------------------------------


def test_json_is_the_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = route(capsys, EXAMPLE, "https://shop.example.com/p", "--output", "json")
    assert (status, err) == (EXIT_OK, "")
    data = json.loads(out)
    assert list(data) == [
        "status",
        "http_status",
        "grpc_status",
        "summary",
        "request",
        "gateway",
        "listener",
        "route",
        "rule",
        "backends",
        "error_share",
        "error_status",
        "redirect",
        "forwarded",
        "header_changes",
        "mirrors",
        "timeouts",
        "retry",
        "cors",
        "reasons",
    ]
    assert data["status"] == "routed"
    assert data["http_status"] is None
    assert data["request"] == {
        "url": "https://shop.example.com/p",
        "method": "GET",
        "headers": [],
        "grpc": None,
    }
    assert (data["gateway"], data["listener"]) == ("ingress/edge", "https-443")
    assert data["route"] == {
        "kind": "HTTPRoute",
        "namespace": "shop",
        "name": "edge-frontend-https-443-e9ccc1",
    }
    assert data["rule"] == {"index": 0, "name": "shop", "match": 0}
    assert [(b["name"], b["port"], b["weight"], b["share"]) for b in data["backends"]] == [
        ("frontend", 8080, 1, 100.0)
    ]
    assert data["forwarded"] == {"host": "shop.example.com", "path": "/p"}
    assert data["header_changes"] == [
        {
            "phase": "response",
            "action": "set",
            "name": "strict-transport-security",
            "value": "max-age=31536000",
        }
    ]


def test_json_for_a_redirect_and_a_404(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(capsys, EXAMPLE, "http://shop.example.com/", "--output", "json")
    assert status == EXIT_OK
    assert json.loads(out)["redirect"] == {
        "status_code": 301,
        "location": "https://shop.example.com/",
    }
    status, out, _ = route(capsys, EXAMPLE, "https://nope.example.com/", "--output", "json")
    assert status == 1
    data = json.loads(out)
    assert (data["status"], data["http_status"], data["route"]) == ("not-found", 404, None)


# --- an inline file: weights, a rewrite, 500, layer 4 ---------------------------------------


def test_weighted_backends_and_a_rewrite(
    api_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = route(
        capsys, api_file, "http://api.example.org/api/users?id=1", "-H", "X-Debug: 1"
    )
    assert (status, err) == (EXIT_OK, "")
    assert (
        out.split("  why:\n")[0]
        == """\
200: HTTPRoute web/web-api-http-80, rule "api" (0), match 0
  request   GET http://api.example.org/api/users?id=1
            X-Debug: 1
  gateway   web/web, listener http-80
  backends  Service web/api:8080  weight 90  90%
            Service web/api:8081  weight 10  10%
  headers   request   set x-env: prod
            request   remove x-debug
  received  Service web/api:8080 gets x-env: prod
            Service web/api:8081 gets x-env: prod
  rewrite   host api.example.org -> api.internal
            path /api/users -> /v2/users
"""
    )
    assert "    URLRewrite: forwards host 'api.internal', path '/v2/users'" in out.splitlines()


def test_a_path_no_match_accepts(api_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(capsys, api_file, "http://api.example.org/other")
    assert status == 1
    assert out.splitlines()[0] == "404: no route"
    assert out.splitlines()[-1] == (
        "      HTTPRoute web/web-api-http-80 rule 0: path '/other' is not under '/api'"
    )


def test_no_valid_backend_is_a_500(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zero.yaml"
    path.write_text(API.replace("weight: 90", "weight: 0").replace("weight: 10", "weight: 0"))
    status, out, _ = route(capsys, str(path), "http://api.example.org/api")
    assert status == 1
    assert out.splitlines()[:6] == [
        "500: no valid backend",
        "  request   GET http://api.example.org/api",
        "  gateway   web/web, listener http-80",
        '  route     HTTPRoute web/web-api-http-80, rule "api" (0), match 0',
        "  backends  Service web/api:8080  weight 0  0%",
        "            Service web/api:8081  weight 0  0%",
    ]
    assert out.splitlines()[-1] == "    every backendRef has weight 0: requests get 500"


def test_a_tcp_listener_is_not_evaluated(
    api_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = route(capsys, api_file, "http://api.example.org:5432/")
    assert status == 1
    assert (
        out.splitlines()[0] == "layer 4: not evaluated (listener tcp-5432 takes TLS or TCP routes)"
    )
    assert out.splitlines()[-1] == (
        "    TCP listener: layer 4, not evaluated (routes: TCPRoute web/web-db-db)"
    )


def test_some_traffic_to_an_invalid_backend_is_said() -> None:
    outcome = Outcome(
        "routed",
        Request.from_url("https://a.example/"),
        gateway="web/edge",
        listener="https",
        route_kind="HTTPRoute",
        route="web/a",
        rule_index=1,
        match_index=None,
        backends=(
            Backend("Service", "web", "a", 80, 3, 75.0),
            Backend("Service", "other", "b", 8080, 1, 25.0, problem="RefNotPermitted: no grant"),
        ),
    )
    assert outcome_lines(outcome) == [
        "200: HTTPRoute web/a, rule 1; 25% get 500 (invalid backends)",
        "  request   GET https://a.example/",
        "  gateway   web/edge, listener https",
        "  backends  Service web/a:80      weight 3  75%",
        "            Service other/b:8080  weight 1  25%  invalid, gets 500: "
        "RefNotPermitted: no grant",
    ]


# --- user errors: exit 2, one line ----------------------------------------------------------

URL = "https://shop.example.com/"
GRPC_FORM = "SERVICE/METHOD, e.g. --grpc shop.Cart/AddItem"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://x/"], "URL 'ftp://x/': scheme 'ftp' must be http or https"),
        (["https://"], "URL 'https://' has no host"),
        (["https://a/%zz"], "URL 'https://a/%zz': '%zz' is not a percent-encoded byte"),
        ([URL, "-H", "x-user"], "-H 'x-user' must be NAME:VALUE, e.g. -H 'x-user: alice'"),
        ([URL, "-H", "a b: c"], "-H 'a b: c': 'a b' is not a valid HTTP header name"),
        ([URL, "-H", ": c"], "-H ': c': '' is not a valid HTTP header name"),
        ([URL, "--grpc", "a.B"], f"--grpc 'a.B' must be {GRPC_FORM}"),
        ([URL, "--grpc", "a/B/C"], f"--grpc 'a/B/C' must be {GRPC_FORM}"),
        ([URL, "--grpc", "/C"], f"--grpc '/C' must be {GRPC_FORM}"),
        ([URL, "--grpc", "a.B/C", "--method", "GET"], "method 'GET': a gRPC call is a POST"),
        ([URL, "--method", "G T"], "method 'G T' is not a valid HTTP method"),
        (
            [URL, "--gateway", "shop/waypoint"],
            "gateway 'shop/waypoint' is not among the Gateways (ingress/edge)",
        ),
    ],
)
def test_a_user_error_is_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert route(capsys, EXAMPLE, *args) == (EXIT_INVALID, "", f"meshops route: {message}\n")


def test_an_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(NO_INGRESS.replace("name: shop}", "name: shop, mesh: ambiant}"))
    status, out, err = route(capsys, str(path), "https://a.example/")
    assert (status, out) == (EXIT_INVALID, "")
    assert err.startswith(f"{path}:5:")
    assert "mesh 'ambiant' must be one of" in err


def test_an_invalid_file_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = route(capsys, str(tmp_path / "nope.yaml"), "https://a/", "--output", "json")
    assert (status, err) == (EXIT_INVALID, "")
    assert json.loads(out)["valid"] is False


def test_a_file_without_ingress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(NO_INGRESS)
    assert route(capsys, str(path), "https://a.example/") == (
        EXIT_INVALID,
        "",
        f"meshops route: {path} has no ingress section: there is no gateway to route through\n",
    )


def test_a_missing_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = route(capsys, EXAMPLE)
    assert (status, out) == (EXIT_INVALID, "")
    assert err.startswith("meshops route: error: the following arguments are required: URL (")
    assert err.count("\n") == 1


# --- help -----------------------------------------------------------------------------------


def test_help_explains_and_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = route(capsys, "--help")
    assert status == EXIT_OK
    assert "Gateway API's precedence" in out
    assert "Exit status: 0 when the request is routed or redirected; 1 when" in out
    examples = out.split("examples:\n")[1].splitlines()
    assert "  meshops route examples/shop.yaml https://shop.example.com/products" in examples
    assert any(" -H " in line for line in examples)
    assert any(" --grpc " in line for line in examples)


def test_meshops_lists_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    assert "    route " in capsys.readouterr().out
