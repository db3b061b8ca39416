"""The ingress v2 wire, byte for byte, and the published schemas.

Covers: the exact databag strings our requirer and provider write, compared with what
traefik-k8s's ``charms.traefik_k8s.v2.ingress`` writes for the same inputs (current
releases); our readers on what every release of that library wrote (unencoded strings,
every field with ``false``/``null``, no ``ip``, healthcheck keys, URLs normalised or
not); and the databags we write validating against the published requirer and provider
schemas, JSON-encoded contents included (with negative controls showing the check bites).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest
from ops import testing

from meshops.interfaces import ingress

from .charms import (
    HOST,
    IP,
    TRAEFIK_APP,
    TRAEFIK_APP_EVERY_FIELD,
    TRAEFIK_APP_HEALTHCHECK,
    TRAEFIK_APP_NULLS,
    TRAEFIK_APP_OPTIONS,
    TRAEFIK_APP_RAW,
    TRAEFIK_PROVIDER,
    TRAEFIK_PROVIDER_BARE_HOST,
    TRAEFIK_PROVIDER_BARE_HOST_PYDANTIC1,
    TRAEFIK_UNIT,
    TRAEFIK_UNIT_NO_IP,
    TRAEFIK_UNIT_RAW,
    check_schema,
    make_provider,
    make_requirer,
    provider_context,
    requirer_context,
    seen,
    state,
    unit_keys,
)


def requirer_writes(**kwargs: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The app and unit databags our requirer writes on relation-joined (as leader)."""
    charm = make_requirer(**kwargs)
    ctx = requirer_context(charm)
    relation = testing.Relation("ingress", remote_app_name="gateway")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relation))
    written = out.get_relation(relation.id)
    return dict(written.local_app_data), unit_keys(written.local_unit_data)


def provider_writes(base_url: str) -> dict[str, str]:
    """What our provider writes for ``publish_url(relation, f"{base_url}/prod-shop")``."""
    charm = make_provider()
    ctx = provider_context(charm)
    relation = testing.Relation("ingress", remote_app_name="shop", remote_app_data=TRAEFIK_APP)
    out = ctx.run(ctx.on.config_changed(), state(relation, config={"base-url": base_url}))
    return dict(out.get_relation(relation.id).local_app_data)


# -- what we write is what the traefik library writes -----------------------------------


def test_requirer_writes_the_traefik_bytes_for_the_defaults() -> None:
    app, unit = requirer_writes(port=8080, host=HOST, ip=IP)
    assert app == TRAEFIK_APP
    assert unit == TRAEFIK_UNIT


def test_requirer_writes_the_traefik_bytes_for_every_option() -> None:
    app, _ = requirer_writes(
        port=8080, host=HOST, ip=IP, strip_prefix=True, redirect_https=True, scheme="https"
    )
    assert app == TRAEFIK_APP_OPTIONS


def test_requirer_writes_h2c_as_a_json_string() -> None:
    app, _ = requirer_writes(port=8080, host=HOST, ip=IP, scheme="h2c")
    assert app == {**TRAEFIK_APP, "scheme": '"h2c"'}


def test_requirer_replaces_what_an_older_release_wrote_as_the_current_one_would() -> None:
    # The traefik library clears the app databag before writing: defaults disappear.
    charm = make_requirer(port=8080, host=HOST, ip=IP)
    ctx = requirer_context(charm)
    relation = testing.Relation(
        "ingress", remote_app_name="gateway", local_app_data=TRAEFIK_APP_EVERY_FIELD
    )
    out = ctx.run(ctx.on.relation_changed(relation), state(relation))
    assert out.get_relation(relation.id).local_app_data == TRAEFIK_APP


def test_provider_writes_the_traefik_bytes() -> None:
    assert provider_writes("http://gw.example.com") == TRAEFIK_PROVIDER


def test_provider_normalises_a_url_as_the_traefik_library_does() -> None:
    assert provider_writes("HTTP://GW.example.com:80") == TRAEFIK_PROVIDER
    databag = ingress.IngressProviderAppData.model_validate(
        {"ingress": {"url": "http://10.0.0.1"}}
    ).databag()
    assert databag == TRAEFIK_PROVIDER_BARE_HOST


def test_models_write_the_traefik_bytes() -> None:
    app = ingress.IngressRequirerAppData.model_validate(
        {
            "model": "prod",
            "name": "shop",
            "port": 8080,
            "strip-prefix": True,
            "redirect-https": True,
            "scheme": "https",
        }
    )
    assert app.databag() == TRAEFIK_APP_OPTIONS
    assert list(app.databag()) == list(TRAEFIK_APP_OPTIONS)
    assert ingress.IngressRequirerUnitData(host=HOST, ip=IP).databag() == TRAEFIK_UNIT
    assert ingress.IngressRequirerUnitData(host=HOST).databag() == TRAEFIK_UNIT_NO_IP


# -- what the traefik library wrote, we read --------------------------------------------

SHOP = ingress.IngressRequest(
    relation_id=4,
    app="shop",
    name="shop",
    model="prod",
    port=8080,
    strip_prefix=False,
    redirect_https=False,
    scheme="http",
    hosts=(HOST,),
    problems=(),
)


