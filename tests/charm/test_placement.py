"""meshops.charm.placement against the in-process API fake holding Juju's models.

Covers finding a model's namespace by its UUID (Juju's label, or its annotation on
namespaces labelled before label version 2), reading Services' applications, the
waypoints of placed namespaces, and what a placement reads from the cluster (nothing
without requirers; otherwise one list of the namespaces marked with the requirers'
models, a read of each other namespace asked for, and one Service list per usable
namespace). The charms' tests cover the requirers built from relations.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.charm.placement import locate, model_namespaces, service_apps
from meshops.k8s import Api, make_client
from meshops.model.ingress import Backend, Protocol, Route
from meshops.plan.ingress import RouteSet
from meshops.plan.placement import Requirer
from meshops.testing.juju import app_service, model_namespace, model_uuid


@pytest.fixture
def fake(make_fake: Any) -> Any:
    cluster = make_fake()
    for name, version in (("edge", 2), ("shop", 2), ("blog", 1)):
        cluster.add(model_namespace(name, label_version=version))
    cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    cluster.add(app_service("cart", "shop", 8080))
    cluster.add(app_service("blog", "blog", 80))
    return cluster


def api_for(fake: Any) -> Api:
    return Api(make_client(fake.transport, field_manager="gw.edge"), field_manager="gw.edge")


def requirer(source: str, uuid: str, namespace: str, service: str) -> Requirer:
    route = Route("r", Protocol.HTTP, None, backends=(Backend(service, 80),))
    asks = RouteSet(source, "remote-1", namespace, 1, (route,))
    return Requirer(source, "remote-1", uuid, asks)


def test_a_models_namespace_is_found_by_its_label_or_its_annotation(fake: Any) -> None:
    found = model_namespaces(fake.list("v1", "Namespace"))
    assert found == {model_uuid(m): (m,) for m in ("edge", "shop", "blog")}


def test_services_are_read_with_their_application() -> None:
    unlabelled = {"metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns"}}}
    assert service_apps([app_service("cart", "shop", 80), unlabelled]) == {
        "cart": "cart",
        "kube-dns": "",
    }


def test_without_requirers_nothing_is_read(fake: Any) -> None:
    fake.clear_log()
    found = locate(api_for(fake), [], model="edge", model_uuid=model_uuid("edge"))
    assert fake.requests == [] and found.placement.route_sets == ()


def test_the_namespaces_it_needs_and_one_service_list_per_usable_namespace(fake: Any) -> None:
    shop = model_uuid("shop")
    requirers = [
        requirer("ingress:1", shop, "shop", "cart"),
        requirer("ingress:2", shop, "shop", "cart"),
        requirer("ingress:3", model_uuid("blog"), "blog", "blog"),
        requirer("ingress:4", shop, "kube-system", "kube-dns"),  # refused: no read for it
    ]
    fake.clear_log()
    found = locate(api_for(fake), requirers, model="edge", model_uuid=model_uuid("edge"))
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", "/api/v1/namespaces"),  # only those marked with the requirers' models
        ("GET", "/api/v1/namespaces/blog"),  # marked by an annotation only
        ("GET", "/api/v1/namespaces/kube-system"),  # asked for, and not a model's
        ("GET", "/api/v1/namespaces/blog/services"),
        ("GET", "/api/v1/namespaces/shop/services"),
    ]
    uuids = sorted(model_uuid(m) for m in ("edge", "shop", "blog"))
    assert fake.requests[0].query["labelSelector"] == f"model.juju.is/id in ({','.join(uuids)})"
    placement = found.placement
    assert [(s.source, s.namespace, s.app) for s in placement.route_sets] == [
        ("ingress:1", "shop", "cart"),
        ("ingress:2", "shop", "cart"),
        ("ingress:3", "blog", "blog"),
    ]
    [problem] = placement.problems
    assert problem.message == "app remote-1 asked for namespace 'kube-system'; it lives in 'shop'"


def test_the_waypoints_are_those_of_placed_namespaces(fake: Any) -> None:
    for name, waypoint in (("shop", "beacon-waypoint"), ("edge", "edge-waypoint")):
        ns = fake.get("v1", "Namespace", name)
        ns["metadata"]["labels"]["istio.io/use-waypoint"] = waypoint
        fake.add(ns)
    requirers = [requirer("ingress:1", model_uuid("shop"), "shop", "cart")]
    found = locate(api_for(fake), requirers, model="edge", model_uuid=model_uuid("edge"))
    assert found.waypoints == {"shop": "beacon-waypoint"}


@pytest.mark.parametrize(
    "labels",
    [
        {"istio.io/use-waypoint": "none"},
        {"istio.io/use-waypoint": "w", "istio.io/use-waypoint-namespace": "mesh"},
        {},
    ],
    ids=["none-opts-out", "borrowed-from-another-namespace", "unlabelled"],
)
def test_a_namespace_without_a_waypoint_of_its_own_has_none(
    fake: Any, labels: dict[str, str]
) -> None:
    ns = fake.get("v1", "Namespace", "shop")
    ns["metadata"]["labels"].update(labels)
    fake.add(ns)
    requirers = [requirer("ingress:1", model_uuid("shop"), "shop", "cart")]
    found = locate(api_for(fake), requirers, model="edge", model_uuid=model_uuid("edge"))
    assert found.waypoints == {}
