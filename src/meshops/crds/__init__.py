"""The upstream CustomResourceDefinitions meshops relies on, as their projects publish them.

Carried in the package (with their licences) so that the tests, the benchmarks, the local
API server and the charms that install CRDs need nothing beside it:

- ``gateway-api-v1.5.1/{standard,experimental}/``: the Gateway API's CRDs, byte for byte
  the files of the Go module ``sigs.k8s.io/gateway-api`` v1.5.1 (``config/crd/``);
- ``istio-1.30.3/crd-all.gen.yaml``: Istio's CRDs, byte for byte
  ``manifests/charts/base/files/crd-all.gen.yaml`` of the pinned ``istio.io/istio`` module.

``tests/test_crds.py`` checks both against the pinned modules.
:func:`gateway_api_crds` gives the Gateway API's CRDs of one channel, as the istio-k8s
charm installs them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal, cast

import yaml

__all__ = [
    "BUNDLE_VERSION_ANNOTATION",
    "CHANNEL_ANNOTATION",
    "GATEWAY_API_VERSION",
    "ISTIO_VERSION",
    "ROOT",
    "gateway_api_crds",
]

#: The folder holding the CRDs.
ROOT = Path(__file__).resolve().parent
GATEWAY_API_VERSION = "v1.5.1"
ISTIO_VERSION = "1.30.3"
#: The annotations the Gateway API's CRDs carry: their release and their channel.
BUNDLE_VERSION_ANNOTATION = "gateway.networking.k8s.io/bundle-version"
CHANNEL_ANNOTATION = "gateway.networking.k8s.io/channel"
#: The experimental channel's CRDs installed with ``experimental``; the others always
#: come from the standard channel, so that choosing the experimental channel for the
#: TCP and TLS routes does not change the Gateways and HTTPRoutes everyone else uses.
_EXPERIMENTAL = ("tcproutes", "tlsroutes")


def gateway_api_crds(channel: Literal["standard", "experimental"]) -> list[dict[str, Any]]:
    """The Gateway API's CRDs of the standard channel (with ``experimental``: TCP, TLS routes).

    With ``experimental``, the experimental channel's TLSRoute replaces the standard one.

    The ValidatingAdmissionPolicy each channel also ships (``vap_safeupgrades``) is left
    out: it is not a CRD, and it only refuses installing older CRDs over newer ones,
    which the istio-k8s charm checks itself.

    Example:
        >>> sorted(c["spec"]["names"]["kind"] for c in gateway_api_crds("experimental"))[-2:]
        ['TCPRoute', 'TLSRoute']
    """
    folder = ROOT / f"gateway-api-{GATEWAY_API_VERSION}"
    out: list[dict[str, Any]] = []
    for path in sorted((folder / "standard").glob("*.yaml")):
        plural = path.stem.partition("_")[2]
        if channel == "experimental" and plural in _EXPERIMENTAL:
            continue
        out += _crds(path)
    if channel == "experimental":
        for plural in _EXPERIMENTAL:
            out += _crds(folder / "experimental" / f"gateway.networking.k8s.io_{plural}.yaml")
    return out


def _crds(path: Path) -> list[dict[str, Any]]:
    return [dict(d) for d in _parse(path) if d.get("kind") == "CustomResourceDefinition"]


@functools.cache
def _parse(path: Path) -> tuple[dict[str, Any], ...]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as f:
        docs: list[object] = list(yaml.load_all(f, Loader=loader))
    return tuple(cast("dict[str, Any]", d) for d in docs if isinstance(d, dict))
