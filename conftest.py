"""Shared test fixtures: the upstream CRDs the package carries, parsed once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshops import crds

#: The real API server's fixtures and the servers contract tests run against.
pytest_plugins = ["meshops.testing.pytest_plugin"]

REPO = Path(__file__).resolve().parent
#: Gateway API v1.5.1 and Istio 1.30.3, as published upstream (``src/meshops/crds``).
CRDS = crds.ROOT


def _parse(path: Path) -> tuple[dict[str, Any], ...]:
    from meshops.testing import upstream

    return upstream.parse(path)


def crd_docs(*names: str) -> list[dict[str, Any]]:
    """The upstream CRD documents with these names (e.g. ``gateways.gateway.networking.k8s.io``).

    See :func:`meshops.testing.upstream.crd_docs`; a missing file or CRD fails the test.
    """
    from meshops.testing import upstream

    try:
        return upstream.crd_docs(CRDS, *names)
    except (FileNotFoundError, LookupError) as e:
        pytest.fail(f"{e} (among the CRDs in {CRDS})", pytrace=False)


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The upstream CRDs' directory (``src/meshops/crds``)."""
    return CRDS


@pytest.fixture(scope="session")
def parse_crd_file() -> Any:
    """Parse a YAML file of CRDs once per session (returns its mapping documents)."""
    return _parse


@pytest.fixture(scope="session")
def crds() -> Any:
    """:func:`crd_docs`, as a fixture."""
    return crd_docs


@pytest.fixture
def make_fake() -> Any:
    """Build a FakeKubernetes with some upstream CRDs installed and namespaces created.

    Example:
        fake = make_fake("gateways.gateway.networking.k8s.io", namespaces=["m"])
    """
    from meshops.testing import FakeKubernetes

    def make(*crd_names: str, namespaces: tuple[str, ...] | list[str] = ()) -> FakeKubernetes:
        fake = FakeKubernetes()
        for doc in crd_docs(*crd_names):
            fake.install_crd(doc)
        for namespace in namespaces:
            fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        return fake

    return make
