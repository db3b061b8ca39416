"""What marks an object as ours: the labels and the hash annotation the reconciler writes.

Pure, so that ``meshops render`` writes objects exactly as ``meshops apply`` (through
:class:`meshops.k8s.reconciler.Reconciler`) would apply them, without loading the
Kubernetes client: an object applied by ``kubectl apply --server-side`` from render's
output is then one ``meshops apply`` recognises as its own and finds unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HASH_ANNOTATION",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "OWNER_LABEL",
    "SCOPE_LABEL",
    "content_hash",
    "owner_labels",
    "stamp",
]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshops"
OWNER_LABEL = "meshops.io/owner"
SCOPE_LABEL = "meshops.io/scope"
HASH_ANNOTATION = "meshops.io/applied-hash"


def content_hash(obj: Mapping[str, Any]) -> str:
    """A hash of an object's JSON content, independent of key order.

    Raises:
        TypeError: the object holds a value JSON cannot (the API server could not store it).
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def owner_labels(owner: str, scope: str) -> dict[str, str]:
    """The labels every object of ``owner`` and ``scope`` carries."""
    return {MANAGED_BY_LABEL: MANAGED_BY, OWNER_LABEL: owner, SCOPE_LABEL: scope}


def stamp(obj: Mapping[str, Any], owner: str, scope: str) -> dict[str, Any]:
    """``obj`` with the owner's labels and the hash of its content (without the hash).

    ``obj`` is not modified; the result shares everything but its metadata with it.
    Stamping a stamped object gives it back unchanged.

    Example:
        >>> ns = stamp({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        ...            "meshops.shop", "platform")
        >>> ns["metadata"]["labels"]["meshops.io/owner"]
        'meshops.shop'
        >>> stamp(ns, "meshops.shop", "platform") == ns
        True
    """
    out = dict(obj)
    meta = out["metadata"] = dict(obj.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), **owner_labels(owner, scope)}
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(HASH_ANNOTATION, None)
    meta["annotations"] = annotations
    annotations[HASH_ANNOTATION] = content_hash(out)
    return out
