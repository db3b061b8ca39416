"""istio-beacon-k8s under a flaky Kubernetes API: random faults on every request.

409, 429 with Retry-After, 500, 503, refused connections, requests never answered
(carried out or not): no hook raises, none takes longer than its deadline, no object
that is not the charm's is changed or deleted, and once the faults stop the cluster
holds exactly what a run without faults leaves.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from ops import testing

from meshops.testing import FakeKubernetes
from meshops.testing.faults import FaultRun, foreign, lost, owned

MODEL = "m"
MESH_CRDS = ("gateways.gateway.networking.k8s.io", "authorizationpolicies.security.istio.io")


def consumer(app: str, relation_id: int, *callers: str) -> testing.Relation:
    policies = [
        {
            "source_namespace": MODEL,
            "source_app_name": caller,
            "target_namespace": MODEL,
            "target_app_name": app,
            "target_selector_labels": None,
            "target_service": None,
            "target_type": "app",
            "endpoints": [{"hosts": None, "ports": [80], "methods": ["GET"], "paths": None}],
        }
        for caller in callers
    ]
    return testing.Relation(
        "service-mesh",
        id=relation_id,
        remote_app_name=app,
        remote_app_data={"policies": json.dumps(policies)},
    )


def seed(fake: FakeKubernetes) -> None:
    fake.add(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "theirs", "namespace": MODEL},
            "spec": {"action": "DENY", "rules": [{}]},
        }
    )


def scenario(ctx: Any, hook: Any) -> testing.State:
    """Consumers come, change their policies and go; the model goes on the mesh."""
    prometheus = consumer("prometheus", 1, "grafana")
    loki = consumer("loki", 2, "grafana", "alertmanager")
    state = testing.State(
        leader=True, relations=[prometheus, loki], model=testing.Model(name=MODEL)
    )

    def run(event: Any, state: testing.State) -> testing.State:
        out: testing.State | None = hook(lambda: ctx.run(event, state))
        return out if out is not None else state

    state = run(ctx.on.install(), state)
    state = run(ctx.on.update_status(), state)
    loki = consumer("loki", 2, "alertmanager")
    state = run(
        ctx.on.relation_changed(loki), dataclasses.replace(state, relations=[prometheus, loki])
    )
    state = run(
        ctx.on.config_changed(), dataclasses.replace(state, config={"model-on-mesh": True})
    )
    state = run(ctx.on.relation_broken(state.get_relation(prometheus.id)), state)
    return run(ctx.on.update_status(), dataclasses.replace(state, relations=[loki]))


@pytest.mark.parametrize("seed_", [1, 2])
def test_random_faults_never_raise_never_touch_others_and_converge(
    ctx: Any, make_fake: Any, seed_: int
) -> None:
    calm = make_fake(*MESH_CRDS, namespaces=[MODEL])
    seed(calm)
    with calm.installed():
        scenario(ctx, lambda run: run())
    flaky: FakeKubernetes = make_fake(*MESH_CRDS, namespaces=[MODEL])
    seed(flaky)
    theirs = foreign(flaky)
    faults = FaultRun(flaky, rate=0.3, seed=seed_)
    with flaky.installed():
        state = scenario(ctx, faults.hook)
        assert faults.raised == []
        assert faults.faults >= 5
        assert round(faults.longest_s, 6) <= 30.0  # the deadline
        ctx.run(ctx.on.update_status(), state)  # the faults stop: the next event converges
    assert lost(theirs, foreign(flaky)) == []
    assert owned(flaky) == owned(calm)
