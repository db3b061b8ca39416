"""IngressPerAppRequirer under ops.testing: publishing the request, learning the URL.

Covers: what the leader and the other units write, and on which events (relation
created/joined/changed, leader-elected, upgrade-charm; nothing without a port); manual
provide_ingress_requirements; host and ip defaults (FQDN, bind address); a callable
scheme; arguments refused with a message quoting them; ``on.ready`` once per new URL
(stored across hooks), ``on.revoked`` on broken and when the URL is withdrawn; ``url``
and is_ready() on valid, missing and malformed provider data, never raising.
"""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

import ops
import pytest
from ops import testing

from meshops.interfaces import ingress

from .charms import (
    HOST,
    IP,
    TRAEFIK_APP,
    TRAEFIK_PROVIDER,
    TRAEFIK_UNIT,
    make_requirer,
    requirer_context,
    seen,
    state,
    unit_keys,
)

URL = "http://gw.example.com/prod-shop"


def gateway(**kwargs: Any) -> testing.Relation:
    return testing.Relation("ingress", remote_app_name="gateway", **kwargs)


# -- publishing ------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["created", "joined", "changed"])
def test_leader_publishes_app_and_unit_data_on_relation_events(event: str) -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway()
    trigger = {
        "created": ctx.on.relation_created(relation),
        "joined": ctx.on.relation_joined(relation, remote_unit=0),
        "changed": ctx.on.relation_changed(relation, remote_unit=0),
    }[event]
    out = ctx.run(trigger, state(relation)).get_relation(relation.id)
    assert out.local_app_data == TRAEFIK_APP
    assert unit_keys(out.local_unit_data) == TRAEFIK_UNIT


def test_other_units_publish_only_their_own_data() -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway()
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation, leader=False))
    written = out.get_relation(relation.id)
    assert written.local_app_data == {}
    assert unit_keys(written.local_unit_data) == TRAEFIK_UNIT


@pytest.mark.parametrize("leader_event", ["leader_elected", "upgrade_charm"])
def test_leader_election_and_upgrade_republish(leader_event: str) -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway(local_app_data={"port": "80", "stale": '"x"'})
    out = ctx.run(getattr(ctx.on, leader_event)(), state(relation))
    assert out.get_relation(relation.id).local_app_data == TRAEFIK_APP


def test_without_a_port_nothing_is_published_until_asked() -> None:
    charm = make_requirer()
    ctx = requirer_context(charm)
    relation = gateway()
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    written = out.get_relation(relation.id)
    assert written.local_app_data == {}
    assert unit_keys(written.local_unit_data) == {}

    out = ctx.run(ctx.on.config_changed(), state(relation, config={"port": 9000}))
    written = out.get_relation(relation.id)
    assert written.local_app_data == {**TRAEFIK_APP, "port": "9000"}
    assert unit_keys(written.local_unit_data) == TRAEFIK_UNIT


def test_without_a_relation_publishing_is_a_no_op() -> None:
    charm = make_requirer()
    ctx = requirer_context(charm)
    out = ctx.run(ctx.on.config_changed(), state(config={"port": 9000}))
    assert out.relations == frozenset()


def test_host_defaults_to_the_fqdn_and_ip_to_the_bind_address() -> None:
    charm = make_requirer(port=8080)
    ctx = requirer_context(charm)
    relation = gateway()
    address = "10.9.8.7"
    network = testing.Network(
        "ingress",
        bind_addresses=[testing.BindAddress([testing.Address(address)])],
    )
    out = ctx.run(ctx.on.relation_joined(relation), state(relation, networks=[network]))
    unit = unit_keys(out.get_relation(relation.id).local_unit_data)
    assert unit == {"host": f'"{socket.getfqdn()}"', "ip": f'"{address}"'}


def test_a_callable_scheme_is_asked_when_publishing() -> None:
    calls: list[str] = []

    def scheme() -> str:
        calls.append("called")
        return "https"

    charm = make_requirer(port=8443, host=HOST, ip=IP, scheme=scheme)
    ctx = requirer_context(charm)
    relation = gateway()
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    assert out.get_relation(relation.id).local_app_data == {
        **TRAEFIK_APP,
        "port": "8443",
        "scheme": '"https"',
    }
    assert calls


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"port": 0}, "0"),
        ({"port": 70000}, "70000"),
        ({"port": "8080"}, "'8080'"),
        ({"port": True}, "True"),
        ({"port": 8080, "scheme": "ftp"}, "'ftp'"),
        ({"port": 8080, "host": "not a host"}, "'not a host'"),
        ({"port": 8080, "ip": "10.0.0.300"}, "'10.0.0.300'"),
    ],
)
def test_invalid_arguments_are_refused_quoting_the_value(
    kwargs: dict[str, Any], quoted: str
) -> None:
    charm = make_requirer(**kwargs)
    ctx = requirer_context(charm)
    with pytest.raises(testing.errors.UncaughtCharmError) as raised:
        ctx.run(ctx.on.update_status(), state())
    cause = raised.value.__cause__
    assert isinstance(cause, ingress.DataValidationError)
    assert quoted in str(cause)


# -- learning the URL ---------------------------------------------------------------------


def changed(
    ctx: testing.Context[ops.CharmBase], before: testing.State, relation_id: int, **data: Any
) -> testing.State:
    """Run relation-changed on ``before`` with the relation's fields changed to ``data``."""
    relation = dataclasses.replace(before.get_relation(relation_id), **data)
    return ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0),
        dataclasses.replace(before, relations=[relation]),
    )


def test_ready_fires_with_the_url_once_per_new_url() -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway(remote_app_data=TRAEFIK_PROVIDER)
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    assert seen(charm) == [("ready", URL)]

    # The same URL in the next hook: no second event (the URL seen is stored).
    out = changed(ctx, out, relation.id)
    assert seen(charm) == [("ready", URL)]

    changed(ctx, out, relation.id, remote_app_data={"ingress": '{"url": "https://gw/x"}'})
    assert seen(charm) == [("ready", URL), ("ready", "https://gw/x")]


def test_revoked_fires_when_the_url_is_withdrawn() -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway(remote_app_data=TRAEFIK_PROVIDER)
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    changed(ctx, out, relation.id, remote_app_data={})
    assert seen(charm) == [("ready", URL), ("revoked", None)]


def test_revoked_fires_when_the_relation_is_broken() -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway(remote_app_data=TRAEFIK_PROVIDER)
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    # While the relation is being broken, there is no URL any more.
    assert seen(charm) == [("ready", URL), ("revoked", None)]


def test_no_event_before_the_provider_publishes() -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway()
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    ctx.run(ctx.on.update_status(), out)
    assert seen(charm) == [("status", None, False)]


def test_url_and_is_ready_read_the_provider_data() -> None:
    charm = make_requirer()
    ctx = requirer_context(charm)
    relation = gateway(remote_app_data=TRAEFIK_PROVIDER)
    ctx.run(ctx.on.update_status(), state(relation))
    assert seen(charm) == [("status", URL, True)]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        '"http://gw/x"',
        '{"url": 42}',
        '{"url": "ftp://gw/x"}',
        '{"url": "gw/x"}',
        '{"address": "http://gw/x"}',
        "[" * 5000,
    ],
)
def test_malformed_provider_data_reads_as_no_url(raw: str) -> None:
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = gateway(remote_app_data={"ingress": raw})
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    ctx.run(ctx.on.update_status(), out)
    assert seen(charm) == [("status", None, False)]
