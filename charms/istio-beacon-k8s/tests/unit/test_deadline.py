"""istio-beacon-k8s against a Kubernetes API that stops answering (the fake's delays).

The hook ends within its deadline, without error, Waiting; the next event, with the API
back, converges. The fake's clock counts the time: nothing really waits.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from ops import testing

LATE = "the Kubernetes API did not answer in time; retrying on the next event"


@pytest.mark.fake_only("injects API faults or delays, as only the fake can")
def test_a_server_that_stops_answering_ends_the_hook_in_time_waiting(ctx: Any, fake: Any) -> None:
    state = testing.State(leader=True, model=testing.Model(name="m"))
    fake.delay_next("PATCH", "", math.inf, times=1000)
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus(LATE)
    assert fake.time.now() <= 30.0
    fake.clear_faults()
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.WaitingStatus(
        "waiting for Istio to program waypoint istio-beacon-k8s-waypoint"
    )
    assert fake.get("gateway.networking.k8s.io/v1", "Gateway", "istio-beacon-k8s-waypoint", "m")
