"""Fixtures for istio-ingress-k8s tests: the charm class, an ops.testing Context, the fake API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.k8s import api as k8s_api
from meshops.testing.charm import load_charm
from meshops.testing.juju import app_service, model_namespace
from meshops.testing.pytest_plugin import SERVERS, contract_server

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "edge"
#: The requirers' models in the tests, and their applications (each with its Service).
REQUIRER_MODELS = {"shop": ("web", "vault", "wiki"), "blog": ("blog", "pg")}
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
def charm_class() -> Any:
    """The charm's class, for a Context a test sets up itself."""
    return IstioIngressCharm


@pytest.fixture
def ctx() -> testing.Context[Any]:
    return testing.Context(IstioIngressCharm, app_name="istio-ingress-k8s")


@pytest.fixture
def ingress_crds() -> tuple[str, ...]:
    """The CRDs of every kind the charm may create."""
    return INGRESS_CRDS


def add_juju_models(cluster: Any) -> None:
    """Juju's models as Juju leaves them: labelled namespaces, a Service per application."""
    for model, apps in {MODEL: (), **REQUIRER_MODELS}.items():
        cluster.add(model_namespace(model))
        for app in apps:
            cluster.add(app_service(app, model, 8080))


@pytest.fixture
def juju_models() -> Any:
    """:func:`add_juju_models`, for a cluster a test makes itself."""
    return add_juju_models


#: How long the charm watches for what Istio would write, against the real server: no
#: istiod runs there, so what a test does not write itself never comes, and the fake's
#: time (in which the charm waits its whole bound at once) is not the real server's.
REAL_SERVER_WAIT = 1.0


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The cluster: the Gateway API's and Istio's CRDs, the gateway's and requirers' models."""
    if request.param == "real":
        monkeypatch.setattr(k8s_api, "WAIT_SECONDS", REAL_SERVER_WAIT)
    cluster = contract_server(request, *INGRESS_CRDS)
    add_juju_models(cluster)
    cluster.clear_log()
    with cluster.installed():
        yield cluster
