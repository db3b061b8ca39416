"""Fixtures for the contract tests of the in-process Kubernetes API fake.

The official CRDs (Gateway API v1.5.1, Istio 1.30.3) come from the repository's root
conftest (``src/meshops/crds``). They are parsed once per session;
every test gets a fresh fake with them installed (installing is cheap: compiled
schemas are cached by content).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import lightkube
import pytest

from meshops.k8s.client import FAKE_SERVER, make_client
from meshops.testing import FakeKubernetes
from meshops.testing.pytest_plugin import SERVERS, contract_server

CRD_FILES = (
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_gateways.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_httproutes.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_grpcroutes.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_referencegrants.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_tlsroutes.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_listenersets.yaml",
    "gateway-api-v1.5.1/standard/gateway.networking.k8s.io_backendtlspolicies.yaml",
    "gateway-api-v1.5.1/experimental/gateway.networking.k8s.io_tcproutes.yaml",
    "istio-1.30.3/crd-all.gen.yaml",
)
NAMESPACE = "apps"


@pytest.fixture(scope="session")
def crd_documents(crd_dir: Path, parse_crd_file: Any) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition the tests use, parsed once per session."""
    docs: list[dict[str, Any]] = []
    for name in CRD_FILES:
        path = crd_dir / name
        if not path.is_file():
            pytest.fail(f"CRD file {path} is missing from the carried CRDs")
        docs += [d for d in parse_crd_file(path) if d.get("kind") == "CustomResourceDefinition"]
    return docs


@pytest.fixture
def bare() -> FakeKubernetes:
    """An empty fake: built-in kinds only, no namespaces."""
    return FakeKubernetes()


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest, crd_documents: list[dict[str, Any]]) -> Any:
    """The server under contract: the fake, or the real kube-apiserver (one per run).

    Either has the Gateway API and Istio CRDs installed, namespace ``apps`` and nothing
    else of the tests'; both offer the fake's surface (``add``, ``get``, ``list``,
    ``transport``, ``reads``, ``writes``, ``requests``, ``clear_log``...).
    """
    if request.param == "real":
        return contract_server(request, namespaces=(NAMESPACE,))
    cluster = FakeKubernetes()
    for doc in crd_documents:
        cluster.install_crd(doc)
    cluster.add(namespace(NAMESPACE))
    return cluster


@pytest.fixture
def client(fake: FakeKubernetes) -> lightkube.Client:
    """A lightkube client (field manager ``meshops``, namespace ``apps``) on ``fake``."""
    return make_client(fake.transport, field_manager="meshops", namespace=NAMESPACE)


@pytest.fixture
def api(fake: FakeKubernetes) -> Iterator[httpx2.Client]:
    """A raw HTTP client on ``fake``, for requests lightkube does not make."""
    with httpx2.Client(transport=fake.transport, base_url=FAKE_SERVER) as http:
        yield http


def namespace(name: str, **labels: str) -> dict[str, Any]:
    """A Namespace object."""
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
