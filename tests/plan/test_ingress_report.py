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
from meshops.model.problems import Problem
from meshops.plan.ingress import Conflict, IngressPlan
from meshops.plan.ingress_report import (
    SHOWN,
    CertificateSubject,
    WebRequirer,
    certificate_subject,
    gateway_config,
    load_balancer_address,
    notes,
    shown,
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


def test_options_left_out_are_the_charms_defaults() -> None:
    assert gateway_config("edge", "m", {}) == GatewayConfig(
        name="edge", namespace="m", hostname=None, http_port=80, https_port=443, log_level="info"
    )
    assert gateway_config("edge", "m", {"external-hostname": "  "}).hostname is None


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
        ({"status": {"loadBalancer": {"ingress": [{"hostname": "", "ip": ""}]}}}, None),
        ({"status": {"loadBalancer": {"ingress": [{}]}}}, None),
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
    # A common name holds at most 64 characters.
    at_most = "a" * 52 + ".example.com"
    assert certificate_subject(at_most) == CertificateSubject(at_most, dns=at_most)
    assert certificate_subject("a" + at_most) == CertificateSubject(None, dns="a" + at_most)
    with pytest.raises(ValueError, match=r"^external-hostname: "):
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


def test_a_refused_requirer_does_not_keep_the_next_from_being_told() -> None:
    gateway = GatewayConfig(name="edge", namespace="m")
    web = [WebRequirer("ingress:1", "shop", "bad"), WebRequirer("ingress:2", "shop", "web")]
    told = what_to_tell(gateway, plan({"ingress:2": ("web",)}), "10.0.0.9", {"ingress:1"}, web, [])
    assert told.urls == {"ingress:2": "http://10.0.0.9/shop-web"}


def test_the_notes_say_what_was_served_refused_and_in_conflict() -> None:
    conflicts = [
        Conflict(f"ingress:{i}", f"app{i}", "r", "/x", "ingress:9", "held") for i in range(1, 5)
    ]
    served = {"ingress:9": ("r", "s"), "ingress:8": ("t",), "ingress:1": ()}
    ingress_plan = IngressPlan([], [], conflicts, served, set(), ())
    misplaced = [Problem("route:5", "model", "app x asked for namespace 'y'", app="x")]
    refused = {"route:5", "route:7", "route:6"}
    assert notes(ingress_plan, misplaced, refused, ()) == [
        "3 routes served for 2 requirers",
        "conflicting routes refused: app1 'r' vs held, app2 'r' vs held, app3 'r' vs held...",
        "app x asked for namespace 'y'",
        "refused input from route:6, route:7 (see juju debug-log)",
    ]


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b", "c"], "a, b, c"),
        (["a", "b", "c", "d"], "a, b, c..."),
    ],
)
def test_a_list_is_shown_up_to_three_items(items: list[str], text: str) -> None:
    assert SHOWN == 3
    assert shown(items) == text
