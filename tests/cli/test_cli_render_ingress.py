"""Tests for ``meshops render`` of a platform file's ``ingress`` section.

The ingress's objects (Gateway, routes, ReferenceGrants, DestinationRules and
AuthorizationPolicies, from the same ``plan_ingress`` the istio-ingress-k8s charm uses)
come after the mesh's objects of each kind, every kind in the apply order of the kinds
registry, with the routes in the order of the file; the named TLS Secret is not rendered;
the output has no YAML aliases and is the same bytes on every run and hash seed; routes
that conflict make ``render`` exit 2 naming both places, with nothing on stdout; and any
ingress section that loads renders objects the upstream CRDs accept (property test).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshops import platform_file
from meshops.cli import EXIT_INVALID, EXIT_OK, main
from meshops.cli.render import APPLY_ORDER, file_objects
from meshops.k8s import Api, make_client
from meshops.k8s.kinds import APPLY_ORDER as KINDS_APPLY_ORDER
from meshops.k8s.kinds import kind_of
from meshops.model.ingress import Backend, GatewayConfig, Protocol, Route
from meshops.plan.ingress import ROUTE_SOURCE_LABEL, RouteSet

EXAMPLE = Path(__file__).parents[2] / "examples" / "shop.yaml"

PLATFORM = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: shop}
spec:
  namespaces:
    - {name: shop}
    - {name: data}
    - {name: edge, mesh: off}
  apps:
    - name: web
      namespace: shop
      ports: [{port: 8080, protocol: http}]
    - name: api
      namespace: shop
      ports: [{port: 9000, protocol: grpc}]
      accepts: [{from: [web]}]
    - name: db
      namespace: data
      ports: [{port: 5432}]
"""
#: Every kind of route, a cross-namespace backend and backend TLS and h2c.
EVERY_KIND = """\
  ingress:
    gateway: {name: edge, namespace: edge}
    hostname: "*.example.com"
    tls: {secret: example-com-tls}
    routes:
      - app: web
        hostnames: [shop.example.com]
        backendScheme: https
      - app: api
        protocol: grpc
        hostnames: [rpc.example.com]
        backendScheme: h2c
      - app: db
        protocol: tcp
        port: 5432
      - app: db
        name: db-tls
        protocol: tls
        port: 6432
        hostnames: [db.example.com]
      - app: web
        name: db-admin
        hostnames: [admin.example.com]
        backends: [{service: db, namespace: data, port: 5432}]
"""


def render(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["render", str(path)])
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_the_apply_order_is_the_kinds_registrys() -> None:
    assert tuple(k.kind for k in KINDS_APPLY_ORDER) == APPLY_ORDER


def test_every_kind_comes_in_apply_order_the_mesh_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = render(write(tmp_path, PLATFORM + EVERY_KIND), capsys)
    assert (status, err) == (EXIT_OK, "")
    objects = list(yaml.safe_load_all(out))
    kinds = [o["kind"] for o in objects]
    assert kinds == sorted(kinds, key=APPLY_ORDER.index)
    assert set(kinds) == {
        "Namespace",
        "Gateway",
        "ReferenceGrant",
        "HTTPRoute",
        "GRPCRoute",
        "TLSRoute",
        "TCPRoute",
        "DestinationRule",
        "AuthorizationPolicy",
    }
    gateways = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects[3:6]]
    assert gateways == [("data", "waypoint"), ("shop", "waypoint"), ("edge", "edge")]
    policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
    sources = ["policy-source" in str(p["metadata"]["labels"]) for p in policies]
    assert sources == [True] + [False] * (len(policies) - 1)  # the mesh's, then the ingress's


def test_routes_come_in_the_order_of_the_file_and_the_secret_is_not_rendered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = render(EXAMPLE, capsys)
    assert status == EXIT_OK
    objects = list(yaml.safe_load_all(out))
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    assert [r["metadata"].get("labels", {}).get(ROUTE_SOURCE_LABEL) for r in routes] == [
        None,  # the gateway's own redirect to HTTPS, in its namespace
        "shop",
        "www",
        "grafana",
    ]
    assert not [o for o in objects if o["kind"] == "Secret"]
    gateway = next(
        o for o in objects if o["kind"] == "Gateway" and o["metadata"]["name"] == "edge"
    )
    refs = [x["tls"]["certificateRefs"] for x in gateway["spec"]["listeners"] if "tls" in x]
    assert refs == [[{"kind": "Secret", "group": "", "name": "example-com-tls"}]]


def test_repeated_values_are_written_out_not_aliased(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = render(EXAMPLE, capsys)
    assert status == EXIT_OK
    assert "&id" not in out
    assert "*id" not in out
    gateway = next(o for o in yaml.safe_load_all(out) if o["metadata"]["name"] == "edge")
    allowed = [x["allowedRoutes"] for x in gateway["spec"]["listeners"]]
    assert len(allowed) == 2
    assert allowed[0] == allowed[1]


def test_render_gives_the_same_bytes_with_any_hash_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, PLATFORM + EVERY_KIND)
    _, expected, _ = render(path, capsys)
    assert render(path, capsys)[1] == expected
    code = f"import sys\nfrom meshops.cli import main\nsys.exit(main(['render', {str(path)!r}]))\n"
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=60,
        ).stdout
        for seed in ("0", "1", "random")
    ]
    assert outputs == [expected] * 3


