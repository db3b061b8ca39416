"""``istioctl analyze`` (the pinned Istio) on every object set the project renders.

Istio's own analyzers judge what the project writes: the platform files of
``examples/`` rendered as ``meshops render`` renders them (as they are and hardened; the
shop with each kind of ``istio`` section; the bank, whose sidecar namespace's pods hold
what the injector adds), a platform with every kind of ingress route, and everything
the two charms leave in the in-process API fake under ops.testing (the beacon with app
and unit policies, a cross-model caller and the model on the mesh; the ingress with
ingress v2 requirers, HTTP, gRPC, TCP and TLS routes, backend TLS and a certificate).

Each set is judged twice. Offline, on files alone, istioctl skips every analyzer that
needs Services, Namespaces, Pods or Secrets (it reads those from a cluster only):
:data:`SKIPPED_OFFLINE`. So each set is also judged as if applied to the local API
server (etcd and kube-apiserver, no controller), which holds the set's Namespaces,
Services and Secrets and what a running cluster has beside them: the apps' accounts,
Services, controllers and pods (on the mesh where their namespace is) and what Istio
deploys for each Gateway. Then every analyzer runs.

Every message istioctl gives must be in :data:`KNOWN`, with the reason it does not
apply, and every one a set lists must still come (an entry that no longer matches
fails). The tests of the judge itself check which kinds istioctl reads and that it
reports what Istio refuses.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from ops import testing

from meshops import crds, platform_file
from meshops.cli.render import file_objects
from meshops.interfaces import istio_ingress_route as iir
from meshops.model.platform import MeshMode
from meshops.plan.istio import istio_operator
from meshops.testing import FakeKubernetes
from meshops.testing.analyze import (
    CLUSTER_ONLY_KINDS,
    Analysis,
    AnalyzeFailed,
    analyze,
    app_workload,
    gateway_workload,
)
from meshops.testing.apiserver import LocalApiServer
from meshops.testing.charm import load_charm
from meshops.testing.juju import app_service, model_namespace, model_uuid
from meshops.testing.upstream import GATEWAY_API_DIR, crd_docs, parse

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))

Key = tuple[str, str]

#: Backend TLS (ingress v2's ``scheme: https``, the platform file's ``backendScheme:
#: https``) is a DestinationRule with ``tls.mode: SIMPLE`` and no ``caCertificates``.
BACKEND_TLS = (
    "IST0129 says the backend's certificate goes unverified; Istio 1.30 verifies it "
    "against the proxy's system CA bundle when no caCertificates is set (pilot's "
    "cluster_tls.go: the CA path defaults to 'system'), and neither input names a CA"
)

#: Off the mesh on purpose: the ingress gateway's namespace (a proxy itself, which Istio
#: runs with ``istio.io/dataplane-mode: none`` in any case).
GATEWAY_NAMESPACE = (
    "IST0102 asks for sidecar injection; the ingress gateway's namespace is off the mesh "
    "by design, and nothing but the gateway runs there"
)

#: What istioctl says in a cluster about the cluster itself.
IN_CLUSTER: list[Key] = [("IST0102", "Namespace default")]

#: Why each message istioctl gives on what the project renders does not apply, by
#: (code, origin).
KNOWN: dict[Key, str] = {
    ("IST0102", "Namespace default"): "the API server's own namespace: nothing of ours is there",
    ("IST0102", "Namespace ingress"): GATEWAY_NAMESPACE,
    ("IST0102", "Namespace edge"): GATEWAY_NAMESPACE,
    ("IST0102", "Namespace mesh"): (
        "Istio's own namespace, named by the platform's istio section: the analyzer "
        "exempts only one called istio-system"
    ),
    ("IST0129", "DestinationRule edge/edge-shop-web"): BACKEND_TLS,
    ("IST0129", "DestinationRule edge/istio-ingress-k8s-shop-vault"): BACKEND_TLS,
}

#: The analyzers istioctl skips offline: each needs Services, Namespaces, Pods, Nodes or
#: Secrets, which it reads only from a cluster (``kuberesource.DefaultExcludedSchemas``).
SKIPPED_OFFLINE = (
    "annotations.K8sAnalyzer",
    "applicationUID.Analyzer",
    "auth.AuthorizationPoliciesAnalyzer",
    "conditions.ConditionAnalyzer",
    "deployment.MultiServiceAnalyzer",
    "destinationrule.SubsetSelectPodAnalyzer",
    "gateway.ConflictingGatewayAnalyzer",
    "gateway.IngressGatewayPortAnalyzer",
    "gateway.SecretAnalyzer",
    "injection.Analyzer",
    "injection.ImageAnalyzer",
    "injection.ImageAutoAnalyzer",
    "k8sgateway.SelectorAnalyzer",
    "meshnetworks.MeshNetworksAnalyzer",
    "service.PortNameAnalyzer",
    "services.MultiClusterServiceAnalyzer",
    "sidecar.SelectorAnalyzer",
    "telemetry.SelectorAnalyzer",
    "virtualservice.DestinationHostAnalyzer",
    "virtualservice.JWTClaimRouteAnalyzer",
    "webhook.Analyzer",
)


def check(result: Analysis, expected: Iterable[Key] = (), *, offline: bool = True) -> None:
    """The messages are exactly ``expected``, each of which :data:`KNOWN` explains."""
    wanted = sorted(expected)
    assert [k for k in wanted if k not in KNOWN] == []
    unexplained = [str(m) for m in result.messages if (m.code, m.origin) not in KNOWN]
    assert unexplained == []
    assert sorted((m.code, m.origin) for m in result.messages) == wanted
    assert result.skipped == (SKIPPED_OFFLINE if offline else ())


Obj = dict[str, Any]
#: The order to write what a cluster holds in: a namespace and an account before a pod.
CLUSTER_ORDER = ("Namespace", "ServiceAccount", "Secret", "Service", "StatefulSet", "Deployment")
#: What the API server fills in, taken off objects that come from the fake.
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


@dataclasses.dataclass(frozen=True)
class Judge:
    """``istioctl analyze``: offline on files, or against the local API server.

    Against the server, the objects are analyzed as files as if applied to a cluster
    that holds those of them istioctl reads from a cluster only (Namespaces, Services,
    Secrets...) and ``implied``: the workloads a running cluster has beside them. Every
    analyzer runs then, those that need pods and namespaces included.
    """

    istioctl: Path
    server: LocalApiServer | None = None

    @property
    def offline(self) -> bool:
        return self.server is None

    def __call__(
        self,
        objects: Iterable[Mapping[str, Any]],
        implied: Iterable[Mapping[str, Any]] = (),
        *,
        mesh_config: Mapping[str, Any] | None = None,
        istio_namespace: str = "istio-system",
    ) -> Analysis:
        if self.server is None:
            return analyze(
                self.istioctl, objects, mesh_config=mesh_config, istio_namespace=istio_namespace
            )
        files: list[Obj] = []
        cluster: dict[tuple[str, str, str], Obj] = {}
        given = [(o, True) for o in implied] + [(o, False) for o in objects]
        for obj, is_implied in given:  # the project's objects win over implied ones
            if obj["kind"] == "CustomResourceDefinition":
                continue  # the server has the upstream CRDs
            meta = obj["metadata"]
            if is_implied or obj["kind"] in CLUSTER_ONLY_KINDS:
                key = (str(obj["kind"]), str(meta.get("namespace", "")), str(meta["name"]))
                cluster[key] = new_object(obj)
            else:
                files.append(dict(obj))
        rank = {kind: i for i, kind in enumerate(CLUSTER_ORDER)}
        for key in sorted(cluster, key=lambda k: rank.get(k[0], len(rank))):
            self.server.add(cluster[key])
        return analyze(
            self.istioctl,
            files,
            kubeconfig=self.server.kubeconfig,
            mesh_config=mesh_config,
            istio_namespace=istio_namespace,
        )

    def check(
        self, result: Analysis, expected: Iterable[Key] = (), in_cluster: Iterable[Key] = ()
    ) -> None:
        """:func:`check`, with what only the analysis in a cluster says in ``in_cluster``."""
        if not self.offline:
            expected = [*expected, *in_cluster, *IN_CLUSTER]
        check(result, expected, offline=self.offline)


def new_object(obj: Mapping[str, Any]) -> Obj:
    """The object as written to a server that does not hold it yet."""
    out = json.loads(json.dumps(obj))
    for field in SERVER_FIELDS:
        out["metadata"].pop(field, None)
    return out


@pytest.fixture(params=["offline", "in a cluster"])
def judge(request: pytest.FixtureRequest, istioctl: Path) -> Judge:
    if request.param == "offline":
        return Judge(istioctl)
    return Judge(istioctl, request.getfixturevalue("fresh_server"))


def policy(name: str, spec_: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec_,
    }


# -- the judge itself ---------------------------------------------------------------------------


def test_the_judge_reports_what_istio_refuses(istioctl: Path) -> None:
    pods = {"matchLabels": {"app.kubernetes.io/name": "cart"}}
    service = [{"kind": "Service", "group": "", "name": "cart"}]
    objects = [
        policy("both", {"selector": pods, "targetRefs": service}),
        policy("named-port", {"rules": [{"to": [{"operation": {"ports": ["http"]}}]}]}),
        policy("fine", {"selector": pods, "rules": [{"to": [{"operation": {"ports": ["80"]}}]}]}),
    ]
    result = analyze(istioctl, objects)
    assert [(m.code, m.level, m.origin) for m in result.messages] == [
        ("IST0106", "Error", "AuthorizationPolicy shop/both"),
        ("IST0106", "Error", "AuthorizationPolicy shop/named-port"),
    ]
    assert "only one of targetRefs or workloadSelector" in result.messages[0].text
    assert result.skipped == SKIPPED_OFFLINE


def test_in_a_cluster_the_judge_checks_policies_against_the_pods(
    istioctl: Path, fresh_server: LocalApiServer
) -> None:
    """The analyzers offline istioctl skips run, on what the cluster holds."""
    judge = Judge(istioctl, fresh_server)
    ambient = {"istio.io/dataplane-mode": "ambient"}
    pods = {"matchLabels": {"app.kubernetes.io/name": "cart"}}
    result = judge(
        [
            policy("cart", {"selector": pods}),
            policy("nobody", {"selector": {"matchLabels": {"app.kubernetes.io/name": "ghost"}}}),
        ],
        [namespace("shop", ambient), *app_workload("cart", "shop", ports=[(8080, "http")])],
    )
    assert result.skipped == ()
    assert [(m.code, m.origin) for m in result.messages if m.origin != "Namespace default"] == [
        ("IST0127", "AuthorizationPolicy shop/nobody")
    ]


def test_in_a_cluster_what_istioctl_reads_from_the_cluster_only_must_be_there(
    istioctl: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="from the cluster only: Namespace shop"):
        analyze(istioctl, [namespace("shop", {})], kubeconfig=tmp_path / "kubeconfig")


def test_the_judge_checks_gateway_api_crd_versions(istioctl: Path) -> None:
    [tlsroutes] = crd_docs(crds.ROOT, "tlsroutes.gateway.networking.k8s.io")
    old = json.loads(json.dumps(tlsroutes))
    old["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] = "v1.4.0"
    result = analyze(istioctl, [old])
    assert [(m.code, m.origin) for m in result.messages] == [
        ("IST0176", "CustomResourceDefinition tlsroutes.gateway.networking.k8s.io")
    ]


def broken(api_version: str, kind: str) -> dict[str, Any]:
    """A document of this kind whose spec does not parse."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "shop"},
        "spec": "not a spec",
    }


