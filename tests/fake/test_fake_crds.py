"""Serving kinds from CustomResourceDefinitions.

Covers the 404 a real API server gives for a kind whose CRD is not installed (and the
kind being served after ``install_crds``/``install_crd`` or a CRD created through the
API), deleting a CRD (its kind and objects go), several served versions of one kind,
what ``install_crds`` accepts, CRDs the fake must refuse (invalid, uncompilable CEL),
that every CEL rule of the shipped CRDs compiles with the fake's library, and discovery.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube.generic_resource import create_namespaced_resource

from meshops.k8s.client import make_client
from meshops.testing import UNSUPPORTED_RULES, FakeKubernetes, StatusError

HTTPRoute = create_namespaced_resource(
    "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"
)
AuthorizationPolicy = create_namespaced_resource(
    "security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"
)

HTTPROUTES = "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_httproutes.yaml"


def route(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"parentRefs": [{"name": "gw"}]},
    }


def widget_crd(**schema_extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}, **schema_extra}
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {
                "kind": "Widget",
                "plural": "widgets",
                "singular": "widget",
                "listKind": "WidgetList",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                },
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": False,
                    "schema": {"openAPIV3Schema": schema},
                },
            ],
        },
    }


@pytest.fixture
def cluster() -> FakeKubernetes:
    fake = FakeKubernetes()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
    return fake


def test_kind_without_crd_is_404_like_a_real_server(cluster: FakeKubernetes) -> None:
    # the real server's handler of custom resources answers a kind it does not serve with
    # a plain-text 404, not a Status (lightkube raises httpx2's error, not an ApiError)
    client = make_client(cluster.transport, field_manager="m", namespace="apps")
    with pytest.raises(httpx2.HTTPStatusError) as e:
        client.apply(HTTPRoute(route("r")))
    assert e.value.response.status_code == 404
    assert e.value.response.headers["content-type"] == "text/plain; charset=utf-8"
    assert e.value.response.text == "404 page not found\n"
    with pytest.raises(httpx2.HTTPStatusError) as e:
        list(client.list(HTTPRoute))
    assert e.value.response.status_code == 404
    assert not cluster.served("gateway.networking.k8s.io/v1", "HTTPRoute")
    with pytest.raises(ValueError, match="not served"):
        cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps")


def test_install_crds_makes_the_kind_served(cluster: FakeKubernetes, crd_dir: Path) -> None:
    cluster.install_crds(crd_dir / HTTPROUTES)
    client = make_client(cluster.transport, field_manager="m", namespace="apps")
    client.apply(HTTPRoute(route("r")))
    assert cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "r", "apps") is not None
    crd = cluster.get(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "httproutes.gateway.networking.k8s.io",
    )
    assert crd is not None
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert crd["status"]["acceptedNames"]["kind"] == "HTTPRoute"


def test_install_crds_takes_directories_and_skips_admission_policies(
    cluster: FakeKubernetes, crd_dir: Path
) -> None:
    cluster.install_crds(crd_dir / "gateway-api-v1.5.1" / "standard")
    for kind in (
        "Gateway",
        "GatewayClass",
        "HTTPRoute",
        "GRPCRoute",
        "TLSRoute",
        "ListenerSet",
        "BackendTLSPolicy",
    ):
        assert cluster.served("gateway.networking.k8s.io/v1", kind), kind
    assert cluster.served("gateway.networking.k8s.io/v1beta1", "ReferenceGrant")


def test_install_crds_rejects_other_documents(cluster: FakeKubernetes, tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(ValueError, match="not a CustomResourceDefinition"):
        cluster.install_crds(path)
    with pytest.raises(ValueError, match=r"apiextensions\.k8s\.io/v1"):
        cluster.install_crd({"apiVersion": "v1", "kind": "ConfigMap"})


def test_crd_created_through_the_api_is_served(cluster: FakeKubernetes) -> None:
    http = httpx2.Client(transport=cluster.transport, base_url="http://kubernetes.fake")
    response = http.post(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=widget_crd()
    )
    assert response.status_code == 201, response.text
    assert cluster.served("example.com/v1", "Widget")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }
    assert (
        http.post("/apis/example.com/v1/namespaces/apps/widgets", json=widget).status_code == 201
    )


def test_deleting_a_crd_stops_serving_and_drops_objects(cluster: FakeKubernetes) -> None:
    cluster.install_crd(widget_crd())
    cluster.add(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "apps"},
        }
    )
    http = httpx2.Client(transport=cluster.transport, base_url="http://kubernetes.fake")
    assert (
        http.delete(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
        ).status_code
        == 200
    )
    assert http.get("/apis/example.com/v1/namespaces/apps/widgets").status_code == 404
    cluster.install_crd(widget_crd())
    assert cluster.list("example.com/v1", "Widget") == []


def test_all_served_versions_share_objects(cluster: FakeKubernetes) -> None:
    cluster.install_crd(widget_crd())
    cluster.add(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "apps"},
        }
    )
    http = httpx2.Client(transport=cluster.transport, base_url="http://kubernetes.fake")
    old = http.get("/apis/example.com/v1beta1/namespaces/apps/widgets/w").json()
    assert old["apiVersion"] == "example.com/v1beta1"
    listed = http.get("/apis/example.com/v1beta1/widgets").json()
    assert listed["apiVersion"] == "example.com/v1beta1"
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1beta1"]
    stored = cluster.get("example.com/v1", "Widget", "w", "apps")
    assert stored is not None
    assert stored["apiVersion"] == "example.com/v1"


def test_reinstalling_a_crd_keeps_objects(cluster: FakeKubernetes) -> None:
    cluster.install_crd(widget_crd())
    cluster.add(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "apps"},
        }
    )
    cluster.install_crd(widget_crd(required=["size"]))
    assert len(cluster.list("example.com/v1", "Widget")) == 1
    with pytest.raises(StatusError) as e:
        cluster.add(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "x", "namespace": "apps"},
                "spec": {},
            }
        )
    assert e.value.causes[0]["field"] == "spec.size"


def test_invalid_crds_are_refused(cluster: FakeKubernetes) -> None:
    bad_name = widget_crd()
    bad_name["metadata"]["name"] = "wrong.example.com"
    with pytest.raises(StatusError) as e:
        cluster.install_crd(bad_name)
    assert e.value.code == 422
    assert e.value.causes[0]["field"] == "metadata.name"
    no_versions = widget_crd()
    no_versions["spec"]["versions"] = []
    with pytest.raises(StatusError):
        cluster.install_crd(no_versions)


def test_a_rule_the_library_cannot_evaluate_fails_at_install(cluster: FakeKubernetes) -> None:
    crd = widget_crd(**{"x-kubernetes-validations": [{"rule": "self.size.quantity() > 0"}]})
    with pytest.raises(StatusError) as e:
        cluster.install_crd(crd)
    assert "quantity" in e.value.message
    assert "does not provide" in e.value.message
    broken = widget_crd(**{"x-kubernetes-validations": [{"rule": "self.size >"}]})
    with pytest.raises(StatusError, match="does not compile"):
        cluster.install_crd(broken)
    assert not cluster.served("example.com/v1", "Widget")


def test_every_shipped_rule_is_supported(crd_documents: list[dict[str, Any]]) -> None:
    fake = FakeKubernetes()
    for doc in crd_documents:
        fake.install_crd(doc)
    assert dict(UNSUPPORTED_RULES) == {}
    assert fake.served("security.istio.io/v1", "AuthorizationPolicy")
    assert fake.served("networking.istio.io/v1alpha3", "VirtualService")
    assert fake.served("gateway.networking.k8s.io/v1alpha2", "TCPRoute")


def test_installing_leaves_the_document_untouched(crd_documents: list[dict[str, Any]]) -> None:
    doc = next(
        d for d in crd_documents if d["metadata"]["name"] == "gateways.gateway.networking.k8s.io"
    )
    before = copy.deepcopy(doc)
    FakeKubernetes().install_crd(doc)
    assert doc == before


def test_discovery(fake: FakeKubernetes, api: httpx2.Client) -> None:
    core = api.get("/api/v1").json()
    assert {"name": "namespaces", "namespaced": False, "kind": "Namespace"}.items() <= next(
        r for r in core["resources"] if r["name"] == "namespaces"
    ).items()
    groups = {g["name"] for g in api.get("/apis").json()["groups"]}
    assert {"gateway.networking.k8s.io", "security.istio.io", "apps"} <= groups
    resources = api.get("/apis/security.istio.io/v1").json()["resources"]
    assert {r["name"] for r in resources} >= {
        "authorizationpolicies",
        "authorizationpolicies/status",
    }
    assert api.get("/apis/nothing.example.com/v1").status_code == 404
