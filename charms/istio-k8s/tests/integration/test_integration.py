"""istio-k8s with istio-beacon-k8s and istio-ingress-k8s on a real Juju controller, by jubilant.

Needs `juju` on PATH, a Kubernetes cloud (with a LoadBalancer for the ingress), and
the three charms packed (``charms/pack.sh istio-k8s`` and the others, or
``$ISTIO_CHARM``, ``$BEACON_CHARM``, ``$INGRESS_CHARM`` pointing at them). Skips,
saying why, where these are missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHARMS = Path(__file__).resolve().parents[3]
APP, BEACON, INGRESS = "istio-k8s", "istio-beacon-k8s", "istio-ingress-k8s"

if shutil.which("juju") is None:
    pytest.skip(
        "no juju on PATH: integration tests need a Juju controller", allow_module_level=True
    )

import jubilant  # noqa: E402  (imported only where a controller can be reached)

from meshops.k8s import Api, Unavailable  # noqa: E402
from meshops.k8s.kinds import CRD, DAEMON_SET, DEPLOYMENT, GATEWAY  # noqa: E402


def _charm(name: str, env: str) -> Path:
    if given := os.environ.get(env):
        return Path(given)
    packed = sorted((CHARMS / name).glob(f"{name}_*.charm"))
    if not packed:
        pytest.skip(f"no packed charm: run charms/pack.sh {name} or set {env}")
    return packed[-1]


@pytest.fixture(scope="module")
def juju() -> Iterator[jubilant.Juju]:
    with jubilant.temp_model() as juju:
        juju.wait_timeout = 20 * 60
        yield juju


def _cluster() -> Api:
    try:
        return Api.connect(field_manager="integration-tests")
    except Unavailable as e:
        pytest.skip(f"no kubeconfig for the cluster behind the controller: {e}")


def test_the_control_plane_comes_up(juju: jubilant.Juju) -> None:
    juju.deploy(_charm(APP, "ISTIO_CHARM"), APP, trust=True, num_units=2)
    juju.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    assert juju.model is not None
    istiod = _cluster().get(DEPLOYMENT, "istiod", juju.model)
    assert istiod is not None and istiod["spec"]["replicas"] == 2
    assert _cluster().get(DAEMON_SET, "ztunnel", juju.model) is not None
    message = juju.status().apps[APP].app_status.message
    assert message.startswith("Istio 1.30") and "2 istiod replicas" in message


def test_beacon_and_ingress_run_on_it(juju: jubilant.Juju) -> None:
    juju.deploy(_charm(BEACON, "BEACON_CHARM"), BEACON, trust=True)
    juju.deploy(_charm(INGRESS, "INGRESS_CHARM"), INGRESS, trust=True)
    juju.wait(lambda s: jubilant.all_active(s, APP, BEACON, INGRESS), error=jubilant.any_error)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, f"{BEACON}-waypoint", juju.model) is not None
    assert _cluster().get(GATEWAY, INGRESS, juju.model) is not None


def test_removal_leaves_the_crds(juju: jubilant.Juju) -> None:
    juju.remove_application(BEACON, INGRESS)
    juju.wait(lambda s: BEACON not in s.apps and INGRESS not in s.apps)
    juju.remove_application(APP)
    juju.wait(lambda s: APP not in s.apps)
    assert juju.model is not None
    assert _cluster().get(DEPLOYMENT, "istiod", juju.model) is None
    assert _cluster().get(CRD, "gateways.gateway.networking.k8s.io") is not None