def test_conflicting_routes_exit_2_naming_both_places(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        PLATFORM
        + "  ingress:\n"
        + textwrap.indent(
            textwrap.dedent(
                """\
                gateway: {namespace: edge}
                routes:
                  - app: web
                    hostnames: [shop.example.com]
                  - app: db
                    protocol: tcp
                    port: 8443
                  - app: api
                    protocol: grpc
                    hostnames: [shop.example.com]
                  - app: db
                    name: db-again
                    protocol: tcp
                    port: 8443
                """
            ),
            "    ",
        ),
    )
    status, out, err = render(path, capsys)
    assert (status, out) == (EXIT_INVALID, "")
    assert err.splitlines() == [
        f"{path}:28:9: spec.ingress.routes[2]: route 'api' conflicts with route 'web' "
        "(spec.ingress.routes[0], line 23) on http-80 host shop.example.com (HTTPRoute "
        "there); the route written first keeps it",
        f"{path}:31:9: spec.ingress.routes[3]: route 'db-again' conflicts with route 'db' "
        "(spec.ingress.routes[1], line 25) on tcp-8443; the route written first keeps it",
    ]
    assert "Traceback" not in err


def test_problems_the_loader_did_not_check_are_still_reported() -> None:
    """``file_objects`` reports what the plan refuses even in a declaration built by hand."""
    platform = platform_file.load(PLATFORM, "p.yaml")
    route = Route("web", Protocol.HTTP, None, backends=(Backend("web", 8080),))
    declaration = platform_file.Declaration(
        platform,
        platform_file.Ingress(
            GatewayConfig("edge", "edge"),
            (RouteSet("a", "web", "shop", 0, (route,)), RouteSet("b", "api", "shop", 1, (route,))),
        ),
    )
    objects, problems = file_objects(declaration)
    assert problems == [
        "route 'web' of api conflicts with web (a) on http-80 * PathPrefix /",
    ]
    assert [o["kind"] for o in objects].count("HTTPRoute") == 1


# -- any section that loads renders objects the CRDs accept ---------------------------------------

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

_HOSTS = st.sampled_from(["shop.example.com", "*.example.com", "a.example.com", "example.org"])
_PATHS = st.sampled_from(["/", "/api", "/api/v1", "/static", "/a.b-c_d~e"])
_MATCH = st.fixed_dictionaries(
    {},
    optional={
        "path": st.fixed_dictionaries(
            {"value": _PATHS}, optional={"type": st.sampled_from(["PathPrefix", "Exact"])}
        ),
        "method": st.sampled_from(["GET", "POST", "DELETE"]),
        "headers": st.dictionaries(
            st.sampled_from(["x-a", "x-b"]), st.sampled_from(["1", "two"]), max_size=2
        ),
    },
)
_FILTER = st.one_of(
    st.just({"urlRewrite": {"hostname": "internal.example.com"}}),
    st.just({"urlRewrite": {"path": {"replacePrefixMatch": "/"}}}),
    st.just({"requestRedirect": {"scheme": "https", "statusCode": 302}}),
    st.just({"requestHeaderModifier": {"set": {"x-a": "1"}, "remove": ["x-b"]}}),
    st.just({"responseHeaderModifier": {"add": [{"name": "x-c", "value": "2"}]}}),
)


@st.composite
def _route(draw: st.DrawFn, i: int) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["http", "grpc", "tcp", "tls"]))
    route: dict[str, Any] = {"app": draw(st.sampled_from(["web", "api", "db", "shop/web"]))}
    route["name"] = f"r{i}"
    if protocol != "http":
        route["protocol"] = protocol
    if protocol in ("tcp", "tls"):
        route["port"] = draw(st.sampled_from([5432, 6443, 8443]))
    elif draw(st.booleans()):
        route["port"] = draw(st.sampled_from([80, 443, 8443, 9000]))
    if protocol == "tls" or (protocol != "tcp" and draw(st.booleans())):
        route["hostnames"] = draw(st.lists(_HOSTS, min_size=1, max_size=2, unique=True))
    if protocol == "http":
        route["matches"] = draw(st.lists(_MATCH, max_size=2))
        route["filters"] = draw(st.lists(_FILTER, max_size=2, unique_by=lambda f: next(iter(f))))
    if protocol == "grpc":
        route["matches"] = draw(
            st.lists(st.fixed_dictionaries({"service": st.just("shop.Cart")}), max_size=1)
        )
    if draw(st.booleans()):
        route["backends"] = [{"service": "db", "namespace": "data", "port": 5432}]
    if draw(st.booleans()):
        route["backendScheme"] = draw(st.sampled_from(["https", "h2c"]))
    return route


@st.composite
def _ingress(draw: st.DrawFn) -> dict[str, Any]:
    section: dict[str, Any] = {"gateway": {"name": "edge", "namespace": "edge"}}
    if draw(st.booleans()):
        section["hostname"] = draw(_HOSTS)
    if draw(st.booleans()):
        section["tls"] = {"secret": "example-com-tls"}
    count = draw(st.integers(min_value=0, max_value=4))
    section["routes"] = [draw(_route(i)) for i in range(count)]
    return section


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(section=_ingress())
def test_any_section_that_loads_renders_objects_the_crds_accept(
    section: dict[str, Any], make_fake: Any
) -> None:
    text = PLATFORM + textwrap.indent(yaml.safe_dump({"ingress": section}, sort_keys=False), "  ")
    try:
        declaration = platform_file.read(text, "p.yaml")
    except platform_file.PlatformFileError as e:
        unplaced = [str(err) for err in e.errors if not err.line]
        assert unplaced == []  # every error is at a place in the file
        return
    objects, problems = file_objects(declaration)
    assert problems == []
    fake = make_fake(*CRDS)
    api = Api(make_client(fake.transport, field_manager="t"), field_manager="t")
    for obj in objects:
        api.apply(obj, kind_of(obj))  # raises meshops.k8s.errors.Invalid on a 422
