"""The built-in kinds the fake serves without any CRD.

Built-in kinds are not validated beyond their metadata (any ``spec`` is accepted), but
they carry enough structure for server-side apply to merge their keyed lists the way
Kubernetes does (containers by name, Service ports by port and protocol, ...), and a few
do the server-side defaulting tests rely on:

* Namespace: the ``kubernetes.io/metadata.name`` label, ``status.phase: Active``;
* Service: ``type: ClusterIP``, a cluster IP, port ``protocol: TCP`` and ``targetPort``,
  ``ipMode: VIP`` for a load balancer's IP;
* Secret: ``type: Opaque``, ``stringData`` folded into base64 ``data``.

A CustomResourceDefinition is a built-in kind too: creating one installs its kinds.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from meshops.testing.fake_kubernetes.meta import NameRule
from meshops.testing.fake_kubernetes.resources import Prepare, ResourceType
from meshops.testing.fake_kubernetes.schema import permissive_schema
from meshops.testing.fake_kubernetes.values import as_dict, as_list

__all__ = ["BUILTIN_TYPES", "CRD_GROUP", "CRD_KIND"]

CRD_GROUP = "apiextensions.k8s.io"
CRD_KIND = "CustomResourceDefinition"

_ANY: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_WITH_GENERATION = frozenset(
    {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "NetworkPolicy",
        "Ingress",
        "EndpointSlice",
    }
)


def _keyed(*keys: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": list(keys),
        "items": item or _ANY,
    }


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"x-kubernetes-preserve-unknown-fields": True, "properties": properties}


_TCP = {"protocol": {"default": "TCP"}}
_CONTAINER = _object(
    ports=_keyed("containerPort", "protocol", item=_object(**_TCP)),
    env=_keyed("name"),
    volumeMounts=_keyed("mountPath"),
)
_POD_SPEC = _object(
    containers=_keyed("name", item=_CONTAINER),
    initContainers=_keyed("name", item=_CONTAINER),
    volumes=_keyed("name"),
)
_POD = {"spec": _POD_SPEC}
_WORKLOAD = {"spec": _object(template=_object(spec=_POD_SPEC))}
_SERVICE = {"spec": _object(ports=_keyed("port", "protocol", item=_object(**_TCP)))}
# A CRD's spec and status are owned as a whole: tracking every schema keyword as a field
# would make installing Istio's CRDs slow, and nobody co-owns a CRD's schema.
_CRD = {
    "spec": {"x-kubernetes-preserve-unknown-fields": True, "x-kubernetes-map-type": "atomic"},
    "status": {"x-kubernetes-preserve-unknown-fields": True, "x-kubernetes-map-type": "atomic"},
}


def _prepare_namespace(
    obj: dict[str, Any], old: dict[str, Any] | None, allocate: Callable[[], str]
) -> None:
    meta = as_dict(obj.setdefault("metadata", {})) or {}
    labels = as_dict(meta.get("labels"))
    if labels is None:
        labels = meta["labels"] = {}
    labels["kubernetes.io/metadata.name"] = meta.get("name", "")
    spec = as_dict(obj.setdefault("spec", {}))
    if spec is not None:
        spec.setdefault("finalizers", ["kubernetes"])
    if not obj.get("status"):
        obj["status"] = {"phase": "Active"}


def _prepare_service(
    obj: dict[str, Any], old: dict[str, Any] | None, allocate: Callable[[], str]
) -> None:
    spec = as_dict(obj.get("spec"))
    if spec is None:
        return
    spec.setdefault("type", "ClusterIP")
    previous = as_dict((old or {}).get("spec")) or {}
    if spec["type"] != "ExternalName" and "clusterIP" not in spec:
        spec["clusterIP"] = previous.get("clusterIP") or allocate()
    if "clusterIP" in spec and "clusterIPs" not in spec:
        spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("sessionAffinity", "None")
    for item in as_list(spec.get("ports")) or []:
        port = as_dict(item)
        if port is not None and "port" in port:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
    if not obj.get("status"):
        obj["status"] = {"loadBalancer": {}}
    balancer = as_dict((as_dict(obj.get("status")) or {}).get("loadBalancer")) or {}
    for item in as_list(balancer.get("ingress")) or []:
        address = as_dict(item)
        if address is not None and address.get("ip"):
            address.setdefault("ipMode", "VIP")  # the API server's default for an IP


def _prepare_secret(
    obj: dict[str, Any], old: dict[str, Any] | None, allocate: Callable[[], str]
) -> None:
    obj.setdefault("type", "Opaque")
    string_data = as_dict(obj.pop("stringData", None))
    if string_data is not None:
        data = as_dict(obj.get("data"))
        if data is None:
            data = obj["data"] = {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _builtin(
    api_version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    rule: NameRule = NameRule.SUBDOMAIN,
    status: bool = False,
    structure: dict[str, Any] | None = None,
    prepare: Prepare | None = None,
) -> ResourceType:
    # the built-in kinds the API server gives a metadata.generation (as 1.37 does)
    generation = kind in _WITH_GENERATION or kind == CRD_KIND
    group, _, version = api_version.rpartition("/")
    return ResourceType(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        name_rule=rule,
        schema=permissive_schema(structure),
        status_subresource=status,
        prepare=prepare,
        generation=generation,
    )


#: Every built-in resource type the fake serves.
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin(
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        rule=NameRule.LABEL,
        status=True,
        prepare=_prepare_namespace,
    ),
    _builtin("v1", "Pod", "pods", status=True, structure=_POD),
    _builtin(
        "v1",
        "Service",
        "services",
        rule=NameRule.LABEL,  # an RFC 1123 label since Kubernetes 1.34 (may start with a digit)
        status=True,
        structure=_SERVICE,
        prepare=_prepare_service,
    ),
    _builtin("v1", "Secret", "secrets", prepare=_prepare_secret),
    _builtin("v1", "ConfigMap", "configmaps"),
    _builtin("v1", "ServiceAccount", "serviceaccounts"),
    _builtin("v1", "Event", "events"),
    _builtin("v1", "Endpoints", "endpoints"),
    _builtin("v1", "PersistentVolumeClaim", "persistentvolumeclaims", status=True),
    _builtin("v1", "Node", "nodes", namespaced=False, status=True),
    _builtin("apps/v1", "StatefulSet", "statefulsets", status=True, structure=_WORKLOAD),
    _builtin("apps/v1", "Deployment", "deployments", status=True, structure=_WORKLOAD),
    _builtin("apps/v1", "DaemonSet", "daemonsets", status=True, structure=_WORKLOAD),
    _builtin("apps/v1", "ReplicaSet", "replicasets", status=True, structure=_WORKLOAD),
    _builtin("batch/v1", "Job", "jobs", status=True, structure=_WORKLOAD),
    _builtin("rbac.authorization.k8s.io/v1", "Role", "roles", rule=NameRule.PATH_SEGMENT),
    _builtin(
        "rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", rule=NameRule.PATH_SEGMENT
    ),
    _builtin(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        namespaced=False,
        rule=NameRule.PATH_SEGMENT,
    ),
    _builtin(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
        rule=NameRule.PATH_SEGMENT,
    ),
    _builtin("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    # The rest of what istioctl generates for a control plane.
    _builtin("v1", "ResourceQuota", "resourcequotas", status=True),
    _builtin("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", status=True),
    _builtin("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", status=True),
    _builtin(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        namespaced=False,
        structure={"webhooks": _keyed("name")},
    ),
    _builtin(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        namespaced=False,
        structure={"webhooks": _keyed("name")},
    ),
    _builtin("networking.k8s.io/v1", "Ingress", "ingresses", status=True),
    _builtin("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    _builtin("coordination.k8s.io/v1", "Lease", "leases"),
    _builtin(
        f"{CRD_GROUP}/v1",
        CRD_KIND,
        "customresourcedefinitions",
        namespaced=False,
        status=True,
        structure=_CRD,
    ),
)
