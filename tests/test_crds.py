"""The CRDs the package carries are the pinned upstream modules' files, byte for byte.

``src/meshops/crds`` holds the Gateway API's CRDs (``sigs.k8s.io/gateway-api`` v1.5.1,
``config/crd/{standard,experimental}``) and Istio's (``istio.io/istio`` at the pin of
``gotools/istio/go.mod``, ``manifests/charts/base/files/crd-all.gen.yaml``), each with
its project's licence. The modules come from Go's module cache (``go mod download``);
without Go the test skips, except under CI.
"""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest

from meshops import crds
from meshops.testing import tools

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    try:
        return tools.module_dirs(
            REPO / "gotools" / "istio", "sigs.k8s.io/gateway-api", "istio.io/istio"
        )
    except tools.ToolsMissing as e:
        pytest.fail(str(e)) if os.environ.get("CI") == "true" else pytest.skip(str(e))


def test_gateway_api_crds_are_the_modules_files(modules: dict[str, Path]) -> None:
    module = modules["sigs.k8s.io/gateway-api"]
    assert module.name == f"gateway-api@{crds.GATEWAY_API_VERSION}"
    ours = crds.ROOT / f"gateway-api-{crds.GATEWAY_API_VERSION}"
    for channel in ("standard", "experimental"):
        upstream = sorted(p.name for p in (module / "config" / "crd" / channel).glob("*.yaml"))
        carried = sorted(p.name for p in (ours / channel).glob("*.yaml"))
        assert carried == [name for name in upstream if name != "kustomization.yaml"]
        for name in carried:
            assert filecmp.cmp(
                ours / channel / name, module / "config/crd" / channel / name, shallow=False
            ), name
    assert filecmp.cmp(ours / "LICENSE", module / "LICENSE", shallow=False)


def test_istio_crds_are_the_modules_files(modules: dict[str, Path]) -> None:
    module = modules["istio.io/istio"]
    ours = crds.ROOT / f"istio-{crds.ISTIO_VERSION}"
    bundle = module / "manifests" / "charts" / "base" / "files" / "crd-all.gen.yaml"
    assert filecmp.cmp(ours / "crd-all.gen.yaml", bundle, shallow=False)
    assert filecmp.cmp(ours / "LICENSE", module / "LICENSE", shallow=False)
