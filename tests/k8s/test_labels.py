"""Contract tests for meshops.k8s.hold_labels: labels held on objects we do not own."""

from __future__ import annotations

from typing import Any

import pytest

from meshops.k8s import Api, HeldLabels, NotFound, hold_labels, make_client
from meshops.k8s.kinds import NAMESPACE


@pytest.fixture
def fake(make_fake: Any) -> Any:
    fake = make_fake()
    fake.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "m", "labels": {"team": "a"}},
        }
    )
    return fake


def api(fake: Any, manager: str = "beacon.m") -> Api:
    return Api(make_client(fake.transport, field_manager=manager), field_manager=manager)


def labels(fake: Any) -> dict[str, str]:
    found = dict(fake.get("v1", "Namespace", "m")["metadata"]["labels"])
    found.pop("kubernetes.io/metadata.name", None)
    return found


def test_sets_replaces_and_removes_only_our_labels(fake: Any) -> None:
    held = hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1", "y": "2"})
    assert held == HeldLabels({"x": "1", "y": "2"})
    assert labels(fake) == {"team": "a", "x": "1", "y": "2"}
    hold_labels(api(fake), NAMESPACE, "m", None, {"x": "3"})
    assert labels(fake) == {"team": "a", "x": "3"}
    hold_labels(api(fake), NAMESPACE, "m", None, {})
    assert labels(fake) == {"team": "a"}


def test_holding_what_we_hold_writes_nothing(fake: Any) -> None:
    hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1"})
    fake.clear_log()
    hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1"})
    hold_labels(api(fake, "other.m"), NAMESPACE, "m", None, {})
    assert (fake.reads, fake.writes) == (2, 0)


def test_a_label_someone_else_set_is_a_conflict_and_nothing_is_written(fake: Any) -> None:
    fake.clear_log()
    result = hold_labels(api(fake), NAMESPACE, "m", None, {"team": "b", "x": "1"})
    assert [str(c) for c in result.conflicts] == ["label team=a was set by test"]
    assert result.held == {}
    assert fake.writes == 0
    assert labels(fake) == {"team": "a"}


def test_another_holder_of_the_same_key_conflicts_too(fake: Any) -> None:
    hold_labels(api(fake, "one.m"), NAMESPACE, "m", None, {"x": "1"})
    (conflict,) = hold_labels(api(fake, "two.m"), NAMESPACE, "m", None, {"x": "1"}).conflicts
    assert conflict.owners == ("one.m",)


def test_missing_object(fake: Any) -> None:
    with pytest.raises(NotFound, match="Namespace 'gone' not found"):
        hold_labels(api(fake), NAMESPACE, "gone", None, {"x": "1"})


def test_without_add_only_removes(fake: Any) -> None:
    fake.clear_log()
    held = hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1"}, add=False)
    assert held == HeldLabels({})
    assert fake.writes == 0
    hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1", "y": "2"})
    held = hold_labels(api(fake), NAMESPACE, "m", None, {"x": "1"}, add=False)
    assert held == HeldLabels({"x": "1"})
    assert labels(fake) == {"team": "a", "x": "1"}
