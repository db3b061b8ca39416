"""The Istio control plane a platform runs on, and its deny-by-default (hardened) mode.

:func:`istio_operator` is the installation spec ``istioctl install -f`` reads: an
``IstioOperator`` document (``install.istio.io/v1alpha1``) from the platform's profile
and overrides. It is not a Kubernetes object to apply: istioctl turns it into the
control plane's Deployments and DaemonSets.

:func:`hardened_policies` are the AuthorizationPolicies that make the mesh deny by
default, following Istio's evaluation rule that a workload with an ALLOW policy
accepts only what some ALLOW rule matches:

* ``<platform>-deny-all`` in Istio's root namespace, with an empty spec (an ALLOW
  policy with no rules): every pod on the mesh refuses every connection that no other
  policy allows. ztunnel enforces it.
* ``<platform>-waypoint-deny-all`` in Istio's root namespace, attached to the
  ``istio-waypoint`` GatewayClass: every waypoint refuses every request that no app
  policy (attached to the called Service) allows; an app that declares no accepts
  accepts nothing. These two are :func:`mesh_deny_policies`, which the istio-k8s
  charm's ``hardened-mode`` applies too.
* per namespace on the mesh, ``<platform>-from-waypoint``: the pods accept what their
  waypoint forwards (the waypoint has decided already), so that the root deny-all
  leaves the waypoint's decision standing.

The ingress gateway's own policies (:mod:`meshops.plan.ingress`) let it reach the apps
it routes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshops.model.names import principal
from meshops.model.platform import Istio, Namespace, Platform

__all__ = [
    "ISTIO_OPERATOR_API_VERSION",
    "RELEASE_HUB",
    "hardened_policies",
    "istio_operator",
    "mesh_deny_policies",
    "with_release_images",
]

Obj = dict[str, Any]

#: The apiVersion of the document ``istioctl install -f`` reads.
ISTIO_OPERATOR_API_VERSION = "install.istio.io/v1alpha1"
_AP_API_VERSION = "security.istio.io/v1"
#: Istio's default control plane (and root) namespace.
_DEFAULT_NAMESPACE = Istio().namespace


def istio_operator(platform: Platform) -> Obj | None:
    """The IstioOperator document installing the platform's control plane.

    None when the platform does not describe Istio's installation (no ``istio`` section,
    or ``enabled: false``).

    Example:
        >>> from meshops.model.platform import Istio, Platform
        >>> op = istio_operator(Platform("shop", istio=Istio(hub="registry.local/istio")))
        >>> op["spec"]
        {'profile': 'ambient', 'hub': 'registry.local/istio'}
    """
    istio = platform.istio
    if istio is None or not istio.enabled:
        return None
    spec: Obj = {"profile": istio.profile.value}
    if istio.hub is not None:
        spec["hub"] = istio.hub
    if istio.tag is not None:
        spec["tag"] = istio.tag
    mesh_config: Obj = {}
    if istio.namespace != _DEFAULT_NAMESPACE:
        spec["namespace"] = istio.namespace
        mesh_config["rootNamespace"] = istio.namespace
        spec["values"] = {"global": {"istioNamespace": istio.namespace}}
    if istio.watched_namespaces:
        mesh_config["discoverySelectors"] = [
            {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": sorted({*istio.watched_namespaces, istio.namespace}),
                    }
                ]
            }
        ]
    if mesh_config:
        spec["meshConfig"] = mesh_config
    return {
        "apiVersion": ISTIO_OPERATOR_API_VERSION,
        "kind": "IstioOperator",
        "metadata": {"name": platform.name, "namespace": istio.namespace},
        "spec": spec,
    }


#: Where Istio publishes its release images. The charts in the istio.io/istio Go module
#: name its test registry and the tag ``latest`` (a release build rewrites them), so an
#: istioctl built from the module needs hub and tag set to run a release.
RELEASE_HUB = "docker.io/istio"


def with_release_images(operator: Obj, release: str) -> Obj:
    """``operator`` with Istio's release images of ``release`` where it names none.

    Example:
        >>> op = {"spec": {"profile": "ambient", "hub": "registry.local/istio"}}
        >>> with_release_images(op, "1.30.3")["spec"]
        {'profile': 'ambient', 'hub': 'registry.local/istio', 'tag': '1.30.3'}
    """
    spec = {**operator["spec"]}
    spec.setdefault("hub", RELEASE_HUB)
    spec.setdefault("tag", release)
    return {**operator, "spec": spec}


def hardened_policies(
    platform: Platform, namespaces: Sequence[Namespace], waypoint: str
) -> list[Obj]:
    """The deny-by-default policies; none when the platform is not hardened.

    Args:
        platform: the platform.
        namespaces: its (valid, distinct) namespaces.
        waypoint: the name of each ambient namespace's waypoint Gateway (its service
            account has the same name, as Istio names it). A namespace with sidecars
            needs nothing more: its sidecars enforce the root namespace's allow-nothing
            as ztunnel does.

    Example:
        >>> from meshops.model.platform import Namespace, Platform
        >>> p = Platform("p", (Namespace("shop"),), hardened=True)
        >>> for o in hardened_policies(p, p.namespaces, "waypoint"):
        ...     print(o["metadata"]["namespace"], o["metadata"]["name"])
        istio-system p-deny-all
        istio-system p-waypoint-deny-all
        shop p-from-waypoint
    """
    if not platform.hardened:
        return []
    name = platform.name
    policies = mesh_deny_policies(name, platform.root_namespace)
    for ns in sorted((n for n in namespaces if n.ambient), key=lambda n: n.name):
        from_waypoint = {
            "action": "ALLOW",
            "rules": [{"from": [{"source": {"principals": [principal(ns.name, waypoint)]}}]}],
        }
        policies.append(_policy(ns.name, f"{name}-from-waypoint", from_waypoint))
    return policies


def mesh_deny_policies(prefix: str, root_namespace: str) -> list[Obj]:
    """Mesh-wide allow-nothing, at ztunnel and at every waypoint, in Istio's root namespace.

    ``<prefix>-deny-all`` (an empty spec: every pod on the mesh refuses what no policy
    allows) and ``<prefix>-waypoint-deny-all`` (attached to the ``istio-waypoint``
    GatewayClass, which Istio allows from the root namespace only: every waypoint
    refuses what no policy on the called Service allows).

    Example:
        >>> [p["metadata"]["name"] for p in mesh_deny_policies("shop", "istio-system")]
        ['shop-deny-all', 'shop-waypoint-deny-all']
    """
    at_waypoints = {"targetRefs": [_gateway_class_ref(WAYPOINT_CLASS)]}
    return [
        _policy(root_namespace, f"{prefix}-deny-all", {}),
        _policy(root_namespace, f"{prefix}-waypoint-deny-all", at_waypoints),
    ]


#: The GatewayClass Istio runs waypoints with.
WAYPOINT_CLASS = "istio-waypoint"


def _gateway_class_ref(name: str) -> Obj:
    return {"group": "gateway.networking.k8s.io", "kind": "GatewayClass", "name": name}


def _policy(namespace: str, name: str, spec: Obj) -> Obj:
    return {
        "apiVersion": _AP_API_VERSION,
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