#: The kinds of what the project renders that istioctl reads offline.
READ = [
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
    ("networking.istio.io/v1", "DestinationRule"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
]
#: The kinds it does not read offline, and why.
NOT_READ = {
    ("gateway.networking.k8s.io/v1", "TLSRoute"): "no analyzer takes it as input",
    ("gateway.networking.k8s.io/v1alpha2", "TCPRoute"): "no analyzer takes it as input",
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"): "no analyzer takes it as input",
    ("v1", "Namespace"): "read from a cluster only",
    ("v1", "Service"): "read from a cluster only",
    ("v1", "Secret"): "read from a cluster only",
    ("v1", "Pod"): "read from a cluster only",
}


@pytest.mark.parametrize(("api_version", "kind"), READ, ids=[k for _, k in READ])
def test_istioctl_reads_these_kinds_offline(istioctl: Path, api_version: str, kind: str) -> None:
    """It reads a kind if a document of it that does not parse is an error."""
    with pytest.raises(AnalyzeFailed, match="could not read"):
        analyze(istioctl, [broken(api_version, kind)])


@pytest.mark.parametrize(
    ("api_version", "kind"), NOT_READ, ids=[f"{k}: {why}" for (_, k), why in NOT_READ.items()]
)
def test_istioctl_leaves_out_these_kinds_offline(
    istioctl: Path, api_version: str, kind: str
) -> None:
    check(analyze(istioctl, [broken(api_version, kind)]))


# -- platform files --------------------------------------------------------------------------


def implied_by(declaration: platform_file.Declaration, objects: Sequence[Obj]) -> list[Obj]:
    """What a cluster running the platform holds beside what ``meshops render`` renders.

    Istio's namespace, each app's workload (on the mesh where its namespace is), what
    Istio deploys for each Gateway, and the TLS Secret the ingress names.
    """
    platform = declaration.platform
    on_mesh = {ns.name for ns in platform.namespaces if ns.mesh is MeshMode.ambient}
    sidecars = {ns.name for ns in platform.namespaces if ns.mesh is MeshMode.sidecar}
    implied: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": platform.root_namespace}}
    ]
    for app in platform.apps:
        implied += app_workload(
            app.name,
            app.namespace,
            service_account=app.account,
            ports=[(p.port, p.protocol.value) for p in app.ports],
            ambient=app.namespace in on_mesh,
            sidecar=app.namespace in sidecars,
        )
    for gateway in (o for o in objects if o["kind"] == "Gateway"):
        ingress = gateway["spec"]["gatewayClassName"] == "istio"
        implied += gateway_workload(gateway, address="203.0.113.7" if ingress else None)
    gateway_config = declaration.ingress.gateway if declaration.ingress else None
    if gateway_config is not None and gateway_config.tls_secret is not None:
        implied.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {
                    "name": gateway_config.tls_secret,
                    "namespace": gateway_config.namespace,
                },
                "data": {"tls.crt": "", "tls.key": ""},
            }
        )
    return implied


