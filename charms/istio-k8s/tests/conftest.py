"""Fixtures for istio-k8s tests: a charm directory holding the real istioctl, the cluster.

The charm class, an ops.testing Context on that directory, and the cluster (the fake,
then the real API server).

The charm runs the istioctl that ``gotools/build`` made (the same Go pin its charmcraft
part builds from), found in the charm directory's ``bin/``; what it generates is cached
in that directory, which lasts the whole test session: each distinct set of settings is
generated once per session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import testing

from meshops.testing.charm import load_charm
from meshops.testing.pytest_plugin import SERVERS, contract_server

CHARM_ROOT = Path(__file__).resolve().parents[1]
MODEL = "istio"
APP = "istio-k8s"

charm_module = load_charm(CHARM_ROOT, "istio_k8s_charm")
IstioK8sCharm = charm_module.IstioK8sCharm


@pytest.fixture(scope="session")
def charm_dir(istioctl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A charm directory as the charm is packed: ``bin/istioctl`` (the one gotools/build made)."""
    root = tmp_path_factory.mktemp("istio-k8s-charm")
    (root / "bin").mkdir()
    (root / "bin" / "istioctl").symlink_to(istioctl)
    return root


@pytest.fixture
def ctx(charm_dir: Path) -> testing.Context[Any]:
    return testing.Context(IstioK8sCharm, app_name=APP, charm_root=charm_dir)


@pytest.fixture(params=SERVERS)
def cluster(request: pytest.FixtureRequest) -> Any:
    """The cluster with the model's namespace.

    No CRDs on the fake (the charm installs them); on the real server the upstream CRDs
    are there already, installed by others.
    """
    server = contract_server(request, namespaces=(MODEL,))
    with server.installed():
        yield server


@pytest.fixture
def fake(make_fake: Any) -> Any:
    """The fake alone, with the model's namespace and no CRDs."""
    server = make_fake(namespaces=[MODEL])
    server.clear_log()
    with server.installed():
        yield server
