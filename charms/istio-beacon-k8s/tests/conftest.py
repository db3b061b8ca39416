"""Fixtures for istio-beacon-k8s tests: the charm class, an ops.testing Context, the fake API."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from ops import testing

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "m"
MESH_CRDS = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")


def _load_charm_module() -> Any:
    name = "istio_beacon_k8s_charm"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CHARM_ROOT / "src" / "charm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


charm_module = _load_charm_module()
IstioBeaconCharm = charm_module.IstioBeaconCharm


@pytest.fixture
def ctx() -> testing.Context[Any]:
    return testing.Context(IstioBeaconCharm, app_name="istio-beacon-k8s")


@pytest.fixture
def fake(make_fake: Any) -> Any:
    """The cluster: Istio's and the Gateway API's CRDs, and the model's namespace."""
    cluster = make_fake(*MESH_CRDS, namespaces=[MODEL])
    with cluster.installed():
        yield cluster