def analyze_platform(judge: Judge, text: str) -> Analysis:
    """``meshops render``'s objects, under the mesh config its IstioOperator installs."""
    declaration = platform_file.read(text, "platform.yaml")
    objects, problems = file_objects(declaration)
    assert problems == []
    operator = istio_operator(declaration.platform)
    mesh_config = None if operator is None else operator["spec"].get("meshConfig")
    return judge(
        objects,
        implied_by(declaration, objects),
        mesh_config=mesh_config,
        istio_namespace=declaration.platform.root_namespace,
    )


def with_spec(text: str, **keys: Any) -> str:
    """The platform file with ``keys`` added to its ``spec`` (the file's last section).

    A key the file has already (``istio`` in examples/shop.yaml) is taken out first.
    """
    lines = text.splitlines(keepends=True)
    for key in keys:
        start = next((i for i, line in enumerate(lines) if line == f"  {key}:\n"), None)
        if start is None:
            continue
        end = start + 1
        while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
            end += 1
        del lines[start:end]
    return "".join(lines) + textwrap.indent(yaml.safe_dump(keys, sort_keys=False), "  ")


#: What the analysis in a cluster says of each example's namespaces off the mesh.
OFF_MESH = {"bank.yaml": [], "shop.yaml": [("IST0102", "Namespace ingress")]}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_as_rendered(judge: Judge, example: Path) -> None:
    judge.check(analyze_platform(judge, example.read_text()), in_cluster=OFF_MESH[example.name])


