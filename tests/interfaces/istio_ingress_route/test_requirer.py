"""IstioIngressRouteRequirer under ops.testing: submitting the config, reading the address.

Covers submit_config (the ecosystem's bytes on every relation, leader only, nothing
and no error without a relation, a warning naming what the gateway would refuse),
external_host and tls_enabled as the gateway published them (absent and odd values
included), is_ready, and on.ready on relation-changed and -broken for the leader only.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.interfaces import istio_ingress_route as iir

from .route_charms import (
    gateway_relation,
    make_requirer,
    requirer_context,
    seen_after_update_status,
    state,
    web_config,
)


def test_submit_writes_the_config_to_every_relation() -> None:
    charm = make_requirer(web_config)
    one, two = gateway_relation(), gateway_relation(remote_app_name="gateway-b")
    seen, out = seen_after_update_status(charm, requirer_context(charm), state(one, two))
    assert seen["submitted"] == "ok"
    for relation in (one, two):
        assert out.get_relation(relation.id).local_app_data == {
            "config": web_config(iir).model_dump_json()
        }


def test_submit_on_a_follower_raises_unauthorized_and_writes_nothing() -> None:
    charm = make_requirer(web_config)
    relation = gateway_relation()
    seen, out = seen_after_update_status(
        charm, requirer_context(charm), state(relation, leader=False)
    )
    assert seen["submitted"] == "unauthorized"
    assert issubclass(iir.UnauthorizedError, iir.IstioIngressRouteError)
    assert out.get_relation(relation.id).local_app_data == {}


def test_submit_without_a_relation_is_not_an_error() -> None:
    charm = make_requirer(web_config)
    seen, _ = seen_after_update_status(charm, requirer_context(charm), state())
    assert seen == {
        "submitted": "ok",
        "external_host": "",
        "tls_enabled": False,
        "is_ready": False,
    }


def test_submit_warns_about_what_the_gateway_would_refuse() -> None:
    def bad(m: Any) -> Any:
        config = web_config(m)
        route = config.http_routes[0].model_copy(update={"name": "Not A Label"})
        return config.model_copy(update={"http_routes": [route, *config.http_routes[1:]]})

    charm = make_requirer(bad)
    ctx = requirer_context(charm)
    relation = gateway_relation()
    seen, out = seen_after_update_status(charm, ctx, state(relation))
    assert seen["submitted"] == "ok"  # still written: the gateway decides
    assert "Not A Label" in out.get_relation(relation.id).local_app_data["config"]
    warnings = [line.message for line in ctx.juju_log if line.level == "WARNING"]
    assert any("config.http_routes[0].name" in w and "'Not A Label'" in w for w in warnings)


def test_a_valid_config_logs_no_warning() -> None:
    charm = make_requirer(web_config)
    ctx = requirer_context(charm)
    seen_after_update_status(charm, ctx, state(gateway_relation()))
    assert [line for line in ctx.juju_log if line.level == "WARNING"] == []


@pytest.mark.parametrize(
    ("data", "host", "tls"),
    [
        ({}, "", False),
        ({"external_host": "gw.example.com"}, "gw.example.com", False),
        ({"external_host": "gw.example.com", "tls_enabled": "True"}, "gw.example.com", True),
        ({"external_host": "gw.example.com", "tls_enabled": "False"}, "gw.example.com", False),
        ({"tls_enabled": "true"}, "", False),
        ({"tls_enabled": "yes"}, "", False),
    ],
)
def test_address_as_the_gateway_published_it(data: dict[str, str], host: str, tls: bool) -> None:
    charm = make_requirer(None)
    relation = gateway_relation(remote_app_data=data)
    seen, _ = seen_after_update_status(charm, requirer_context(charm), state(relation))
    assert (seen["external_host"], seen["tls_enabled"], seen["is_ready"]) == (host, tls, True)


@pytest.mark.parametrize("event", ["relation_changed", "relation_broken"])
@pytest.mark.parametrize("leader", [True, False])
def test_ready_on_relation_events_for_the_leader(event: str, leader: bool) -> None:
    charm = make_requirer(None)
    ctx = requirer_context(charm)
    relation = gateway_relation()
    ctx.run(getattr(ctx.on, event)(relation), state(relation, leader=leader))
    ready = [
        e for e in ctx.emitted_events if isinstance(e, iir.IstioIngressRouteRequirerReadyEvent)
    ]
    assert [(e.relation.id, e.app and e.app.name) for e in ready] == (
        [(relation.id, "gateway")] if leader else []
    )
