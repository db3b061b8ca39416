"""istio-ingress-k8s writes a requirer's objects only where that requirer lives.

Under ops.testing, against the in-process API fake holding Juju's models (namespaces
labelled with the model's name and UUID, a Service per application): a requirer of the
gateway's model is placed in its namespace; one of another model in the namespace
marked with that model's UUID (``remote_model_uuid``), whatever model its databag
names; its backends must be its own application's Services. Hostile requirers over
both relations (kube-system's DNS, another application of the same model, a requirer
of another model claiming the gateway's namespace) get nothing written, are named in
the status, and keep what they had where they may have it. The operator's
``allowed-requirer-namespaces`` widens this; Juju without ``relation-model-get`` is
taken as the gateway's model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from charmlibs.interfaces import istio_ingress_route as eco
from ops import testing

from meshops.testing.juju import app_service, model_uuid

MODEL = "edge"
APP = "istio-ingress-k8s"
GW_API = "gateway.networking.k8s.io/v1"
AP = "security.istio.io/v1"
LB_IP = "10.0.0.9"
#: How the offering side of a cross-model relation sees the consuming application.
REMOTE = "remote-5f1c0ffee5f1c0ffee5f1c0ffee5f1c0"
KINDS = (
    (GW_API, "HTTPRoute"),
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
    (AP, "AuthorizationPolicy"),
)


def state(*relations: testing.RelationBase, **kw: Any) -> testing.State:
    model = testing.Model(name=MODEL, uuid=model_uuid(MODEL))
    return testing.State(leader=True, relations=list(relations), model=model, **kw)


def ingress(
    name: str,
    model: str,
    *,
    lives_in: str | None = None,
    app: str | None = None,
    port: int = 8080,
    **kw: Any,
) -> testing.Relation:
    """An ingress v2 requirer of model ``lives_in`` (the gateway's by default)."""
    uuid = model_uuid(lives_in) if lives_in is not None else None
    return testing.Relation(
        "ingress",
        remote_app_name=app or (REMOTE if lives_in not in (None, MODEL) else name),
        remote_app_data={
            "name": json.dumps(name),
            "model": json.dumps(model),
            "port": json.dumps(port),
        },
        remote_units_data={0: {"host": json.dumps(f"{name}-0.{name}-endpoints")}},
        remote_model_uuid=uuid,
        **kw,
    )


def routes(
    app: str, model: str, service: str, *, lives_in: str | None = None, port: int = 8080
) -> testing.Relation:
    """An istio-ingress-route requirer of ``lives_in`` routing ``/`` to ``service``."""
    listener = eco.Listener(port=port, protocol=eco.ProtocolType.HTTP)
    route = eco.HTTPRoute(
        name="r",
        listener=listener,
        backends=[eco.BackendRef(service=service, port=port)],
    )
    config = eco.IstioIngressRouteConfig(model=model, listeners=[listener], http_routes=[route])
    return testing.Relation(
        "istio-ingress-route",
        remote_app_name=app,
        remote_app_data={"config": config.model_dump_json()},
        remote_model_uuid=model_uuid(lives_in) if lives_in is not None else None,
    )


@pytest.fixture
def cluster(fake: Any) -> Any:
    """The fake with the gateway's address, kube-system's DNS, two apps of the gateway's model."""
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{APP}-istio", "namespace": MODEL},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}},
        }
    )
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kube-dns",
                "namespace": "kube-system",
                "labels": {"k8s-app": "kube-dns"},
            },
            "spec": {"ports": [{"port": 53, "protocol": "UDP"}]},
        }
    )
    for app in ("grafana", "postgresql"):
        fake.add(app_service(app, MODEL, 8080))
    return fake


def ours_in(fake: Any, namespace: str) -> list[str]:
    """The routes, grants and policies the gateway wrote in ``namespace``."""
    return sorted(
        f"{kind}/{o['metadata']['name']}"
        for api, kind in KINDS
        for o in fake.list(api, kind, namespace)
        if "meshops.io/owner" in o["metadata"].get("labels", {})
    )


def served(fake: Any) -> str:
    return ", ".join(ours_in(fake, "shop") + ours_in(fake, MODEL) + ours_in(fake, "kube-system"))


# -- where a requirer's objects go ----------------------------------------------------------


