"""IstioIngressRouteProvider under ops.testing: events, the address it publishes, requests().

Covers on.ready (only once the requirer's ``config`` is there, after publishing the
address), on.data_removed, leader-only writes, update_ingress_address keeping what is
not given, wipe_ingress_data, is_ready, get_config (None for absent or invalid
configs), and requests(): one per relation sorted by id, empty for a requirer that has
not written yet, all-or-nothing per requirer with problems naming the relation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from meshops.interfaces import istio_ingress_route as iir

from .route_charms import (
    MODEL,
    make_provider,
    provider_context,
    requirer_relation,
    seen_after_update_status,
    state,
    web_config,
)

CONFIG = web_config(iir).model_dump_json()


def event_types(ctx: testing.Context[Any]) -> list[type]:
    return [type(e) for e in ctx.emitted_events]


def test_ready_after_the_config_arrives_and_the_address_is_published() -> None:
    charm = make_provider("gw.example.com", tls_enabled=True)
    ctx = provider_context(charm)
    relation = requirer_relation("web", CONFIG)
    out = ctx.run(ctx.on.relation_changed(relation), state(relation))
    assert iir.IstioIngressRouteProviderReadyEvent in event_types(ctx)
    ready = next(
        e for e in ctx.emitted_events if isinstance(e, iir.IstioIngressRouteProviderReadyEvent)
    )
    assert ready.relation.id == relation.id
    assert ready.app is not None and ready.app.name == "web"
    assert out.get_relation(relation.id).local_app_data == {
        "external_host": "gw.example.com",
        "tls_enabled": "True",
    }


def test_no_ready_and_no_writes_before_the_config() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer_relation("web")
    out = ctx.run(ctx.on.relation_changed(relation), state(relation))
    assert iir.IstioIngressRouteProviderReadyEvent not in event_types(ctx)
    assert out.get_relation(relation.id).local_app_data == {}


def test_ready_but_no_writes_on_a_follower() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer_relation("web", CONFIG)
    out = ctx.run(ctx.on.relation_changed(relation), state(relation, leader=False))
    assert iir.IstioIngressRouteProviderReadyEvent in event_types(ctx)
    assert out.get_relation(relation.id).local_app_data == {}


def test_ready_even_for_an_invalid_config() -> None:
    """Ready says the requirer wrote; requests() says whether it can be used."""
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer_relation("web", "{oops")
    ctx.run(ctx.on.relation_changed(relation), state(relation))
    assert iir.IstioIngressRouteProviderReadyEvent in event_types(ctx)


def test_data_removed_on_relation_broken() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer_relation("web", CONFIG)
    ctx.run(ctx.on.relation_broken(relation), state(relation))
    removed = [
        e
        for e in ctx.emitted_events
        if isinstance(e, iir.IstioIngressRouteProviderDataRemovedEvent)
    ]
    assert [e.relation.id for e in removed] == [relation.id]


def test_update_ingress_address_writes_every_relation_and_keeps_what_is_not_given() -> None:
    charm = make_provider("gw.example.com", tls_enabled=True)
    ctx = provider_context(charm)
    one = requirer_relation("web", CONFIG)
    two = requirer_relation("api")
    out = ctx.run(ctx.on.config_changed(), state(one, two, config={"host": "new.example.com"}))
    for relation in (one, two):
        assert out.get_relation(relation.id).local_app_data == {
            "external_host": "new.example.com",
            "tls_enabled": "True",
        }
    out = ctx.run(ctx.on.config_changed(), state(one, two, config={"tls": False}))
    assert out.get_relation(one.id).local_app_data == {
        "external_host": "gw.example.com",
        "tls_enabled": "False",
    }


def test_update_ingress_address_with_no_host_leaves_no_host_key() -> None:
    charm = make_provider("")
    ctx = provider_context(charm)
    relation = requirer_relation("web", local_app_data={"external_host": "old.example.com"})
    out = ctx.run(ctx.on.config_changed(), state(relation, config={"host": ""}))
    assert out.get_relation(relation.id).local_app_data == {"tls_enabled": "False"}


def test_update_ingress_address_on_a_follower_writes_nothing() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer_relation("web", CONFIG)
    out = ctx.run(ctx.on.config_changed(), state(relation, leader=False, config={"host": "h"}))
    assert out.get_relation(relation.id).local_app_data == {}


@pytest.mark.parametrize("leader", [True, False])
def test_wipe_ingress_data(leader: bool) -> None:
    charm = make_provider("gw.example.com")
    ctx = provider_context(charm)
    data = {"external_host": "gw.example.com", "tls_enabled": "False"}
    relation = requirer_relation("web", CONFIG, local_app_data=data)
    out = ctx.run(ctx.on.config_changed(), state(relation, leader=leader, config={"wipe": True}))
    assert out.get_relation(relation.id).local_app_data == ({} if leader else data)


def test_requests_one_per_relation_sorted_by_id() -> None:
    bad = json.loads(CONFIG)
    bad["http_routes"][0]["backends"][0]["port"] = 0
    relations = [
        requirer_relation("web", CONFIG),
        requirer_relation("idle"),
        requirer_relation("evil", json.dumps(bad)),
    ]
    charm = make_provider()
    seen, _ = seen_after_update_status(charm, provider_context(charm), state(*reversed(relations)))
    requests: list[iir.RouteRequest] = seen["requests"]
    assert [r.relation_id for r in requests] == sorted(r.id for r in relations)
    web, idle, evil = requests
    assert (web.app, web.model, len(web.routes), web.problems) == ("web", MODEL, 3, ())
    assert idle == iir.RouteRequest(relations[1].id, "idle", "", (), ())
    assert (evil.app, evil.model, evil.routes) == ("evil", "", ())
    (problem,) = evil.problems
    assert problem.source == f"istio-ingress-route:{relations[2].id}"
    assert problem.app == "evil"
    assert problem.field == "config.http_routes[0].backends[0].port"
    assert seen["configs"] == {
        relations[0].id: web_config(iir),
        relations[1].id: None,
        relations[2].id: None,
    }
    assert seen["ready"] == {relations[0].id: True, relations[1].id: False, relations[2].id: True}


def test_route_request_is_frozen() -> None:
    request = iir.RouteRequest(1, "web", MODEL, (), ())
    with pytest.raises(AttributeError):
        request.app = "other"  # type: ignore[misc]


def test_provider_properties() -> None:
    charm = make_provider("gw.example.com", tls_enabled=True)
    seen, _ = seen_after_update_status(charm, provider_context(charm), state())
    assert (seen["external_host"], seen["tls_enabled"]) == ("gw.example.com", True)
