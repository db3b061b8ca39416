"""meshops.k8s.Api.wait_for: one watch, bounded, returning the moment a condition holds.

On the fake, whose time passes at once while a watch waits (a Gateway programmed by
an istiod stand-in after a while, :func:`meshops.testing.istiod.program_later`), so
the moments asserted are the fake's, never waited for.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshops.k8s import Api, Deadline, objects
from meshops.k8s.kinds import GATEWAY
from meshops.testing import istiod

GW = "gateway.networking.k8s.io/v1"


@pytest.fixture
def fake(make_fake: Any) -> Any:
    cluster = make_fake("gateways.gateway.networking.k8s.io", namespaces=["m"])
    cluster.add(
        {
            "apiVersion": GW,
            "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "m"},
            "spec": {
                "gatewayClassName": "istio",
                "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}],
            },
        }
    )
    with cluster.installed():
        yield cluster


def programmed(gateway: dict[str, Any]) -> bool:
    return objects.condition_true(gateway, "Programmed")


def api(**kw: Any) -> Api:
    return Api.connect(field_manager="me", namespace="m", **kw)


@pytest.mark.parametrize("after", [0.0, 0.5, 5.0, 19.0])
def test_it_returns_the_moment_the_condition_holds(fake: Any, after: float) -> None:
    istiod.program_later(fake, after, "gw", "m")
    gateway, held = api().wait_for(GATEWAY, "gw", "m", programmed)
    assert held and gateway is not None and programmed(gateway)
    assert fake.time.now() == after
    assert [r.query.get("watch") for r in fake.requests] == ["true"]


def test_past_its_bound_it_returns_what_it_saw_and_false(fake: Any) -> None:
    istiod.program_later(fake, 25.0, "gw", "m")
    gateway, held = api().wait_for(GATEWAY, "gw", "m", programmed)
    assert not held and gateway is not None and not programmed(gateway)
    assert fake.time.now() == 20.0  # the default bound


def test_it_leaves_the_hook_time_for_what_follows(fake: Any) -> None:
    deadline = Deadline(12.0)
    gateway, held = api(deadline=deadline).wait_for(GATEWAY, "gw", "m", programmed)
    assert not held and gateway is not None
    assert fake.time.now() == 7.0  # 12 s of deadline, less the 5 s margin


def test_with_no_time_left_it_only_looks(fake: Any) -> None:
    istiod.program(fake, "gw", "m")
    gateway, held = api(deadline=Deadline(4.0)).wait_for(GATEWAY, "gw", "m", programmed)
    assert held and gateway is not None and programmed(gateway)
    assert [r.verb for r in fake.requests] == ["get"]


def test_an_object_that_never_comes_is_none(fake: Any) -> None:
    gateway, held = api().wait_for(GATEWAY, "other", "m", programmed, seconds=3)
    assert (gateway, held) == (None, False)
    assert fake.time.now() == 3.0
