"""Shared test fixtures: where the upstream CRDs are, parsed once per session."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent
#: Gateway API v1.5.1 and Istio 1.30.3, as published upstream, beside the repository.
CRDS = Path(os.environ.get("MESHOPS_CRDS", REPO.parent / "shared" / "crds"))
GATEWAY_API = CRDS / "gateway-api-v1.5.1"
ISTIO = CRDS / "istio-1.30.3" / "crd-all.gen.yaml"


@functools.cache
def _parse(path: Path) -> tuple[dict[str, Any], ...]:
    if not path.exists():
        pytest.fail(
            f"upstream CRDs not found at {path}: the tests need ../shared/crds beside the "
            "repository (or MESHOPS_CRDS pointing at it)",
            pytrace=False,
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as f:
        return tuple(d for d in yaml.load_all(f, Loader=loader) if isinstance(d, dict))


def crd_docs(*names: str) -> list[dict[str, Any]]:
    """The upstream CRD documents with these names (e.g. ``gateways.gateway.networking.k8s.io``).

    Gateway API CRDs come from the standard channel, except those only in experimental
    (TCPRoute); Istio's from its crd-all bundle. Parsed once per session; treat the
    documents as read-only.
    """
    found: list[dict[str, Any]] = []
    for name in names:
        plural, _, group = name.partition(".")
        if group.endswith("istio.io"):
            docs = [d for d in _parse(ISTIO) if d.get("metadata", {}).get("name") == name]
        else:
            file = f"{group}_{plural}.yaml"
            path = GATEWAY_API / "standard" / file
            if not path.exists():
                path = GATEWAY_API / "experimental" / file
            docs = [d for d in _parse(path) if d.get("kind") == "CustomResourceDefinition"]
        if not docs:
            pytest.fail(f"no upstream CRD named {name}", pytrace=False)
        found.extend(docs)
    return found


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """The upstream CRDs' directory (``../shared/crds``, or ``$MESHOPS_CRDS``)."""
    if not CRDS.is_dir():
        pytest.fail(
            f"upstream CRDs not found at {CRDS}: the tests need ../shared/crds beside the "
            "repository (or MESHOPS_CRDS pointing at it)",
            pytrace=False,
        )
    return CRDS.resolve()


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
