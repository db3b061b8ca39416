"""Fixtures for istio-ingress-k8s tests: the charm class, an ops.testing Context, the fake API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.testing.charm import load_charm
from meshops.testing.pytest_plugin import SERVERS, contract_server

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "edge"
#: The namespaces of the requirers in the tests.
REQUIRER_MODELS = ("shop", "blog")
INGRESS_CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)


charm_module = load_charm(CHARM_ROOT, "istio_ingress_k8s_charm")
IstioIngressCharm = charm_module.IstioIngressCharm


@pytest.fixture
def ctx() -> testing.Context[Any]:
    return testing.Context(IstioIngressCharm, app_name="istio-ingress-k8s")


@pytest.fixture
def ingress_crds() -> tuple[str, ...]:
    """The CRDs of every kind the charm may create."""
    return INGRESS_CRDS


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest) -> Any:
    """The cluster: the Gateway API's and Istio's CRDs, the gateway's and requirers' namespaces."""
    cluster = contract_server(request, *INGRESS_CRDS, namespaces=(MODEL, *REQUIRER_MODELS))
    with cluster.installed():
        yield cluster
