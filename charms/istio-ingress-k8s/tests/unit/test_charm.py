"""istio-ingress-k8s under ops.testing, against the in-process Kubernetes API fake.

Covers every event the charm observes (install, config-changed, leader-elected,
upgrade-charm, update-status, ingress changed/departed/broken, istio-ingress-route
changed/broken, certificates broken and certificate-available, remove), the objects
that reach the API (validated by the fake against the upstream CRDs), the statuses,
what requirers are told (URLs, host, TLS), conflicts between requirers, and removal.
Requirers' databags are written by the ecosystem's own istio_ingress_route models.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from charmlibs.interfaces import istio_ingress_route as eco
from charmlibs.interfaces.tls_certificates import (
    Certificate,
    CertificateRequestAttributes,
    CertificateSigningRequest,
    PrivateKey,
)
from ops import testing

from meshops.testing.juju import model_uuid

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
AP = "security.istio.io/v1"
LB_IP = "10.0.0.9"


def state(*relations: testing.RelationBase, leader: bool = True, **kw: Any) -> testing.State:
    model = testing.Model(name=MODEL, uuid=model_uuid(MODEL))
    return testing.State(leader=leader, relations=list(relations), model=model, **kw)


def ingress(app: str, model: str = "shop", port: int = 8080, **extra: Any) -> testing.Relation:
    """An ingress v2 requirer of ``model``, as the ecosystem's library writes it."""
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


def route_config(model: str, *paths: str, port: int = 8080, app: str = "blog") -> str:
    listener = eco.Listener(port=port, protocol=eco.ProtocolType.HTTP)
    routes = [
        eco.HTTPRoute(
            name=f"r{i}",
            listener=listener,
            matches=[eco.HTTPRouteMatch(path=eco.HTTPPathMatch(value=path))],
            backends=[eco.BackendRef(service=app, port=port)],
        )
        for i, path in enumerate(paths)
    ]
    config = eco.IstioIngressRouteConfig(model=model, listeners=[listener], http_routes=routes)
    return config.model_dump_json()


def routes(
    app: str, config: str, relation_id: int | None = None, model: str = "blog"
) -> testing.Relation:
    """An istio-ingress-route requirer of ``model``."""
    kw: dict[str, Any] = {} if relation_id is None else {"id": relation_id}
    return testing.Relation(
        "istio-ingress-route",
        remote_app_name=app,
        remote_app_data={"config": config},
        remote_model_uuid=model_uuid(model),
        **kw,
    )


def load_balancer(fake: Any, address: str = LB_IP) -> None:
    """The Service Istio creates for the Gateway, with its LoadBalancer address."""
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": address}]}},
        }
    )


def gateway(fake: Any) -> dict[str, Any]:
    gw = fake.get(GW_API, "Gateway", APP, MODEL)
    assert gw is not None
    return gw


def listeners(fake: Any) -> dict[str, dict[str, Any]]:
    return {x["name"]: x for x in gateway(fake)["spec"]["listeners"]}


def http_routes(fake: Any, namespace: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in fake.list(GW_API, "HTTPRoute", namespace)}


# -- the gateway -----------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["install", "config_changed", "upgrade_charm", "leader_elected"])
def test_every_lifecycle_event_creates_the_gateway_and_waits_for_its_address(
    ctx: Any, fake: Any, event: str
) -> None:
    out = ctx.run(getattr(ctx.on, event)(), state())
    assert listeners(fake) == {
        "http-80": {
            "name": "http-80",
            "port": 80,
            "protocol": "HTTP",
            "allowedRoutes": {
                "namespaces": {
                    "from": "Selector",
                    "selector": {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/metadata.name",
                                "operator": "In",
                                "values": [MODEL],
                            }
                        ]
                    },
                }
            },
        }
    }
    assert gateway(fake)["spec"]["gatewayClassName"] == "istio"
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the gateway's LoadBalancer address"
    )


