"""``istioctl analyze`` (offline, the pinned Istio) on every object set the project renders.

Istio's own analyzers judge what the project writes: the platform files of
``examples/`` rendered as ``meshops render`` renders them (as they are, hardened, and
with each kind of ``istio`` section), a platform with every kind of ingress route, and
everything the two charms leave in the in-process API fake under ops.testing (the
beacon with app and unit policies, a cross-model caller and the model on the mesh; the
ingress with ingress v2 requirers, HTTP, gRPC, TCP and TLS routes, backend TLS and h2c,
and a certificate), the upstream CRDs installed in it included.

Every message istioctl gives must be in :data:`KNOWN`, with the reason it does not
apply, and every one a set lists must still come (an entry that no longer matches
fails). Offline istioctl does not read Services, Namespaces, Pods, Nodes or Secrets,
and skips the analyzers that need them: :data:`SKIPPED_OFFLINE` lists them, and the
tests of the judge itself check which kinds it reads and that it fails where it should.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterable
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

from meshops import crds, spec
from meshops.cli.render import file_objects
from meshops.interfaces import istio_ingress_route as iir
from meshops.plan.istio import istio_operator
from meshops.testing import FakeKubernetes
from meshops.testing.analyze import Analysis, AnalyzeFailed, analyze
from meshops.testing.charm import load_charm
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

#: Why each message istioctl gives on what the project renders does not apply, by
#: (code, origin).
KNOWN: dict[Key, str] = {
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


def check(result: Analysis, expected: Iterable[Key] = ()) -> None:
    """The messages are exactly ``expected``, each of which :data:`KNOWN` explains."""
    wanted = sorted(expected)
    assert [k for k in wanted if k not in KNOWN] == []
    unexplained = [str(m) for m in result.messages if (m.code, m.origin) not in KNOWN]
    assert unexplained == []
    assert sorted((m.code, m.origin) for m in result.messages) == wanted
    assert result.skipped == SKIPPED_OFFLINE


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


def analyze_platform(istioctl: Path, text: str) -> Analysis:
    """``meshops render``'s objects, under the mesh config its IstioOperator installs."""
    declaration = spec.read(text, "platform.yaml")
    objects, problems = file_objects(declaration)
    assert problems == []
    operator = istio_operator(declaration.platform)
    mesh_config = None if operator is None else operator["spec"].get("meshConfig")
    return analyze(
        istioctl,
        objects,
        mesh_config=mesh_config,
        istio_namespace=declaration.platform.root_namespace,
    )


def with_spec(text: str, **keys: Any) -> str:
    """The platform file with ``keys`` added to its ``spec`` (the file's last section)."""
    return text + textwrap.indent(yaml.safe_dump(keys, sort_keys=False), "  ")


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_as_rendered(istioctl: Path, example: Path) -> None:
    check(analyze_platform(istioctl, example.read_text()))


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
def test_the_shop_hardened_and_with_each_istio_section(
    istioctl: Path, keys: dict[str, Any]
) -> None:
    check(analyze_platform(istioctl, with_spec(SHOP.read_text(), **keys)))


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


def test_a_platform_with_every_kind_of_route(istioctl: Path) -> None:
    check(
        analyze_platform(istioctl, EVERY_ROUTE),
        [("IST0129", "DestinationRule edge/edge-shop-web")],
    )


# -- the charms ------------------------------------------------------------------------------


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


def test_what_the_beacon_writes(istioctl: Path) -> None:
    check(analyze(istioctl, beacon_objects()))


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
    """An ingress v2 requirer, as traefik's library writes it."""
    data = {"name": json.dumps(app), "model": json.dumps(model), "port": json.dumps(port)}
    data.update({k.replace("_", "-"): json.dumps(v) for k, v in extra.items()})
    host = json.dumps(f"{app}-0.{app}-endpoints.{model}.svc.cluster.local")
    return testing.Relation(
        "ingress", remote_app_name=app, remote_app_data=data, remote_units_data={0: {"host": host}}
    )


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
    fake = fake_with(*INGRESS_CRDS, namespaces=["edge", "shop", "blog"])
    shop = fake.get("v1", "Namespace", "shop")
    assert shop is not None
    shop["metadata"]["labels"] = {
        "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": "istio-beacon-k8s-waypoint",
    }
    fake.add(shop)
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "istio-ingress-k8s-istio", "namespace": "edge"},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}},
        }
    )
    requirers = [
        ingress_v2("web", "shop", 8080, strip_prefix=True),
        ingress_v2("vault", "shop", 8200, scheme="https"),
        testing.Relation(
            "istio-ingress-route",
            remote_app_name="blog",
            remote_app_data={"config": route_config()},
        ),
    ]
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {"external-hostname": "shop.example.com"}
    ctx = testing.Context(INGRESS.IstioIngressCharm, app_name="istio-ingress-k8s")
    state = testing.State(
        leader=True, relations=[*requirers, certs], model=testing.Model(name="edge"), config=config
    )
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
    return list(fake.objects())


def test_what_the_ingress_writes(istioctl: Path) -> None:
    check(
        analyze(istioctl, ingress_objects()),
        [("IST0129", "DestinationRule edge/istio-ingress-k8s-shop-vault")],
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
