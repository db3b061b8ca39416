"""The Kubernetes kinds meshops manages: where each lives in the API and how to apply it.

A :class:`Kind` is a plain value (group, version, kind, plural, namespaced). The
registry below lists every kind the project renders; :func:`kind_of` finds the entry
for a Kubernetes object (a dict with ``apiVersion`` and ``kind``). The order of
:data:`APPLY_ORDER` is the order objects are applied in, in the
spirit of lightkube's ``sort_objects``: namespaces, then identities and secrets, then
everything that may refer to them; :data:`DELETE_ORDER` the order they are deleted in
(routes first, so that what still routes never lacks what it needs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APPLY_ORDER",
    "AUTHORIZATION_POLICY",
    "CONFIG_MAP",
    "DELETE_ORDER",
    "DESTINATION_RULE",
    "GATEWAY",
    "GATEWAY_CLASS",
    "GRPC_ROUTE",
    "HTTP_ROUTE",
    "MANAGED",
    "NAMESPACE",
    "OPTIONAL_KINDS",
    "POD",
    "REFERENCE_GRANT",
    "REQUEST_AUTHENTICATION",
    "SECRET",
    "SERVICE",
    "SERVICE_ACCOUNT",
    "STATEFUL_SET",
    "TCP_ROUTE",
    "TLS_ROUTE",
    "Kind",
    "apply_rank",
    "delete_rank",
    "kind_of",
]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of Kubernetes object.

    Attributes:
        group: API group ("" for the core group).
        version: API version within the group.
        kind: the object kind, e.g. ``"Gateway"``.
        plural: the resource name in URLs, e.g. ``"gateways"``.
        namespaced: whether objects of this kind live in a namespace.
        crd: the CustomResourceDefinition that must be installed, if any.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``group/version``, or just the version for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def crd(self) -> str | None:
        """The name of the CRD that defines this kind (None for built-in kinds)."""
        if self.group in _BUILTIN_GROUPS:
            return None
        return f"{self.plural}.{self.group}"

    def __str__(self) -> str:
        return f"{self.kind}.{self.group or 'core'}/{self.version}"


_BUILTIN_GROUPS = {
    "",
    "apps",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "policy",
    "autoscaling",
    "admissionregistration.k8s.io",
}

NAMESPACE = Kind("", "v1", "Namespace", "namespaces", namespaced=False)
SERVICE_ACCOUNT = Kind("", "v1", "ServiceAccount", "serviceaccounts")
SECRET = Kind("", "v1", "Secret", "secrets")
CONFIG_MAP = Kind("", "v1", "ConfigMap", "configmaps")
SERVICE = Kind("", "v1", "Service", "services")
POD = Kind("", "v1", "Pod", "pods")
STATEFUL_SET = Kind("apps", "v1", "StatefulSet", "statefulsets")
# What an Istio control plane is made of (``istioctl manifest generate``).
CRD = Kind(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    namespaced=False,
)
DEPLOYMENT = Kind("apps", "v1", "Deployment", "deployments")
DAEMON_SET = Kind("apps", "v1", "DaemonSet", "daemonsets")
CLUSTER_ROLE = Kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False)
CLUSTER_ROLE_BINDING = Kind(
    "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False
)
ROLE = Kind("rbac.authorization.k8s.io", "v1", "Role", "roles")
ROLE_BINDING = Kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
POD_DISRUPTION_BUDGET = Kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets")
HORIZONTAL_POD_AUTOSCALER = Kind(
    "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"
)
RESOURCE_QUOTA = Kind("", "v1", "ResourceQuota", "resourcequotas")
MUTATING_WEBHOOK = Kind(
    "admissionregistration.k8s.io",
    "v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    False,
)
VALIDATING_WEBHOOK = Kind(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    False,
)
GATEWAY_CLASS = Kind("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", False)
GATEWAY = Kind("gateway.networking.k8s.io", "v1", "Gateway", "gateways")
HTTP_ROUTE = Kind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
GRPC_ROUTE = Kind("gateway.networking.k8s.io", "v1", "GRPCRoute", "grpcroutes")
REFERENCE_GRANT = Kind("gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants")
TLS_ROUTE = Kind("gateway.networking.k8s.io", "v1", "TLSRoute", "tlsroutes")
TCP_ROUTE = Kind("gateway.networking.k8s.io", "v1alpha2", "TCPRoute", "tcproutes")
AUTHORIZATION_POLICY = Kind(
    "security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"
)
REQUEST_AUTHENTICATION = Kind(
    "security.istio.io", "v1", "RequestAuthentication", "requestauthentications"
)
DESTINATION_RULE = Kind("networking.istio.io", "v1", "DestinationRule", "destinationrules")

#: Apply order: earlier kinds first; deletion runs in reverse.
APPLY_ORDER: tuple[Kind, ...] = (
    NAMESPACE,
    SERVICE_ACCOUNT,
    SECRET,
    CONFIG_MAP,
    SERVICE,
    GATEWAY_CLASS,
    GATEWAY,
    REFERENCE_GRANT,
    HTTP_ROUTE,
    GRPC_ROUTE,
    TLS_ROUTE,
    TCP_ROUTE,
    DESTINATION_RULE,
    REQUEST_AUTHENTICATION,
    AUTHORIZATION_POLICY,
)

#: Delete order: what sends traffic first (the routes), then what it relied on (the
#: policies letting the gateway reach the backends, the rules for reaching them, the
#: grants), then gateways, secrets and namespaces. A reconcile cut short while it
#: deletes never leaves a route behind whose policy, rule or grant is gone.
DELETE_ORDER: tuple[Kind, ...] = (
    TCP_ROUTE,
    TLS_ROUTE,
    GRPC_ROUTE,
    HTTP_ROUTE,
    AUTHORIZATION_POLICY,
    REQUEST_AUTHENTICATION,
    DESTINATION_RULE,
    REFERENCE_GRANT,
    GATEWAY,
    GATEWAY_CLASS,
    SERVICE,
    CONFIG_MAP,
    SECRET,
    SERVICE_ACCOUNT,
    NAMESPACE,
)

#: Kinds whose objects meshops creates and owns.
MANAGED: tuple[Kind, ...] = APPLY_ORDER

#: Every kind an Istio control plane (as ``istioctl manifest generate`` makes it) may
#: hold, in apply order: CRDs first, identities and permissions before the workloads
#: that use them, the webhooks (which send requests to istiod) last.
CONTROL_PLANE_KINDS: tuple[Kind, ...] = (
    CRD,
    SERVICE_ACCOUNT,
    SECRET,
    CONFIG_MAP,
    RESOURCE_QUOTA,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    ROLE,
    ROLE_BINDING,
    SERVICE,
    DEPLOYMENT,
    DAEMON_SET,
    POD_DISRUPTION_BUDGET,
    HORIZONTAL_POD_AUTOSCALER,
    MUTATING_WEBHOOK,
    VALIDATING_WEBHOOK,
)

# The full orders: the control plane's kinds around the mesh's. Apply: the CRDs, then
# Namespaces, then the control plane in its order, then the mesh's other kinds.
_CONTROL_PLANE_FIRST: tuple[Kind, ...] = (CRD, NAMESPACE, *CONTROL_PLANE_KINDS[1:])
_FULL_APPLY_ORDER: tuple[Kind, ...] = (
    *_CONTROL_PLANE_FIRST,
    *(k for k in APPLY_ORDER if k not in _CONTROL_PLANE_FIRST),
)
# Deletion: the mesh's own kinds in their order, then the control plane's in reverse:
# the webhooks first (they would send requests to an istiod that is going), the CRDs last.
_FULL_DELETE_ORDER: tuple[Kind, ...] = (
    *(k for k in DELETE_ORDER if k not in _CONTROL_PLANE_FIRST),
    *reversed(_CONTROL_PLANE_FIRST),
)

#: Ingress kinds a cluster may lack (TCPRoute is in the Gateway API's experimental
#: channel only): a reconcile reports their objects failed, and goes on with the others.
OPTIONAL_KINDS: tuple[Kind, ...] = (
    GRPC_ROUTE,
    TLS_ROUTE,
    TCP_ROUTE,
    REFERENCE_GRANT,
    DESTINATION_RULE,
)

_BY_API_KIND: dict[tuple[str, str], Kind] = {
    (k.api_version, k.kind): k for k in (*_FULL_APPLY_ORDER, POD, STATEFUL_SET)
}


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """The registered :class:`Kind` of a Kubernetes object.

    Raises:
        ValueError: the object's apiVersion/kind is not one meshops manages.
    """
    key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    try:
        return _BY_API_KIND[key]
    except KeyError:
        raise ValueError(
            f"apiVersion/kind {key[0]!r}/{key[1]!r} is not a kind meshops manages"
        ) from None


def delete_rank(kind: Kind) -> int:
    """Position of ``kind`` in the delete order (unknown kinds go first).

    :data:`DELETE_ORDER`, with the control plane's kinds after the gateways' (its
    webhooks first, its CRDs last).
    """
    try:
        return _FULL_DELETE_ORDER.index(kind)
    except ValueError:
        return -1


def apply_rank(kind: Kind) -> int:
    """Position of ``kind`` in the apply order (unknown kinds go last).

    :data:`APPLY_ORDER`, with the control plane's kinds (:data:`CONTROL_PLANE_KINDS`)
    around it: CRDs first, its workloads and webhooks before the Gateway API's kinds.
    """
    try:
        return _FULL_APPLY_ORDER.index(kind)
    except ValueError:
        return len(_FULL_APPLY_ORDER)
