"""The Istio control plane of a platform file's ``istio`` section, for plan, apply and render.

istioctl (found on PATH, or given with ``--istioctl PATH``) generates the control plane
from the file's IstioOperator (:func:`meshops.plan.istio.istio_operator`: profile,
hub and tag, namespace, discovery selectors), exactly as the istio-k8s charm has its own
istioctl do; the result goes through the same reconciler as everything else, in two
scopes of the platform's owner:

* ``crds``: Istio's CRDs, and the Gateway API's (v1.5.1, the standard channel; with
  TCPRoute from the experimental one when the file has TCP routes) that the cluster
  lacks. A CRD of that name someone else installed is left as it is. CRDs are never
  deleted, with or without ``--prune``: deleting one deletes every object of its kind
  in the cluster.
* ``control-plane``: everything else istioctl generated, and Istio's namespace when the
  cluster lacks it. ``--prune`` deletes what istioctl no longer generates (a changed
  profile, a new release); Istio's namespace is never deleted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meshops.crds import gateway_api_crds
from meshops.k8s import objects as k8s_objects
from meshops.k8s.api import Api
from meshops.k8s.errors import CrdMissing
from meshops.k8s.istioctl import Istioctl, find_istioctl
from meshops.k8s.kinds import CONTROL_PLANE_KINDS, CRD, NAMESPACE, Kind, apply_rank, kind_of
from meshops.k8s.reconciler import Change, Reconciler
from meshops.model.platform import Platform
from meshops.plan.istio import istio_operator, with_release_images

__all__ = [
    "ControlPlane",
    "generate",
    "istioctl_from",
    "reconcile_control_plane",
]

Obj = dict[str, Any]
#: How long apply waits for the API server to serve the kinds of CRDs it just created.
CRD_SERVED_TIMEOUT = 60.0


def istioctl_from(args: argparse.Namespace) -> Istioctl:
    """The istioctl ``args`` name (``--istioctl``, else PATH), caching what it generates.

    The cache (``$MESHOPS_MANIFEST_CACHE``, else ``$XDG_CACHE_HOME/meshops/manifests``,
    else ``~/.cache/...``) spares a plan followed by an apply a second generation.

    Raises:
        IstioctlMissing: there is none.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    cache = Path(os.environ.get("MESHOPS_MANIFEST_CACHE") or Path(base) / "meshops" / "manifests")
    return Istioctl(find_istioctl(getattr(args, "istioctl", None)), cache_dir=cache)


@dataclasses.dataclass(frozen=True)
class ControlPlane:
    """What istioctl generated for a platform file's ``istio`` section.

    Attributes:
        operator: the IstioOperator it was generated from.
        crds: its CustomResourceDefinitions (Istio's).
        objects: everything else.
    """

    operator: Obj
    crds: tuple[Obj, ...]
    objects: tuple[Obj, ...]


def generate(platform: Platform, istioctl: Istioctl) -> ControlPlane | None:
    """The control plane of ``platform`` (None when its file has no enabled istio section).

    Raises:
        IstioctlError: istioctl failed.
    """
    operator = istio_operator(platform)
    if operator is None:
        return None
    operator = with_release_images(operator, istioctl.version())
    generated = sorted(istioctl.manifest_generate(operator), key=lambda o: apply_rank(kind_of(o)))
    crds = tuple(o for o in generated if kind_of(o) is CRD)
    rest = tuple(o for o in generated if kind_of(o) is not CRD)
    return ControlPlane(operator, crds, rest)


def reconcile_control_plane(
    api: Api,
    owner: str,
    plane: ControlPlane,
    *,
    tcp_routes: bool,
    prune: bool,
    dry_run: bool,
    progress: Callable[[Change], None] | None = None,
) -> tuple[list[Change], list[Kind]]:
    """Make the cluster hold the control plane (or, with ``dry_run``, say how).

    Returns:
        The changes, and the kinds of the CRDs created (or, in a dry run, to be): the
        server cannot check objects of those kinds yet.

    Raises:
        KubernetesError: the cluster cannot be used.
    """
    channel = "experimental" if tcp_routes else "standard"
    crds = Reconciler(api, owner=owner, scope="crds", kinds=[CRD], namespaces=None)
    owned = {key[2] for key in crds.owned()}
    candidates = [*plane.crds, *gateway_api_crds(channel)]
    present: set[str] = set()
    if any(k8s_objects.name(c) not in owned for c in candidates):  # one list, only then
        present = {k8s_objects.name(c) for c in api.list(CRD, None)}
    wanted = [
        c for c in candidates if k8s_objects.name(c) in owned or k8s_objects.name(c) not in present
    ]
    changes = list(
        crds.reconcile(wanted, keep=lambda _: True, dry_run=dry_run, progress=progress).changes
    )
    created = [_crd_kind(c) for c in wanted if k8s_objects.name(c) not in owned | present]
    if created and not dry_run:
        _wait_until_served(api, created)
    namespace = str(plane.operator["metadata"]["namespace"])
    desired: list[Mapping[str, Any]] = list(plane.objects)
    if api.get(NAMESPACE, namespace) is None or _owned_namespace(api, owner, namespace):
        desired.insert(
            0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    namespaces = {k8s_objects.namespace(o) for o in plane.objects if kind_of(o).namespaced}
    rest = Reconciler(
        api,
        owner=owner,
        scope="control-plane",
        kinds=[NAMESPACE, *(k for k in CONTROL_PLANE_KINDS if k is not CRD)],
        namespaces=sorted(namespaces | {namespace}),
    )

    def keep(obj: Obj) -> bool:
        return not prune or kind_of(obj) is NAMESPACE

    result = rest.reconcile(desired, keep=keep, dry_run=dry_run, progress=progress)
    return changes + list(result.changes), created


def _owned_namespace(api: Api, owner: str, name: str) -> bool:
    live = api.get(NAMESPACE, name)
    return live is not None and k8s_objects.labels(live).get("meshops.io/owner") == owner


def _crd_kind(crd: Mapping[str, Any]) -> Kind:
    spec = crd["spec"]
    served = [v for v in spec["versions"] if v.get("storage")] or spec["versions"]
    return Kind(
        spec["group"],
        served[0]["name"],
        spec["names"]["kind"],
        spec["names"]["plural"],
        spec.get("scope") == "Namespaced",
    )


def _wait_until_served(api: Api, kinds: Sequence[Kind]) -> None:
    """Wait until the API server serves the kinds of CRDs just created.

    It does a moment after each is Established, and the platform's objects of those
    kinds follow right away. A command waits (at most :data:`CRD_SERVED_TIMEOUT`); a
    charm's hook never does.
    """
    deadline = time.monotonic() + CRD_SERVED_TIMEOUT
    waiting = list(kinds)
    while waiting:
        try:
            api.list(waiting[0], None, {"meshops.io/never": "x"})
            waiting.pop(0)
        except CrdMissing:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
