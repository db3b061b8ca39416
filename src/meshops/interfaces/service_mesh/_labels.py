"""Mesh labels on the consumer's running Pods and Service, by server-side apply.

Istio ambient mode reads ``istio.io/dataplane-mode`` and the waypoint labels from
running Pods and Services, so labelling those objects directly puts a workload on the
mesh without touching its StatefulSet's pod template (which would restart every pod).

Each apply carries only ``metadata.labels`` under a field manager of our own, so
applying a new (or empty) set of labels removes exactly the labels that manager set
before, and nothing another manager owns. A read comes first: a missing object is
skipped (never created), and an object already carrying exactly our labels is not
written again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from meshops.k8s import api as k8s_api
from meshops.k8s.kinds import Kind

log = logging.getLogger(__name__)


def labels_field_manager(app: str) -> str:
    """The server-side apply field manager that owns ``app``'s mesh labels."""
    return f"{app}-mesh-labels"


def pod_name(unit: str) -> str:
    """The Pod a Juju unit runs in: ``"grafana/0"`` → ``"grafana-0"``."""
    return unit.replace("/", "-")


def needs_apply(obj: Mapping[str, Any], labels: Mapping[str, str], manager: str) -> bool:
    """Whether ``obj`` differs from carrying exactly ``labels`` under ``manager``.

    Without ``managedFields`` (not every server or fake reports them) ownership is
    unknown, so the answer is yes.
    """
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    if not meta.get("managedFields"):
        return True
    ours = {key for key, owners in k8s_api.owners_of_labels(obj).items() if manager in owners}
    current: Mapping[str, Any] = meta.get("labels") or {}
    return ours != set(labels) or any(current.get(k) != v for k, v in labels.items())


def reconcile_labels(
    api: k8s_api.Api, kind: Kind, name: str, namespace: str, labels: Mapping[str, str]
) -> bool:
    """Make ``labels`` the set of labels ``api``'s field manager holds on one object.

    Returns:
        Whether anything was written (False also when the object does not exist).

    Raises:
        meshops.k8s.errors.KubernetesError: the read or the apply failed.
    """
    obj = api.get(kind, name, namespace)
    if obj is None:
        log.debug("no %s %s/%s to label; skipped", kind.kind, namespace, name)
        return False
    if not needs_apply(obj, labels, api.field_manager):
        return False
    # force: a label the mesh needs wins over a stale value another manager left.
    api.apply(k8s_api.label_patch(kind, name, namespace, labels), kind, force=True)
    log.info("set mesh labels %s on %s %s/%s", dict(labels), kind.kind, namespace, name)
    return True