SHOP = REPO / "examples" / "shop.yaml"
ISTIO_SECTIONS = {
    "hardened": {"hardened": True},
    "istio defaults": {"istio": {}},
    "istio defaults, hardened": {"istio": {}, "hardened": True},
    "istio in its own namespace, watching three, local images, hardened": {
        "istio": {
            "profile": "ambient",
            "hub": "registry.local:5000/istio",
            "tag": "1.30.3",
            "namespace": "mesh",
            "watchedNamespaces": ["shop", "monitoring", "ingress"],
        },
        "hardened": True,
    },
    "istio installed otherwise, hardened": {"istio": {"enabled": False}, "hardened": True},
}


@pytest.mark.parametrize("keys", ISTIO_SECTIONS.values(), ids=ISTIO_SECTIONS.keys())
def test_the_shop_hardened_and_with_each_istio_section(judge: Judge, keys: dict[str, Any]) -> None:
    in_cluster = OFF_MESH["shop.yaml"]
    if keys.get("istio", {}).get("namespace") == "mesh":
        in_cluster = [*in_cluster, ("IST0102", "Namespace mesh")]
    judge.check(
        analyze_platform(judge, with_spec(SHOP.read_text(), **keys)), in_cluster=in_cluster
    )


def test_the_bank_with_its_ambient_and_sidecar_namespaces_hardened(judge: Judge) -> None:
    text = with_spec((REPO / "examples" / "bank.yaml").read_text(), hardened=True)
    judge.check(analyze_platform(judge, text))