def test_config_is_carried_into_the_gateway(ctx: Any, fake: Any) -> None:
    config = {"external-hostname": "shop.example.com", "http-port": 8000, "log-level": "debug"}
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    [listener] = listeners(fake).values()
    assert (listener["port"], listener["hostname"]) == (8000, "shop.example.com")
    annotations = gateway(fake)["spec"]["infrastructure"]["annotations"]
    assert annotations == {"sidecar.istio.io/logLevel": "debug"}
    assert out.unit_status == testing.ActiveStatus("0 routes served for 0 requirers")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"http-port": 0}, "config: http-port: port 0 must be an integer 1-65535"),
        ({"https-port": 80}, "config: http-port and https-port are both 80"),
        (
            {"log-level": "loud"},
            "config: log-level: 'loud' must be one of trace, debug, info, warning, error, "
            "critical, off",
        ),
        (
            {"external-hostname": "Shop_Example"},
            "config: external-hostname: 'Shop_Example' must be a lowercase RFC 1123 hostname "
            "with an optional leading '*.'",
        ),
    ],
)
def test_bad_config_blocks_and_changes_nothing(
    ctx: Any, fake: Any, config: dict[str, Any], message: str
) -> None:
    ctx.run(ctx.on.config_changed(), state())
    before = gateway(fake)
    fake.clear_log()
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    assert out.unit_status == testing.BlockedStatus(message)
    assert fake.writes == 0
    assert gateway(fake) == before


def test_a_reconcile_with_nothing_new_writes_nothing(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rels = (ingress("web"), routes("blog", route_config("blog", "/b")))
    ctx.run(ctx.on.config_changed(), state(*rels))
    fake.clear_log()
    out = ctx.run(ctx.on.update_status(), state(*rels))
    assert fake.writes == 0
    assert out.unit_status == testing.ActiveStatus("2 routes served for 2 requirers")


def test_non_leaders_touch_nothing_and_show_the_leaders_outcome(ctx: Any, fake: Any) -> None:
    peers = testing.PeerRelation(
        "ingress-peers",
        local_app_data={"outcome": json.dumps({"notes": ["3 routes served for 2 requirers"]})},
    )
    out = ctx.run(ctx.on.update_status(), state(peers, leader=False))
    assert fake.requests == []
    assert out.unit_status == testing.ActiveStatus("standby; 3 routes served for 2 requirers")


def test_a_missing_crd_blocks_naming_it(ctx: Any, make_fake: Any) -> None:
    bare = make_fake(namespaces=[MODEL])
    with bare.installed():
        out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus(
        "gateways.gateway.networking.k8s.io missing (a Gateway API CRD): deploy istio-k8s"
    )


# -- ingress v2 ----------------------------------------------------------------------------


def test_an_ingress_requirer_gets_a_route_a_policy_and_its_url(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rel = ingress("web", strip_prefix=True)
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    [route] = http_routes(fake, "shop").values()
    assert route["metadata"]["name"] == f"{APP}-web-http-80"
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/shop-web"}}]
    assert rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/"
    [policy] = fake.list(AP, "AuthorizationPolicy", "shop")
    assert policy["spec"]["rules"][0]["from"] == [
        {"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/{APP}-istio"]}}
    ]
    assert policy["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "web"}}
    published = out.get_relation(rel.id).local_app_data
    assert json.loads(published["ingress"]) == {"url": f"http://{LB_IP}/shop-web"}
    assert (
        "shop"
        in gateway(fake)["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"][
            "matchExpressions"
        ][0]["values"]
    )


def test_in_a_namespace_with_a_waypoint_the_policy_lets_the_waypoint_in(
    ctx: Any, fake: Any
) -> None:
    load_balancer(fake)
    shop = fake.get("v1", "Namespace", "shop")
    shop["metadata"]["labels"] = {"istio.io/use-waypoint": "beacon-waypoint"}
    fake.add(shop)
    rel = ingress("web")
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    [policy] = fake.list(AP, "AuthorizationPolicy", "shop")
    assert policy["spec"]["rules"][1] == {
        "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/beacon-waypoint"]}}]
    }


def test_a_namespace_that_opts_out_of_waypoints_gets_no_waypoint_rule(ctx: Any, fake: Any) -> None:
    """``istio.io/use-waypoint=none`` is no waypoint named "none", as Istio reads it."""
    load_balancer(fake)
    shop = fake.get("v1", "Namespace", "shop")
    shop["metadata"]["labels"] = {"istio.io/use-waypoint": "none"}
    fake.add(shop)
    rel = ingress("web")
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    [policy] = fake.list(AP, "AuthorizationPolicy", "shop")
    # the gateway's rule alone: no rule for a waypoint named "none"
    assert [r["from"] for r in policy["spec"]["rules"]] == [
        [{"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/{APP}-istio"]}}]
    ]


