"""``istioctl analyze`` on a set of objects: offline on files, or as if applied to a cluster.

:func:`analyze` writes the objects to a file in a temporary folder and runs the pinned
istioctl on it (``istioctl analyze --all-namespaces --output=json``, every level down
to Info; ``--use-kube=false`` offline), and returns its messages and the analyzers it
skipped.

What istioctl does and does not judge offline (Istio 1.30):

- It reads Istio's kinds, Gateways, HTTPRoutes and GRPCRoutes, CustomResourceDefinitions
  and workload controllers such as Deployments. It leaves out, without a word,
  Services, Namespaces, Pods, Nodes and Secrets given in files
  (:data:`CLUSTER_ONLY_KINDS`: it reads them from a cluster only), kinds no analyzer
  takes as input (TLSRoutes, TCPRoutes, ReferenceGrants) and kinds it does not know
  (an IstioOperator).
- It skips every analyzer that needs one of the cluster-only kinds (which
  AuthorizationPolicies select no pod, which namespaces are on the mesh, which
  DestinationRule hosts exist...): :attr:`Analysis.skipped` lists them.
- A document of a kind it reads that does not parse (a field of the wrong type, an
  unknown enum value) it reports on stderr and skips; :func:`analyze` raises
  :class:`AnalyzeFailed` for it instead, so that no object silently goes unjudged.

With a ``kubeconfig`` (the local API server of :mod:`meshops.testing.apiserver` will
do: no controller needs to run), istioctl analyzes the files as if applied to that
cluster, and every analyzer runs. The cluster then holds the cluster-only kinds and
what a running cluster has beside the project's objects: :func:`app_workload` and
:func:`gateway_workload` build those, as Kubernetes (or Juju) and Istio make them.

Example (with istioctl built by ``gotools/build``)::

    result = analyze(istioctl, objects)
    for message in result.messages:
        print(message)   # Warning [IST0129] (DestinationRule edge/...) ...
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import yaml

__all__ = [
    "AMBIENT_REDIRECTION",
    "APP_NAME_LABEL",
    "CLUSTER_ONLY_KINDS",
    "SIDECAR_STATUS",
    "Analysis",
    "AnalyzeFailed",
    "Message",
    "analyze",
    "app_workload",
    "gateway_workload",
]

Obj = dict[str, Any]

#: The kinds istioctl reads from a cluster only, never from files.
CLUSTER_ONLY_KINDS = frozenset({"Namespace", "Node", "Pod", "Secret", "Service"})
#: The label the project's pod selectors use (Juju sets it on every unit's pod).
APP_NAME_LABEL = "app.kubernetes.io/name"
#: The annotation istio-cni puts on a pod whose traffic ztunnel captures.
AMBIENT_REDIRECTION = "ambient.istio.io/redirection"
#: The annotation Istio's injector puts on a pod it gave a sidecar.
SIDECAR_STATUS = "sidecar.istio.io/status"
_SIDECAR_STATUS_VALUE = json.dumps(
    {"initContainers": ["istio-init"], "containers": ["istio-proxy"], "volumes": []}
)
#: The Gateway classes Istio implements, and the controller label of what it deploys.
_MANAGED_BY = {
    "istio": "istio.io-gateway-controller",
    "istio-waypoint": "istio.io-mesh-controller",
}


class _Dumper(yaml.SafeDumper):
    """A safe dumper writing a value used twice out twice, never as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class AnalyzeFailed(RuntimeError):
    """istioctl did not analyze the objects (it failed, or could not read some of them)."""