#: Every kind of route: HTTP with matches and filters, gRPC, TCP, TLS passthrough, a
#: backend in another namespace (a ReferenceGrant), backend TLS and h2c (DestinationRules).
EVERY_ROUTE = """\
apiVersion: meshops.io/v1alpha1
kind: Platform
metadata: {name: shop}
spec:
  namespaces:
    - {name: shop}
    - {name: data}
    - {name: edge, mesh: off}
  apps:
    - name: web
      namespace: shop
      ports: [{port: 8080, protocol: http}]
    - name: api
      namespace: shop
      ports: [{port: 9000, protocol: grpc}]
      accepts: [{from: [web]}]
    - name: db
      namespace: data
      ports: [{port: 5432}]
  ingress:
    gateway: {name: edge, namespace: edge}
    hostname: "*.example.com"
    tls: {secret: example-com-tls}
    routes:
      - app: web
        hostnames: [shop.example.com]
        matches:
          - {path: {type: Exact, value: /}, method: GET}
          - {path: {value: /api}, headers: {x-env: prod}}
        filters:
          - requestHeaderModifier: {set: {x-a: "1"}, remove: [x-b]}
          - responseHeaderModifier: {add: {cache-control: no-store}}
        backendScheme: https
      - app: web
        name: old
        hostnames: [old.example.com]
        filters: [{requestRedirect: {hostname: shop.example.com, statusCode: 301}}]
      - app: web
        name: rewritten
        hostnames: [static.example.com]
        matches: [{path: {value: /static}}]
        filters: [{urlRewrite: {hostname: web.internal, path: {replacePrefixMatch: /}}}]
      - app: api
        protocol: grpc
        hostnames: [rpc.example.com]
        matches: [{service: shop.Cart, method: Get}]
        backendScheme: h2c
      - app: db
        protocol: tcp
        port: 5432
      - app: db
        name: db-tls
        protocol: tls
        port: 6432
        hostnames: [db.example.com]
      - app: web
        name: db-admin
        hostnames: [admin.example.com]
        backends: [{service: db, namespace: data, port: 5432}]
"""


def test_a_platform_with_every_kind_of_route(judge: Judge) -> None:
    judge.check(
        analyze_platform(judge, EVERY_ROUTE),
        [("IST0129", "DestinationRule edge/edge-shop-web")],
        in_cluster=[("IST0102", "Namespace edge")],
    )


# -- the charms ------------------------------------------------------------------------------


SHOP_WAYPOINT = {"istio.io/use-waypoint": "istio-beacon-k8s-waypoint"}


