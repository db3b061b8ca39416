"""What ``meshops render`` prints is valid for the upstream schemas.

Every object rendered from examples/shop.yaml and from a file using every feature of the
format (namespaces on and off the mesh, L4 and L7 rules, gRPC, hosts, suffix paths,
every method, names long enough to be shortened) is server-side applied to the
in-process Kubernetes API fake with the official CRDs installed (Gateway API v1.5.1
standard Gateway, Istio 1.30.3 AuthorizationPolicy): openAPIV3Schema and CEL rules.
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


def rendered(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["render", str(path)]) == 0, capsys.readouterr().err
    return list(yaml.safe_load_all(capsys.readouterr().out))


@pytest.fixture
def api(make_fake: Any) -> tuple[FakeKubernetes, Api]:
    fake = make_fake(
        "gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io"
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


@pytest.mark.parametrize("source", ["example", "everything"])
def test_rendered_objects_validate_against_the_upstream_crds(
    source: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    api: tuple[FakeKubernetes, Api],
) -> None:
    path = EXAMPLE
    if source == "everything":
        path = tmp_path / "everything.yaml"
        path.write_text(EVERYTHING)
    objects = rendered(path, capsys)
    fake, client = api
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
