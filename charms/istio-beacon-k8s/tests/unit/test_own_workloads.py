"""istio-beacon-k8s opens only a consumer's own workloads: each refused field, by name.

Under ops.testing, against the in-process API fake: a consumer whose policy aims at
another namespace, another application, a Service of another application or pods
selected by another application's label gets nothing written (in its model's namespace
or elsewhere), is named in the status and in the log with the field and the value, and
every other consumer's policies still apply.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from meshops.testing.juju import app_service

MODEL = "m"
APP = "istio-beacon-k8s"
AP = "security.istio.io/v1"
GW = "gateway.networking.k8s.io/v1"


def policy(**target: Any) -> dict[str, Any]:
    """A policy of the consumer ``grafana`` letting ``loki`` in, aimed by ``target``."""
    return {
        "source_namespace": MODEL,
        "source_app_name": "loki",
        "target_namespace": MODEL,
        "target_app_name": "grafana",
        "target_selector_labels": None,
        "target_service": None,
        "target_type": "app",
        "endpoints": [{"hosts": None, "ports": [3000], "methods": None, "paths": None}],
        **target,
    }


def consumer(app: str, policies: list[dict[str, Any]]) -> testing.Relation:
    return testing.Relation(
        "service-mesh", remote_app_name=app, remote_app_data={"policies": json.dumps(policies)}
    )


def state(*relations: testing.RelationBase) -> testing.State:
    return testing.State(leader=True, relations=list(relations), model=testing.Model(name=MODEL))


def program_waypoint(fake: Any) -> None:
    """Play Istio: mark the waypoint Programmed."""
    gw = fake.get(GW, "Gateway", f"{APP}-waypoint", MODEL)
    condition = {
        "type": "Programmed",
        "status": "True",
        "reason": "Programmed",
        "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    gw["status"] = {"conditions": [condition]}
    fake.add(gw)


@pytest.fixture
def cluster(fake: Any) -> Any:
    """The fake with another namespace, and the Service of another application of the model."""
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
    fake.add(app_service("postgresql", MODEL, 5432))
    fake.add(app_service("grafana", MODEL, 3000))
    return fake


@pytest.mark.parametrize(
    ("target", "field", "value"),
    [
        ({"target_namespace": "kube-system"}, "target_namespace", "'kube-system'"),
        ({"target_app_name": "postgresql"}, "target_app_name", "'postgresql'"),
        (
            {"target_app_name": None, "target_service": "postgresql"},
            "target_service",
            "Service 'postgresql' is not labelled app.kubernetes.io/name=grafana "
            "(belongs to 'postgresql')",
        ),
        (
            {
                "target_type": "unit",
                "target_app_name": None,
                "target_selector_labels": {"app.kubernetes.io/name": "postgresql"},
            },
            "target_selector_labels",
            "{'app.kubernetes.io/name': 'postgresql'}",
        ),
    ],
)
def test_a_policy_reaching_beyond_the_consumers_own_workloads_is_refused_by_field(
    ctx: Any,
    cluster: Any,
    caplog: pytest.LogCaptureFixture,
    target: dict[str, Any],
    field: str,
    value: str,
) -> None:
    good = consumer("prometheus", [policy(target_app_name="prometheus")])
    evil = consumer("grafana", [policy(**target)])
    ctx.run(ctx.on.relation_changed(evil), state(good, evil))
    program_waypoint(cluster)
    caplog.clear()
    out = ctx.run(ctx.on.update_status(), state(good, evil))
    ours = [
        p
        for ns in (MODEL, "kube-system")
        for p in cluster.list(AP, "AuthorizationPolicy", ns)
        if "meshops.io/owner" in p["metadata"].get("labels", {})
    ]
    assert [p["metadata"]["name"] for p in ours] == [f"{APP}-prometheus-svc"]
    assert "refused policies of grafana (see juju debug-log)" in str(out.unit_status.message)
    [refusal] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused: ")]
    assert refusal.startswith(f"refused: service-mesh:{evil.id} (grafana): policies[0].{field}: ")
    assert value in refusal
    assert "a consumer may only open its own workloads" in refusal
