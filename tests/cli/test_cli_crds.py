"""What ``meshops render`` prints is valid for the upstream schemas.

Every object rendered from examples/shop.yaml, from a file using every mesh feature of
the format (namespaces on and off the mesh, L4 and L7 rules, gRPC, hosts, suffix paths,
every method, names long enough to be shortened) and from that file with an ingress
section using every ingress feature (TLS, custom web ports, HTTP, gRPC, TCP and TLS
routes, every match, filter and backend form, cross-namespace and weighted backends,
backend TLS and h2c), and from that file hardened (deny-all policies), is server-side
applied to the in-process Kubernetes API fake with the official CRDs installed (Gateway
API v1.5.1 Gateway, routes and ReferenceGrant, Istio 1.30.3 AuthorizationPolicy and
DestinationRule): openAPIV3Schema and CEL rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshops.cli import main
from meshops.k8s.api import Api
from meshops.k8s.client import make_client
from meshops.k8s.errors import Invalid
from meshops.k8s.kinds import kind_of
from meshops.testing import FakeKubernetes

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "shop.yaml"

LONG = "a" + "-very-long-name" * 4
EVERYTHING = f"""\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {{name: {"p" * 63}}}
spec:
  namespaces:
    - {{name: shop}}
    - {{name: {LONG[:63]}, mesh: ambient}}
    - {{name: legacy, mesh: off}}
  apps:
    - name: frontend
      namespace: shop
      serviceAccount: web.frontend
    - name: {LONG[:63]}
      namespace: {LONG[:63]}
      ports: [{{port: 9000, protocol: grpc}}, {{port: 8080, protocol: http}}, {{port: 5432}}]
      accepts:
        - from: [shop/frontend]
          ports: [9000]
          paths: [/shop.Cart/*]
        - from: [shop/frontend]
          ports: [8080]
          methods: [CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE]
          paths: ["*.json", /api/*, /]
          hosts: [shop.example.com, "*.example.com", "api.example.com:8080"]
        - from: [shop/frontend, {LONG[:63]}]
          level: l4
          ports: [5432, 8080]
    - name: old
      namespace: legacy
      ports: [{{port: 80}}]
"""


INGRESS = f"""\
  ingress:
    gateway: {{name: {"g" * 57}, namespace: legacy}}
    hostname: "*.example.com"
    httpPort: 8080
    httpsPort: 8443
    tls: {{secret: example-com-tls}}
    logLevel: debug
    routes:
      - app: {LONG[:63]}
        name: web
        hostnames: [shop.example.com]
        matches:
          - path: {{type: Exact, value: /}}
            method: GET
            headers: {{x-env: prod}}
          - path: {{type: RegularExpression, value: "/api/v[0-9]+/.*"}}
            headers: [{{name: x-canary, value: "^(yes|true)$", type: RegularExpression}}]
        filters:
          - type: RequestHeaderModifier
            requestHeaderModifier:
              set: {{x-a: b}}
              add: [{{name: x-b, value: c}}]
              remove: [x-c]
          - responseHeaderModifier: {{set: [{{name: x-d, value: e}}]}}
          - urlRewrite:
              hostname: internal.example.com
              path: {{type: ReplaceFullPath, replaceFullPath: /}}
        backends: [{{port: 8080, weight: 90}}]
        backendScheme: https
      - app: {LONG[:63]}
        name: static
        port: 9443
        matches: [{{path: {{value: /static}}}}]
        filters: [{{urlRewrite: {{path: {{replacePrefixMatch: /assets}}}}}}]
        backends: [{{port: 8080}}]
      - app: {LONG[:63]}
        name: rpc
        protocol: grpc
        hostnames: [rpc.example.com]
        matches:
          - {{service: shop.Cart, method: Get, headers: {{x-a: b}}}}
          - {{service: shop.Catalogue}}
        backends: [{{port: 9000}}]
        backendScheme: h2c
      - app: {LONG[:63]}
        name: db
        protocol: tcp
        port: 5432
        backends: [{{port: 5432}}]
      - app: {LONG[:63]}
        name: passthrough
        protocol: tls
        port: 6443
        hostnames: [secure.example.com]
        backends: [{{port: 8080}}]
      - app: legacy/old
        name: moved
        hostnames: [old.example.com]
        filters:
          - requestRedirect:
              scheme: https
              hostname: shop.example.com
              port: 8443
              statusCode: 302
              path: {{replaceFullPath: /moved}}
      - app: old
        name: cross
        hostnames: [cross.example.com]
        backends:
          - {{namespace: {LONG[:63]}, service: {LONG[:63]}, port: 8080, weight: 1}}
          - {{port: 80, weight: 0}}
"""
#: Every kind the ingress section renders.
INGRESS_KINDS = {
    "Gateway",
    "HTTPRoute",
    "GRPCRoute",
    "TCPRoute",
    "TLSRoute",
    "ReferenceGrant",
    "DestinationRule",
    "AuthorizationPolicy",
}


def rendered(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["render", str(path)]) == 0, capsys.readouterr().err
    return list(yaml.safe_load_all(capsys.readouterr().out))


@pytest.fixture
def api(make_fake: Any) -> tuple[FakeKubernetes, Api]:
    fake = make_fake(
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "tcproutes.gateway.networking.k8s.io",
        "tlsroutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
        "destinationrules.networking.istio.io",
    )
    return fake, Api(make_client(fake.transport, field_manager="t"), field_manager="t")


def contains(big: Any, small: Any) -> bool:
    """Whether ``small`` is ``big`` with some mapping entries left out."""
    if isinstance(small, dict) and isinstance(big, dict):
        return all(k in big and contains(big[k], v) for k, v in small.items())
    if isinstance(small, list) and isinstance(big, list):
        return len(small) == len(big) and all(
            contains(b, s) for b, s in zip(big, small, strict=True)
        )
    return big == small


def apply_all(api: Api, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply in the rendered order (namespaces first): a 422 raises Invalid."""
    return [api.apply(obj, kind_of(obj)) for obj in objects]


HARDENED = """\
  hardened: true
  istio: {profile: ambient, hub: registry.local/istio, tag: 1.30.3, namespace: mesh-system}
"""


@pytest.mark.parametrize(
    "source", ["example", "everything", "everything-ingress", "everything-hardened"]
)
def test_rendered_objects_validate_against_the_upstream_crds(
    source: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    api: tuple[FakeKubernetes, Api],
) -> None:
    path = EXAMPLE
    if source != "example":
        path = tmp_path / "everything.yaml"
        extra = {"everything-ingress": INGRESS, "everything-hardened": HARDENED + INGRESS}
        path.write_text(EVERYTHING + extra.get(source, ""))
    objects = rendered(path, capsys)
    fake, client = api
    if source == "everything-hardened":
        operator = objects.pop(0)  # for istioctl, not the API server
        assert operator["kind"] == "IstioOperator"
    if source == "everything-hardened":
        fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh-system"}})
    stored = apply_all(client, objects)
    assert [(o["kind"], o["metadata"]["name"]) for o in stored] == [
        (o["kind"], o["metadata"]["name"]) for o in objects
    ]
    for obj, back in zip(objects, stored, strict=True):
        assert contains(back, obj), obj  # stored as rendered (plus the server's defaults)
    policies = fake.list("security.istio.io/v1", "AuthorizationPolicy")
    assert len(policies) == sum(o["kind"] == "AuthorizationPolicy" for o in objects)


def test_everything_uses_every_feature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "everything.yaml"
    path.write_text(EVERYTHING)
    objects = rendered(path, capsys)
    policies = [o for o in objects if o["kind"] == "AuthorizationPolicy"]
    assert {len(o["metadata"]["name"]) for o in policies} == {63}
    # one on the long app's Service (its l7 rules and its l4 rule's twins), one on its pods
    assert sorted("selector" in o["spec"] for o in policies) == [False, True]
    operations = [
        rule["to"][0]["operation"] for o in policies for rule in o["spec"]["rules"] if "to" in rule
    ]
    assert any("hosts" in op and len(op["methods"]) == 9 for op in operations)
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"] == sorted(
        ["shop", LONG[:63], "legacy"]
    )


def test_everything_ingress_uses_every_ingress_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "everything.yaml"
    path.write_text(EVERYTHING + INGRESS)
    objects = rendered(path, capsys)
    mesh_free = tmp_path / "mesh.yaml"
    mesh_free.write_text(EVERYTHING)
    mesh = rendered(mesh_free, capsys)
    ingress = [o for o in objects if o not in mesh]
    assert {o["kind"] for o in ingress} == INGRESS_KINDS
    gateway = next(o for o in ingress if o["kind"] == "Gateway")
    assert [(x["name"], x.get("tls", {}).get("mode")) for x in gateway["spec"]["listeners"]] == [
        ("tcp-5432", None),
        ("tls-6443", "Passthrough"),
        ("http-8080", None),
        ("https-8443", "Terminate"),
        ("https-9443", "Terminate"),
    ]
    rules = [o["spec"]["rules"][0] for o in ingress if o["kind"] == "HTTPRoute"]
    filters = {f["type"] for rule in rules for f in rule.get("filters", [])}
    assert filters == {
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "URLRewrite",
        "RequestRedirect",
    }
    grant = next(o for o in ingress if o["kind"] == "ReferenceGrant")
    assert grant["metadata"]["namespace"] == LONG[:63]
    assert grant["spec"]["from"][0]["namespace"] == "legacy"
    rule = next(o for o in ingress if o["kind"] == "DestinationRule")["spec"]["trafficPolicy"]
    assert [s.get("tls", {}).get("mode") for s in rule["portLevelSettings"]] == ["SIMPLE", None]


def test_the_fake_does_reject_what_the_crds_forbid(
    capsys: pytest.CaptureFixture[str], api: tuple[FakeKubernetes, Api]
) -> None:
    """A control: the validation above is real."""
    objects = rendered(EXAMPLE, capsys)
    _, client = api
    apply_all(client, [o for o in objects if o["kind"] == "Namespace"])
    policy = next(o for o in objects if o["kind"] == "AuthorizationPolicy")
    with pytest.raises(Invalid, match=r"spec\.action"):
        client.apply({**policy, "spec": {**policy["spec"], "action": "PERMIT"}}, kind_of(policy))
    gateway = next(o for o in objects if o["kind"] == "Gateway")
    with pytest.raises(Invalid, match="listeners"):
        client.apply({**gateway, "spec": {**gateway["spec"], "listeners": []}}, kind_of(gateway))
