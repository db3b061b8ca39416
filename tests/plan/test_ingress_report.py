"""meshops.plan.ingress_report: an ingress charm's settings, address, certificate and words.

Pure tables: the options read into a GatewayConfig (a bad one named), the address of a
LoadBalancer Service in every shape Kubernetes gives, the certificate a host gets, what
each requirer is told (served, not served, refused, no URL under a wildcard) and the
status notes.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.model.ingress import GatewayConfig
from meshops.plan.ingress import IngressPlan
from meshops.plan.ingress_report import (
    CertificateSubject,
    WebRequirer,
    certificate_subject,
    gateway_config,
    load_balancer_address,
    notes,
    what_to_tell,
)


def test_options_become_the_gateway() -> None:
    options = {
        "external-hostname": " shop.example.com ",
        "http-port": 8000,
        "https-port": 8443,
        "log-level": "debug",
    }
    assert gateway_config("edge", "m", options) == GatewayConfig(
        name="edge",
        namespace="m",
        hostname="shop.example.com",
        http_port=8000,
        https_port=8443,
        log_level="debug",
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"http-port": "80"}, "http-port: '80' must be an integer"),
        ({"https-port": True}, "https-port: True must be an integer"),
    ],
)
def test_a_bad_option_is_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gateway_config("edge", "m", options)


@pytest.mark.parametrize(
    ("service", "address"),
    [
        (None, None),
        ({}, None),
        ({"status": {}}, None),
        ({"status": {"loadBalancer": {}}}, None),
        ({"status": {"loadBalancer": {"ingress": []}}}, None),
        ({"status": {"loadBalancer": {"ingress": ["x"]}}}, None),
        ({"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}]}}}, "10.0.0.9"),
        (
            {
                "status": {
                    "loadBalancer": {"ingress": [{"hostname": "lb.example", "ip": "1.2.3.4"}]}
                }
            },
            "lb.example",
        ),
        ({"status": "weird"}, None),
    ],
)
def test_the_load_balancer_address(service: dict[str, Any] | None, address: str | None) -> None:
    assert load_balancer_address(service) == address


def test_the_certificate_a_host_gets() -> None:
    assert certificate_subject("") is None
    assert certificate_subject("10.0.0.9") == CertificateSubject("10.0.0.9", ip="10.0.0.9")
    assert certificate_subject("shop.example.com") == CertificateSubject(
        "shop.example.com", dns="shop.example.com"
    )
    long = "a" * 60 + ".example.com"
    assert certificate_subject(long) == CertificateSubject(None, dns=long)
    with pytest.raises(ValueError, match="external-hostname"):
        certificate_subject("-bad-.example.com")


def plan(served: dict[str, tuple[str, ...]]) -> IngressPlan:
    return IngressPlan([], [], [], served, set(), ())


def test_what_each_requirer_is_told() -> None:
    gateway = GatewayConfig(name="edge", namespace="m")
    web = [
        WebRequirer("ingress:1", "shop", "web"),
        WebRequirer("ingress:2", "shop", "blog"),
        WebRequirer("ingress:3", "shop", "bad"),
    ]
    told = what_to_tell(
        gateway,
        plan({"ingress:1": ("web",), "ingress:2": (), "route:4": ("r",), "route:5": ()}),
        "10.0.0.9",
        {"ingress:3", "route:6"},
        web,
        ["route:4", "route:5", "route:6"],
    )
    assert told.urls == {"ingress:1": "http://10.0.0.9/shop-web", "ingress:2": None}
    assert told.hosts == {"route:4": True, "route:5": False, "route:6": True}
    assert told.untold == ()


def test_under_a_wildcard_hostname_no_url_is_told() -> None:
    gateway = GatewayConfig(name="edge", namespace="m", hostname="*.example.com")
    web = [WebRequirer("ingress:1", "shop", "web")]
    told = what_to_tell(gateway, plan({"ingress:1": ("web",)}), "*.example.com", set(), web, [])
    assert told.urls == {"ingress:1": None}
    assert told.untold == ("web",)
    assert notes(plan({"ingress:1": ("web",)}), [], set(), told.untold) == [
        "1 routes served for 1 requirers",
        "no URL for web: external-hostname is a wildcard",
    ]
