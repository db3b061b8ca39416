"""interfaces.dns_record: the records asked for, byte for byte as bind's library writes them."""

from __future__ import annotations

import json

import pytest

from meshops.interfaces.dns_record import a_record, entries_databag


def test_an_a_record_per_hostname_with_a_stable_uuid() -> None:
    first, again = (
        a_record("shop.example.com", "203.0.113.7"),
        a_record("shop.example.com", "203.0.113.7"),
    )
    assert first == again
    assert first != a_record("shop.example.com", "203.0.113.8")
    assert entries_databag([first]) == {
        "dns_entries": json.dumps(
            [
                {
                    "domain": "shop.example.com",
                    "host_label": "@",
                    "ttl": 600,
                    "record_class": "IN",
                    "record_type": "A",
                    "record_data": "203.0.113.7",
                    "uuid": first.uuid,
                }
            ]
        )
    }


def test_an_ipv6_address_gets_an_aaaa_record() -> None:
    assert a_record("shop.example.com", "2001:db8::7").record_type == "AAAA"


def test_a_name_is_no_address() -> None:
    with pytest.raises(ValueError, match=r"'lb\.example\.net' is not an IP address: no A record"):
        a_record("shop.example.com", "lb.example.net")
