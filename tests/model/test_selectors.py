"""Tests for meshops.model.selectors: label selectors, read and matched one way everywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest

from meshops.model.selectors import LabelSelector, Requirement, label_selector

SHOP = {"team": "web", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "selects_shop", "selects_bare"),
    [
        ({}, True, True),
        ({"matchLabels": {"team": "web"}}, True, False),
        ({"matchLabels": {"team": "db"}}, False, False),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
            True,
            False,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]},
            False,
            False,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            False,
            True,
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]},
            True,
            True,
        ),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, True, False),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, False, True),
        (
            {
                "matchLabels": {"team": "web"},
                "matchExpressions": [{"key": "env", "operator": "DoesNotExist"}],
            },
            False,
            False,
        ),
    ],
    ids=[
        "empty-selects-all",
        "labels",
        "labels-differ",
        "in",
        "in-other",
        "not-in",
        "not-in-other",
        "exists",
        "does-not-exist",
        "all-anded",
    ],
)
def test_what_a_selector_selects(
    selector: dict[str, Any], selects_shop: bool, selects_bare: bool
) -> None:
    parsed = label_selector(selector, "selector")
    assert parsed.matches(SHOP) is selects_shop
    assert parsed.matches({}) is selects_bare


def test_no_selector_is_the_empty_one() -> None:
    assert label_selector(None, "selector") == LabelSelector()


def test_the_empty_value_is_a_label_value() -> None:
    parsed = label_selector(
        {"matchExpressions": [{"key": "env", "operator": "In", "values": [""]}]}, "s"
    )
    assert parsed.matches({"env": ""})
    assert not parsed.matches({})


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            {"matchExpressions": [{"key": "env", "operator": "Has"}]},
            "s.matchExpressions[0].operator 'Has' is not one of In, NotIn, Exists, DoesNotExist",
        ),
        ({"matchExpressions": [{"operator": "Exists"}]}, "s.matchExpressions[0].key must be"),
        ({"matchExpressions": {"key": "env"}}, "s.matchExpressions must be a list"),
        ({"matchLabels": {"team": 7}}, "s.matchLabels.team must be a string, got 7"),
        (["team"], "s must be a mapping"),
        ({"matchLabels": ["team"]}, "s.matchLabels must be a mapping"),
        ({"matchExpressions": ["env"]}, "s.matchExpressions[0] must be a mapping"),
        ({"matchExpressions": [{"key": "env"}]}, "s.matchExpressions[0].operator must be"),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": "prod"}]},
            "s.matchExpressions[0].values must be a list",
        ),
        (
            {"matchExpressions": [{"key": "", "operator": "Exists"}]},
            "s.matchExpressions[0].key must be a non-empty string, got ''",
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": [1]}]},
            "s.matchExpressions[0].values[0] must be a string, got 1",
        ),
    ],
    ids=[
        "unknown-operator",
        "no-key",
        "expressions-not-a-list",
        "label-not-a-string",
        "not-a-mapping",
        "labels-not-a-mapping",
        "expression-not-a-mapping",
        "no-operator",
        "values-not-a-list",
        "empty-key",
        "value-not-a-string",
    ],
)
def test_what_is_no_selector_is_refused_naming_the_field(selector: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        label_selector(selector, "s")


def test_a_requirement_refuses_an_unknown_operator() -> None:
    message = "operator 'Has' is not one of In, NotIn, Exists, DoesNotExist"
    with pytest.raises(ValueError, match=f"^{message}$"):
        Requirement("env", "Has")  # type: ignore[arg-type]