def test_a_requirer_of_another_model_is_served_in_its_models_namespace(
    ctx: Any, cluster: Any
) -> None:
    rel = ingress("web", "shop", lives_in="shop")
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    assert ours_in(cluster, "shop") == [
        f"AuthorizationPolicy/{APP}-web-ingress-{rel.id}",
        f"HTTPRoute/{APP}-web-http-80",
    ]
    [policy] = cluster.list(AP, "AuthorizationPolicy", "shop")
    assert policy["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "web"}}
    url = json.loads(out.get_relation(rel.id).local_app_data["ingress"])["url"]
    assert url == f"http://{LB_IP}/shop-web"


def test_a_route_requirer_of_another_model_is_named_after_its_services_app(
    ctx: Any, cluster: Any
) -> None:
    """Juju hides its name (``remote-...``): its policy selects its Services' application."""
    rel = routes(REMOTE, "blog", "blog", lives_in="blog")
    ctx.run(ctx.on.relation_changed(rel), state(rel))
    [policy] = cluster.list(AP, "AuthorizationPolicy", "blog")
    assert policy["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "blog"}}
    assert [o["metadata"]["name"] for o in cluster.list(GW_API, "HTTPRoute", "blog")] == [
        f"{APP}-blog-http-8080"
    ]


def test_a_requirer_of_the_gateways_model_is_served_in_its_namespace(
    ctx: Any, cluster: Any
) -> None:
    rel = ingress("grafana", MODEL)
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    assert f"HTTPRoute/{APP}-grafana-http-80" in ours_in(cluster, MODEL)
    assert out.unit_status == testing.ActiveStatus("1 routes served for 1 requirers")


# -- hostile requirers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(ingress("kube-dns", "kube-system", app="grafana", port=53), id="ingress"),
        pytest.param(routes("grafana", "kube-system", "kube-dns", port=53), id="route"),
    ],
)
def test_kube_system_dns_asked_for_gets_nothing_and_is_named(
    ctx: Any, cluster: Any, hostile: testing.Relation
) -> None:
    """The issue's probe: a requirer of the gateway's model asks for kube-system's DNS."""
    good = ingress("web", "shop", lives_in="shop")
    out = ctx.run(ctx.on.relation_changed(hostile), state(good, hostile))
    assert ours_in(cluster, "kube-system") == []
    assert "ingress" not in out.get_relation(hostile.id).local_app_data  # no URL
    assert out.unit_status == testing.ActiveStatus(
        "1 routes served for 1 requirers; "
        "app grafana asked for namespace 'kube-system'; it lives in 'edge'"
    )
    assert ours_in(cluster, "shop")  # the other requirer is served


def test_another_application_of_the_same_model_is_not_reachable(ctx: Any, cluster: Any) -> None:
    by_name = ingress("postgresql", MODEL, app="grafana", port=5432)
    by_backend = routes("grafana", MODEL, "postgresql", port=5432)
    for rel in (by_name, by_backend):
        out = ctx.run(ctx.on.relation_changed(rel), state(rel))
        assert ours_in(cluster, MODEL) == []
        assert isinstance(out.unit_status, testing.ActiveStatus)
        assert out.unit_status.message.startswith("0 routes served for 0 requirers; ")
    assert "'postgresql' is not the application's name 'grafana'" in _status(ctx, by_name)
    assert (
        "app grafana may route only to its own Services: Service 'postgresql' in 'edge' is "
        "labelled app.kubernetes.io/name=postgresql, not grafana"
    ) in _status(ctx, by_backend)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(ingress("grafana", MODEL, lives_in="shop"), id="ingress"),
        pytest.param(routes(REMOTE, MODEL, "grafana", lives_in="shop"), id="route"),
    ],
)
def test_a_requirer_of_another_model_cannot_claim_the_gateways_namespace(
    ctx: Any, cluster: Any, hostile: testing.Relation
) -> None:
    out = ctx.run(ctx.on.relation_changed(hostile), state(hostile))
    assert ours_in(cluster, MODEL) == [] and ours_in(cluster, "shop") == []
    assert out.unit_status == testing.ActiveStatus(
        f"0 routes served for 0 requirers; app {REMOTE} asked for namespace 'edge'; "
        "it lives in 'shop'"
    )


def test_a_requirer_turning_to_another_namespace_keeps_what_it_had(ctx: Any, cluster: Any) -> None:
    rel = ingress("web", "shop", lives_in="shop")
    out = ctx.run(ctx.on.relation_changed(rel), state(rel))
    before, url = ours_in(cluster, "shop"), out.get_relation(rel.id).local_app_data["ingress"]
    turned = ingress("kube-dns", "kube-system", lives_in="shop", id=rel.id, port=53)
    turned = _with_local(turned, {"ingress": url})
    out = ctx.run(ctx.on.relation_changed(turned), state(turned))
    assert ours_in(cluster, "shop") == before
    assert ours_in(cluster, "kube-system") == []
    assert out.get_relation(rel.id).local_app_data["ingress"] == url