def test_the_url_uses_the_external_hostname_and_ports(ctx: Any, fake: Any) -> None:
    rel = ingress("web")
    config = {"external-hostname": "shop.example.com", "http-port": 8000}
    out = ctx.run(ctx.on.relation_changed(rel), state(rel, config=config))
    published = json.loads(out.get_relation(rel.id).local_app_data["ingress"])
    assert published == {"url": "http://shop.example.com:8000/shop-web"}


def test_a_wildcard_hostname_serves_but_gives_no_ingress_url(ctx: Any, fake: Any) -> None:
    rel = ingress("web")
    out = ctx.run(
        ctx.on.relation_changed(rel), state(rel, config={"external-hostname": "*.example.com"})
    )
    assert "ingress" not in out.get_relation(rel.id).local_app_data
    assert http_routes(fake, "shop")
    assert out.unit_status == testing.ActiveStatus(
        "1 routes served for 1 requirers; no URL for web: external-hostname is a wildcard"
    )


def test_backend_schemes_get_destination_rules(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rel = ingress("vault", port=8200, scheme="https")
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    [rule] = fake.list("networking.istio.io/v1", "DestinationRule", MODEL)
    assert rule["spec"]["host"] == "vault.shop.svc.cluster.local"
    assert rule["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"] == {"mode": "SIMPLE"}


def test_a_requirer_leaving_takes_its_route_and_nothing_else(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    web, blog = ingress("web"), ingress("blog", model="blog")
    ctx.run(ctx.on.config_changed(), state(web, blog))
    assert http_routes(fake, "shop") and http_routes(fake, "blog")
    ctx.run(ctx.on.relation_broken(web), state(web, blog))
    assert http_routes(fake, "shop") == {}
    assert fake.list(AP, "AuthorizationPolicy", "shop") == []
    assert http_routes(fake, "blog")


def test_a_unit_departing_keeps_the_route_while_the_app_is_related(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    web = ingress("web")
    ctx.run(ctx.on.config_changed(), state(web))
    fake.clear_log()
    out = ctx.run(ctx.on.relation_departed(web, remote_unit=0), state(web))
    assert fake.writes == 0 and fake.reads > 0  # it reconciled, and nothing changed
    assert json.loads(out.get_relation(web.id).local_app_data["ingress"])["url"].endswith(
        "/shop-web"
    )


def test_bad_ingress_data_is_refused_without_failing_the_hook(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    good, bad = ingress("web"), ingress("blog", model="blog", port=99999)
    out = ctx.run(ctx.on.relation_changed(bad), state(good, bad))
    assert http_routes(fake, "blog") == {}
    assert http_routes(fake, "shop")
    assert "ingress" not in out.get_relation(bad.id).local_app_data
    assert out.unit_status == testing.ActiveStatus(
        "1 routes served for 1 requirers; "
        f"refused input from ingress:{bad.id} (see juju debug-log)"
    )


def test_a_requirer_turning_bad_keeps_what_it_had(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rel = ingress("web")
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    before = http_routes(fake, "shop")
    url = out.get_relation(rel.id).local_app_data["ingress"]
    broken = testing.Relation(
        "ingress",
        id=rel.id,
        remote_app_name="web",
        remote_app_data={**rel.remote_app_data, "port": "not a port"},
        remote_units_data=rel.remote_units_data,
        local_app_data={"ingress": url},
        remote_model_uuid=rel.remote_model_uuid,
    )
    out = ctx.run(ctx.on.relation_changed(broken), state(broken))
    assert http_routes(fake, "shop") == before
    assert out.get_relation(rel.id).local_app_data["ingress"] == url


# -- istio_ingress_route -------------------------------------------------------------------


def test_a_route_requirer_gets_its_routes_and_the_host(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rel = routes("blog", route_config("blog", "/posts", "/feed"))
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    [route] = http_routes(fake, "blog").values()
    assert route["metadata"]["name"] == f"{APP}-blog-http-8080"
    assert [r["name"] for r in route["spec"]["rules"]] == ["r0", "r1"]
    assert "http-8080" in listeners(fake)
    assert out.get_relation(rel.id).local_app_data == {
        "external_host": LB_IP,
        "tls_enabled": "False",
    }
    # the ecosystem's requirer reads it back
    assert out.unit_status == testing.ActiveStatus("2 routes served for 1 requirers")


def test_the_older_relation_keeps_a_contested_route(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    older = routes("blog", route_config("blog", "/p", "/feed"), relation_id=3)
    newer = routes("wiki", route_config("shop", "/p", "/wiki", app="wiki"), 8, "shop")
    out = ctx.run(ctx.on.relation_changed(newer), state(newer, older))
    [blog] = http_routes(fake, "blog").values()
    assert [r["name"] for r in blog["spec"]["rules"]] == ["r0", "r1"]
    [wiki] = http_routes(fake, "shop").values()
    assert [r["matches"][0]["path"]["value"] for r in wiki["spec"]["rules"]] == ["/wiki"]
    assert out.unit_status == testing.ActiveStatus(
        "3 routes served for 2 requirers; conflicting routes refused: wiki 'r0' vs blog"
    )
    # every route of the newer lost: it is told nothing
    lost = routes("wiki", route_config("shop", "/p", app="wiki"), 8, "shop")
    out = ctx.run(ctx.on.relation_changed(lost), state(lost, older))
    assert out.get_relation(8).local_app_data == {}
    assert out.get_relation(3).local_app_data["external_host"] == LB_IP


def test_a_newer_requirer_takes_no_request_the_older_one_serves(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    older = routes("blog", route_config("blog", "/p"), relation_id=3)
    # a longer prefix inside /p, and "/" on the host blog serves: both would take its requests
    newer = routes(
        "wiki", route_config("shop", "/p/admin", "/", "/wiki", app="wiki"), 8, model="shop"
    )
    out = ctx.run(ctx.on.relation_changed(newer), state(newer, older))
    [blog] = http_routes(fake, "blog").values()
    assert [r["matches"][0]["path"]["value"] for r in blog["spec"]["rules"]] == ["/p"]
    [wiki] = http_routes(fake, "shop").values()
    assert [r["matches"][0]["path"]["value"] for r in wiki["spec"]["rules"]] == ["/wiki"]
    assert out.unit_status == testing.ActiveStatus(
        "2 routes served for 2 requirers; conflicting routes refused: wiki 'r0' vs blog, "
        "wiki 'r1' vs blog"
    )


@pytest.mark.parametrize(
    "config",
    [
        "{not json",
        json.dumps({"model": "blog", "listeners": [{"port": 80, "protocol": "SMTP"}]}),
        route_config("blog", "no-slash"),
        json.dumps(
            {
                "model": "blog",
                "listeners": [{"port": 8080, "protocol": "HTTP"}],
                "http_routes": [
                    {
                        "name": "r",
                        "listener": {"port": 8080, "protocol": "HTTP"},
                        "matches": [{"path": {"type": "RegularExpression", "value": "(["}}],
                        "backends": [{"service": "blog", "port": 8080, "weight": 500}],
                    }
                ],
            }
        ),
    ],
)
def test_hostile_route_config_refuses_that_requirer_only(ctx: Any, fake: Any, config: str) -> None:
    load_balancer(fake)
    good = ingress("web")
    bad = routes("blog", config)
    out = ctx.run(ctx.on.relation_changed(bad), state(good, bad))
    assert http_routes(fake, "blog") == {}
    assert http_routes(fake, "shop")
    status = out.unit_status
    assert isinstance(status, testing.ActiveStatus)
    assert f"refused input from istio-ingress-route:{bad.id}" in status.message


# -- TLS -----------------------------------------------------------------------------------


def _sign(csr_pem: str, host: str) -> dict[str, Any]:
    ca_key = PrivateKey.generate()
    ca = Certificate.generate_self_signed_ca(
        CertificateRequestAttributes(common_name="test-ca", is_ca=True), ca_key, timedelta(days=30)
    )
    csr = CertificateSigningRequest.from_string(csr_pem)
    assert csr.common_name == host and set(csr.sans_dns or ()) == {host}
    cert = Certificate.generate(csr, ca, ca_key, timedelta(days=10))
    return {
        "ca": str(ca),
        "certificate_signing_request": csr_pem,
        "certificate": str(cert),
        "chain": [str(cert), str(ca)],
    }


def test_a_certificate_turns_on_https_with_a_redirect_and_https_urls(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    config = {"external-hostname": "shop.example.com"}
    web = ingress("web")
    certs = testing.Relation("certificates", remote_app_name="ca")
    out = ctx.run(ctx.on.relation_created(certs), state(web, certs, config=config))
    requests = json.loads(
        out.get_relation(certs.id).local_app_data["certificate_signing_requests"]
    )
    [request] = requests
    assert out.unit_status == testing.WaitingStatus("waiting for a TLS certificate from ca")
    signed = testing.Relation(
        "certificates",
        id=certs.id,
        remote_app_name="ca",
        local_app_data=out.get_relation(certs.id).local_app_data,
        remote_app_data={
            "certificates": json.dumps(
                [_sign(request["certificate_signing_request"], "shop.example.com")]
            )
        },
    )
    out = ctx.run(
        ctx.on.relation_changed(signed), dataclasses.replace(out, relations=[web, signed])
    )
    secret = fake.get("v1", "Secret", f"{APP}-tls", MODEL)
    assert secret is not None and secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["tls.crt", "tls.key"]
    found = listeners(fake)
    assert found["https-443"]["tls"]["certificateRefs"] == [
        {"kind": "Secret", "group": "", "name": f"{APP}-tls"}
    ]
    redirect = http_routes(fake, MODEL)[f"{APP}-https-redirect"]
    assert redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"]["statusCode"] == 301
    published = json.loads(out.get_relation(web.id).local_app_data["ingress"])
    assert published == {"url": "https://shop.example.com/shop-web"}
    # the private key never travels in relation data
    key_b64 = secret["data"]["tls.key"]
    for relation in out.relations:
        assert key_b64 not in json.dumps(dict(relation.local_app_data))
        assert "PRIVATE KEY" not in json.dumps(dict(relation.local_app_data))
    # the certificate relation going takes TLS away
    out = ctx.run(ctx.on.relation_broken(signed), out)
    assert fake.get("v1", "Secret", f"{APP}-tls", MODEL) is None
    assert sorted(listeners(fake)) == ["http-80"]


# -- removal ---------------------------------------------------------------------------------


def test_removal_deletes_everything_it_created_and_nothing_else(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    foreign = {
        "apiVersion": GW_API,
        "kind": "HTTPRoute",
        "metadata": {"name": "someone-elses", "namespace": "shop"},
        "spec": {"rules": [{}]},
    }
    fake.add(foreign)
    rels = (ingress("web"), routes("blog", route_config("blog", "/b")))
    ctx.run(ctx.on.config_changed(), state(*rels))
    ctx.run(ctx.on.remove(), state(*rels, planned_units=0))
    assert fake.get(GW_API, "Gateway", APP, MODEL) is None
    assert list(http_routes(fake, "shop")) == ["someone-elses"]
    assert http_routes(fake, "blog") == {}
    assert fake.list(AP, "AuthorizationPolicy", None) == []


def test_a_unit_leaving_removes_nothing(ctx: Any, fake: Any) -> None:
    ctx.run(ctx.on.config_changed(), state())
    fake.clear_log()
    ctx.run(ctx.on.remove(), state(planned_units=2))
    assert fake.writes == 0


# -- L4 --------------------------------------------------------------------------------------


def tcp_config() -> str:
    from meshops.interfaces import istio_ingress_route as ours

    listener = ours.L4Listener(port=5432, protocol=ours.L4ProtocolType.TCP)
    route = ours.TCPRoute(
        name="pg", listener=listener, backends=[ours.BackendRef(service="pg", port=5432)]
    )
    return ours.IstioIngressRouteConfig(model="blog", tcp_routes=[route]).model_dump_json()


def test_a_tcp_route_gets_a_tcp_listener_and_a_tcproute(ctx: Any, fake: Any) -> None:
    load_balancer(fake)
    rel = routes("pg", tcp_config())
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    assert listeners(fake)["tcp-5432"]["protocol"] == "TCP"
    [tcp] = fake.list("gateway.networking.k8s.io/v1alpha2", "TCPRoute", "blog")
    assert tcp["spec"]["parentRefs"][0]["sectionName"] == "tcp-5432"


def test_without_the_experimental_tcproute_crd_only_tcp_routes_fail(
    ctx: Any, make_fake: Any, ingress_crds: tuple[str, ...], juju_models: Any
) -> None:
    standard = [c for c in ingress_crds if not c.startswith("tcproutes")]
    cluster = make_fake(*standard)
    juju_models(cluster)
    with cluster.installed():
        load_balancer(cluster)
        web, pg = ingress("web"), routes("pg", tcp_config())
        out = ctx.run(ctx.on.relation_changed(pg), state(web, pg))
    assert http_routes(cluster, "shop")
    status = out.unit_status
    assert isinstance(status, testing.BlockedStatus)
    assert status.message.startswith("TCPRoute blog/istio-ingress-k8s-pg-pg not applied:")
    assert "tcproutes.gateway.networking.k8s.io" in status.message
