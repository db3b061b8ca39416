"""The upstream CustomResourceDefinitions, read from a directory laid out as published.

``root`` holds ``gateway-api-v1.5.1/{standard,experimental}/`` (one file per CRD) and
``istio-1.30.3/crd-all.gen.yaml`` (Istio's bundle). Each file is parsed once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast

import yaml

__all__ = ["GATEWAY_API_DIR", "ISTIO_BUNDLE", "crd_docs"]

GATEWAY_API_DIR = "gateway-api-v1.5.1"
ISTIO_BUNDLE = "istio-1.30.3/crd-all.gen.yaml"


@functools.cache
def parse(path: Path) -> tuple[dict[str, Any], ...]:
    """The mapping documents of a YAML file (cached: treat them as read-only)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as f:
        docs: list[object] = list(yaml.load_all(f, Loader=loader))
    return tuple(cast("dict[str, Any]", d) for d in docs if isinstance(d, dict))


def crd_docs(root: Path, *names: str) -> list[dict[str, Any]]:
    """The CRDs with these names (e.g. ``gateways.gateway.networking.k8s.io``).

    Gateway API CRDs come from the standard channel, or the experimental one for those
    only there (TCPRoute); Istio's from its bundle.

    Raises:
        FileNotFoundError: a file is missing.
        LookupError: no CRD of that name is there.
    """
    found: list[dict[str, Any]] = []
    for name in names:
        plural, _, group = name.partition(".")
        if group.endswith("istio.io"):
            docs = [
                d for d in parse(root / ISTIO_BUNDLE) if d.get("metadata", {}).get("name") == name
            ]
        else:
            file = f"{group}_{plural}.yaml"
            path = root / GATEWAY_API_DIR / "standard" / file
            if not path.exists():
                path = root / GATEWAY_API_DIR / "experimental" / file
            docs = [d for d in parse(path) if d.get("kind") == "CustomResourceDefinition"]
        if not docs:
            raise LookupError(f"no upstream CRD named {name} under {root}")
        found.extend(docs)
    return found
