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


def test_a_label_of_exactly_the_maximum_length_is_kept() -> None:
    assert dns_label("a" * 63) == "a" * 63
    assert dns_label("a" * 20, max_length=20) == "a" * 20


def test_a_label_one_past_the_maximum_keeps_a_readable_prefix_and_a_hash() -> None:
    name = "a" * 64
    assert dns_label(name) == f"{'a' * 54}-{stable_hash(name)}"
    assert len(dns_label(name)) == 63
    assert dns_label("a" * 21, max_length=20) == f"{'a' * 11}-{stable_hash('a' * 21)}"


def test_cleaning_lowercases_replaces_and_collapses_and_hashes_the_original() -> None:
    assert dns_label("Web", "App") == f"web-app-{stable_hash('Web', 'App')}"
    assert dns_label("my_app", "x") == f"my-app-x-{stable_hash('my_app', 'x')}"
    assert dns_label("-a--b-") == f"a-b-{stable_hash('-a--b-')}"


def test_a_shortened_prefix_never_ends_in_a_dash() -> None:
    # The cut after 54 characters falls on the dash.
    parts = ("a" * 53, "b" * 20)
    assert dns_label(*parts) == f"{'a' * 53}-{stable_hash(*parts)}"


def test_nothing_readable_left_gives_the_hash_alone() -> None:
    assert dns_label("---") == f"h{stable_hash('---')}"
    assert dns_label("日本") == f"h{stable_hash('日本')}"


def test_max_length_of_ten_is_the_smallest_taken() -> None:
    assert dns_label("a" * 30, max_length=10) == f"a-{stable_hash('a' * 30)}"
    with pytest.raises(ValueError, match="max_length >= 10"):
        dns_label("a", max_length=9)


def test_stable_hash_of_text_beyond_ascii_is_pinned() -> None:
    # Object names derived from it must not change from one release to the next.
    assert stable_hash("é") == "d8f81e7a"
    assert stable_hash("日本") == "d1899c83"
    longer = stable_hash("a", "b", length=12)
    assert len(longer) == 12
    assert longer.startswith("3554d2b8")


def test_label_values_are_at_most_63_characters() -> None:
    assert valid_label_value("a" * 63)
    assert not valid_label_value("a" * 64)
    assert not valid_label_value("a" * 65)
    assert label_value("a" * 63) == "a" * 63
    assert label_value("a" * 64) == f"{'a' * 54}.{stable_hash('a' * 64)}"
    assert len(label_value("a" * 65)) == 63


def test_the_empty_label_value_is_refused() -> None:
    assert not valid_label_value("")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("a.b_c-d", True),
        ("A9", True),
        ("-a", False),
        ("a-", False),
        ("_a", False),
        ("a.", False),
        ("a b", False),
        ("a/b", False),
        ("é", False),
        ("aé", False),
    ],
)
def test_valid_label_value(value: str, valid: bool) -> None:
    assert valid_label_value(value) is valid


def test_label_value_cleaning_keeps_dots_underscores_and_dashes() -> None:
    parts = ("a_b c.d-e",)
    assert label_value(*parts) == f"a_b-c.d-e.{stable_hash(*parts)}"
    assert label_value("app", "mödel") == f"app.m-del.{stable_hash('app', 'mödel')}"


def test_label_value_strips_what_may_not_start_or_end_a_value() -> None:
    long = "X" * 70
    assert label_value(long) == f"{'X' * 54}.{stable_hash(long)}"
    assert label_value("_" * 70) == stable_hash("_" * 70)
    cut_at_a_dot = "a" * 53 + "._" + "b" * 20
    assert label_value(cut_at_a_dot) == f"{'a' * 53}.{stable_hash(cut_at_a_dot)}"