@pytest.mark.parametrize(
    ("app_databag", "unit_databag", "expected"),
    [
        pytest.param(TRAEFIK_APP, TRAEFIK_UNIT, SHOP, id="current"),
        pytest.param(
            TRAEFIK_APP_OPTIONS,
            TRAEFIK_UNIT,
            dataclasses.replace(SHOP, strip_prefix=True, redirect_https=True, scheme="https"),
            id="current-options",
        ),
        pytest.param(TRAEFIK_APP_HEALTHCHECK, TRAEFIK_UNIT, SHOP, id="healthcheck-ignored"),
        pytest.param(TRAEFIK_APP_EVERY_FIELD, TRAEFIK_UNIT_NO_IP, SHOP, id="every-field"),
        pytest.param(TRAEFIK_APP_NULLS, TRAEFIK_UNIT_NO_IP, SHOP, id="nulls"),
        pytest.param(
            TRAEFIK_APP_RAW,
            TRAEFIK_UNIT_RAW,
            dataclasses.replace(SHOP, strip_prefix=True),
            id="unencoded-strings",
        ),
    ],
)
def test_reads_every_release_of_the_traefik_requirer(
    app_databag: dict[str, str], unit_databag: dict[str, str], expected: ingress.IngressRequest
) -> None:
    juju = {"ingress-address": "10.1.2.3", "private-address": "10.1.2.3"}
    request = ingress.read_request(
        app_databag, {"shop/0": {**juju, **unit_databag}}, relation_id=4, app="shop"
    )
    assert request == expected


@pytest.mark.parametrize(
    ("databag", "url"),
    [
        (TRAEFIK_PROVIDER, "http://gw.example.com/prod-shop"),
        (TRAEFIK_PROVIDER_BARE_HOST, "http://10.0.0.1/"),
        (TRAEFIK_PROVIDER_BARE_HOST_PYDANTIC1, "http://10.0.0.1/"),
        ({"ingress": '{"url": "https://gw:8443/prod-shop"}'}, "https://gw:8443/prod-shop"),
        ({}, None),
        ({"ingress": "null"}, None),
    ],
)
def test_requirer_reads_what_the_traefik_provider_wrote(
    databag: dict[str, str], url: str | None
) -> None:
    charm = make_requirer()
    ctx = requirer_context(charm)
    relation = testing.Relation("ingress", remote_app_name="gateway", remote_app_data=databag)
    ctx.run(ctx.on.update_status(), state(relation))
    assert seen(charm)[-1] == ("status", url, url is not None)


# -- the published schemas ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": 8080, "host": HOST, "ip": IP},
        {"port": 1, "host": HOST},
        {"port": 65535, "host": "10.0.0.7", "strip_prefix": True, "scheme": "h2c"},
        {"port": 443, "host": HOST, "ip": "fd00::1", "redirect_https": True, "scheme": "https"},
    ],
)
def test_requirer_databags_match_the_published_schema(kwargs: dict[str, Any]) -> None:
    app, unit = requirer_writes(**kwargs)
    check_schema("requirer", {"app": app, "unit": unit})


@pytest.mark.parametrize(
    "url", ["http://gw.example.com/prod-shop", "https://10.0.0.1:8443", "http://[fd00::1]/x"]
)
def test_provider_databag_matches_the_published_schema(url: str) -> None:
    charm = make_provider()
    ctx = provider_context(charm)
    relation = testing.Relation("ingress", remote_app_name="shop", remote_app_data=TRAEFIK_APP)
    out = ctx.run(ctx.on.config_changed(), state(relation, config={"base-url": url}))
    written = out.get_relation(relation.id).local_app_data
    assert json.loads(written["ingress"])["url"].startswith(url.rstrip("/"))
    check_schema("provider", {"app": written})


@pytest.mark.parametrize(
    ("side", "databags"),
    [
        pytest.param(
            "requirer",
            {"app": TRAEFIK_APP_RAW, "unit": TRAEFIK_UNIT},
            id="unencoded-name",
        ),
        pytest.param(
            "requirer",
            {"app": {**TRAEFIK_APP, "port": '"8080"'}, "unit": TRAEFIK_UNIT},
            id="port-as-string",
        ),
        pytest.param(
            "requirer",
            {"app": {"name": '"shop"', "port": "80"}, "unit": TRAEFIK_UNIT},
            id="no-model",
        ),
        pytest.param("requirer", {"app": TRAEFIK_APP, "unit": {"ip": f'"{IP}"'}}, id="no-host"),
        pytest.param("provider", {"app": {"ingress": '{"url": ""}'}}, id="empty-url"),
        pytest.param("provider", {"app": {"ingress": '{"url": "gw/x"}'}}, id="relative-url"),
    ],
)
def test_the_schema_check_rejects_bad_databags(
    side: str, databags: dict[str, dict[str, str]]
) -> None:
    with pytest.raises((jsonschema.ValidationError, json.JSONDecodeError)):
        check_schema(side, databags)
