"""istio-ingress-k8s on a real Juju controller and Kubernetes cluster, driven by jubilant.

Needs `juju` on PATH, a Kubernetes cloud with a LoadBalancer (e.g. MetalLB) and Istio
installed through the istio-k8s charm, and a packed charm (``charms/pack.sh
istio-ingress-k8s``, or ``$INGRESS_CHARM`` pointing at one). Skips, saying why, where
these are missing.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHARM_ROOT = Path(__file__).resolve().parents[2]
APP = "istio-ingress-k8s"
REQUIRER = "catalogue"  # any charm of the ecosystem that speaks ingress v2

if shutil.which("juju") is None:
    pytest.skip(
        "no juju on PATH: integration tests need a Juju controller", allow_module_level=True
    )

import jubilant  # noqa: E402  (imported only where a controller can be reached)

from meshops.k8s import Api, Unavailable  # noqa: E402
from meshops.k8s.kinds import GATEWAY, HTTP_ROUTE  # noqa: E402


def _charm() -> Path:
    if env := os.environ.get("INGRESS_CHARM"):
        return Path(env)
    packed = sorted(CHARM_ROOT.glob(f"{APP}_*.charm"))
    if not packed:
        pytest.skip(f"no packed charm: run charms/pack.sh {APP} or set INGRESS_CHARM")
    return packed[-1]


@pytest.fixture(scope="module")
def juju() -> Iterator[jubilant.Juju]:
    with jubilant.temp_model() as juju:
        juju.wait_timeout = 15 * 60
        yield juju


def _cluster() -> Api:
    try:
        return Api.connect(field_manager="integration-tests")
    except Unavailable as e:
        pytest.skip(f"no kubeconfig for the cluster behind the controller: {e}")


def test_deploy_creates_the_gateway(juju: jubilant.Juju) -> None:
    juju.deploy("istio-k8s", channel="2/edge", trust=True)
    juju.deploy(_charm(), APP, trust=True)
    juju.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, APP, juju.model) is not None


def test_an_ingress_requirer_is_served_at_its_url(juju: jubilant.Juju) -> None:
    juju.deploy(f"{REQUIRER}-k8s", REQUIRER, channel="latest/edge", trust=True)
    juju.integrate(f"{REQUIRER}:ingress", f"{APP}:ingress")
    juju.wait(lambda s: jubilant.all_active(s, APP, REQUIRER), error=jubilant.any_error)
    assert juju.model is not None
    routes = _cluster().list(HTTP_ROUTE, juju.model)
    assert any(r["metadata"]["name"] == f"{APP}-{REQUIRER}-http-80" for r in routes)
    status = juju.status()
    message = status.apps[APP].app_status.message
    assert "1 routes served for 1 requirers" in message
    gateway = _cluster().get(GATEWAY, APP, juju.model)
    assert gateway is not None
    addresses = gateway.get("status", {}).get("addresses", [])
    if addresses:
        url = f"http://{addresses[0]['value']}/{juju.model}-{REQUIRER}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status < 500


def test_remove_cleans_up(juju: jubilant.Juju) -> None:
    juju.remove_application(APP)
    juju.wait(lambda s: APP not in s.apps)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, APP, juju.model) is None
    assert not [
        r for r in _cluster().list(HTTP_ROUTE, juju.model) if r["metadata"]["name"].startswith(APP)
    ]