def namespace(name: str, labels: Mapping[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": dict(labels)},
    }


def fake_with(*crd_names: str, namespaces: Iterable[str]) -> FakeKubernetes:
    fake = FakeKubernetes()
    for doc in crd_docs(crds.ROOT, *crd_names):
        fake.install_crd(doc)
    for name in namespaces:
        fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return fake


BEACON = load_charm(REPO / "charms" / "istio-beacon-k8s", "istio_beacon_k8s_charm")
INGRESS = load_charm(REPO / "charms" / "istio-ingress-k8s", "istio_ingress_k8s_charm")


def mesh_policy(
    source: str, target: str, *, unit: bool = False, **endpoint: Any
) -> dict[str, Any]:
    """A policy as the ecosystem's service_mesh consumers write it."""
    return {
        "source_namespace": "m",
        "source_app_name": source,
        "target_namespace": "m",
        "target_app_name": target,
        "target_selector_labels": None,
        "target_service": None,
        "target_type": "unit" if unit else "app",
        "endpoints": [
            {
                "hosts": endpoint.get("hosts"),
                "ports": endpoint.get("ports", [80]),
                "methods": endpoint.get("methods"),
                "paths": endpoint.get("paths"),
            }
        ],
    }


def beacon_objects() -> list[dict[str, Any]]:
    """The beacon's model on the mesh, with app and unit policies and a cross-model caller."""
    fake = fake_with(
        "gateways.gateway.networking.k8s.io",
        "authorizationpolicies.security.istio.io",
        namespaces=["m"],
    )
    prometheus = [
        mesh_policy("grafana", "prometheus", ports=[9090], methods=["GET"], paths=["/api/v1/*"]),
        mesh_policy("alertmanager", "prometheus", unit=True, ports=[9090, 9091]),
        mesh_policy("remote-grafana", "prometheus", ports=[9090], hosts=["prom.example.com"]),
    ]
    loki = [mesh_policy("promtail", "loki", ports=[3100], methods=["POST"], paths=["/push"])]
    relations = [
        testing.PeerRelation("beacon-peers"),
        testing.Relation(
            "service-mesh",
            remote_app_name="prometheus",
            remote_app_data={"policies": json.dumps(prometheus)},
        ),
        testing.Relation(
            "service-mesh", remote_app_name="loki", remote_app_data={"policies": json.dumps(loki)}
        ),
        testing.Relation(
            "provide-cmr-mesh",
            remote_app_name="remote-grafana",
            remote_app_data={
                "cmr_data": json.dumps({"app_name": "grafana", "juju_model_name": "cos"})
            },
        ),
    ]
    ctx = testing.Context(BEACON.IstioBeaconCharm, app_name="istio-beacon-k8s")
    state = testing.State(
        leader=True,
        relations=relations,
        model=testing.Model(name="m"),
        config={"model-on-mesh": True},
    )
    with fake.installed():
        ctx.run(ctx.on.install(), state)
        waypoint = fake.get(
            "gateway.networking.k8s.io/v1", "Gateway", "istio-beacon-k8s-waypoint", "m"
        )
        assert waypoint is not None
        waypoint["status"] = {
            "conditions": [
                {
                    "type": "Programmed",
                    "status": "True",
                    "reason": "Programmed",
                    "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        }
        fake.add(waypoint)
        out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.ActiveStatus("model on mesh"), out.unit_status
    kinds = sorted(o["kind"] for o in fake.objects() if o["kind"] != "CustomResourceDefinition")
    assert kinds == ["AuthorizationPolicy"] * 3 + ["Gateway", "Namespace"]
    return list(fake.objects())


#: The Juju applications of the beacon's model (the beacon's own included) and their ports.
BEACON_MODEL = {
    "istio-beacon-k8s": [],
    "prometheus": [(9090, "http"), (9091, "http")],
    "grafana": [(3000, "http")],
    "alertmanager": [(9093, "http")],
    "loki": [(3100, "http")],
    "promtail": [(9080, "http")],
}


def test_what_the_beacon_writes(judge: Judge) -> None:
    objects = beacon_objects()
    implied = [
        o
        for app, ports in BEACON_MODEL.items()
        for o in app_workload(app, "m", ports=ports, controller="StatefulSet")
    ]
    implied += [o for gw in objects if gw["kind"] == "Gateway" for o in gateway_workload(gw)]
    judge.check(judge(objects, implied))


def _sign(csr_pem: str) -> dict[str, Any]:
    ca_key = PrivateKey.generate()
    ca = Certificate.generate_self_signed_ca(
        CertificateRequestAttributes(common_name="test-ca", is_ca=True), ca_key, timedelta(days=30)
    )
    csr = CertificateSigningRequest.from_string(csr_pem)
    cert = Certificate.generate(csr, ca, ca_key, timedelta(days=10))
    return {
        "ca": str(ca),
        "certificate_signing_request": csr_pem,
        "certificate": str(cert),
        "chain": [str(cert), str(ca)],
    }


def ingress_v2(app: str, model: str, port: int, **extra: Any) -> testing.Relation:
    """An ingress v2 requirer of another Juju model, as traefik's library writes it."""
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": json.dumps(port)}
    data.update({k.replace("_", "-"): json.dumps(v) for k, v in extra.items()})
    host = json.dumps(f"{app}-0.{app}-endpoints.{model}.svc.cluster.local")
    return testing.Relation(
        "ingress",
        remote_app_name=app,
        remote_app_data=data,
        remote_units_data={0: {"host": host}},
        remote_model_uuid=model_uuid(model),
    )


def juju_namespace(name: str, labels: Mapping[str, str]) -> Obj:
    """A Juju model's namespace (labelled with its name and UUID) with these labels too."""
    obj = model_namespace(name)
    obj["metadata"]["labels"].update(labels)
    return obj


def route_config() -> str:
    """An istio-ingress-route requirer with HTTP, gRPC, TCP and TLS routes."""
    http = iir.Listener(port=8080, protocol=iir.ProtocolType.HTTP)
    grpc = iir.Listener(port=9090, protocol=iir.ProtocolType.GRPC)
    tcp = iir.L4Listener(port=5432, protocol=iir.L4ProtocolType.TCP)
    tls = iir.L4Listener(port=6443, protocol=iir.L4ProtocolType.TLS)
    config = iir.IstioIngressRouteConfig(
        model="blog",
        listeners=[http, grpc],
        http_routes=[
            iir.HTTPRoute(
                name="posts",
                listener=http,
                matches=[
                    iir.HTTPRouteMatch(
                        path=iir.HTTPPathMatch(value="/posts"),
                        method=iir.HTTPMethod.GET,
                        headers={"x-env": "prod"},
                    )
                ],
                filters=[
                    iir.URLRewriteFilter(
                        urlRewrite=iir.URLRewriteSpec(
                            path=iir.PathModifier(
                                type=iir.PathModifierType.ReplacePrefixMatch, value="/"
                            )
                        )
                    )
                ],
                backends=[
                    iir.BackendRef(service="blog", port=8080, weight=90),
                    iir.BackendRef(service="blog-canary", port=8080, weight=10),
                ],
            ),
        ],
        grpc_routes=[
            iir.GRPCRoute(
                name="rpc",
                listener=grpc,
                matches=[
                    iir.GRPCRouteMatch(
                        method=iir.GRPCMethodMatch(service="blog.Posts", method="Get")
                    )
                ],
                backends=[iir.BackendRef(service="blog-api", port=9090)],
            )
        ],
        tcp_routes=[
            iir.TCPRoute(
                name="pg", listener=tcp, backends=[iir.BackendRef(service="pg", port=5432)]
            )
        ],
        tls_routes=[
            iir.TLSRoute(
                name="kube",
                listener=tls,
                hostnames=["api.example.com"],
                backends=[iir.BackendRef(service="kube-api", port=6443)],
            )
        ],
    )
    return config.model_dump_json()


INGRESS_CRDS = (
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "grpcroutes.gateway.networking.k8s.io",
    "tlsroutes.gateway.networking.k8s.io",
    "tcproutes.gateway.networking.k8s.io",
    "referencegrants.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
    "destinationrules.networking.istio.io",
)


def ingress_objects() -> list[dict[str, Any]]:
    """The ingress with a certificate, ingress v2 requirers and every kind of route."""
    fake = fake_with(*INGRESS_CRDS, namespaces=["edge"])
    # shop is on the mesh with a waypoint (a beacon's model), blog on the mesh without
    fake.add(juju_namespace("shop", {"istio.io/dataplane-mode": "ambient", **SHOP_WAYPOINT}))
    fake.add(juju_namespace("blog", {"istio.io/dataplane-mode": "ambient"}))
    # the requirers' Services, labelled as Juju labels their applications' (every backend
    # of the istio-ingress-route requirer is one of blog's)
    juju_services = [app_service("web", "shop", 8080), app_service("vault", "shop", 8200)]
    juju_services += [
        app_service("blog", "blog", port, name=name)
        for name, [(port, _)] in INGRESS_REQUIRERS["blog"].items()
    ]
    for service in juju_services:
        fake.add(service)
    requirers = [
        ingress_v2("web", "shop", 8080, strip_prefix=True),
        ingress_v2("vault", "shop", 8200, scheme="https"),
        testing.Relation(
            "istio-ingress-route",
            remote_app_name="blog",
            remote_app_data={"config": route_config()},
            remote_model_uuid=model_uuid("blog"),
        ),
    ]
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {"external-hostname": "shop.example.com"}
    ctx = testing.Context(INGRESS.IstioIngressCharm, app_name="istio-ingress-k8s")
    model = testing.Model(name="edge", uuid=model_uuid("edge"))
    state = testing.State(leader=True, relations=[*requirers, certs], model=model, config=config)
    with fake.installed():
        out = ctx.run(ctx.on.relation_created(certs), state)
        [request] = json.loads(
            out.get_relation(certs.id).local_app_data["certificate_signing_requests"]
        )
        signed = testing.Relation(
            "certificates",
            id=certs.id,
            remote_app_name="ca",
            local_app_data=out.get_relation(certs.id).local_app_data,
            remote_app_data={
                "certificates": json.dumps([_sign(request["certificate_signing_request"])])
            },
        )
        out = ctx.run(
            ctx.on.relation_changed(signed),
            dataclasses.replace(out, relations=[*requirers, signed]),
        )
    assert out.unit_status == testing.ActiveStatus("6 routes served for 3 requirers"), (
        out.unit_status
    )
    # the Services are Juju's: the judge adds each application's workload itself
    return [o for o in fake.objects() if o["kind"] != "Service"]


#: The requirers' applications of the ingress scenario, by namespace, and their ports.
INGRESS_REQUIRERS = {
    "shop": {"web": [(8080, "http")], "vault": [(8200, "http")]},
    "blog": {
        "blog": [(8080, "http")],
        "blog-canary": [(8080, "http")],
        "blog-api": [(9090, "grpc")],
        "pg": [(5432, "tcp")],
        "kube-api": [(6443, "tcp")],
    },
}


def test_what_the_ingress_writes(judge: Judge) -> None:
    implied = [
        o
        for ns, apps in INGRESS_REQUIRERS.items()
        for app, ports in apps.items()
        for o in app_workload(app, ns, ports=ports, controller="StatefulSet")
    ]
    implied += app_workload("istio-ingress-k8s", "edge", ambient=False, controller="StatefulSet")
    judge.check(
        judge(ingress_objects(), implied),
        [("IST0129", "DestinationRule edge/istio-ingress-k8s-shop-vault")],
        in_cluster=[("IST0102", "Namespace edge")],
    )


@pytest.mark.parametrize("channel", ["standard", "experimental"])
def test_the_gateway_api_crds_the_project_carries(istioctl: Path, channel: str) -> None:
    """Each channel as a whole, as a cluster has one or the other installed."""
    docs = [
        d
        for path in sorted((crds.ROOT / GATEWAY_API_DIR / channel).glob("*.yaml"))
        for d in parse(path)
        if d.get("kind") == "CustomResourceDefinition"
    ]
    assert len(docs) >= 5
    check(analyze(istioctl, docs))
