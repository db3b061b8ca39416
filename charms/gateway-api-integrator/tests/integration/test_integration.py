"""gateway-api-integrator on a real Juju controller and Kubernetes cluster, driven by jubilant.

Needs `juju` on PATH, a Kubernetes cloud whose cluster runs a Gateway API implementation
(its GatewayClass named by ``$GATEWAY_CLASS``, default ``cilium``), and a packed charm
(``charms/pack.sh gateway-api-integrator``, or ``$GATEWAY_API_CHARM`` pointing at one).
Skips, saying why, where these are missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHARM_ROOT = Path(__file__).resolve().parents[2]
APP = "gateway-api-integrator"
REQUIRER = "catalogue"  # any charm of the ecosystem that speaks ingress v2

if shutil.which("juju") is None:
    pytest.skip(
        "no juju on PATH: integration tests need a Juju controller", allow_module_level=True
    )

import jubilant  # noqa: E402  (imported only where a controller can be reached)

from meshops.k8s import Api, Unavailable  # noqa: E402
from meshops.k8s.kinds import GATEWAY, HTTP_ROUTE  # noqa: E402


def _charm() -> Path:
    if env := os.environ.get("GATEWAY_API_CHARM"):
        return Path(env)
    packed = sorted(CHARM_ROOT.glob(f"{APP}_*.charm"))
    if not packed:
        pytest.skip(f"no packed charm: run charms/pack.sh {APP} or set GATEWAY_API_CHARM")
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


def test_deploy_creates_the_gateway_of_the_class(juju: jubilant.Juju) -> None:
    config = {"gateway-class": os.environ.get("GATEWAY_CLASS", "cilium"), "enforce-https": False}
    juju.deploy(_charm(), APP, trust=True, config=config)
    juju.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, APP, juju.model) is not None


def test_an_ingress_requirer_gets_its_route(juju: jubilant.Juju) -> None:
    juju.deploy(f"{REQUIRER}-k8s", REQUIRER, channel="latest/edge", trust=True)
    juju.integrate(f"{REQUIRER}:ingress", f"{APP}:gateway")
    juju.wait(lambda s: jubilant.all_active(s, APP, REQUIRER), error=jubilant.any_error)
    assert juju.model is not None
    routes = _cluster().list(HTTP_ROUTE, juju.model)
    assert any(r["metadata"]["name"] == f"{APP}-{REQUIRER}-http-80" for r in routes)
    assert "1 apps and 0 hostnames served" in juju.status().apps[APP].app_status.message


def test_remove_cleans_up(juju: jubilant.Juju) -> None:
    juju.remove_application(APP)
    juju.wait(lambda s: APP not in s.apps)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, APP, juju.model) is None
