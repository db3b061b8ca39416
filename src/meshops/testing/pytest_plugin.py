"""pytest fixtures for testing against the fake and a real Kubernetes API server.

Load it from a ``conftest.py`` with ``pytest_plugins = ["meshops.testing.pytest_plugin"]``.

- ``istioctl``: the istioctl binary ``gotools/build`` made, for
  :func:`meshops.testing.analyze.analyze`; it skips like ``real_server`` without it.
- ``real_server``: one :class:`~meshops.testing.apiserver.LocalApiServer` (etcd and
  kube-apiserver built by ``gotools/build``) for the whole run; ``fresh_server``: the
  same with every namespace of the tests' removed and its request log cleared. Where
  the tools are missing they skip, saying why; with ``CI=true`` they fail instead.
- :data:`SERVERS` and :func:`contract_server`: a fixture parametrised with ``SERVERS``
  gives each test the fake and then the real server, with the same assertions::

      @pytest.fixture(params=SERVERS)
      def cluster(request):
          return contract_server(request, "gateways.gateway.networking.k8s.io", namespaces=("a",))

- ``@pytest.mark.fake_only("why")``: a test (of such a fixture) that uses what only the
  fake has (fault injection, request content types) runs on the fake alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from meshops import crds
from meshops.testing import tools, upstream
from meshops.testing.apiserver import LocalApiServer
from meshops.testing.fake_kubernetes import FakeKubernetes

__all__ = ["SERVERS", "contract_server", "need_tools"]

#: The servers contract tests run against: the in-process fake and the real API server.
SERVERS = ("fake", "real")


def need_tools(error: Exception) -> NoReturn:
    """Skip a test that needs the Go-built tools, saying why; under CI, fail it instead."""
    message = f"{error} (the real-server tests need Go 1.26 and gotools/build)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``fake_only`` marker."""
    config.addinivalue_line(
        "markers",
        "fake_only(reason): uses what only the in-process fake has; not run on the real server",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the real-server runs of ``fake_only`` tests; run istioctl's tests last.

    Tests that need istioctl go last so that its background build (``gotools/build
    --istioctl-in-background``) goes on while the others run.
    """
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params.values() if callspec is not None else ()
        if item.get_closest_marker("fake_only") and "real" in params:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    kept.sort(key=lambda item: "istioctl" in getattr(item, "fixturenames", ()))
    items[:] = kept


@pytest.fixture(scope="session")
def tool_dir(pytestconfig: pytest.Config) -> Path:
    """The folder of kube-apiserver, etcd and istioctl as ``gotools/build`` made them."""
    try:
        return tools.bin_dir(pytestconfig.rootpath)
    except tools.ToolsMissing as e:
        need_tools(e)


@pytest.fixture(scope="session")
def istioctl(pytestconfig: pytest.Config) -> Path:
    """The istioctl ``gotools/build`` made (for :func:`meshops.testing.analyze.analyze`)."""
    try:
        return tools.bin_dir(pytestconfig.rootpath, "istioctl") / "istioctl"
    except tools.ToolsMissing as e:
        need_tools(e)


@pytest.fixture(scope="session")
def real_server(pytestconfig: pytest.Config) -> Generator[LocalApiServer]:
    """One etcd + kube-apiserver for the whole run, with the upstream CRDs installed."""
    try:
        binaries = tools.bin_dir(pytestconfig.rootpath, "etcd", "kube-apiserver")
    except tools.ToolsMissing as e:
        need_tools(e)
    server = LocalApiServer(binaries)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_server(real_server: LocalApiServer) -> LocalApiServer:
    """The real server without the tests' namespaces, its request log cleared."""
    real_server.reset()
    real_server.clear_log()
    return real_server


def contract_server(
    request: pytest.FixtureRequest, *crd_names: str, namespaces: tuple[str, ...] = ()
) -> Any:
    """For a fixture parametrised with :data:`SERVERS`: the fake or the real server.

    The fake gets these CRDs; the real server has every upstream CRD installed already.
    Either gets these namespaces and nothing else of the tests', its request log cleared.
    """
    server: Any
    if request.param == "real":
        server = request.getfixturevalue("fresh_server")
    else:
        server = FakeKubernetes()
        for doc in upstream.crd_docs(crds.ROOT, *crd_names):
            server.install_crd(doc)
    for name in namespaces:
        server.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    server.clear_log()
    return server
