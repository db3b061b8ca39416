"""gateway-api-integrator under ops.testing, on the fake and on the real API server.

Covers every event the charm observes (install, config-changed, leader-elected,
upgrade-charm, update-status, gateway changed/departed/broken, gateway-route
changed/broken, certificates created/changed/broken and certificate-available,
dns-record created/changed, remove, the get-certificate action), the objects that reach
the API (validated against the upstream CRDs), the statuses and what requirers are told.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from gwapi_testing import (
    ADDRESS,
    APP,
    MODEL,
    PLAIN,
    certified,
    gateway,
    give_address,
    http_routes,
    ingress,
    listeners,
    route_requirer,
    served,
    state,
)
from ops import testing

AP = "security.istio.io/v1"
DR = "networking.istio.io/v1"


def only_from(namespace: str) -> dict[str, Any]:
    expression = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [namespace]}
    return {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [expression]}}}


# -- the Gateway and its class ---------------------------------------------------------------


@pytest.mark.parametrize(
    "event", ["install", "config_changed", "upgrade_charm", "leader_elected", "update_status"]
)
def test_every_lifecycle_event_makes_the_gateway_of_the_class(
    ctx: Any, cluster: Any, event: str
) -> None:
    out = ctx.run(getattr(ctx.on, event)(), state())
    gw = gateway(cluster)
    assert gw["spec"]["gatewayClassName"] == "cilium"
    assert "infrastructure" not in gw["spec"]  # Istio's log-level annotation: not for Cilium
    assert list(listeners(cluster)) == ["http-80"]
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the Gateway's address from its controller"
    )


def test_the_gateways_address_makes_it_active(ctx: Any, cluster: Any) -> None:
    out = served(cluster)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus(f"0 apps and 0 hostnames served at {ADDRESS}")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"gateway-class": "nginx"},
            "gateway-class: 'nginx' is not a GatewayClass of this cluster; set it to one of: "
            "cilium, istio",
        ),
        ({"gateway-class": ""}, "gateway-class: not set; set it to one of: cilium, istio"),
        (
            {"enforce-https": True},
            "relate a certificates provider, or set enforce-https=false",
        ),
        (
            {"hsts-max-age": -1},
            "hsts-max-age: -1 must be an integer of seconds, 0 or more",
        ),
        (
            {"external-hostname": "Shop_Example"},
            "external-hostname: 'Shop_Example' must be a lowercase RFC 1123 hostname "
            "with an optional leading '*.'",
        ),
    ],
)
def test_bad_config_blocks_saying_what_to_do_and_changes_nothing(
    ctx: Any, cluster: Any, config: dict[str, Any], message: str
) -> None:
    ctx.run(ctx.on.config_changed(), state())
    before = gateway(cluster)
    cluster.clear_log()
    out = ctx.run(ctx.on.config_changed(), state(config={**PLAIN, **config}))
    assert out.unit_status == testing.BlockedStatus(message)
    assert cluster.writes == 0
    assert gateway(cluster) == before


def test_a_cluster_without_gateway_classes_says_to_install_an_implementation(
    ctx: Any, make_fake: Any
) -> None:
    bare = make_fake("gatewayclasses.gateway.networking.k8s.io", namespaces=[MODEL])
    with bare.installed():
        out = ctx.run(ctx.on.config_changed(), state())
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(
        "gateway-class: this cluster has no GatewayClass; install a Gateway API implementation"
    )


def test_without_the_gateway_api_crds_it_says_to_install_them(ctx: Any, make_fake: Any) -> None:
    bare = make_fake(namespaces=[MODEL])
    with bare.installed():
        out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus(
        "gatewayclasses.gateway.networking.k8s.io missing: install the Gateway API CRDs and a "
        "controller"
    )


def test_enforced_https_needs_an_external_hostname_for_gateway_requirers(
    ctx: Any, cluster: Any
) -> None:
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {"gateway-class": "cilium"}
    out = ctx.run(ctx.on.config_changed(), state(ingress("web"), certs, config=config))
    assert out.unit_status == testing.BlockedStatus(
        "set external-hostname (gateway requirers are served over HTTPS under it), "
        "or set enforce-https=false"
    )


def test_a_reconcile_with_nothing_new_writes_nothing(ctx: Any, cluster: Any) -> None:
    rels = (ingress("web"), route_requirer("blog", "blog.example.com"))
    out = served(cluster, *rels)
    out = ctx.run(ctx.on.update_status(), out)
    cluster.clear_log()
    ctx.run(ctx.on.update_status(), out)
    assert cluster.writes == 0


def test_non_leaders_touch_nothing_and_show_the_leaders_outcome(ctx: Any, cluster: Any) -> None:
    peers = testing.PeerRelation(
        "gateway-peers",
        local_app_data={"outcome": json.dumps({"notes": ["1 apps and 0 hostnames served at x"]})},
    )
    out = ctx.run(ctx.on.update_status(), state(peers, leader=False))
    assert cluster.requests == []
    assert out.unit_status == testing.ActiveStatus("standby; 1 apps and 0 hostnames served at x")


# -- gateway (ingress v2) --------------------------------------------------------------------


def test_a_gateway_requirer_gets_a_route_in_its_namespace_and_its_url(
    ctx: Any, cluster: Any
) -> None:
    rel = ingress("web", strip_prefix=True)
    out = served(cluster, rel)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(rel.id)), out)
    [route] = http_routes(cluster, "shop").values()
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/shop-web"}}]
    [backend] = rule["backendRefs"]
    assert (backend["kind"], backend["group"], backend["name"], backend["port"]) == (
        "Service",
        "",
        "web",
        8080,
    )
    assert route["spec"]["parentRefs"][0]["sectionName"] == "http-80"
    published = out.get_relation(rel.id).local_app_data
    assert json.loads(published["ingress"]) == {"url": f"http://{ADDRESS}/shop-web"}
    # no Istio objects for a Cilium gateway
    assert cluster.list(AP, "AuthorizationPolicy", None) == []
    assert cluster.list(DR, "DestinationRule", None) == []
    assert out.unit_status == testing.ActiveStatus(f"1 apps and 0 hostnames served at {ADDRESS}")


def test_with_an_istio_class_the_plan_adds_istios_policies(ctx: Any, cluster: Any) -> None:
    rel = ingress("web")
    ctx.run(ctx.on.relation_changed(rel), state(rel, config={**PLAIN, "gateway-class": "istio"}))
    [policy] = cluster.list(AP, "AuthorizationPolicy", "shop")
    assert policy["spec"]["rules"][0]["from"] == [
        {"source": {"principals": [f"cluster.local/ns/{MODEL}/sa/{APP}-istio"]}}
    ]
    annotations = gateway(cluster)["spec"]["infrastructure"]["annotations"]
    assert annotations == {"sidecar.istio.io/logLevel": "info"}


def test_a_backend_scheme_only_istio_serves_is_refused_for_another_class(
    ctx: Any, cluster: Any
) -> None:
    good, tls = ingress("web"), ingress("vault", port=8200, scheme="https")
    out = ctx.run(ctx.on.relation_changed(tls), state(good, tls))
    assert [
        r["spec"]["rules"][0]["backendRefs"][0]["name"]
        for r in http_routes(cluster, "shop").values()
    ] == ["web"]
    assert "ingress" not in out.get_relation(tls.id).local_app_data
    status = out.unit_status
    assert isinstance(status, testing.WaitingStatus)  # no address yet; the refusal is noted
    out = ctx.run(ctx.on.update_status(), dataclasses.replace(out))
    give_address(cluster)
    out = ctx.run(ctx.on.update_status(), out)
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert "backend scheme 'https' is not built for gateway class 'cilium'" in (
        out.unit_status.message
    )


def test_a_requirer_from_another_model_cannot_place_routes_elsewhere(
    ctx: Any, cluster: Any
) -> None:
    # it says it lives in "blog"; Juju says its model is "shop"
    liar = ingress("web", model="blog")
    liar = dataclasses.replace(liar, remote_model_uuid=ingress("web").remote_model_uuid)
    out = served(cluster, liar)
    assert http_routes(cluster, "blog") == {}
    assert "ingress" not in out.get_relation(liar.id).local_app_data


def test_many_requirers_from_many_models_each_get_their_own(ctx: Any, cluster: Any) -> None:
    web, blog = ingress("web"), ingress("blog", model="blog")
    out = served(cluster, web, blog)
    out = ctx.run(ctx.on.update_status(), out)
    assert json.loads(out.get_relation(web.id).local_app_data["ingress"])["url"].endswith(
        "/shop-web"
    )
    assert json.loads(out.get_relation(blog.id).local_app_data["ingress"])["url"].endswith(
        "/blog-blog"
    )
    assert sorted(
        gateway(cluster)["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"][
            "matchExpressions"
        ][0]["values"]
    ) == ["blog", MODEL, "shop"]


def test_a_requirer_leaving_takes_its_route_and_nothing_else(ctx: Any, cluster: Any) -> None:
    web, blog = ingress("web"), ingress("blog", model="blog")
    out = served(cluster, web, blog)
    out = ctx.run(ctx.on.relation_departed(out.get_relation(web.id), remote_unit=0), out)
    assert http_routes(cluster, "shop")  # a unit going keeps the app's route
    ctx.run(ctx.on.relation_broken(out.get_relation(web.id)), out)
    assert http_routes(cluster, "shop") == {}
    assert http_routes(cluster, "blog")


def test_bad_ingress_data_refuses_that_requirer_only(ctx: Any, cluster: Any) -> None:
    good, bad = ingress("web"), ingress("blog", model="blog", port=99999)
    out = served(cluster, good, bad)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(bad.id)), out)
    assert http_routes(cluster, "blog") == {}
    assert http_routes(cluster, "shop")
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert f"gateway:{bad.id}" in out.unit_status.message


# -- gateway-route ---------------------------------------------------------------------------


def test_a_route_requirer_gets_listeners_of_its_own_and_the_gateways_details(
    ctx: Any, cluster: Any
) -> None:
    rel = route_requirer("blog", "blog.example.com", "www.blog.example.com")
    out = served(cluster, rel)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(rel.id)), out)
    found = listeners(cluster)
    own = found[f"{APP}-http-blog-example-com"]
    assert (own["port"], own["hostname"], own["protocol"]) == (80, "blog.example.com", "HTTP")
    assert own["allowedRoutes"] == only_from("blog")
    assert f"{APP}-http-www-blog-example-com" in found
    # byte for byte what the ecosystem's provider saves
    assert out.get_relation(rel.id).local_app_data == {
        "gateway_address": json.dumps(ADDRESS),
        "gateway_model": json.dumps(MODEL),
        "gateway_name": json.dumps(APP),
        "hsts_max_age": "null",
        "https_mode": json.dumps("disabled"),
    }
    assert out.unit_status == testing.ActiveStatus(f"0 apps and 2 hostnames served at {ADDRESS}")


def test_the_older_relation_keeps_a_contested_hostname(ctx: Any, cluster: Any) -> None:
    older = route_requirer("blog", "blog.example.com", relation_id=3)
    newer = route_requirer(
        "web", "blog.example.com", "web.example.com", model="shop", relation_id=8
    )
    out = served(cluster, newer, older)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(newer.id)), out)
    found = listeners(cluster)
    assert found[f"{APP}-http-blog-example-com"]["allowedRoutes"] == only_from("blog")
    assert found[f"{APP}-http-web-example-com"]["allowedRoutes"] == only_from("shop")
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert "conflicts refused: web 'blog.example.com' vs blog" in out.unit_status.message


def test_a_route_requirer_cannot_take_the_external_hostname(ctx: Any, cluster: Any) -> None:
    rel = route_requirer("blog", "apps.example.com")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    out = served(cluster, rel, config=config)
    assert list(listeners(cluster)) == ["http-80"]
    assert out.get_relation(rel.id).local_app_data == {}


@pytest.mark.parametrize(
    "data",
    [
        {"hostname": "{not json"},
        {"hostname": json.dumps("under_score.example.com")},
        {"hostname": json.dumps(None), "additional_hostnames": json.dumps([])},
        {"hostname": json.dumps("a.example.com"), "additional_hostnames": json.dumps({"x": 1})},
        {"hostname": json.dumps(["a.example.com"])},
    ],
)
def test_hostile_route_data_refuses_that_requirer_only(
    ctx: Any, cluster: Any, data: dict[str, str]
) -> None:
    good = route_requirer("web", "web.example.com", model="shop")
    bad = dataclasses.replace(route_requirer("blog", None), remote_app_data=data)
    out = served(cluster, good, bad)
    out = ctx.run(ctx.on.relation_changed(out.get_relation(bad.id)), out)
    assert f"{APP}-http-web-example-com" in listeners(cluster)
    assert out.get_relation(bad.id).local_app_data == {}
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert f"gateway-route:{bad.id}" in out.unit_status.message


def test_a_route_requirer_leaving_takes_its_listeners(ctx: Any, cluster: Any) -> None:
    rel = route_requirer("blog", "blog.example.com")
    out = served(cluster, rel)
    ctx.run(ctx.on.relation_broken(out.get_relation(rel.id)), out)
    assert list(listeners(cluster)) == ["http-80"]


# -- TLS ---------------------------------------------------------------------------------------


def test_certificates_give_https_per_hostname_a_redirect_and_hsts(ctx: Any, cluster: Any) -> None:
    web, blog = ingress("web"), route_requirer("blog", "blog.example.com")
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {"gateway-class": "cilium", "external-hostname": "apps.example.com"}
    out = ctx.run(ctx.on.relation_created(certs), state(web, blog, certs, config=config))
    requests = json.loads(
        out.get_relation(certs.id).local_app_data["certificate_signing_requests"]
    )
    assert len(requests) == 2
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert out.unit_status.message.startswith("waiting for TLS certificates from ca for ")
    give_address(cluster)
    out = certified(ctx, out, certs)
    found = listeners(cluster)
    assert sorted(found) == sorted(
        ["http-80", "https-443", f"{APP}-http-blog-example-com", f"{APP}-https-blog-example-com"]
    )
    own = found[f"{APP}-https-blog-example-com"]
    secret_name = own["tls"]["certificateRefs"][0]["name"]
    secret = cluster.get("v1", "Secret", secret_name, MODEL)
    assert secret is not None and secret["type"] == "kubernetes.io/tls"
    assert found["https-443"]["tls"]["certificateRefs"][0]["name"] != secret_name
    # the web route is served over HTTPS only, with HSTS; HTTP redirects
    [route] = http_routes(cluster, "shop").values()
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == ["https-443"]
    assert route["spec"]["rules"][0]["filters"] == [
        {
            "type": "ResponseHeaderModifier",
            "responseHeaderModifier": {
                "set": [{"name": "Strict-Transport-Security", "value": "max-age=31536000"}]
            },
        }
    ]
    assert f"{APP}-https-redirect" in http_routes(cluster, MODEL)
    assert json.loads(out.get_relation(web.id).local_app_data["ingress"]) == {
        "url": "https://apps.example.com/shop-web"
    }
    told = out.get_relation(blog.id).local_app_data
    assert (told["https_mode"], told["hsts_max_age"]) == ('"enforced"', "31536000")
    # the private key is in the Secrets only
    for relation in out.relations:
        assert "PRIVATE KEY" not in json.dumps(dict(relation.local_app_data))
    # the certificates relation going takes HTTPS away: enforce-https blocks, nothing changes
    before = listeners(cluster)
    signed = out.get_relation(certs.id)
    out = ctx.run(ctx.on.relation_broken(signed), out)
    assert out.unit_status == testing.BlockedStatus(
        "relate a certificates provider, or set enforce-https=false"
    )
    assert listeners(cluster) == before


def test_https_not_enforced_serves_http_beside_https_without_hsts(ctx: Any, cluster: Any) -> None:
    web, blog = ingress("web"), route_requirer("blog", "blog.example.com")
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    out = ctx.run(ctx.on.relation_created(certs), state(web, blog, certs, config=config))
    give_address(cluster)
    out = certified(ctx, out, certs)
    [route] = http_routes(cluster, "shop").values()
    assert sorted(p["sectionName"] for p in route["spec"]["parentRefs"]) == [
        "http-80",
        "https-443",
    ]
    assert "filters" not in route["spec"]["rules"][0]
    assert f"{APP}-https-redirect" not in http_routes(cluster, MODEL)
    told = out.get_relation(blog.id).local_app_data
    assert (told["https_mode"], told["hsts_max_age"]) == ('"enabled"', "null")


def test_hsts_max_age_zero_sends_no_header(ctx: Any, cluster: Any) -> None:
    web = ingress("web")
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {
        "gateway-class": "cilium",
        "external-hostname": "apps.example.com",
        "hsts-max-age": 0,
    }
    out = ctx.run(ctx.on.relation_created(certs), state(web, certs, config=config))
    certified(ctx, out, certs)
    [route] = http_routes(cluster, "shop").values()
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == ["https-443"]
    assert "filters" not in route["spec"]["rules"][0]


def test_get_certificate_returns_the_hostnames_or_says_which_have_one(
    ctx: Any, cluster: Any
) -> None:
    blog = route_requirer("blog", "blog.example.com")
    certs = testing.Relation("certificates", remote_app_name="ca")
    out = ctx.run(ctx.on.relation_created(certs), state(blog, certs))
    out = certified(ctx, out, certs)
    ctx.run(ctx.on.action("get-certificate", params={"hostname": "blog.example.com"}), out)
    assert ctx.action_results is not None
    assert ctx.action_results["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert ctx.action_results["ca"].startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action("get-certificate", params={"hostname": "nope.example.com"}), out)
    assert failed.value.message == (
        "no certificate for 'nope.example.com'; hostnames with one: blog.example.com"
    )


def test_get_certificate_without_a_certificates_relation_says_to_relate_one(ctx: Any) -> None:
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action("get-certificate", params={"hostname": "x.example.com"}), state())
    assert failed.value.message == "no certificates relation: relate a certificates provider first"


# -- dns-record --------------------------------------------------------------------------------


def test_dns_record_gets_one_a_record_per_hostname(ctx: Any, cluster: Any) -> None:
    dns = testing.Relation("dns-record", remote_app_name="bind")
    blog = route_requirer("blog", "blog.example.com", "www.blog.example.com")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    out = served(cluster, blog, dns, config=config)
    out = ctx.run(ctx.on.relation_created(dns), out)
    entries = json.loads(out.get_relation(dns.id).local_app_data["dns_entries"])
    assert [(e["domain"], e["record_type"], e["record_data"]) for e in entries] == [
        ("apps.example.com", "A", ADDRESS),
        ("blog.example.com", "A", ADDRESS),
        ("www.blog.example.com", "A", ADDRESS),
    ]
    # what the DNS provider says of them shows in the status
    refused = dataclasses.replace(
        out.get_relation(dns.id),
        remote_app_data={
            "dns_entries": json.dumps(
                [{"uuid": entries[0]["uuid"], "status": "conflict", "description": "taken"}]
            )
        },
    )
    out = ctx.run(
        ctx.on.relation_changed(refused), dataclasses.replace(out, relations=[blog, refused])
    )
    assert isinstance(out.unit_status, testing.ActiveStatus)
    assert "dns-record: conflict taken" in out.unit_status.message


# -- removal -----------------------------------------------------------------------------------


def test_removal_deletes_everything_it_created_and_nothing_else(ctx: Any, cluster: Any) -> None:
    foreign = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "someone-elses", "namespace": "shop"},
        "spec": {"rules": [{}]},
    }
    cluster.add(foreign)
    rels = (ingress("web"), route_requirer("blog", "blog.example.com"))
    out = served(cluster, *rels)
    ctx.run(ctx.on.remove(), dataclasses.replace(out, planned_units=0))
    assert cluster.get("gateway.networking.k8s.io/v1", "Gateway", APP, MODEL) is None
    assert list(http_routes(cluster, "shop")) == ["someone-elses"]
    assert cluster.list("v1", "Secret", MODEL) == [] or all(
        s["metadata"].get("labels", {}).get("meshops.io/owner") is None
        for s in cluster.list("v1", "Secret", MODEL)
    )


def test_a_unit_leaving_removes_nothing(ctx: Any, cluster: Any) -> None:
    ctx.run(ctx.on.config_changed(), state())
    cluster.clear_log()
    ctx.run(ctx.on.remove(), state(planned_units=2))
    assert cluster.writes == 0


def test_a_refused_claims_certificate_is_not_kept(ctx: Any, cluster: Any) -> None:
    # the newer claim's listener names would be the older one's: it is refused
    older = route_requirer("blog", "a-b.example.com", relation_id=3)
    newer = route_requirer("web", "a.b-example.com", model="shop", relation_id=8)
    certs = testing.Relation("certificates", remote_app_name="ca")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    out = ctx.run(ctx.on.relation_created(certs), state(older, newer, certs, config=config))
    out = certified(ctx, out, certs)
    assert len(cluster.list("v1", "Secret", MODEL)) == 2  # apps.example.com, a-b.example.com
    assert sorted(listeners(cluster)) == sorted(
        ["http-80", "https-443", f"{APP}-http-a-b-example-com", f"{APP}-https-a-b-example-com"]
    )
    assert out.get_relation(newer.id).local_app_data == {}


def test_bad_certificate_data_blocks_naming_the_provider_and_changes_nothing(
    ctx: Any, cluster: Any
) -> None:
    web = ingress("web")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    good = testing.Relation("certificates", remote_app_name="ca")
    out = served(cluster, web, good, config=config)
    before = listeners(cluster)
    cluster.clear_log()
    bad = dataclasses.replace(
        out.get_relation(good.id), remote_app_data={"certificates": "[" * 100 + "]" * 100}
    )
    relations = [r for r in out.relations if r.id != good.id]
    out = ctx.run(
        ctx.on.relation_changed(bad), dataclasses.replace(out, relations=[*relations, bad])
    )
    assert out.unit_status == testing.BlockedStatus(
        "certificates: ca sent bad data (certificates: nested 100 levels deep, more than 16)"
    )
    assert cluster.writes == 0
    assert listeners(cluster) == before
