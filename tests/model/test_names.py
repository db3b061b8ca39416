"""Tests for meshops.model.names: object names and label values from arbitrary strings."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshops.model import dns_label, label_value, principal, stable_hash, valid_label_value

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def test_valid_names_are_kept_as_they_are() -> None:
    assert dns_label("istio-beacon-k8s", "waypoint") == "istio-beacon-k8s-waypoint"
    assert label_value("istio-beacon-k8s", "my-model") == "istio-beacon-k8s.my-model"


def test_principal() -> None:
    assert principal("cos", "grafana") == "cluster.local/ns/cos/sa/grafana"


def test_stable_hash_is_stable() -> None:
    assert stable_hash("a", "b") == "3554d2b8"
    assert stable_hash("a", "b") != stable_hash("ab")
    assert stable_hash("a", "b") != stable_hash("a\x1fb")


@given(st.lists(st.text(min_size=0, max_size=120), min_size=1, max_size=4))
def test_dns_label_is_always_a_valid_label(parts: list[str]) -> None:
    name = dns_label(*parts)
    assert len(name) <= 63
    assert LABEL.match(name), name


@given(st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=3))
def test_label_value_is_always_valid(parts: list[str]) -> None:
    value = label_value(*parts)
    assert len(value) <= 63
    assert LABEL_VALUE.match(value), value
    assert valid_label_value(value)


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_different_inputs_give_different_names(a: str, b: str) -> None:
    if a != b:
        assert dns_label(a, "x") != dns_label(b, "x") or dns_label(a, "x") == f"{a}-x"


def test_dns_label_refuses_nonsense_arguments() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        dns_label()
