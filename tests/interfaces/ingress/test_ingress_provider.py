"""IngressPerAppProvider under ops.testing: reading requests, publishing and wiping URLs.

Covers: requests() (one per relation whose app wrote a request, by relation id; valid
and invalid side by side; problems naming relation, app, field and value; units without
a host, with a bad host, with a bad ip); ``on.data_provided`` (traefik's arguments, only
for valid requests) and ``on.data_removed``; get_data() and is_ready(); publish_url
(leader only, invalid URLs not published), wipe_ingress_data and proxied_endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from ops import testing

from meshops import model
from meshops.interfaces import ingress

from .charms import (
    HOST,
    IP,
    TRAEFIK_APP,
    TRAEFIK_APP_OPTIONS,
    TRAEFIK_PROVIDER,
    TRAEFIK_UNIT,
    make_provider,
    provider_context,
    seen,
    state,
)


def requirer(
    app: str = "shop",
    app_data: dict[str, str] | None = None,
    units: dict[int, dict[str, str]] | None = None,
    **kwargs: Any,
) -> testing.Relation:
    """A relation to requirer ``app``; by default, what the traefik library writes."""
    if app_data is None:
        app_data = {**TRAEFIK_APP, "name": f'"{app}"'}
    return testing.Relation(
        "ingress",
        remote_app_name=app,
        remote_app_data=app_data,
        remote_units_data=units if units is not None else {0: dict(TRAEFIK_UNIT)},
        **kwargs,
    )


def status(*relations: testing.Relation, leader: bool = True) -> tuple[Any, ...]:
    """What the provider charm reads on update-status: (requests, is_ready, endpoints)."""
    return read_all(*relations, leader=leader)[:3]


def read_all(*relations: testing.Relation, leader: bool = True) -> tuple[Any, ...]:
    """(requests, is_ready, endpoints, get_data per relation, is_ready per relation)."""
    charm = make_provider()
    ctx = provider_context(charm)
    ctx.run(ctx.on.update_status(), state(*relations, leader=leader))
    return seen(charm)[-1][1:]


def request(relation: testing.Relation, **changes: Any) -> ingress.IngressRequest:
    fields: dict[str, Any] = {
        "relation_id": relation.id,
        "app": relation.remote_app_name,
        "name": relation.remote_app_name,
        "model": "prod",
        "port": 8080,
        "strip_prefix": False,
        "redirect_https": False,
        "scheme": "http",
        "hosts": (HOST,),
        "problems": (),
    }
    return ingress.IngressRequest(**{**fields, **changes})


# -- requests() ------------------------------------------------------------------------


def test_requests_reads_each_requirer_by_relation_id() -> None:
    shop = requirer("shop", id=7)
    blog = requirer(
        "blog",
        {**TRAEFIK_APP_OPTIONS, "name": '"blog"'},
        {0: {"host": '"blog-0"'}, 1: {"host": '"blog-1"', "ip": '"10.0.0.2"'}},
        id=3,
    )
    requests, ready, _ = status(shop, blog)
    assert requests == [
        request(
            blog,
            strip_prefix=True,
            redirect_https=True,
            scheme="https",
            hosts=("blog-0", "blog-1"),
        ),
        request(shop),
    ]
    assert ready is True


def test_requirers_that_wrote_nothing_are_left_out() -> None:
    silent = requirer("silent", {}, {0: {}})
    other_keys = requirer("other", {"healthcheck_params": '{"path": "/"}'})
    requests, ready, _ = status(silent, other_keys)
    assert requests == []
    assert ready is False


def test_a_bad_requirer_is_reported_beside_a_good_one() -> None:
    good = requirer("shop", id=1)
    bad = requirer(
        "bad",
        {"name": '"bad"', "model": '"prod"', "port": '"8080"', "scheme": '"ftp"'},
        id=2,
    )
    requests, ready, _ = status(good, bad)
    assert requests[0] == request(good)
    assert requests[1].problems == (
        model.Problem(
            "ingress:2", "port", "must be a JSON integer 1-65535, got a string '8080'", "bad"
        ),
        model.Problem("ingress:2", "scheme", "'ftp' must be http, https or h2c", "bad"),
    )
    assert not requests[1].ok
    assert ready is True


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("name", None, "is required"),
        ("name", '"Shop_1"', "'Shop_1' must be a DNS label"),
        ("name", "42", "must be a JSON string, got a number 42"),
        ("model", '"' + "m" * 64 + '"', "must be a DNS label"),
        ("port", None, "is required"),
        ("port", "0", "0 must be 1-65535"),
        ("port", "65536", "65536 must be 1-65535"),
        ("port", "true", "must be a JSON integer 1-65535, got a boolean True"),
        ("port", "8080.0", "must be a JSON integer 1-65535, got a number 8080.0"),
        ("port", "80 80", "is not valid JSON"),
        ("strip-prefix", '"yes"', "must be a JSON boolean, got a string 'yes'"),
        ("redirect-https", "1", "must be a JSON boolean, got a number 1"),
        ("scheme", "null", "must be a JSON string, got null"),
        ("scheme", '"HTTP"', "'HTTP' must be http, https or h2c"),
    ],
)
def test_each_bad_field_is_a_problem_naming_it(key: str, raw: str | None, message: str) -> None:
    app_data = dict(TRAEFIK_APP)
    if raw is None:
        del app_data[key]
    else:
        app_data[key] = raw
    relation = requirer("shop", app_data, id=4)
    (found,), ready, _ = status(relation)
    assert ready is False
    assert len(found.problems) == 1
    problem = found.problems[0]
    assert (problem.source, problem.field, problem.app) == ("ingress:4", key, "shop")
    assert message in problem.message


def test_units_that_have_not_written_a_host_are_left_out() -> None:
    relation = requirer(units={0: {}, 1: dict(TRAEFIK_UNIT), 2: {"ip": f'"{IP}"'}})
    (found,), _, _ = status(relation)
    assert found == request(relation)


def test_no_units_yet_is_a_valid_request_without_hosts() -> None:
    relation = requirer(units={})
    (found,), ready, _ = status(relation)
    assert found == request(relation, hosts=())
    assert ready is True


def test_a_unit_with_a_bad_host_is_left_out_when_another_is_good() -> None:
    relation = requirer(units={0: {"host": '"a b"'}, 1: {"host": '"shop-1"', "ip": '"nope"'}})
    (found,), _, _ = status(relation)
    assert found == request(relation, hosts=("shop-1",))


def test_units_with_only_bad_hosts_are_a_problem() -> None:
    relation = requirer(units={0: {"host": "42"}, 1: {"host": '""'}}, id=5)
    (found,), ready, _ = status(relation)
    assert [(p.field, p.message) for p in found.problems] == [
        ("units[shop/0].host", "must be a JSON string, got a number 42"),
        ("units[shop/1].host", "'' must be a host name or an IP address"),
    ]
    assert ready is False


def test_hosts_are_ordered_by_unit_number() -> None:
    units = {n: {"host": f'"shop-{n}"'} for n in (10, 2, 1)}
    (found,), _, _ = status(requirer(units=units))
    assert found.hosts == ("shop-1", "shop-2", "shop-10")


# -- events ------------------------------------------------------------------------------


def test_data_provided_carries_what_the_traefik_library_gives() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer(
        app_data=TRAEFIK_APP_OPTIONS,
        units={0: dict(TRAEFIK_UNIT), 1: {"host": '"shop-1"'}},
    )
    ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    assert seen(charm) == [
        (
            "provided",
            relation.id,
            "shop",
            "prod",
            [{"host": HOST, "ip": IP}, {"host": "shop-1", "ip": None}],
            True,
            True,
        )
    ]


@pytest.mark.parametrize("event", ["created", "joined", "departed"])
def test_data_provided_fires_on_every_relation_event(event: str) -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer()
    trigger = {
        "created": ctx.on.relation_created(relation),
        "joined": ctx.on.relation_joined(relation, remote_unit=0),
        "departed": ctx.on.relation_departed(relation, remote_unit=1, departing_unit=1),
    }[event]
    ctx.run(trigger, state(relation))
    assert [entry[0] for entry in seen(charm)] == ["provided"]


@pytest.mark.parametrize(
    "app_data", [{}, {**TRAEFIK_APP, "port": "-1"}, {**TRAEFIK_APP, "name": "{"}]
)
def test_no_data_provided_without_a_valid_request(app_data: dict[str, str]) -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer(app_data=app_data)
    ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relation))
    assert seen(charm) == []


def test_data_removed_fires_when_the_relation_is_broken() -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = requirer()
    ctx.run(ctx.on.relation_broken(relation), state(relation))
    assert seen(charm) == [("removed", relation.id)]


# -- get_data() and is_ready() ------------------------------------------------------------


def test_get_data_returns_the_traefik_shaped_data_or_raises() -> None:
    good = requirer("shop", id=1)
    bad = requirer("bad", {**TRAEFIK_APP, "port": "0"}, id=2)
    _, _, _, data, ready = read_all(good, bad)
    assert data[1] == ingress.IngressRequirerData(
        app=ingress.IngressRequirerAppData(model="prod", name="shop", port=8080),
        units=[ingress.IngressRequirerUnitData(host=HOST, ip=IP)],
    )
    assert isinstance(data[2], ingress.DataValidationError)
    assert "ingress:2 (bad): port: 0 must be 1-65535" in str(data[2])
    assert ready == {1: True, 2: False}


# -- publishing ------------------------------------------------------------------------


def publish(
    *relations: testing.Relation, leader: bool = True, config: dict[str, Any] | None = None
) -> testing.State:
    """Run config-changed: the provider charm publishes (or wipes) every URL."""
    charm = make_provider()
    ctx = provider_context(charm)
    return ctx.run(ctx.on.config_changed(), state(*relations, leader=leader, config=config or {}))


def test_leader_publishes_each_valid_requirer_its_url() -> None:
    shop = requirer("shop", id=1)
    bad = requirer("bad", {**TRAEFIK_APP, "port": "0"}, id=2)
    out = publish(shop, bad)
    assert out.get_relation(1).local_app_data == TRAEFIK_PROVIDER
    assert out.get_relation(2).local_app_data == {}


def test_other_units_do_not_publish() -> None:
    out = publish(requirer("shop", id=1), leader=False)
    assert out.get_relation(1).local_app_data == {}


def test_an_invalid_url_is_not_published_and_withdraws_the_old_one() -> None:
    relation = requirer("shop", id=1, local_app_data=dict(TRAEFIK_PROVIDER))
    out = publish(relation, config={"base-url": "ftp://gw"})
    assert out.get_relation(1).local_app_data == {}


def test_wipe_removes_the_url() -> None:
    relation = requirer("shop", id=1, local_app_data=dict(TRAEFIK_PROVIDER))
    out = publish(relation, config={"wipe": True})
    assert out.get_relation(1).local_app_data == {}
    out = publish(requirer("shop", id=1), config={"wipe": True})  # nothing to wipe: no error
    assert out.get_relation(1).local_app_data == {}


def test_proxied_endpoints_lists_the_published_urls() -> None:
    shop = requirer("shop", id=1, local_app_data=dict(TRAEFIK_PROVIDER))
    blog = requirer("blog", id=2)
    _, _, endpoints = status(shop, blog)
    assert endpoints == {"shop": {"url": "http://gw.example.com/prod-shop"}}
    _, _, endpoints = status(shop, blog, leader=False)
    assert endpoints == {}
