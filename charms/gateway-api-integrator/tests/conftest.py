"""Fixtures for gateway-api-integrator tests: the charm class, a Context, the cluster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.testing.charm import load_charm
from meshops.testing.juju import app_service, model_namespace
from meshops.testing.pytest_plugin import SERVERS, contract_server

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "edge"
#: The requirers' models in the tests, and their applications (each with its Service).
REQUIRER_MODELS = {"shop": ("web", "vault"), "blog": ("blog",)}
#: The GatewayClasses of the cluster: a non-Istio implementation and Istio.
CLASSES = {"cilium": "io.cilium/gateway-controller", "istio": "istio.io/gateway-controller"}
GATEWAY_CRDS = (
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
)
ISTIO_CRDS = ("authorizationpolicies.security.istio.io", "destinationrules.networking.istio.io")

charm_module = load_charm(CHARM_ROOT, "gateway_api_integrator_charm")
# what the tests share (unit/gwapi_testing.py), importable by name
sys.path.insert(0, str(Path(__file__).resolve().parent / "unit"))
GatewayApiIntegratorCharm = charm_module.GatewayApiIntegratorCharm


@pytest.fixture
def ctx() -> testing.Context[Any]:
    return testing.Context(GatewayApiIntegratorCharm, app_name="gateway-api-integrator")


def gateway_class(name: str, controller: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": controller},
    }


def add_cluster(cluster: Any) -> None:
    """Juju's models (labelled namespaces, a Service per application) and the classes."""
    for model, apps in {MODEL: (), **REQUIRER_MODELS}.items():
        cluster.add(model_namespace(model))
        for app in apps:
            cluster.add(app_service(app, model, 8080))
    for name, controller in CLASSES.items():
        cluster.add(gateway_class(name, controller))


@pytest.fixture(params=SERVERS)
def cluster(request: pytest.FixtureRequest) -> Any:
    """The Gateway API's CRDs (and Istio's), Juju's models and two GatewayClasses."""
    server = contract_server(request, *GATEWAY_CRDS, *ISTIO_CRDS)
    add_cluster(server)
    server.clear_log()
    with server.installed():
        yield server


@pytest.fixture
def fake(make_fake: Any) -> Any:
    """The in-process fake alone (for tests that count on what only it offers)."""
    server = make_fake(*GATEWAY_CRDS)
    add_cluster(server)
    server.clear_log()
    with server.installed():
        yield server
