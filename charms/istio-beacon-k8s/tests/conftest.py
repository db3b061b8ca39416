"""Fixtures for istio-beacon-k8s tests: the charm class, an ops.testing Context, the fake API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.k8s import api as k8s_api
from meshops.testing.charm import load_charm
from meshops.testing.pytest_plugin import SERVERS, contract_server

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "m"
MESH_CRDS = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")


charm_module = load_charm(CHARM_ROOT, "istio_beacon_k8s_charm")
IstioBeaconCharm = charm_module.IstioBeaconCharm


@pytest.fixture
def ctx() -> testing.Context[Any]:
    return testing.Context(IstioBeaconCharm, app_name="istio-beacon-k8s")


#: How long the charm watches for what Istio would write, against the real server: no
#: istiod runs there, so what a test does not write itself never comes, and the fake's
#: time (in which the charm waits its whole bound at once) is not the real server's.
REAL_SERVER_WAIT = 1.0


@pytest.fixture(params=SERVERS)
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The cluster: Istio's and the Gateway API's CRDs, and the model's namespace."""
    if request.param == "real":
        monkeypatch.setattr(k8s_api, "WAIT_SECONDS", REAL_SERVER_WAIT)
    cluster = contract_server(request, *MESH_CRDS, namespaces=(MODEL,))
    with cluster.installed():
        yield cluster
