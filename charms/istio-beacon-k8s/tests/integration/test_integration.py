"""istio-beacon-k8s on a real Juju controller and Kubernetes cluster, driven by jubilant.

Needs `juju` on PATH, a Kubernetes cloud with Istio (ambient) installed through the
istio-k8s charm, and a packed charm (``charms/pack.sh istio-beacon-k8s``, or
``$BEACON_CHARM`` pointing at one). Skips, saying why, where these are missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHARM_ROOT = Path(__file__).resolve().parents[2]
APP = "istio-beacon-k8s"

if shutil.which("juju") is None:
    pytest.skip(
        "no juju on PATH: integration tests need a Juju controller", allow_module_level=True
    )

import jubilant  # noqa: E402  (imported only where a controller can be reached)

from meshops.k8s import Api, Unavailable  # noqa: E402
from meshops.k8s.kinds import GATEWAY, NAMESPACE  # noqa: E402


def _charm() -> Path:
    if env := os.environ.get("BEACON_CHARM"):
        return Path(env)
    packed = sorted(CHARM_ROOT.glob(f"{APP}_*.charm"))
    if not packed:
        pytest.skip(f"no packed charm: run charms/pack.sh {APP} or set BEACON_CHARM")
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


def test_deploy_creates_the_waypoint(juju: jubilant.Juju) -> None:
    juju.deploy("istio-k8s", channel="2/edge", trust=True)
    juju.deploy(_charm(), APP, trust=True)
    juju.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    assert juju.model is not None
    waypoint = _cluster().get(GATEWAY, f"{APP}-waypoint", juju.model)
    assert waypoint is not None


def test_model_on_mesh_labels_the_namespace(juju: jubilant.Juju) -> None:
    juju.config(APP, {"model-on-mesh": True})
    juju.wait(lambda s: jubilant.all_active(s, APP), error=jubilant.any_error)
    assert juju.model is not None
    namespace = _cluster().get(NAMESPACE, juju.model)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["istio.io/dataplane-mode"] == "ambient"


def test_remove_cleans_up(juju: jubilant.Juju) -> None:
    juju.remove_application(APP)
    juju.wait(lambda s: APP not in s.apps)
    assert juju.model is not None
    assert _cluster().get(GATEWAY, f"{APP}-waypoint", juju.model) is None
    namespace = _cluster().get(NAMESPACE, juju.model)
    assert namespace is not None
    assert "istio.io/dataplane-mode" not in namespace["metadata"].get("labels", {})