@dataclasses.dataclass(frozen=True, order=True)
class Message:
    """One message of ``istioctl analyze``.

    Attributes:
        code: the message's code, e.g. ``IST0127``.
        level: ``Error``, ``Warning`` or ``Info``.
        origin: the object it is about, as istioctl names it: ``Kind namespace/name``
            (``Kind name`` for a cluster-scoped object); empty when about none.
        text: what istioctl says.
    """

    code: str
    level: str
    origin: str
    text: str

    def __str__(self) -> str:
        return f"{self.level} [{self.code}] ({self.origin}) {self.text}"


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What one run of ``istioctl analyze`` found.

    Attributes:
        messages: its messages, sorted by code, level, origin and text.
        skipped: the analyzers it did not run, because they need kinds it does not
            read offline.
    """

    messages: tuple[Message, ...]
    skipped: tuple[str, ...]


def analyze(
    istioctl: Path,
    objects: Iterable[Mapping[str, Any]],
    *,
    kubeconfig: Path | None = None,
    mesh_config: Mapping[str, Any] | None = None,
    istio_namespace: str = "istio-system",
    timeout: float = 120,
) -> Analysis:
    """Run ``istioctl analyze`` on ``objects``: offline, or against a cluster.

    Args:
        istioctl: the istioctl binary.
        objects: the Kubernetes objects, written to a file (those istioctl does not
            read from files are left out: see the module's docstring).
        kubeconfig: analyze the objects as if applied to the cluster this kubeconfig
            reaches (``istioctl analyze`` with ``--use-kube``): the cluster's objects of
            every namespace are analyzed too, and every analyzer runs. The objects
            must then hold none of :data:`CLUSTER_ONLY_KINDS`: write those to the
            cluster.
        mesh_config: the MeshConfig to analyze under (e.g. the ``meshConfig`` an
            IstioOperator installs, with its ``rootNamespace``); default: Istio's.
        istio_namespace: the control plane's namespace.
        timeout: seconds istioctl may take.

    Raises:
        AnalyzeFailed: istioctl exited with an error, printed no messages it could
            parse, or could not read some of the objects.
        ValueError: with ``kubeconfig``, an object of a kind istioctl reads from the
            cluster only.
    """
    documents = [dict(o) for o in objects]
    if kubeconfig is not None:
        misplaced = [
            f"{o.get('kind')} {o.get('metadata', {}).get('name')}"
            for o in documents
            if o.get("kind") in CLUSTER_ONLY_KINDS
        ]
        if misplaced:
            raise ValueError(f"istioctl reads these from the cluster only: {', '.join(misplaced)}")
    with tempfile.TemporaryDirectory(prefix="meshops-analyze-") as tmp:
        folder = Path(tmp)
        objects_file = folder / "objects.yaml"
        objects_file.write_text(
            yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False),
            encoding="utf-8",
        )
        command = [
            str(istioctl),
            "analyze",
            f"--use-kube={'false' if kubeconfig is None else 'true'}",
            "--all-namespaces",
            "--output=json",
            "--output-threshold=Info",
            "--color=false",
            "--verbose",
            f"--istioNamespace={istio_namespace}",
            f"--timeout={int(timeout)}s",
        ]
        if kubeconfig is not None:
            command.append(f"--kubeconfig={kubeconfig}")
        if mesh_config is not None:
            mesh_file = folder / "mesh.yaml"
            mesh_file.write_text(yaml.safe_dump(dict(mesh_config)), encoding="utf-8")
            command.append(f"--meshConfigFile={mesh_file}")
        command.append(str(objects_file))
        try:
            run = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout + 30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AnalyzeFailed(f"{istioctl} analyze: {e}") from e
    if run.returncode != 0:
        raise AnalyzeFailed(f"istioctl analyze exited {run.returncode}: {run.stderr.strip()}")
    if "Error(s) adding files" in run.stderr:
        raise AnalyzeFailed(f"istioctl analyze could not read the objects: {run.stderr.strip()}")
    try:
        raw = json.loads(run.stdout)
    except ValueError as e:
        raise AnalyzeFailed(f"istioctl analyze printed no JSON: {run.stdout[:500]!r}") from e
    if not isinstance(raw, list):
        raise AnalyzeFailed(f"istioctl analyze printed {type(raw).__name__}, not a list")
    messages = sorted(_message(cast("Mapping[str, Any]", m)) for m in cast("list[Any]", raw))
    return Analysis(tuple(messages), _skipped(run.stderr))


def _skipped(stderr: str) -> tuple[str, ...]:
    """The analyzers ``--verbose`` lists under "Skipped analyzers:"."""
    names: list[str] = []
    listing = False
    for line in stderr.splitlines():
        if line.startswith("Skipped analyzers:"):
            listing = True
        elif listing and line.startswith("\t"):
            names.append(line.strip())
        else:
            listing = False
    return tuple(sorted(names))


def _message(raw: Mapping[str, Any]) -> Message:
    return Message(
        code=str(raw.get("code", "")),
        level=str(raw.get("level", "")),
        origin=str(raw.get("origin", "")),
        text=str(raw.get("message", "")),
    )


def app_workload(
    name: str,
    namespace: str,
    *,
    service_account: str | None = None,
    ports: Sequence[tuple[int, str]] = (),
    ambient: bool = True,
    sidecar: bool = False,
    controller: Literal["Deployment", "StatefulSet"] = "Deployment",
) -> list[Obj]:
    """What runs an app: its ServiceAccount, Service, controller and one running pod.

    The Service (none without ports) is named after the app, selects
    ``app.kubernetes.io/name=<name>`` and names its ports ``<protocol>-<port>`` as
    Istio's convention asks; the pod runs as the ServiceAccount, carries that label
    and, on the ambient mesh, the annotation istio-cni sets once ztunnel captures its
    traffic.

    Args:
        name: the app's name (its Service's).
        namespace: its namespace.
        service_account: the pods' ServiceAccount; default: the app's name.
        ports: (port, protocol) pairs, the protocol ``http``, ``grpc``, ``tcp``...
        ambient: whether its namespace is on the ambient mesh.
        sidecar: whether its pods run Istio's sidecar (their namespace asks for
            injection): the pod then holds what the injector adds, the ``istio-proxy``
            container and the ``sidecar.istio.io/status`` annotation (istio-cni leaves
            such a pod off the ambient mesh, so ``ambient`` is ignored).
        controller: ``Deployment`` (the platform file's apps), or ``StatefulSet`` (a
            Juju application's).

    Example:
        >>> objs = app_workload("cart", "shop", ports=[(8080, "http")])
        >>> [o["kind"] for o in objs]
        ['ServiceAccount', 'Service', 'Deployment', 'Pod']
        >>> objs[1]["spec"]["ports"][0]["name"], objs[3]["metadata"]["annotations"]
        ('http-8080', {'ambient.istio.io/redirection': 'enabled'})
    """
    account = service_account or name
    labels = {APP_NAME_LABEL: name}
    pod_meta: Obj = {"labels": dict(labels)}
    if ambient and not sidecar:
        pod_meta["annotations"] = {AMBIENT_REDIRECTION: "enabled"}
    pod_spec: Obj = {
        "serviceAccountName": account,
        "containers": [
            {
                "name": name,
                "image": f"registry.example.com/{name}:1.0",
                "ports": [{"containerPort": port, "protocol": "TCP"} for port, _ in ports],
            }
        ],
    }
    template_meta, template_spec = pod_meta, pod_spec  # the injector changes pods only
    if sidecar:
        pod_meta = {**pod_meta, "annotations": {SIDECAR_STATUS: _SIDECAR_STATUS_VALUE}}
        pod_spec = {
            **pod_spec,
            "containers": [
                *pod_spec["containers"],
                {"name": "istio-proxy", "image": "registry.example.com/istio/proxyv2:1.30.3"},
            ],
        }
    controller_spec: Obj = {
        "replicas": 1,
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": template_meta, "spec": template_spec},
    }
    if controller == "StatefulSet":
        controller_spec["serviceName"] = f"{name}-endpoints"
    service_ports = [
        {"name": f"{protocol}-{port}", "port": port, "targetPort": port, "protocol": "TCP"}
        for port, protocol in ports
    ]
    objects = [_object("v1", "ServiceAccount", account, namespace)]
    if ports:
        service_spec = {"selector": dict(labels), "ports": service_ports}
        objects.append(_object("v1", "Service", name, namespace, labels, spec=service_spec))
    objects.append(_object("apps/v1", controller, name, namespace, labels, spec=controller_spec))
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-0", "namespace": namespace, **pod_meta},
            "spec": pod_spec,
        }
    )
    return objects


def gateway_workload(gateway: Mapping[str, Any], *, address: str | None = None) -> list[Obj]:
    """What Istio deploys for a Gateway of class ``istio`` or ``istio-waypoint``.

    As Istio's gateway templates do: a ServiceAccount, Service, Deployment and one pod,
    named ``<gateway>-istio`` (a waypoint's: ``<gateway>``), labelled with the gateway's
    name and class and as managed by Istio, running ``istio-proxy`` outside the mesh's
    capture; the Service has Istio's status port and each listener's port, and is a
    LoadBalancer for an ingress gateway, with ``address`` when given.

    Raises:
        ValueError: the Gateway's class is not one Istio implements, or an address is
            given for a waypoint (whose Service is no LoadBalancer).
    """
    spec = gateway["spec"]
    gateway_name = str(gateway["metadata"]["name"])
    namespace = str(gateway["metadata"]["namespace"])
    gateway_class = str(spec["gatewayClassName"])
    managed_by = _MANAGED_BY.get(gateway_class)
    if managed_by is None:
        raise ValueError(f"gateway class {gateway_class!r} is not one Istio implements")
    waypoint = gateway_class == "istio-waypoint"
    if waypoint and address is not None:
        raise ValueError(f"waypoint {gateway_name!r} has no LoadBalancer address")
    name = gateway_name if waypoint else f"{gateway_name}-{gateway_class}"
    selector = {"gateway.networking.k8s.io/gateway-name": gateway_name}
    labels = {
        **selector,
        "gateway.networking.k8s.io/gateway-class-name": gateway_class,
        "gateway.istio.io/managed": managed_by,
    }
    pod_labels = {
        "sidecar.istio.io/inject": "false",
        "istio.io/dataplane-mode": "none",
        "service.istio.io/canonical-name": name,
        "service.istio.io/canonical-revision": "latest",
        **labels,
    }
    ports = sorted({int(x["port"]) for x in spec.get("listeners", [])} - {15021})
    service: Obj = _object(
        "v1",
        "Service",
        name,
        namespace,
        labels,
        spec={
            "type": "ClusterIP" if waypoint else "LoadBalancer",
            "selector": dict(selector),
            "ports": [{"name": "status-port", "port": 15021, "protocol": "TCP"}]
            + [{"name": f"port-{p}", "port": p, "protocol": "TCP"} for p in ports],
        },
    )
    if address is not None:
        service["status"] = {"loadBalancer": {"ingress": [{"ip": address}]}}
    pod_spec: Obj = {
        "serviceAccountName": name,
        "containers": [
            {
                "name": "istio-proxy",
                "image": "docker.io/istio/proxyv2:1.30.3",
                "args": ["proxy", "waypoint" if waypoint else "router"],
                "ports": [{"containerPort": 15021, "name": "status-port", "protocol": "TCP"}],
            }
        ],
    }
    return [
        _object("v1", "ServiceAccount", name, namespace, labels),
        service,
        _object(
            "apps/v1",
            "Deployment",
            name,
            namespace,
            labels,
            spec={
                "selector": {"matchLabels": dict(selector)},
                "template": {"metadata": {"labels": dict(pod_labels)}, "spec": pod_spec},
            },
        ),
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-0", "namespace": namespace, "labels": pod_labels},
            "spec": pod_spec,
        },
    ]


def _object(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    labels: Mapping[str, str] | None = None,
    *,
    spec: Obj | None = None,
) -> Obj:
    metadata: Obj = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    obj: Obj = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    if spec is not None:
        obj["spec"] = spec
    return obj
