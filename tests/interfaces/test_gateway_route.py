"""interfaces.gateway_route: reading requirers (hostile data included), the provider's databag.

The databags as the ecosystem's gateway_route v1 library saves and loads them (each
value JSON-encoded); reading never raises and names the field and the value.
"""

from __future__ import annotations

import json

import pytest

from meshops.interfaces.gateway_route import (
    GatewayRouteProviderAppData,
    HttpsMode,
    read_request,
)


def read(databag: dict[str, str]):
    return read_request(databag, relation_id=4, app="cfg", source="gateway-route:4")


def test_hostnames_are_read_in_order_without_repeats_and_in_lower_case() -> None:
    request = read(
        {
            "hostname": json.dumps("Shop.Example.com"),
            "additional_hostnames": json.dumps(["www.shop.example.com", "shop.example.com"]),
        }
    )
    assert request.ok
    assert request.hostnames == ("shop.example.com", "www.shop.example.com")


def test_additional_hostnames_alone_are_enough() -> None:
    request = read({"hostname": "null", "additional_hostnames": json.dumps(["a.example.com"])})
    assert request.hostnames == ("a.example.com",)


@pytest.mark.parametrize(
    ("databag", "field", "message"),
    [
        ({"hostname": "{"}, "hostname", "not valid JSON: '{'"),
        ({"hostname": "5"}, "hostname", "must be a JSON string or null, got 5"),
        (
            {"hostname": json.dumps("*.example.com")},
            "hostname",
            "'*.example.com' must be an RFC "
            "1123 hostname without wildcards (letters, digits, '-' and '.')",
        ),
        (
            {"hostname": json.dumps("a.com"), "additional_hostnames": "{}"},
            "additional_hostnames",
            "must be a JSON list, got {}",
        ),
        (
            {"additional_hostnames": json.dumps([1])},
            "additional_hostnames[0]",
            "must be a JSON string, got 1",
        ),
        (
            {"additional_hostnames": json.dumps([f"h{i}.example.com" for i in range(17)])},
            "additional_hostnames",
            "17 hostnames, at most 16",
        ),
        ({"hostname": json.dumps("x" * 70_000)}, "hostname", "holds 70002 characters, over 65536"),
        (
            {"hostname": "null"},
            "hostname",
            "no hostname given: serving a gateway-route requirer "
            "without one (by the gateway's address) is not built; set the requirer's hostname",
        ),
        ({"hostname": "[" * 5000 + "]" * 5000}, "hostname", None),
    ],
)
def test_bad_data_is_a_problem_naming_the_field(
    databag: dict[str, str], field: str, message: str | None
) -> None:
    request = read(databag)
    assert not request.ok and request.hostnames == ()
    [problem] = request.problems
    assert (problem.source, problem.field, problem.app) == ("gateway-route:4", field, "cfg")
    if message is not None:
        assert problem.message == message


def test_the_provider_databag_is_what_the_library_saves() -> None:
    data = GatewayRouteProviderAppData(
        gateway_name="gw", gateway_model="edge", https_mode=HttpsMode.ENFORCED, hsts_max_age=60
    )
    assert data.databag() == {
        "gateway_address": "null",
        "gateway_model": '"edge"',
        "gateway_name": '"gw"',
        "hsts_max_age": "60",
        "https_mode": '"enforced"',
    }
