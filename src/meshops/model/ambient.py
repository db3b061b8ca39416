"""The labels Istio's ambient mode reads, and what they mean: one place for every layer.

These are Istio's own (``istio.io/api``, ``label/labels.gen.go``), as Istio 1.30 reads
them:

- ``istio.io/dataplane-mode=ambient`` on a namespace or a pod puts its pods on the
  ambient mesh (ztunnel carries their traffic);
- ``istio.io/use-waypoint=<name>`` on a Service or a namespace sends the Services'
  traffic through that waypoint (the Service's label wins over its namespace's); the
  value ``none`` opts out, so a Service labelled ``none`` uses no waypoint even when its
  namespace names one; ``istio.io/use-waypoint-namespace`` says in which namespace the
  waypoint is (default: the labelled object's own);
- ``istio.io/waypoint-for`` on a waypoint Gateway (or its GatewayClass) says which
  traffic it takes: ``service`` (the default), ``workload``, ``all`` or ``none``;
- ``istio.io/ingress-use-waypoint=true`` on a Service or namespace makes Istio's ingress
  gateways send to its waypoint too, instead of straight to the pods.

And the labels of Istio's sidecar injector, since a pod with a sidecar is never on the
ambient mesh, whatever its labels say (*Add workloads to the mesh*: "sidecar injection
takes precedence"; istio-cni skips a pod that carries ``sidecar.istio.io/status``):

- ``istio-injection=enabled`` on a namespace, or ``sidecar.istio.io/inject="true"`` on a
  pod, asks for a sidecar; ``disabled`` or ``"false"`` on either refuses one, and a
  refusal wins (*Installing the Sidecar*, the injection policy);
- ``istio.io/rev=<revision>`` on a namespace (without ``istio-injection``) asks for the
  sidecar of that revision's injector.

The plans that write these labels, the evaluator that reads them and the charms that
look for a namespace's waypoint all use the names and :func:`waypoint_named` and
:func:`sidecar_injected` from here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DATAPLANE_MODE_LABEL",
    "INGRESS_USE_WAYPOINT_LABEL",
    "INJECTION_LABEL",
    "NO_WAYPOINT",
    "REVISION_LABEL",
    "SIDECAR_INJECT_LABEL",
    "USE_WAYPOINT_LABEL",
    "USE_WAYPOINT_NAMESPACE_LABEL",
    "WAYPOINT_FOR_LABEL",
    "sidecar_injected",
    "waypoint_named",
]

DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace"
INGRESS_USE_WAYPOINT_LABEL = "istio.io/ingress-use-waypoint"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"
#: The value of :data:`USE_WAYPOINT_LABEL` that opts out of every waypoint.
NO_WAYPOINT = "none"
#: On a namespace: ``enabled`` or ``disabled``, sidecar injection for its pods.
INJECTION_LABEL = "istio-injection"
#: On a pod: ``"true"`` or ``"false"``, sidecar injection for that pod.
SIDECAR_INJECT_LABEL = "sidecar.istio.io/inject"
#: On a namespace or a pod: the control-plane revision whose injector serves it.
REVISION_LABEL = "istio.io/rev"


def sidecar_injected(pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str]) -> bool:
    """Whether Istio's injector gives pods with these labels, in this namespace, a sidecar.

    Args:
        pod_labels: the pod's labels.
        namespace_labels: its namespace's labels.

    Example:
        >>> sidecar_injected({}, {"istio-injection": "enabled"})
        True
        >>> sidecar_injected({"sidecar.istio.io/inject": "false"}, {"istio-injection": "enabled"})
        False
        >>> sidecar_injected({"sidecar.istio.io/inject": "true"}, {"istio-injection": "disabled"})
        False
        >>> sidecar_injected({"sidecar.istio.io/inject": "true"}, {})
        True
    """
    namespace = namespace_labels.get(INJECTION_LABEL)
    pod = pod_labels.get(SIDECAR_INJECT_LABEL)
    if namespace == "disabled" or pod == "false":
        return False
    if namespace == "enabled" or pod == "true":
        return True
    return REVISION_LABEL in namespace_labels


def waypoint_named(labels: Mapping[str, str], namespace: str) -> tuple[str, str] | None:
    """The waypoint an object's labels send its traffic through: (namespace, name).

    None when the labels name no waypoint: no :data:`USE_WAYPOINT_LABEL`, or its value
    is :data:`NO_WAYPOINT`. Whether a Service's labels decide, or its namespace's, is
    the caller's to say: a Service carrying the label at all (``none`` included) decides.

    Args:
        labels: the labels of a Service or a namespace.
        namespace: the object's namespace (for a namespace, its name).

    Example:
        >>> waypoint_named({"istio.io/use-waypoint": "waypoint"}, "shop")
        ('shop', 'waypoint')
        >>> waypoint_named({"istio.io/use-waypoint": "none"}, "shop") is None
        True
    """
    name = labels.get(USE_WAYPOINT_LABEL)
    if not name or name == NO_WAYPOINT:
        return None
    return labels.get(USE_WAYPOINT_NAMESPACE_LABEL) or namespace, name