# -- the operator's list ---------------------------------------------------------------------


def test_allowed_namespaces_widen_where_requirers_may_go_and_narrowing_removes(
    ctx: Any,
    cluster: Any,
) -> None:
    cluster.add(app_service("legacy-api", "kube-system", 8080))
    rel = ingress("legacy-api", "kube-system", app="grafana")
    config = {"allowed-requirer-namespaces": "kube-system, shared"}
    out = ctx.run(ctx.on.config_changed(), state(rel, config=config))
    assert ours_in(cluster, "kube-system") == [
        f"AuthorizationPolicy/{APP}-legacy-api-ingress-{rel.id}",
        f"HTTPRoute/{APP}-legacy-api-http-80",
    ]
    assert out.unit_status == testing.ActiveStatus("1 routes served for 1 requirers")
    # no longer allowed: refused, and what it had there goes
    out = ctx.run(ctx.on.config_changed(), state(rel))
    assert ours_in(cluster, "kube-system") == []


def test_an_allowed_namespace_still_holds_a_requirer_to_its_own_services(
    ctx: Any, cluster: Any
) -> None:
    rel = ingress("kube-dns", "kube-system", app="grafana", port=53)
    config = {"allowed-requirer-namespaces": "kube-system"}
    out = ctx.run(ctx.on.config_changed(), state(rel, config=config))
    assert ours_in(cluster, "kube-system") == []
    assert out.unit_status == testing.ActiveStatus(
        "0 routes served for 0 requirers; app grafana may route only to its own Services: "
        "Service 'kube-dns' in 'kube-system' is not labelled app.kubernetes.io/name=kube-dns"
    )


@pytest.mark.parametrize("value", ["Kube-System", "shop blog", "shop,-x"])
def test_a_bad_allowed_list_blocks_naming_the_option_and_changes_nothing(
    ctx: Any, cluster: Any, value: str
) -> None:
    rel = ingress("web", "shop", lives_in="shop")
    ctx.run(ctx.on.config_changed(), state(rel))
    before = served(cluster)
    cluster.clear_log()
    out = ctx.run(
        ctx.on.config_changed(), state(rel, config={"allowed-requirer-namespaces": value})
    )
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith("config: allowed-requirer-namespaces: '")
    bad = [part.strip() for part in value.split(",") if part.strip()][-1]
    assert repr(bad) in out.unit_status.message
    assert cluster.writes == 0 and served(cluster) == before


# -- Juju that does not say -----------------------------------------------------------------


def test_without_relation_model_get_a_requirer_is_taken_to_be_of_the_gateways_model(
    charm_class: Any, cluster: Any
) -> None:
    ctx = testing.Context(charm_class, app_name=APP, juju_version="3.6.1")
    local = ingress("grafana", MODEL)
    remote = ingress("web", "shop", lives_in="shop")
    out = ctx.run(ctx.on.config_changed(), state(local, remote))
    assert ours_in(cluster, MODEL) and ours_in(cluster, "shop") == []
    assert out.unit_status == testing.ActiveStatus(
        f"1 routes served for 1 requirers; app {REMOTE} asked for namespace 'shop'; "
        "it lives in 'edge'"
    )
    # the operator can list the namespace; the name it gives must be its Service's
    config = {"allowed-requirer-namespaces": "shop"}
    ctx.run(ctx.on.config_changed(), state(local, remote, config=config))
    assert f"HTTPRoute/{APP}-web-http-80" in ours_in(cluster, "shop")


# -- helpers ---------------------------------------------------------------------------------


def _status(ctx: Any, rel: testing.Relation) -> str:
    out = ctx.run(ctx.on.update_status(), state(rel))
    return str(out.unit_status.message)


def _with_local(rel: testing.Relation, data: dict[str, str]) -> testing.Relation:
    return testing.Relation(
        rel.endpoint,
        id=rel.id,
        remote_app_name=rel.remote_app_name,
        remote_app_data=rel.remote_app_data,
        remote_units_data=rel.remote_units_data,
        remote_model_uuid=rel.remote_model_uuid,
        local_app_data=data,
    )
