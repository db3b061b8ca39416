"""What the charm writes on each relation, judged by the other side's published schemas.

``gateway`` (ingress v2) against charm-relation-interfaces' schemas; ``dns-record``
against the bind charm's published ``dns_record`` v0 schemas; ``gateway-route`` against
the schemas of the ecosystem's ``gateway_route`` v1 library models (it has no published
schema; ``tests/interfaces/schemas/README.md`` says where they come from); the TLS
requests and answers go through the ecosystem's ``charmlibs-interfaces-tls-certificates``
on both sides (in test_charm.py). Each check has a negative control showing it bites.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gwapi_testing import ADDRESS, PLAIN, ingress, route_requirer, served
from ops import testing

SCHEMAS = Path(__file__).resolve().parents[4] / "tests" / "interfaces" / "schemas"
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("ipvanyaddress", raises=ValueError)
def _is_ip(value: object) -> bool:
    return not isinstance(value, str) or bool(ipaddress.ip_address(value))


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or "://" in value


@functools.cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def decoded(databag: Mapping[str, str]) -> dict[str, Any]:
    """An application databag with each value decoded from JSON, as the libraries load it."""
    return {key: json.loads(value) for key, value in databag.items()}


def check(name: str, instance: Any) -> None:
    jsonschema.Draft202012Validator(schema(name), format_checker=_FORMATS).validate(instance)


def test_the_gateway_url_matches_the_ingress_v2_provider_schema(ctx: Any, cluster: Any) -> None:
    rel = ingress("web")
    out = served(cluster, rel)
    out = ctx.run(ctx.on.update_status(), out)
    bag = dict(out.get_relation(rel.id).local_app_data)
    provider = schema("ingress-v2/provider")
    jsonschema.Draft202012Validator(provider).validate({"app": bag})
    url_schema = {
        "$defs": provider["$defs"],
        **provider["$defs"]["MyProviderData"]["properties"]["ingress"]["contentSchema"],
    }
    jsonschema.Draft202012Validator(url_schema, format_checker=_FORMATS).validate(
        json.loads(bag["ingress"])
    )
    with pytest.raises(jsonschema.ValidationError):  # the check bites
        jsonschema.Draft202012Validator(provider).validate({"app": {}})


def test_gateway_route_databags_match_the_librarys_models(ctx: Any, cluster: Any) -> None:
    rel = route_requirer("blog", "blog.example.com", "www.blog.example.com")
    check("gateway-route-v1/requirer", decoded(rel.remote_app_data))
    out = served(cluster, rel)
    out = ctx.run(ctx.on.update_status(), out)
    bag = dict(out.get_relation(rel.id).local_app_data)
    provided = decoded(bag)
    check("gateway-route-v1/provider", provided)
    assert provided == {
        "gateway_name": "gateway-api-integrator",
        "gateway_model": "edge",
        "https_mode": "disabled",
        "gateway_address": ADDRESS,
        "hsts_max_age": None,
    }
    with pytest.raises(jsonschema.ValidationError):  # the check bites
        check("gateway-route-v1/provider", {**provided, "https_mode": "sometimes"})
    with pytest.raises(jsonschema.ValidationError):
        check("gateway-route-v1/requirer", {"additional_hostnames": "blog.example.com"})


def test_dns_record_requests_match_the_published_schema(ctx: Any, cluster: Any) -> None:
    dns = testing.Relation("dns-record", remote_app_name="bind")
    config = {**PLAIN, "external-hostname": "apps.example.com"}
    out = served(cluster, route_requirer("blog", "blog.example.com"), dns, config=config)
    out = ctx.run(ctx.on.update_status(), out)
    bag = dict(out.get_relation(dns.id).local_app_data)
    check("dns_record-v0/requirer", {"app": decoded(bag)})
    [first, second] = json.loads(bag["dns_entries"])
    # byte for byte as the bind library encodes its entries (json.dumps, its field order)
    assert bag["dns_entries"] == json.dumps([first, second])
    assert list(first) == [
        "domain",
        "host_label",
        "ttl",
        "record_class",
        "record_type",
        "record_data",
        "uuid",
    ]
    # the provider's answer, as bind's library writes it, is read
    answer = {"dns_entries": json.dumps([{"uuid": first["uuid"], "status": "approved"}])}
    check("dns_record-v0/provider", {"app": decoded(answer)})
    with pytest.raises(jsonschema.ValidationError):  # the check bites
        check("dns_record-v0/requirer", {"app": {"dns_entries": [{**first, "record_data": "x"}]}})
