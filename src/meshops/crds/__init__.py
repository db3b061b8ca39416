"""The upstream CustomResourceDefinitions meshops relies on, as their projects publish them.

Carried in the package (with their licences) so that the tests, the benchmarks, the local
API server and the charms that install CRDs need nothing beside it:

- ``gateway-api-v1.5.1/{standard,experimental}/``: the Gateway API's CRDs, byte for byte
  the files of the Go module ``sigs.k8s.io/gateway-api`` v1.5.1 (``config/crd/``);
- ``istio-1.30.3/crd-all.gen.yaml``: Istio's CRDs, byte for byte
  ``manifests/charts/base/files/crd-all.gen.yaml`` of the pinned ``istio.io/istio`` module.

``tests/test_crds.py`` checks both against the pinned modules.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["GATEWAY_API_VERSION", "ISTIO_VERSION", "ROOT"]

#: The folder holding the CRDs.
ROOT = Path(__file__).resolve().parent
GATEWAY_API_VERSION = "v1.5.1"
ISTIO_VERSION = "1.30.3"
